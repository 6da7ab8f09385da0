// The health check's WebSocket probe on each runtime, against a real server
// that accepts only a socket carrying the right cookie: it opens (and reports
// the chosen subprotocol) or it is a Failure with the reason.
import { afterAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { Failure } from "../../../src/lib/errors";
import { bunRuntime } from "../../../src/runtime/bun/runtime";
import { runToEnd } from "../../fixtures/child";
import { DENO_RUN, REPO } from "../../fixtures/stack";

let opened = 0;
const server = Bun.serve({
  hostname: "127.0.0.1",
  port: 0,
  fetch(request, srv) {
    if (request.headers.get("cookie") !== "t3_session=good") return new Response("no session", { status: 401 });
    return srv.upgrade(request) ? undefined : new Response("not a socket", { status: 400 });
  },
  websocket: {
    open: () => void opened++,
    message() {},
  },
});
afterAll(() => server.stop(true));
const url = `ws://127.0.0.1:${server.port}/ws`;

/** Deno's probe, run by a Deno child (the module it imports touches Deno's globals only when called). */
async function denoProbe(cookie: string): Promise<{ protocol?: string; failed?: string }> {
  const result = await runToEnd([...DENO_RUN, join(REPO, "test/fixtures/deno-probe.ts"), url, cookie]);
  return JSON.parse(result.stdout.trim().split("\n").at(-1) ?? "{}");
}

describe("probeWebSocket", () => {
  test("Bun: a socket with the session opens; without it, the refusal is the Failure's detail", async () => {
    const before = opened;
    expect(await bunRuntime.probeWebSocket(url, { cookie: "t3_session=good" }, 3000)).toEqual({ protocol: "" });
    const refused = await bunRuntime.probeWebSocket(url, { cookie: "t3_session=dead" }, 3000);
    expect(refused).toBeInstanceOf(Failure);
    expect((refused as Failure).detail).toContain("401");
    expect(opened - before).toBe(1);
  });

  test("Deno: the same answers from Deno's WebSocketStream", async () => {
    const before = opened;
    expect(await denoProbe("t3_session=good")).toEqual({ protocol: "" });
    expect((await denoProbe("t3_session=dead")).failed).toBeString();
    expect(opened - before).toBe(1);
  }, 60_000);
});
