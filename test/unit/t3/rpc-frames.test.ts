// The web client's frames as observed on 0.0.33: which of them are a person.
import { describe, expect, test } from "bun:test";
import { clientMessages, PING, personInFrame, successExit } from "../../../src/t3/rpc-frames";

/** The activity report the real client sends every 25 s (shape as observed). */
const report = (id: string, fields: { visible: boolean; focused: boolean; recentlyInteracted: boolean }) =>
  JSON.stringify({
    _tag: "Request",
    id,
    tag: "server.reportClientActivity",
    payload: { clientId: "c-1", clientKind: "web", ...fields, scopes: [], ttlMs: 45000, observedAt: "2026-12-07" },
    headers: [],
  });

describe("frames from the browser", () => {
  test("the keepalive, acks and stream ends are not a person", () => {
    expect(personInFrame(PING)).toBe(false);
    expect(personInFrame('{"_tag":"Ack","requestId":"12"}')).toBe(false);
    expect(personInFrame('{"_tag":"Eof"}')).toBe(false);
    expect(personInFrame('[{"_tag":"Ping"},{"_tag":"Ack","requestId":"3"}]')).toBe(false);
  });

  test("an activity report counts only when it says the person interacted", () => {
    expect(personInFrame(report("4", { visible: true, focused: true, recentlyInteracted: false }))).toBe(false);
    expect(personInFrame(report("5", { visible: false, focused: false, recentlyInteracted: false }))).toBe(false);
    expect(personInFrame(report("6", { visible: true, focused: true, recentlyInteracted: true }))).toBe(true);
    expect(clientMessages(report("6", { visible: true, focused: true, recentlyInteracted: true }))).toEqual([
      { kind: "report", id: "6", present: true },
    ]);
  });

  test("any other request is a person, alone or in a batch with a keepalive", () => {
    const request = '{"_tag":"Request","id":"9","tag":"orchestration.dispatchCommand","payload":{"text":"hi"}}';
    expect(personInFrame(request)).toBe(true);
    expect(personInFrame(`[${PING},${request}]`)).toBe(true);
    expect(personInFrame('{"_tag":"Interrupt","requestId":"9"}')).toBe(true);
  });

  test("frames of another contract, binary frames and large frames count as before, unparsed", () => {
    expect(personInFrame("hello from the browser")).toBe(true);
    expect(personInFrame('{"type":"subscribe"}')).toBe(true);
    expect(personInFrame(new Uint8Array([1, 2, 3]))).toBe(true);
    // A large frame that happens to be a keepalive-shaped batch is still never parsed: a person sent it.
    const large = `[${Array.from({ length: 400 }, () => PING).join(",")}]`;
    expect(large.length).toBeGreaterThan(4096);
    expect(clientMessages(large)).toBeUndefined();
    expect(personInFrame(large)).toBe(true);
    expect(personInFrame("{not json")).toBe(true);
  });

  test("the success answer to a report, as the instance gives it", () => {
    expect(JSON.parse(successExit("6"))).toEqual({
      _tag: "Exit",
      requestId: "6",
      exit: { _tag: "Success", value: null },
    });
  });
});
