// HTTP forwarding with the runtime's fetch as a function the test sets: what
// fetch is asked for, how a body travels, and what comes back.
import { describe, expect, test } from "bun:test";
import { DispatchError } from "../../../../src/lib/errors";
import { forwardHttp, type UpstreamFetch } from "../../../../src/request/forward/http";

/** A fetch that records its init and answers `answer`. */
function fetchWith(answer: () => Promise<Response>) {
  const inits: Array<Parameters<UpstreamFetch>[1]> = [];
  const fetchUpstream: UpstreamFetch = (_url, init) => {
    inits.push(init);
    return answer();
  };
  return { fetchUpstream, inits };
}

const post = (body: Uint8Array | ReadableStream, headers: Record<string, string> = {}) =>
  new Request("https://t3.example/upload", { method: "POST", body, headers, duplex: "half" } as RequestInit);

describe("forwardHttp", () => {
  test("method kept, redirects not followed, the browser's abort signal passed on", async () => {
    const { fetchUpstream, inits } = fetchWith(async () => new Response("ok"));
    const request = new Request("https://t3.example/a", { method: "DELETE" });
    await forwardHttp(request, "http://127.0.0.1:1/a", new Headers(), fetchUpstream);
    expect([inits[0]?.method, inits[0]?.redirect, inits[0]?.signal]).toEqual(["DELETE", "manual", request.signal]);
  });

  test("a body of declared length up to 256 KiB goes whole; larger or of unknown length is streamed", async () => {
    const { fetchUpstream, inits } = fetchWith(async () => new Response("ok"));
    const small = new Uint8Array(1000).fill(1);
    await forwardHttp(post(small, { "content-length": "1000" }), "http://127.0.0.1:1/u", new Headers(), fetchUpstream);
    const big = new Uint8Array(300 * 1024);
    await forwardHttp(
      post(big, { "content-length": String(big.length) }),
      "http://127.0.0.1:1/u",
      new Headers(),
      fetchUpstream,
    );
    const stream = new ReadableStream({
      start(controller) {
        controller.enqueue(new Uint8Array(3));
        controller.close();
      },
    });
    await forwardHttp(post(stream), "http://127.0.0.1:1/u", new Headers(), fetchUpstream);
    expect(inits.map((i) => (i.body instanceof ArrayBuffer ? i.body.byteLength : i.body?.constructor.name))).toEqual([
      1000,
      "ReadableStream",
      "ReadableStream",
    ]);
  });

  test("the answer as it came, without hop-by-hop headers, with the request id", async () => {
    const headers = { connection: "x-private", "x-private": "1", "keep-alive": "timeout=5", "x-kept": "yes" };
    const { fetchUpstream } = fetchWith(async () => new Response("body", { status: 201, headers }));
    const response = await forwardHttp(
      new Request("https://t3.example/"),
      "http://127.0.0.1:1/",
      new Headers(),
      fetchUpstream,
      "r-1",
    );
    if (response instanceof DispatchError) throw new Error(response.message);
    expect(response.status).toBe(201);
    expect(Object.fromEntries(response.headers)).toMatchObject({ "x-kept": "yes", "x-request-id": "r-1" });
    expect(["connection", "x-private", "keep-alive"].filter((h) => response.headers.has(h))).toEqual([]);
  });

  test("the instance does not answer: upstream_down naming the method and path; a browser that left: 499", async () => {
    const { fetchUpstream } = fetchWith(() => Promise.reject(new Error("ECONNREFUSED")));
    const down = await forwardHttp(
      new Request("https://t3.example/api/x?secret=1"),
      "http://127.0.0.1:1/api/x?secret=1",
      new Headers(),
      fetchUpstream,
    );
    expect(String(down)).toBe("upstream_down: GET /api/x: ECONNREFUSED");
    const left = new AbortController();
    const request = new Request("https://t3.example/slow", { signal: left.signal });
    left.abort();
    const gone = await forwardHttp(request, "http://127.0.0.1:1/slow", new Headers(), fetchUpstream);
    expect(gone instanceof Response && gone.status).toBe(499);
  });
});
