// withReadyBody: which upstream bodies are held so they leave with their
// headers (only those of unknown length), and that a held body keeps every
// byte, in order, without waiting for a body that is still arriving.
import { describe, expect, test } from "bun:test";
import { READY_MAX, withReadyBody } from "../../../../src/runtime/bun/ready-body";

const bytes = (n: number, fill = 7) => new Uint8Array(n).fill(fill);

/** A body of unknown length whose chunks are released by hand. */
function trickle() {
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  let cancelled: unknown = null;
  const body = new ReadableStream<Uint8Array>({
    start(c) {
      controller = c;
    },
    cancel(reason) {
      cancelled = reason ?? "cancelled";
    },
  });
  return { body, controller, cancelled: () => cancelled };
}

describe("left as they are", () => {
  test.each([
    ["small", 2048],
    ["mid-size (Bun would drop its length from a stream)", 64 * 1024],
    ["large", READY_MAX + 1],
  ])("a body of declared length: %s", async (_name, size) => {
    const response = new Response(bytes(size), { headers: { "content-length": String(size) } });
    expect(await withReadyBody(response)).toBe(response);
  });

  test("an event stream, which must never wait", async () => {
    const { body, controller } = trickle();
    controller.enqueue(bytes(20_000));
    const response = new Response(body, { headers: { "content-type": "text/event-stream" } });
    expect(await withReadyBody(response)).toBe(response);
  });

  test.each([204, 304])("status %d", async (status) => {
    const response = new Response(null, { status });
    expect(await withReadyBody(response)).toBe(response);
  });
});

describe("a body of unknown length that has all arrived", () => {
  test.each([
    ["small: whole, as bytes", [5000, 3000]],
    ["mid-size: held", [40_000, 30_000]],
  ])("%s, same status, headers and bytes", async (_name, sizes) => {
    const { body, controller } = trickle();
    sizes.forEach((size, i) => {
      controller.enqueue(bytes(size, i + 1));
    });
    controller.close();
    const response = new Response(body, { status: 201, statusText: "Made", headers: { "x-kept": "yes" } });
    const ready = await withReadyBody(response);
    expect(ready).not.toBe(response);
    expect([ready.status, ready.statusText, ready.headers.get("x-kept")]).toEqual([201, "Made", "yes"]);
    const got = await ready.bytes();
    const [first = 0, second = 0] = sizes;
    expect([got.length, got[0], got[first - 1], got[first], got[first + second - 1]]).toEqual([
      first + second,
      1,
      1,
      2,
      2,
    ]);
  });
});

describe("a body of unknown length still arriving", () => {
  test("is not waited for: what came goes first, the rest follows in order", async () => {
    const source = trickle();
    source.controller.enqueue(bytes(20_000, 1));
    // Resolves although the source is still open: it would hang if it waited.
    const ready = await withReadyBody(new Response(source.body));
    const reader = ready.body?.getReader();
    if (!reader) throw new Error("no body");
    const first = await reader.read();
    expect(first.value?.length).toBe(20_000);
    source.controller.enqueue(bytes(5, 2));
    source.controller.close();
    const second = await reader.read();
    expect([...(second.value ?? [])]).toEqual([2, 2, 2, 2, 2]);
    expect((await reader.read()).done).toBe(true);
  });

  test("beyond the held maximum it streams on, every byte kept", async () => {
    const source = trickle();
    const chunk = 64 * 1024;
    const count = READY_MAX / chunk + 3;
    for (let i = 0; i < count; i++) source.controller.enqueue(bytes(chunk, i));
    source.controller.close();
    const got = await (await withReadyBody(new Response(source.body))).bytes();
    expect(got.length).toBe(count * chunk);
    expect(Array.from({ length: count }, (_, i) => got[i * chunk])).toEqual(Array.from({ length: count }, (_, i) => i));
  });

  test("a browser that goes away cancels the instance's body", async () => {
    const source = trickle();
    source.controller.enqueue(bytes(20_000));
    const ready = await withReadyBody(new Response(source.body));
    await ready.body?.cancel("browser left");
    expect(source.cancelled()).toBe("browser left");
  });
});
