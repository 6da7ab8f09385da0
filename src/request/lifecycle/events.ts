// The progress page's event stream (text/event-stream): the start's state now,
// then every change, until it ends. No start (the instance is up, or nothing
// runs) is one "ready" event: the page reloads and the request path decides.
// A comment every HEARTBEAT_MS keeps fronts from closing a quiet stream.
import { type ProgressEvent, progressOf } from "../pages/progress-page";
import type { Start } from "./start";

const HEARTBEAT_MS = 15_000;

const encoder = new TextEncoder();
const event = (progress: ProgressEvent): Uint8Array => encoder.encode(`data: ${JSON.stringify(progress)}\n\n`);

const NOTHING_STARTS: ProgressEvent = {
  outcome: "ready",
  queued: false,
  steps: {
    requested: "done",
    listening: "done",
    genuine: "done",
    answering: "done",
  },
};

export function eventStream(start: Start | undefined, requestId: string): Response {
  let stop = () => {};
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      const send = (progress: ProgressEvent) => {
        controller.enqueue(event(progress));
        if (progress.outcome === "starting") return;
        stop();
        controller.close();
      };
      if (start === undefined || start.outcome !== "starting") return send(start ? progressOf(start) : NOTHING_STARTS);
      const unwatch = start.watch((changed) => send(progressOf(changed)));
      const heartbeat = setInterval(() => controller.enqueue(encoder.encode(": still starting\n\n")), HEARTBEAT_MS);
      stop = () => {
        unwatch();
        clearInterval(heartbeat);
      };
      send(progressOf(start));
    },
    cancel: () => stop(),
  });
  return new Response(body, {
    headers: {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-store",
      "x-request-id": requestId,
      // nginx-style fronts buffer responses unless told not to; an event stream must flow.
      "x-accel-buffering": "no",
    },
  });
}
