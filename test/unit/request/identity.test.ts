import { describe, expect, test } from "bun:test";
import { DispatchError } from "../../../src/lib/errors";
import { identityFrom } from "../../../src/request/identity";

describe("identity from the proven name", () => {
  test("keeps the whole identity and its local part (Authentik sends the email)", () => {
    expect(identityFrom("vbarzin@gmail.com")).toEqual({
      full: "vbarzin@gmail.com",
      local: "vbarzin",
      domain: "gmail.com",
    });
    expect(identityFrom("emil.barzin@gmail.com")).toMatchObject({ local: "emil.barzin" });
    expect(identityFrom("plain")).toEqual({ full: "plain", local: "plain", domain: undefined });
    expect(identityFrom("  Alice@Example.com ")).toEqual({
      full: "alice@example.com",
      local: "alice",
      domain: "example.com",
    });
  });

  test("no header is no_identity", () => {
    for (const value of [null, "", "   "]) {
      const result = identityFrom(value);
      expect(result).toBeInstanceOf(DispatchError);
      expect((result as DispatchError).kind).toBe("no_identity");
    }
  });

  test.each([
    "../etc",
    "a b",
    "-rf",
    "@example.com",
    "a;id",
    "ａlice",
    "x".repeat(65),
    "alice@example.com@evil.com",
    "alice@",
    "alice@-evil.com",
    "alice@exa_mple.com",
    "al\u0000ice",
    "alice\r\nX-Injected: 1",
    "al\tice",
    "аlice",
    "alice\u200b",
    "x".repeat(300),
  ])("a name that is not a valid user (%p) is bad_identity", (value) => {
    const result = identityFrom(value);
    expect(result).toBeInstanceOf(DispatchError);
    expect((result as DispatchError).kind).toBe("bad_identity");
  });
});
