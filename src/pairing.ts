// Auto-pairing: mint a one-time credential as the instance's OS user, exchange
// it for the instance's session cookie, hand that cookie (and its owner
// binding) to the browser, and send the browser back where it was going.
// One pairing at a time per user: concurrent first requests share it. A loop
// guard stops a pairing that keeps failing or keeps being undone.
import type { Instance } from "./config/table";
import { DispatchError } from "./errors";
import type { Logger } from "./log";
import { OWNER_COOKIE, type OwnerBinding } from "./owner";
import type { CookieNames } from "./session";
import type { Exchanged } from "./t3/client";
import { PAIR_ENDPOINTS, type PairEndpoint, setCookieName } from "./t3/contract";

export interface PairingDeps {
  mint(osUser: string): Promise<string | DispatchError>;
  exchange(instance: Instance, credential: string, order: readonly PairEndpoint[]): Promise<Exchanged | DispatchError>;
  cookieNames: CookieNames;
  owners: OwnerBinding;
  /** Add Secure to the cookies (the public side is https). */
  secureCookies: boolean;
  /** At most this many pairings per user within windowMs. */
  attempts: number;
  windowMs: number;
  log: Logger;
  /** Called once per pairing that ran (not per request that joined it). */
  observe?(result: "ok" | DispatchError["kind"], ms: number): void;
}

export interface Paired {
  /** The instance's Set-Cookie lines and the owner cookie, ready to relay. */
  setCookies: string[];
  cookieName: string;
  sessionValue: string;
}

/** Where to send the browser after pairing: its own path and query, rebuilt here, same origin only. */
export function redirectTarget(url: URL): string {
  const path = url.pathname;
  // "//host" or "/\host" would leave the origin; t3's pair page would loop back to pairing.
  if (!path.startsWith("/") || path.startsWith("//") || path.includes("\\") || path === "/pair") return "/";
  return path + url.search;
}

export class Pairing {
  private readonly inFlight = new Map<string, Promise<Paired | DispatchError>>();
  private readonly recent = new Map<string, number[]>();
  /** The pairing endpoint each instance (by port) last answered on. */
  private readonly endpoints = new Map<number, PairEndpoint>();

  constructor(private readonly deps: PairingDeps) {}

  /** Joins the user's pairing in progress, or starts one unless the loop guard refuses. */
  pair(instance: Instance): Promise<Paired | DispatchError> {
    const running = this.inFlight.get(instance.user);
    if (running) return running;
    const now = Date.now();
    const attempts = (this.recent.get(instance.user) ?? []).filter((t) => now - t < this.deps.windowMs);
    if (attempts.length >= this.deps.attempts) {
      this.recent.set(instance.user, attempts);
      const error = new DispatchError(
        "pairing_loop",
        `${attempts.length} pairings for ${instance.user} within ${this.deps.windowMs} ms; refusing another`,
      );
      this.deps.observe?.(error.kind, 0);
      return Promise.resolve(error);
    }
    this.recent.set(instance.user, [...attempts, now]);
    const flight = this.run(instance).finally(() => this.inFlight.delete(instance.user));
    this.inFlight.set(instance.user, flight);
    return flight;
  }

  private async run(instance: Instance): Promise<Paired | DispatchError> {
    const started = performance.now();
    const result = await this.mintAndExchange(instance);
    const ms = Math.round(performance.now() - started);
    this.deps.observe?.(result instanceof DispatchError ? result.kind : "ok", ms);
    if (!(result instanceof DispatchError)) {
      this.deps.log.log("info", "paired", { user: instance.user, port: instance.port, cookie: result.cookieName, ms });
    }
    return result;
  }

  private async mintAndExchange(instance: Instance): Promise<Paired | DispatchError> {
    const credential = await this.deps.mint(instance.osUser);
    if (typeof credential !== "string") return credential;
    const known = this.endpoints.get(instance.port);
    const order = known ? [known, ...PAIR_ENDPOINTS.filter((e) => e !== known)] : PAIR_ENDPOINTS;
    const exchanged = await this.deps.exchange(instance, credential, order);
    if (exchanged instanceof DispatchError) return exchanged;
    this.endpoints.set(instance.port, exchanged.endpoint);
    const session = exchanged.setCookies.find((line) => setCookieName(line) === exchanged.cookieName);
    if (exchanged.cookieName === undefined || session === undefined) {
      return new DispatchError("exchange_rejected", `port ${instance.port} answered 200 without a session cookie`);
    }
    this.deps.cookieNames.learn(instance.port, exchanged.cookieName);
    const sessionValue = (session.split(";")[0] ?? "").slice(exchanged.cookieName.length + 1);
    const owner = `${OWNER_COOKIE}=${this.deps.owners.sign(instance.user, sessionValue)}; Path=/; HttpOnly; SameSite=Lax`;
    const secure = (line: string) =>
      this.deps.secureCookies && !/;\s*secure\s*(;|$)/i.test(line) ? `${line}; Secure` : line;
    return {
      setCookies: [...exchanged.setCookies, owner].map(secure),
      cookieName: exchanged.cookieName,
      sessionValue,
    };
  }
}

/** The 302 that hands the cookies to the browser and sends it on to `location`. */
export function pairedResponse(paired: Paired, location: string, requestId: string): Response {
  const headers = new Headers({ location, "cache-control": "no-store", "x-request-id": requestId });
  for (const line of paired.setCookies) headers.append("set-cookie", line);
  return new Response(null, { status: 302, headers });
}
