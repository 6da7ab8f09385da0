// The web client's WebSocket frames, as observed on 0.0.33 (docs/t3-contract.md):
// Effect RPC messages as JSON text, one per frame. An open tab nobody looks
// at still sends a keepalive `{"_tag":"Ping"}` every 5 s and an activity
// report (`server.reportClientActivity`) every 25 s, and acknowledges every
// streamed chunk (`Ack`): none of that is a person. What a person does
// arrives as any other request, or as a report that says they interacted.
// Frames of another shape (another contract) are taken as a person, as before.

/** The keepalive, exactly as the client sends it: recognised without a parse. */
export const PING = '{"_tag":"Ping"}';
/** The instance's answer to it. */
export const PONG = '{"_tag":"Pong"}';
/** The request that reports a tab's state. */
export const ACTIVITY_REPORT = "server.reportClientActivity";
/** Frames longer than this are never parsed: a person sent something (a prompt, a file). */
const PARSED_AT_MOST = 4096;

/** Messages the client sends by itself, whoever is there. */
const AUTOMATIC = new Set(["Ping", "Ack", "Eof"]);

/** One client message, as far as the dispatcher cares. */
export type ClientMessage =
  | { kind: "automatic"; tag: string }
  | { kind: "report"; id: unknown; present: boolean }
  | { kind: "request"; id: unknown }
  | { kind: "other" };

type Frame = string | ArrayBuffer | Uint8Array;

function messageOf(value: unknown): ClientMessage {
  if (typeof value !== "object" || value === null) return { kind: "other" };
  const message = value as { _tag?: unknown; id?: unknown; tag?: unknown; payload?: unknown };
  if (typeof message._tag === "string" && AUTOMATIC.has(message._tag)) return { kind: "automatic", tag: message._tag };
  if (message._tag !== "Request") return { kind: "other" };
  if (message.tag !== ACTIVITY_REPORT) return { kind: "request", id: message.id };
  // recentlyInteracted alone: a tab left visible and focused on an unlocked screen overnight is the forgotten tab.
  const present = (message.payload as { recentlyInteracted?: unknown } | null)?.recentlyInteracted === true;
  return { kind: "report", id: message.id, present };
}

/** The messages in a small text frame (one, or a batch); undefined for a frame that is not parsed. */
export function clientMessages(frame: Frame): ClientMessage[] | undefined {
  if (typeof frame !== "string" || frame.length > PARSED_AT_MOST) return undefined;
  if (frame === PING) return [{ kind: "automatic", tag: "Ping" }];
  const first = frame.charCodeAt(0);
  if (first !== 0x7b && first !== 0x5b) return undefined; // not `{` or `[`: not this contract's
  let parsed: unknown;
  try {
    parsed = JSON.parse(frame);
  } catch {
    return undefined;
  }
  return Array.isArray(parsed) ? parsed.map(messageOf) : [messageOf(parsed)];
}

/** Does this frame from the browser show a person at work? Cheap for the keepalive, never a parse of a large frame. */
export function personInFrame(frame: Frame): boolean {
  if (frame === PING) return false;
  const messages = clientMessages(frame);
  if (messages === undefined) return true;
  return messages.some((m) => m.kind === "request" || m.kind === "other" || (m.kind === "report" && m.present));
}

/** The instance's success answer to request `id` (what t3 answers an activity report: null). */
export const successExit = (id: unknown): string =>
  JSON.stringify({ _tag: "Exit", requestId: id, exit: { _tag: "Success", value: null } });
