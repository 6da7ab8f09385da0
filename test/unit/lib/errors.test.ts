import { describe, expect, test } from "bun:test";
import { DispatchError, Failure, Invalid } from "../../../src/lib/errors";

describe("errors", () => {
  test("a Failure is its kind and detail, as text too", () => {
    const failure = new Failure("bad_listen", "expected host:port");
    expect([failure.kind, failure.detail, failure.message, `${failure}`]).toEqual([
      "bad_listen",
      "expected host:port",
      "bad_listen: expected host:port",
      "bad_listen: expected host:port",
    ]);
  });

  test("Invalid lists every problem, and its detail joins them", () => {
    const invalid = new Invalid(["/a: bad", "/b: worse"]);
    expect([invalid.kind, invalid.problems, invalid.detail]).toEqual([
      "invalid",
      ["/a: bad", "/b: worse"],
      "/a: bad; /b: worse",
    ]);
    expect(invalid).toBeInstanceOf(Failure);
  });

  test("a DispatchError's kind gives its status; its fields are for the log line", () => {
    const statuses = (["no_session", "bad_proof", "upstream_down", "pairing_loop", "internal"] as const).map(
      (kind) => new DispatchError(kind, "").status,
    );
    expect(statuses).toEqual([401, 403, 502, 429, 500]);
    expect(new DispatchError("instance_impostor", "held", { port: 1 }).fields).toEqual({ port: 1 });
  });
});
