// Identity scoping: a full-identity key matches exactly; a local-part key
// matches a foreign domain only when identityDomains is empty.
import { describe, expect, test } from "bun:test";
import type { DispatchTable } from "../../src/config/table";
import { DispatchError } from "../../src/errors";
import { identityFrom } from "../../src/identity";
import { routeOf } from "../../src/routing";

const table: DispatchTable = new Map([
  ["vbarzin", { user: "vbarzin", osUser: "vbarzin", port: 4001 }],
  ["ann@gmail.com", { user: "ann@gmail.com", osUser: "ann", port: 4002 }],
]);
const to = (claimed: string, domains: string[]) => {
  const identity = identityFrom(claimed);
  if (identity instanceof DispatchError) throw identity;
  const routed = routeOf(table, identity, domains);
  return routed instanceof DispatchError ? routed.kind : routed.port;
};

describe("routeOf", () => {
  test("a full-identity key matches that identity only", () => {
    expect(to("Ann@Gmail.com", ["example.com"])).toBe(4002);
    expect(to("ann@example.com", ["example.com"])).toBe("not_provisioned");
    expect(to("ann", [])).toBe("not_provisioned");
  });

  test("a local-part key: any domain without identityDomains, only listed domains with it", () => {
    expect(to("vbarzin@anything.example", [])).toBe(4001);
    expect(to("vbarzin@example.com", ["example.com"])).toBe(4001);
    expect(to("vbarzin@anything.example", ["example.com"])).toBe("not_provisioned");
    expect(to("vbarzin", ["example.com"])).toBe(4001);
  });
});
