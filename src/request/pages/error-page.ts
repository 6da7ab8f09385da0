// What a person sees when the request path refuses: a page for a navigation,
// JSON for everything else, both with the request id to send an administrator.
// The detail (for the operator) never reaches the browser.
import type { DispatchError, ErrorKind } from "../../lib/errors";
import { escapeHtml, pageHtml, pageResponse } from "./layout";

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
  instance_starting: "your t3 instance is starting: retry in a moment",
  instance_stopped: "your t3 instance is stopped: reload the page to start it",
  start_failed: "your t3 instance did not start: reload the page to see why",
  host_down: "the t3 instance is not reachable",
  wrong_host: "your t3 instance is moving: reload in a moment",
  not_found: "nothing here",
  internal: "t3-dispatch failed unexpectedly",
};

const TITLE: Partial<Record<ErrorKind, string>> = {
  not_provisioned: "No workspace for you here yet",
  upstream_down: "Your workspace is not answering",
  instance_impostor: "Your workspace is not answering",
  exchange_unreachable: "Your workspace is not answering",
  host_down: "Your workspace is not answering",
  wrong_host: "Your workspace is moving",
  pairing_loop: "Signing you in keeps failing",
  not_found: "Nothing here",
};

/** Seconds a client should wait before asking again (the Retry-After of a 503). */
const RETRY_AFTER: Partial<Record<ErrorKind, string>> = {
  instance_starting: "2",
  instance_stopped: "10",
  start_failed: "10",
};

function page(error: DispatchError, requestId: string): string {
  const title = TITLE[error.kind] ?? "Something went wrong";
  return pageHtml(
    title,
    `<h1>${escapeHtml(title)}</h1><p>${escapeHtml(MESSAGE[error.kind])}.</p>
<p>Try reloading in a moment. If it keeps happening, send your administrator this request id: <code id="request-id">${escapeHtml(requestId)}</code></p>`,
  );
}

/** The refusal as the browser gets it: an HTML page for navigations, JSON otherwise. */
export function renderRefusal(error: DispatchError, requestId: string, html: boolean): Response {
  const retry = RETRY_AFTER[error.kind];
  const extra: Record<string, string> = retry ? { "retry-after": retry } : {};
  if (html) return pageResponse(page(error, requestId), error.status, requestId, extra);
  return Response.json(
    { error: error.kind, message: MESSAGE[error.kind], request_id: requestId },
    { status: error.status, headers: { "cache-control": "no-store", "x-request-id": requestId, ...extra } },
  );
}
