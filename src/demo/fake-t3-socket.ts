// The fake instance's WebSocket at /ws: the web client's RPC keepalive and
// activity report answered as t3 answers them (docs/t3-contract.md), and
// otherwise an echo with a few commands the tests drive it with.
import type { ServerWebSocket } from "bun";
import { ACTIVITY_REPORT, PING, PONG, successExit } from "../t3/rpc-frames";

export type Socket = ServerWebSocket<{
  protocol: string | undefined;
  flood?: { next: number; count: number; size: number };
}>;

/** What the socket counts, for a test to read. */
export interface SocketStats {
  /** Keepalives answered, and activity reports with whether they said a person was there. */
  pings: number;
  reports: boolean[];
  /** Frames a `flood:` command has sent so far (held back while the dispatcher is backpressured). */
  floodSent: number;
  /** Since when (Date.now()) a flood has waited for the dispatcher to take more; undefined while it flows. */
  floodHeldSince: number | undefined;
}

/** Sends numbered frames as fast as the dispatcher takes them, resuming on drain. */
export function flood(ws: Socket, stats: SocketStats): void {
  const state = ws.data.flood;
  stats.floodHeldSince = undefined;
  while (state && state.next < state.count) {
    const frame = new Uint8Array(state.size).fill(state.next % 256);
    new DataView(frame.buffer).setUint32(0, state.next++);
    stats.floodSent++;
    if (ws.send(frame) === -1) {
      stats.floodHeldSince = Date.now(); // backpressure: continue in drain
      return;
    }
  }
}

/** The client's RPC messages t3 answers as observed: the keepalive, and the activity report (with null). */
function rpcAnswer(message: string, stats: SocketStats): string | undefined {
  if (message === PING) {
    stats.pings++;
    return PONG;
  }
  if (!message.startsWith('{"_tag":"Request"')) return undefined;
  const request = JSON.parse(message) as { id: unknown; tag: unknown; payload?: { recentlyInteracted?: unknown } };
  if (request.tag !== ACTIVITY_REPORT) return undefined;
  stats.reports.push(request.payload?.recentlyInteracted === true);
  return successExit(request.id);
}

/** The client's RPC keepalive and report, else an echo with a few commands: `close:<code>:<reason>`, `flood:<n>:<bytes>`, `tick:<ms>:<n>`. */
export function onSocketMessage(ws: Socket, message: string | Buffer, stats: SocketStats): void {
  const answer = typeof message === "string" ? rpcAnswer(message, stats) : undefined;
  if (answer !== undefined) ws.send(answer);
  else if (typeof message === "string" && message.startsWith("tick:")) {
    // An agent's output streamed to the tab: a frame every <ms>, <count> times.
    const [, ms = 100, count = 10] = message.split(":").map(Number);
    let sent = 0;
    const timer = setInterval(() => {
      if (++sent >= count || ws.readyState !== 1) clearInterval(timer);
      if (ws.readyState === 1) ws.send(`output ${sent}`);
    }, ms);
  } else if (typeof message === "string" && message.startsWith("close:")) {
    const [, code, reason] = message.split(":");
    ws.close(Number(code), reason);
  } else if (typeof message === "string" && message.startsWith("flood:")) {
    const [, count = 0, size = 4] = message.split(":").map(Number);
    ws.data.flood = { next: 0, count, size };
    stats.floodSent = 0;
    flood(ws, stats);
  } else {
    ws.send(message);
  }
}
