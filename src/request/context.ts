// What one request carries through the stages, and what can become of it.
// A leaf: every stage imports it and it imports no stage, so no stage needs
// app.ts (which wires them) to know the shape of a request.
import type { Instance } from "../config/table";
import type { ErrorKind } from "../lib/errors";

/** One request's record: made when it arrives (arrival.ts), completed by the stages. */
export interface RequestRecord {
  readonly id: string;
  /** performance.now() at arrival, for the access log's duration. */
  readonly started: number;
  readonly peer: string | undefined;
  readonly url: URL;
  /** A top-level navigation: the only request a page or a pairing 302 may answer. */
  readonly html: boolean;
  readonly upgrade: boolean;
  /** Whose request it is, once a stage knows (for the log line of its answer). */
  user?: string;
  /**
   * Set by the session stage when the request goes on: to this instance, with
   * this session cookie (its name); `held`: a socket the dispatcher holds while the instance sleeps.
   */
  forward?: { instance: Instance; session: string; held?: boolean };
}

/** What became of a request: in the access log and the requests metric. */
export type Outcome = "proxied" | "websocket" | "forwarded" | "paired" | "starting" | "held" | ErrorKind;
