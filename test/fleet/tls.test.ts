// What the fleet's TLS between dispatchers rests on, checked in this runtime
// with a CA the test makes: a server certificate is believed only through the
// operator's CA, and with mutual TLS a client without a certificate from that
// CA cannot even complete a handshake.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import type { Server } from "bun";
import type { FleetSettings } from "../../src/config/fleet";
import { Invalid } from "../../src/lib/errors";
import { loadFleetTls } from "../../src/server/fleet-tls";
import { tempDir } from "../fixtures/stack";
import { type Issued, TestCa } from "../fixtures/test-ca";

type ClientTls = { ca?: string; cert?: string; key?: string };

/** The answer's text, or "refused: <error>" when the connection or handshake failed. */
const get = (url: string, tls: ClientTls) =>
  fetch(url, { tls, signal: AbortSignal.timeout(3000) } as RequestInit).then(
    (response) => response.text(),
    (error: Error) => `refused: ${error.name}`,
  );

describe("TLS between dispatchers (test CA, openssl)", () => {
  let ca: TestCa;
  let other: TestCa;
  let server: Issued;
  let client: Issued;
  let stranger: Issued;
  const servers: Server<unknown>[] = [];
  const serve = (tls: Record<string, unknown>) => {
    const s = Bun.serve({ hostname: "127.0.0.1", port: 0, tls, fetch: () => new Response("door") });
    servers.push(s);
    return `https://127.0.0.1:${s.port}/`;
  };

  beforeAll(async () => {
    const dir = tempDir("t3d-tls-");
    ca = await TestCa.create(join(dir, "ca"));
    other = await TestCa.create(join(dir, "other"), "someone else's CA");
    server = await ca.issue("door-a", { serverIps: ["127.0.0.1"] });
    client = await ca.issue("door-b", "client");
    stranger = await other.issue("stranger", "client");
  });
  afterAll(() => {
    for (const s of servers) s.stop(true);
  });

  test("a server certificate is believed through the operator's CA, and only through it", async () => {
    const url = serve({ cert: server.cert, key: server.key });
    expect(await get(url, { ca: ca.cert })).toBe("door");
    expect(await get(url, {})).toStartWith("refused");
    expect(await get(url, { ca: other.cert })).toStartWith("refused");
  });

  test("mutual TLS: a client certificate from the CA gets through; none, or another CA's, is refused", async () => {
    const url = serve({ cert: server.cert, key: server.key, ca: ca.cert, requestCert: true, rejectUnauthorized: true });
    expect(await get(url, { ca: ca.cert, cert: client.cert, key: client.key })).toBe("door");
    expect(await get(url, { ca: ca.cert })).toStartWith("refused");
    expect(await get(url, { ca: ca.cert, cert: stranger.cert, key: stranger.key })).toStartWith("refused");
  });
});

describe("the fleet's TLS files, read at start", () => {
  let dir: string;
  let ca: TestCa;
  let host: Issued;
  let other: Issued;
  const fleetOf = (overrides: Partial<FleetSettings>): FleetSettings => ({
    self: "a",
    hosts: new Map([
      ["a", "https://127.0.0.1:1"],
      ["b", "https://127.0.0.2:1"],
    ]),
    listen: { kind: "tcp", hostname: "127.0.0.1", port: 0 },
    certFile: host.certFile,
    keyFile: host.keyFile,
    caFile: ca.certFile,
    mutualTls: true,
    ...overrides,
  });
  const problems = (fleet: FleetSettings, now?: number) => {
    const loaded = loadFleetTls(fleet, now);
    return loaded instanceof Invalid ? loaded.problems : [];
  };

  beforeAll(async () => {
    dir = tempDir("t3d-fleet-tls-");
    ca = await TestCa.create(join(dir, "ca"));
    host = await ca.issue("host-a", { serverIps: ["127.0.0.1"], client: true });
    other = await ca.issue("host-b", { serverIps: ["127.0.0.2"], client: true });
  });

  test("mutual TLS: the listener asks for the CA's client certificates, the door presents its own", () => {
    const loaded = loadFleetTls(fleetOf({}));
    if (loaded instanceof Invalid) throw new Error(loaded.detail);
    expect(loaded.server).toEqual({ cert: host.cert, key: host.key, ca: ca.cert });
    expect(loaded.client).toEqual({ ca: ca.cert, cert: host.cert, key: host.key });
  });

  test("without mutual TLS the door presents nothing and the listener asks for nothing", () => {
    const loaded = loadFleetTls(fleetOf({ mutualTls: false }));
    if (loaded instanceof Invalid) throw new Error(loaded.detail);
    expect(loaded.server).toEqual({ cert: host.cert, key: host.key });
    expect(loaded.client).toEqual({ ca: ca.cert });
  });

  test("a missing file, a key that is not the certificate's, a CA that is not PEM, an expired certificate: each named", () => {
    expect(problems(fleetOf({ caFile: join(dir, "nope.crt") }))[0]).toContain("fleetCaFile");
    expect(problems(fleetOf({ keyFile: other.keyFile }))).toEqual([
      `fleetKeyFile ${other.keyFile} is not the key of fleetCertFile ${host.certFile}`,
    ]);
    expect(problems(fleetOf({ caFile: host.keyFile }))[0]).toContain("not a PEM certificate");
    const inThreeDays = Date.now() + 3 * 24 * 3600 * 1000;
    expect(problems(fleetOf({}), inThreeDays).join("\n")).toContain("expired on");
  });

  test("no fleet: nothing is read", () => {
    expect(loadFleetTls(fleetOf({ hosts: new Map(), listen: undefined, caFile: "/nonexistent" }))).toEqual({
      server: undefined,
      client: undefined,
    });
  });
});
