// Auto-pairing: mint a one-time credential as the instance's OS user, exchange
// it for the instance's session cookie, hand that cookie (and its owner
// binding) to the browser, and send the browser back where it was going.
// One pairing at a time per user: concurrent first requests share it. A loop
// guard stops a pairing that keeps failing or keeps being undone: it counts
// failed pairings and fresh cookies the instance calls dead, not logins (six
// private windows opened in a minute are six good pairings). A navigation that
// starts its instance mints ahead, during the start (a mint is a 1.5 s Node
// start, and t3 accepts a credential minted while it was down): the pairing
// that follows takes that credential, so it waits on the exchange alone.
import type { Instance } from "../../config/table";
import { CappedMap } from "../../lib/capped-map";
import { DispatchError } from "../../lib/errors";
import type { Logger } from "../../lib/log";
import type { Exchanged } from "../../t3/client";
import { PAIR_ENDPOINTS, type PairEndpoint, setCookieName } from "../../t3/contract";
import type { SetCookieScreen } from "../forward/cookie-filter";
import type { CookieNames } from "../session/cookie-names";
import { OWNER_COOKIE, type OwnerBinding } from "../session/owner";

export interface PairingDeps {
  /** Asked afresh before the credential leaves (the request's own check came before the mint): is the port the instance's own? */
  genuine(instance: Instance): DispatchError | undefined;
  mint(osUser: string): Promise<string | DispatchError>;
  exchange(instance: Instance, credential: string, order: readonly PairEndpoint[]): Promise<Exchanged | DispatchError>;
  cookieNames: CookieNames;
  owners: OwnerBinding;
  /** Add Secure to the cookies (the public side is https). */
  secureCookies: boolean;
  /** At most this many failed or undone pairings per user within windowMs. */
  attempts: number;
  windowMs: number;
  log: Logger;
  /** Called once per pairing that ran (not per request that joined it). */
  observe?(result: "ok" | DispatchError["kind"], ms: number): void;
  /** What of the exchange's Set-Cookie lines may be relayed. */
  screen: Pick<SetCookieScreen, "screen">;
}

/** A pairing that worked: the cookies to hand the browser. */
export class Paired {
  constructor(
    /** The instance's Set-Cookie lines and the owner cookie, ready to relay. */
    readonly setCookies: string[],
    readonly cookieName: string,
    readonly sessionValue: string,
  ) {}
}

/** Where to send the browser after pairing: its own path and query, rebuilt here, same origin only. */
export function redirectTarget(url: URL): string {
  const path = url.pathname;
  // "//host" or "/\host" would leave the origin; t3's pair page would loop back to pairing.
  if (!path.startsWith("/") || path.startsWith("//") || path.includes("\\") || path === "/pair") return "/";
  return path + url.search;
}

/** The Expires / Max-Age attributes of a Set-Cookie line, for a companion cookie that must live as long. */
function lifetimeOf(line: string): string {
  return line
    .split(";")
    .slice(1)
    .map((attribute) => attribute.trim())
    .filter((attribute) => /^(expires|max-age)=/i.test(attribute))
    .map((attribute) => `; ${attribute}`)
    .join("");
}

/** Timestamps within a sliding window, per key. */
class Strikes {
  private readonly byKey = new Map<string, number[]>();

  constructor(private readonly windowMs: number) {}

  count(key: string): number {
    const now = Date.now();
    const recent = (this.byKey.get(key) ?? []).filter((t) => now - t < this.windowMs);
    if (recent.length > 0) this.byKey.set(key, recent);
    else this.byKey.delete(key);
    return recent.length;
  }

  add(key: string): void {
    this.byKey.set(key, [...(this.byKey.get(key) ?? []), Date.now()]);
  }
}

/** A credential minted ahead is used only this young: t3's own lifetime for it is 5 minutes. */
export const AHEAD_FRESH_MS = 4 * 60_000;

export class Pairing {
  private readonly inFlight = new Map<string, Promise<Paired | DispatchError>>();
  /** user → a credential minted during its instance's start, for its next pairing (memory only, never logged). */
  private readonly ahead = new Map<string, { credential: Promise<string | DispatchError>; at: number }>();
  private readonly strikes: Strikes;
  /** Session values paired recently, to tell an undone pairing from an old cookie expiring. */
  private readonly freshSessions = new CappedMap<string, number>(10_000);
  /** The pairing endpoint each instance (by port) last answered on. */
  private readonly endpoints = new Map<number, PairEndpoint>();

  constructor(private readonly deps: PairingDeps) {
    this.strikes = new Strikes(deps.windowMs);
  }

  /** Joins the user's pairing in progress, or starts one unless the loop guard refuses. */
  pair(instance: Instance): Promise<Paired | DispatchError> {
    const running = this.inFlight.get(instance.user);
    if (running) return running;
    const strikes = this.strikes.count(instance.user);
    if (strikes >= this.deps.attempts) {
      const error = new DispatchError(
        "pairing_loop",
        `${strikes} failed or undone pairings for ${instance.user} within ${this.deps.windowMs} ms; refusing another`,
      );
      this.deps.observe?.(error.kind, 0);
      return Promise.resolve(error);
    }
    const flight = this.run(instance).finally(() => this.inFlight.delete(instance.user));
    this.inFlight.set(instance.user, flight);
    return flight;
  }

  /** Mints now for `instance`'s next pairing (its start is under way), unless one is minted or pairing already. */
  mintAhead(instance: Instance): void {
    if (this.inFlight.has(instance.user) || this.ahead.has(instance.user)) return;
    this.ahead.set(instance.user, { credential: this.deps.mint(instance.osUser), at: Date.now() });
  }

  /** The start it was for failed: the credential is dropped (unused, t3 lets it expire in its 5 minutes). */
  dropAhead(user: string): void {
    this.ahead.delete(user);
  }

  /** The credential minted ahead if it is fresh and worked, else a new one. */
  private async credentialFor(instance: Instance): Promise<string | DispatchError> {
    const held = this.ahead.get(instance.user);
    this.ahead.delete(instance.user);
    if (held !== undefined && Date.now() - held.at < AHEAD_FRESH_MS) {
      const credential = await held.credential;
      if (typeof credential === "string") return credential;
    }
    return this.deps.mint(instance.osUser);
  }

  /** The instance called this session dead: a strike if this dispatcher paired it within the window. */
  undone(user: string, sessionValue: string): void {
    const key = `${user}\0${sessionValue}`;
    const at = this.freshSessions.get(key);
    if (at === undefined) return;
    this.freshSessions.delete(key);
    if (Date.now() - at < this.deps.windowMs) this.strikes.add(user);
  }

  private async run(instance: Instance): Promise<Paired | DispatchError> {
    const started = performance.now();
    const result = await this.mintAndExchange(instance);
    const ms = Math.round(performance.now() - started);
    this.deps.observe?.(result instanceof DispatchError ? result.kind : "ok", ms);
    if (result instanceof DispatchError) {
      this.strikes.add(instance.user);
      return result;
    }
    this.freshSessions.set(`${instance.user}\0${result.sessionValue}`, Date.now());
    this.deps.log.log("info", "paired", { user: instance.user, port: instance.port, cookie: result.cookieName, ms });
    return result;
  }

  private async mintAndExchange(instance: Instance): Promise<Paired | DispatchError> {
    const credential = await this.credentialFor(instance);
    if (typeof credential !== "string") return credential;
    const swapped = this.deps.genuine(instance); // the mint takes ~1.5 s: the listener may have changed
    if (swapped) return swapped;
    const known = this.endpoints.get(instance.port);
    const order = known ? [known, ...PAIR_ENDPOINTS.filter((e) => e !== known)] : PAIR_ENDPOINTS;
    const exchanged = await this.deps.exchange(instance, credential, order);
    if (exchanged instanceof DispatchError) return exchanged;
    this.endpoints.set(instance.port, exchanged.endpoint);
    const cookieName = exchanged.cookieName;
    if (cookieName !== undefined) this.deps.cookieNames.learn(instance.port, cookieName);
    const kept = this.deps.screen.screen(instance, exchanged.setCookies);
    const session = kept.find((line) => setCookieName(line) === cookieName);
    if (cookieName === undefined || session === undefined) {
      return new DispatchError("exchange_rejected", `port ${instance.port} answered 200 without a session cookie`);
    }
    const sessionValue = (session.split(";")[0] ?? "").slice(cookieName.length + 1);
    // The owner cookie lives as long as the session it binds: a session-only
    // one would re-pair at every browser restart and strand a 30-day t3 session.
    const owner = `${OWNER_COOKIE}=${this.deps.owners.sign(instance.user, sessionValue)}; Path=/${lifetimeOf(session)}; HttpOnly; SameSite=Lax`;
    const secure = (line: string) =>
      this.deps.secureCookies && !/;\s*secure\s*(;|$)/i.test(line) ? `${line}; Secure` : line;
    return new Paired([...kept, owner].map(secure), cookieName, sessionValue);
  }
}

/** The 302 that hands the cookies to the browser and sends it on to `location`. */
export function pairedResponse(paired: Paired, location: string, requestId: string): Response {
  const headers = new Headers({ location, "cache-control": "no-store", "x-request-id": requestId });
  for (const line of paired.setCookies) headers.append("set-cookie", line);
  return new Response(null, { status: 302, headers });
}
