// Errors are values with a kind. One shape everywhere: a function that can fail
// returns `T | Failure` (a check with nothing to return on success,
// `Failure | undefined`), and the caller branches on `instanceof Failure`;
// a Failure is returned, never thrown. DispatchError is the request path's
// Failure with its HTTP status; it lives here, not in request/, because the
// t3 client, the mint and the runtime's bridge fail in the same words.
// request/answer.ts turns one into the page or JSON and the log line.

export type ErrorKind =
  | "no_identity" // no X-authentik-username header
  | "bad_identity" // header present but not a valid user name
  | "not_provisioned" // valid name, not in the dispatch table
  | "mint_failed" // mint command failed, timed out or could not start
  | "mint_unparseable" // mint command succeeded but printed no credential
  | "exchange_unreachable" // the instance did not answer the pairing exchange
  | "exchange_rejected" // the instance answered the exchange with non-200
  | "upstream_down" // the instance did not answer a proxied request
  | "untrusted_peer" // the identity header came from a peer that is not the front proxy (peer mode)
  | "bad_proof" // the front's signed assertion or shared secret is missing or does not verify
  | "instance_impostor" // the instance's port is held by another OS account
  | "cross_origin" // a WebSocket or a write from an origin that is not the public one
  | "no_session" // an API or WebSocket request without a session: reloading the page pairs
  | "pairing_loop" // pairing failed or was undone too often: stop instead of redirecting forever
  | "instance_starting" // an API request or a WebSocket while the instance starts (a navigation gets the progress page)
  | "instance_stopped" // an API request or a WebSocket while the instance is stopped (only a navigation starts it)
  | "start_failed" // the instance's start failed; shown for a while, not retried in a loop
  | "host_down" // the dispatcher of the host that owns the instance did not take the forwarded request
  | "wrong_host" // a forwarded request for an instance this host does not own (the hosts' tables disagree)
  | "not_found" // a path reserved for the dispatcher that it does not serve
  | "internal"; // an unexpected throw: a bug, logged once with its request id

const STATUS: Record<ErrorKind, number> = {
  no_identity: 403,
  bad_identity: 403,
  not_provisioned: 403,
  mint_failed: 500,
  mint_unparseable: 500,
  exchange_unreachable: 502,
  exchange_rejected: 502,
  upstream_down: 502,
  untrusted_peer: 403,
  bad_proof: 403,
  instance_impostor: 502,
  cross_origin: 403,
  no_session: 401,
  pairing_loop: 429,
  instance_starting: 503,
  instance_stopped: 503,
  start_failed: 503,
  host_down: 502,
  wrong_host: 502,
  not_found: 404,
  internal: 500,
};

/** Why something failed: a kind to branch on and a detail for the operator. */
export class Failure<K extends string = string> {
  constructor(
    readonly kind: K,
    /** Operator-facing detail for the log line; never shown to the browser. */
    readonly detail: string,
  ) {}

  get message(): string {
    return `${this.kind}: ${this.detail}`;
  }

  /** As text (a log line, a template): the kind and the detail. */
  toString(): string {
    return this.message;
  }
}

/** Input that breaks rules (a table, the settings, a command line): every problem, so it is fixed in one pass. */
export class Invalid extends Failure<"invalid"> {
  constructor(readonly problems: readonly string[]) {
    super("invalid", problems.join("; "));
  }
}

export class DispatchError extends Failure<ErrorKind> {
  constructor(
    kind: ErrorKind,
    detail: string,
    /** Fields for the log line: a token's `reason` (`expired`, `alg_none`…), an impostor's `port` and `holder_uid`. */
    readonly fields: Readonly<Record<string, string | number>> = {},
  ) {
    super(kind, detail);
  }

  get status(): number {
    return STATUS[this.kind];
  }
}
