// A request id for every request: the front proxy's X-Request-Id when it is a
// sane token, else a new one. It is passed upstream, returned to the browser,
// and in every log line about the request.

const SANE = /^[A-Za-z0-9._:-]{1,128}$/;

// A random prefix per process and a counter: unique, and far cheaper than a UUID per request.
const prefix = crypto.randomUUID().slice(0, 8);
let counter = 0;

/** A new id, for a request without a sane one or for work no request began. */
export function newRequestId(): string {
  counter = (counter + 1) % Number.MAX_SAFE_INTEGER;
  return `${prefix}-${counter.toString(36)}`;
}

export function requestIdOf(request: Request): string {
  const given = request.headers.get("x-request-id");
  return given !== null && SANE.test(given) ? given : newRequestId();
}
