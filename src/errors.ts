// Errors are values with a kind. This is the one place that maps a kind to the
// HTTP status, the body the browser sees, and the log line the operator reads.
import type { Logger } from "./log";

export type ErrorKind =
  | "no_identity" // no X-authentik-username header
  | "bad_identity" // header present but not a valid user name
  | "not_provisioned" // valid name, not in the dispatch table
  | "mint_failed" // mint command failed, timed out or could not start
  | "mint_unparseable" // mint command succeeded but printed no credential
  | "exchange_unreachable" // the instance did not answer the pairing exchange
  | "exchange_rejected" // the instance answered the exchange with non-200
  | "upstream_down"; // the instance did not answer a proxied request

const STATUS: Record<ErrorKind, number> = {
  no_identity: 403,
  bad_identity: 403,
  not_provisioned: 403,
  mint_failed: 500,
  mint_unparseable: 500,
  exchange_unreachable: 502,
  exchange_rejected: 502,
  upstream_down: 502,
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
};

export class DispatchError extends Error {
  constructor(
    readonly kind: ErrorKind,
    /** Operator-facing detail for the log line; never shown to the browser. */
    readonly detail: string,
  ) {
    super(`${kind}: ${detail}`);
    this.name = "DispatchError";
  }

  get status(): number {
    return STATUS[this.kind];
  }
}

/** Logs the error once and renders it as a plain-text response. */
export function errorResponse(error: DispatchError, log: Logger, fields: Record<string, unknown> = {}): Response {
  log.log(error.status >= 500 ? "error" : "warn", error.kind, {
    status: error.status,
    detail: error.detail,
    ...fields,
  });
  return new Response(`${MESSAGE[error.kind]}\n`, {
    status: error.status,
    headers: {
      "content-type": "text/plain; charset=utf-8",
      "cache-control": "no-store",
    },
  });
}
