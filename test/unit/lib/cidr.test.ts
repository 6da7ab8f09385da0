import { describe, expect, test } from "bun:test";
import { type AddressCheck, cidrMatcher } from "../../../src/lib/cidr";
import { Failure } from "../../../src/lib/errors";

const check = (cidrs: string[]): AddressCheck => {
  const result = cidrMatcher(cidrs);
  if (result instanceof Failure) throw new Error(result.detail);
  return result;
};

describe("trusted front proxies", () => {
  test("the default trusts loopback only (v4, v6, v4-mapped v6)", () => {
    const loopback = check(["127.0.0.0/8", "::1/128"]);
    for (const peer of ["127.0.0.1", "127.5.6.7", "::1", "::ffff:127.0.0.1"]) expect(loopback(peer)).toBe(true);
    for (const peer of ["10.0.0.1", "192.168.1.1", "::2", "fe80::1", "::ffff:10.0.0.1", "1.2.3.4", "garbage"]) {
      expect(loopback(peer)).toBe(false);
    }
  });

  test("a Docker bridge range and a single host", () => {
    const peers = check(["172.17.0.0/16", "10.1.2.3", "fd00::/8"]);
    expect(peers("172.17.255.254")).toBe(true);
    expect(peers("172.18.0.1")).toBe(false);
    expect(peers("10.1.2.3")).toBe(true);
    expect(peers("10.1.2.4")).toBe(false);
    expect(peers("fd12:3456::1")).toBe(true);
    expect(peers("fe00::1")).toBe(false);
  });

  test("a peer without an address is not trusted by the CIDR check (only the peer proof, on a Unix listener, decides)", () => {
    expect(check(["127.0.0.1/32"])(undefined)).toBe(false);
  });

  test("bad CIDRs are all reported", () => {
    expect(
      (cidrMatcher(["300.0.0.1/8", "10.0.0.0/33", "nonsense", "::1/129"]) as Failure).detail.split("; "),
    ).toHaveLength(4);
  });
});
