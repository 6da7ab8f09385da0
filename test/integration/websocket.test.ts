// WebSocket bridging through the real dispatcher to a real fake instance.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type Browser, floodHeldFor, type Stack, startPairedStack, until } from "../fixtures/stack";

let stack: Stack;
let browser: Browser;
beforeAll(async () => {
  ({ stack, browser } = await startPairedStack("alice", "0.0.33"));
});
afterAll(() => stack.stop());

type Received = { data: string | ArrayBuffer };

async function connect(path = "/ws", protocols: string[] = []): Promise<{ ws: WebSocket; received: Received[] }> {
  const headers = await browser.socketHeaders();
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(stack.url.replace("http", "ws") + path, { headers, protocols });
    ws.binaryType = "arraybuffer";
    const received: Received[] = [];
    ws.addEventListener("message", (event) => received.push({ data: event.data as string | ArrayBuffer }));
    ws.addEventListener("open", () => resolve({ ws, received }));
    ws.addEventListener("error", () => reject(new Error("WebSocket failed")));
  });
}

const closed = (ws: WebSocket) =>
  new Promise<CloseEvent>((resolve) => ws.addEventListener("close", (event) => resolve(event)));

describe("WebSocket bridge", () => {
  test("the subprotocol is negotiated with the instance; cookie and origin reach it", async () => {
    const { ws } = await connect("/ws", ["t3.v2", "t3.v1"]);
    expect(ws.protocol).toBe("t3.v2");
    const seen = stack.instances.alice?.stats.lastUpgrade;
    expect(seen?.get("origin")).toBe(stack.url);
    expect(seen?.get("cookie")).toContain(stack.instances.alice?.cookieName ?? "?");
    expect(seen?.get("x-authentik-username")).toBeNull();
    ws.close();
  });

  test("text frames are byte-exact (no JSON parsing), binary stays binary", async () => {
    const { ws, received } = await connect();
    const texts = ['{"a": 1}', "007", "true", "null", " spaced ", "héllo 🎉", "[1,2]"];
    for (const text of texts) ws.send(text);
    const binary = new Uint8Array([0, 1, 2, 254, 255]);
    ws.send(binary);
    await until(() => received.length === texts.length + 1);
    expect(received.slice(0, texts.length).map((r) => r.data)).toEqual(texts);
    const last = received[texts.length]?.data;
    expect(last).toBeInstanceOf(ArrayBuffer);
    expect(new Uint8Array(last as ArrayBuffer)).toEqual(binary);
    ws.close();
  });

  test("a close code from the instance reaches the browser", async () => {
    const { ws } = await connect();
    const event = closed(ws);
    ws.send("close:4001:instance says bye");
    const { code, reason } = await event;
    expect([code, reason]).toEqual([4001, "instance says bye"]);
  });

  test("a close code from the browser reaches the instance", async () => {
    const { ws } = await connect();
    const codes = stack.instances.alice?.stats.closeCodes ?? [];
    const before = codes.length;
    ws.close(4002, "browser says bye");
    await until(() => codes.length > before);
    expect(codes.at(-1)).toBe(4002);
  });

  test("a slow browser loses no frame: 800 × 64 KiB (more than the 32 MiB send buffer) from the instance arrive in order", async () => {
    const { ws, received } = await connect();
    ws.pause(); // the browser stops reading: the dispatcher sees backpressure
    ws.send("flood:800:65536");
    // The dispatcher passes the backpressure on: the instance is held back (for good, not a
    // moment's full socket buffer), not drained into the dispatcher's memory.
    await until(() => floodHeldFor(stack.instances.alice, 300));
    expect(stack.instances.alice?.stats.floodSent).toBeLessThan(800);
    ws.resume();
    await until(() => received.length === 800, 30_000);
    const order = received.map((r) => new DataView(r.data as ArrayBuffer).getUint32(0));
    expect(order).toEqual([...Array(800).keys()]);
    ws.close();
  }, 40_000);

  test("a fast browser loses no frame: 400 × 64 KiB to the instance all echo back", async () => {
    const { ws, received } = await connect();
    for (let i = 0; i < 400; i++) {
      const frame = new Uint8Array(65536);
      new DataView(frame.buffer).setUint32(0, i);
      ws.send(frame);
    }
    await until(() => received.length === 400, 30_000);
    expect(received.map((r) => new DataView(r.data as ArrayBuffer).getUint32(0))).toEqual([...Array(400).keys()]);
    ws.close();
  }, 40_000);

  test("an upgrade with a session the instance has dropped, on a cached 'valid' answer: 401, not an upstream error", async () => {
    // A stack of its own, with a long cache: the answer is cached by this test, not left by another.
    const own = await startPairedStack("alice", "0.0.33", { sessionCacheTtl: "10m" });
    try {
      const upgrade = async () =>
        own.browser.fetch("/ws", {
          headers: {
            ...(await own.browser.socketHeaders()),
            upgrade: "websocket",
            connection: "upgrade",
            "sec-websocket-version": "13",
            "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
          },
        });
      const first = await upgrade();
      expect(first.status).toBe(101); // the instance's "valid" is now cached
      const checks = own.stack.instances.alice?.stats.sessionChecks ?? 0;
      own.stack.instances.alice?.wipeSessions();
      const refused = await upgrade();
      expect(refused.status).toBe(401);
      expect(((await refused.json()) as { error: string }).error).toBe("no_session");
      // The gate let it through on the cache, then asked the instance why it refused.
      expect((own.stack.instances.alice?.stats.sessionChecks ?? 0) - checks).toBe(1);
      const metrics = await (await fetch(`${own.stack.metricsUrl}/metrics`)).text();
      expect(metrics).not.toContain('t3d_upstream_errors_total{kind="upstream_down"}');
      expect(own.stack.log.lines.filter((l) => l.level === "error")).toEqual([]);
    } finally {
      await own.stack.stop();
    }
  });
});
