// Auto-pairing: mint a one-time credential as the instance's OS user, exchange
// it for the instance's session cookie, hand that cookie to the browser and
// send it back to the page. How minting and exchanging are done is injected.
import type { Instance } from "./config/table";
import type { DispatchError } from "./errors";
import type { Logger } from "./log";
import type { CookieNames } from "./session";
import type { Exchanged } from "./t3/client";

export interface PairingDeps {
  mint(osUser: string): Promise<string | DispatchError>;
  exchange(instance: Instance, credential: string): Promise<Exchanged | DispatchError>;
  cookieNames: CookieNames;
  log: Logger;
}

/** Pairs the browser with `instance`: a 302 carrying the session cookie, or a typed error. */
export async function pair(instance: Instance, deps: PairingDeps): Promise<Response | DispatchError> {
  const started = performance.now();
  const credential = await deps.mint(instance.osUser);
  if (typeof credential !== "string") return credential;
  const exchanged = await deps.exchange(instance, credential);
  if (!("setCookies" in exchanged)) return exchanged;
  deps.cookieNames.learn(instance.port, exchanged.cookieName);
  deps.log.log("info", "paired", {
    user: instance.user,
    port: instance.port,
    endpoint: exchanged.endpoint,
    cookie: exchanged.cookieName,
    ms: Math.round(performance.now() - started),
  });
  const headers = new Headers({ location: "/", "cache-control": "no-store" });
  for (const line of exchanged.setCookies) headers.append("set-cookie", line);
  return new Response(null, { status: 302, headers });
}
