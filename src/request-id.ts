// A request id for every request: the front proxy's X-Request-Id when it is a
// sane token, else a new one. It is passed upstream, returned to the browser,
// and in every log line about the request.

const SANE = /^[A-Za-z0-9._:-]{1,128}$/;

export function requestIdOf(request: Request): string {
  const given = request.headers.get("x-request-id");
  return given !== null && SANE.test(given) ? given : crypto.randomUUID();
}
