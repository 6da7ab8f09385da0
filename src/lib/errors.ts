// Errors are values with a kind. One shape everywhere: a function that can fail
// returns `T | Failure` (a check with nothing to return on success,
// `Failure | undefined`), and the caller branches on `instanceof Failure`;
// a Failure is returned, never thrown. DispatchError is the request path's
// Failure, and this is the one place that maps its kind to the HTTP status,
// the body the browser sees, and the log line the operator reads.
import type { Logger } from "./log";

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
  internal: 500,
};

const MESSAGE: Record<ErrorKind, string> = {
  no_identity: "no authenticated user: the X-authentik-username header is missing",
  bad_identity: "the authenticated user name is not valid",
  not_provisioned: "no t3 instance provisioned for this user",
  mint_failed: "pairing mint failed",
  mint_unparseable: "unparseable pairing output from the mint command",
  exchange_unreachable: "pairing exchange failed: the t3 instance did not answer",
  exchange_rejected: "pairing exchange rejected by the t3 instance",
  upstream_down: "the t3 instance is not reachable",
  untrusted_peer: "the identity header is only accepted from the front proxy",
  bad_proof: "the front proxy's sign-in assertion could not be verified",
  instance_impostor: "the t3 instance is not reachable",
  cross_origin: "this request comes from another site",
  no_session: "no t3 session for this request: reload the page to pair again",
  pairing_loop: "pairing with your t3 instance keeps failing; stopped retrying for now",
  internal: "t3-dispatch failed unexpectedly",
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

const TITLE: Partial<Record<ErrorKind, string>> = {
  not_provisioned: "No workspace for you here yet",
  upstream_down: "Your workspace is not answering",
  instance_impostor: "Your workspace is not answering",
  exchange_unreachable: "Your workspace is not answering",
  pairing_loop: "Signing you in keeps failing",
};

const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function page(error: DispatchError, requestId: string): string {
  const title = TITLE[error.kind] ?? "Something went wrong";
  return `<!doctype html><html><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>body{font:16px system-ui,sans-serif;margin:4rem auto;max-width:36rem;color:#222}code{background:#eee;padding:0 .3em}</style></head>
<body><h1>${escapeHtml(title)}</h1><p>${escapeHtml(MESSAGE[error.kind])}.</p>
<p>Try reloading in a moment. If it keeps happening, send your administrator this request id: <code id="request-id">${escapeHtml(requestId)}</code></p>
</body></html>`;
}

export interface Presentation {
  requestId: string;
  /** A browser navigation gets a page; everything else gets JSON. */
  html: boolean;
}

/** Logs the error once and renders it: an HTML page for navigations, JSON otherwise. */
export function errorResponse(
  error: DispatchError,
  log: Logger,
  presentation: Presentation,
  fields: Record<string, unknown> = {},
): Response {
  log.log(error.status >= 500 ? "error" : "warn", error.kind, {
    request_id: presentation.requestId,
    status: error.status,
    detail: error.detail,
    ...error.fields,
    ...fields,
  });
  const headers = { "cache-control": "no-store", "x-request-id": presentation.requestId };
  if (presentation.html) {
    return new Response(page(error, presentation.requestId), {
      status: error.status,
      headers: { ...headers, "content-type": "text/html; charset=utf-8" },
    });
  }
  return Response.json(
    { error: error.kind, message: MESSAGE[error.kind], request_id: presentation.requestId },
    { status: error.status, headers },
  );
}
