// Version skew of the t3 pairing contract, with the instances mocked by msw.
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { HttpResponse, http } from "msw";
import { setupServer } from "msw/node";
import { DispatchError } from "../../../src/lib/errors";
import { checkSession, exchangeCredential } from "../../../src/t3/client";
import { handlersFor, mockInstance } from "../../fixtures/msw-t3";

const v24 = mockInstance(4024, "0.0.24");
const v25 = mockInstance(4025, "0.0.25");
const v33 = mockInstance(4033, "0.0.33");
const server = setupServer(...handlersFor(v24), ...handlersFor(v25), ...handlersFor(v33));
const base = (port: number) => `http://127.0.0.1:${port}`;

beforeAll(() => server.listen({ onUnhandledRequest: "error" }));
afterEach(() => {
  server.resetHandlers();
  for (const i of [v24, v25, v33]) i.calls.length = 0;
});
afterAll(() => server.close());

describe("exchange across versions", () => {
  test("0.0.24: browser-session answers 404, bootstrap pairs", async () => {
    v24.credentials.add("cred-24");
    const result = await exchangeCredential(base(4024), 4024, "cred-24", 1000);
    expect(result).not.toBeInstanceOf(DispatchError);
    if (result instanceof DispatchError) return;
    expect(result.endpoint).toBe("/api/auth/bootstrap");
    expect(result.cookieName).toBe("t3_session");
    expect(v24.calls).toEqual(["POST /api/auth/browser-session", "POST /api/auth/bootstrap"]);
  });

  test("0.0.25: browser-session pairs directly", async () => {
    v25.credentials.add("cred-25");
    const result = await exchangeCredential(base(4025), 4025, "cred-25", 1000);
    if (result instanceof DispatchError) throw result;
    expect(result.endpoint).toBe("/api/auth/browser-session");
    expect(result.setCookies[0]).toStartWith("t3_session=tok-");
    expect(v25.calls).toEqual(["POST /api/auth/browser-session"]);
  });

  test("0.0.33: the instance-specific cookie name is learned from Set-Cookie", async () => {
    v33.credentials.add("cred-33");
    const result = await exchangeCredential(base(4033), 4033, "cred-33", 1000);
    if (result instanceof DispatchError) throw result;
    expect(result.cookieName).toBe("t3_session_4033_0123456789ab");
  });

  test("a rolling upgrade: one table, all three contracts at once", async () => {
    const results = await Promise.all(
      [v24, v25, v33].map((i) => {
        i.credentials.add(`roll-${i.port}`);
        return exchangeCredential(base(i.port), i.port, `roll-${i.port}`, 1000);
      }),
    );
    expect(results.map((r) => (r instanceof DispatchError ? r.kind : r.cookieName))).toEqual([
      "t3_session",
      "t3_session",
      "t3_session_4033_0123456789ab",
    ]);
  });

  test("401 (used credential) is exchange_rejected, not retried at the other endpoint", async () => {
    const result = await exchangeCredential(base(4025), 4025, "never-minted", 1000);
    expect((result as DispatchError).kind).toBe("exchange_rejected");
    expect((result as DispatchError).detail).toContain("401");
    expect(v25.calls).toEqual(["POST /api/auth/browser-session"]);
  });

  test("400 is exchange_rejected", async () => {
    server.use(http.post(`${base(4025)}/api/auth/browser-session`, () => new HttpResponse(null, { status: 400 })));
    const result = await exchangeCredential(base(4025), 4025, "x", 1000);
    expect((result as DispatchError).detail).toContain("answered 400");
  });

  test("both endpoints 404 is exchange_rejected", async () => {
    server.use(http.post(`${base(4025)}/api/auth/*`, () => new HttpResponse(null, { status: 404 })));
    const result = await exchangeCredential(base(4025), 4025, "x", 1000);
    expect((result as DispatchError).kind).toBe("exchange_rejected");
    expect((result as DispatchError).detail).toContain("all answered 404");
  });

  test("an unreachable instance is exchange_unreachable (502)", async () => {
    server.use(http.post(`${base(4025)}/api/auth/browser-session`, () => HttpResponse.error()));
    const result = (await exchangeCredential(base(4025), 4025, "x", 1000)) as DispatchError;
    expect(result.kind).toBe("exchange_unreachable");
    expect(result.status).toBe(502);
  });

  test("an instance that never answers is cut at the timeout", async () => {
    server.use(http.post(`${base(4025)}/api/auth/browser-session`, () => new Promise<Response>(() => {})));
    const result = (await exchangeCredential(base(4025), 4025, "x", 200)) as DispatchError;
    expect(result.kind).toBe("exchange_unreachable");
  });
});

describe("session check", () => {
  test("valid, invalid, and the cookie name from auth.sessionCookieName", async () => {
    v33.sessions.add("live");
    expect(await checkSession(base(4033), `${v33.cookieName}=live`, 1000)).toEqual({
      state: "valid",
      cookieName: undefined,
    });
    expect(await checkSession(base(4033), `${v33.cookieName}=dead`, 1000)).toEqual({
      state: "invalid",
      cookieName: v33.cookieName,
    });
  });

  test.each([
    ["a 500", () => new HttpResponse("boom", { status: 500 })],
    ["a non-JSON body", () => new HttpResponse("<html>", { status: 200 })],
    ["JSON of another shape", () => HttpResponse.json({ ok: true })],
    ["a network error", () => HttpResponse.error()],
  ])("%s is unknown (fail open)", async (_name, resolver) => {
    server.use(http.get(`${base(4025)}/api/auth/session`, resolver));
    expect((await checkSession(base(4025), "t3_session=x", 1000)).state).toBe("unknown");
  });

  test("a session check that hangs is unknown after the timeout", async () => {
    server.use(http.get(`${base(4025)}/api/auth/session`, () => new Promise<Response>(() => {})));
    const verdict = await checkSession(base(4025), "t3_session=x", 200);
    expect(verdict.state).toBe("unknown");
  });
});
