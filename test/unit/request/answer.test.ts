// Every answer is recorded once: the access-log line and the requests metric;
// a refusal also gets its one log line, its metric, and the page or JSON the
// browser sees (with the request id, never the operator's detail).
import { describe, expect, test } from "bun:test";
import { DispatchError } from "../../../src/lib/errors";
import { memoryLogger } from "../../../src/lib/log";
import { answers } from "../../../src/request/answer";
import { arrive } from "../../../src/request/arrival";
import type { RequestRecord } from "../../../src/request/context";
import { Waiting } from "../../../src/request/lifecycle/lifecycle";
import { Start } from "../../../src/request/lifecycle/start";
import { Metrics } from "../../../src/request/metrics";

function answering(accessLog = true) {
  const log = memoryLogger();
  const metrics = new Metrics();
  return { answer: answers({ accessLog, metrics, log }), log, metrics };
}

const recordOf = (headers: Record<string, string> = {}): RequestRecord =>
  arrive(new Request("https://t3.example/x", { headers: { "x-request-id": "r-1", ...headers } }), undefined);

describe("answers", () => {
  test("record: one access-log line with the user, outcome, status and duration; the outcome counted", () => {
    const { answer, log, metrics } = answering();
    const record = recordOf();
    record.user = "alice";
    answer.record(record, "proxied", new Response("ok", { status: 201 }));
    answer.record(record, "websocket", undefined);
    expect(
      log.lines.map(({ event, request_id, user, outcome, status }) => [event, request_id, user, outcome, status]),
    ).toEqual([
      ["request", "r-1", "alice", "proxied", 201],
      ["request", "r-1", "alice", "websocket", 101],
    ]);
    expect(typeof log.lines[0]?.ms).toBe("number");
    expect([metrics.requests.get("proxied"), metrics.requests.get("websocket")]).toEqual([1, 1]);
  });

  test("without the access log, answers are still counted but not logged", () => {
    const { answer, log, metrics } = answering(false);
    answer.record(recordOf(), "paired", new Response(null, { status: 302 }));
    expect([log.lines.length, metrics.requests.get("paired")]).toEqual([0, 1]);
  });

  test("refuse: one warn line with the detail and fields; JSON with the request id and no detail", async () => {
    const { answer, log, metrics } = answering(false);
    const record = recordOf();
    record.user = "bob";
    const error = new DispatchError("bad_proof", "signature does not verify", { reason: "bad_signature" });
    const response = answer.refuse(record, error);
    expect(response.status).toBe(403);
    expect(response.headers.get("cache-control")).toBe("no-store");
    const body = await response.text();
    expect(JSON.parse(body)).toMatchObject({ error: "bad_proof", request_id: "r-1" });
    expect(body).not.toContain("signature does not verify");
    expect(log.lines).toEqual([
      {
        level: "warn",
        event: "bad_proof",
        request_id: "r-1",
        status: 403,
        detail: "signature does not verify",
        reason: "bad_signature",
        user: "bob",
      },
    ]);
    expect([metrics.refusals.get("bad_proof"), metrics.requests.get("bad_proof")]).toEqual([1, 1]);
  });

  test("a navigation gets a page naming the request id; an instance that is down is an upstream error, logged as error", async () => {
    const { answer, log, metrics } = answering(false);
    const response = answer.refuse(
      recordOf({ "sec-fetch-dest": "document" }),
      new DispatchError("upstream_down", "ECONNREFUSED"),
    );
    expect([response.status, response.headers.get("content-type")]).toEqual([502, "text/html; charset=utf-8"]);
    const page = await response.text();
    expect(page).toContain("Your workspace is not answering");
    expect(page).toContain('<code id="request-id">r-1</code>');
    expect(page).not.toContain("ECONNREFUSED");
    expect([
      log.lines[0]?.level,
      metrics.upstreamErrors.get("upstream_down"),
      metrics.refusals.get("upstream_down"),
    ]).toEqual(["error", 1, 0]);
  });

  test("an ordinary start's 503 is an info line, not an error; a failed start's is an error", () => {
    const { answer, log } = answering(false);
    expect(answer.refuse(recordOf({}), new DispatchError("instance_starting", "/api/x while it starts")).status).toBe(
      503,
    );
    expect(answer.refuse(recordOf({}), new DispatchError("instance_stopped", "/ws while it is stopped")).status).toBe(
      503,
    );
    expect(answer.refuse(recordOf({}), new DispatchError("start_failed", "/api/x: start failed")).status).toBe(503);
    expect(log.lines.map((l) => [l.event, l.level])).toEqual([
      ["instance_starting", "info"],
      ["instance_stopped", "info"],
      ["start_failed", "error"],
    ]);
  });

  test("crash: an unexpected throw is one error line and a 500 with the request id", async () => {
    const { answer, log } = answering();
    const response = answer.crash(
      new Request("https://t3.example/", { headers: { "x-request-id": "r-9" } }),
      undefined,
      "UNKNOWN",
      new Error("boom"),
    );
    expect(response.status).toBe(500);
    expect(await response.json()).toMatchObject({ error: "internal", request_id: "r-9" });
    expect(log.lines).toEqual([
      { level: "error", event: "internal", request_id: "r-9", status: 500, detail: "UNKNOWN: boom" },
    ]);
  });

  test("wait: the progress page, its failure, or its events; each recorded and counted once", () => {
    const { answer, log, metrics } = answering();
    const start = new Start({ user: "bob", osUser: "bob", port: 4000 }, "r-0");
    const page = answer.wait(recordOf(), new Waiting(start, "page"));
    const events = answer.wait(recordOf(), new Waiting(start, "events"));
    start.end("failed");
    const failed = answer.wait(recordOf(), new Waiting(start, "page"));
    expect([page.status, events.headers.get("content-type"), failed.status]).toEqual([
      200,
      "text/event-stream; charset=utf-8",
      503,
    ]);
    expect(log.lines.map((l) => l.outcome)).toEqual(["starting", "starting", "start_failed"]);
    expect([metrics.requests.get("starting"), metrics.requests.get("start_failed")]).toEqual([2, 1]);
  });
});
