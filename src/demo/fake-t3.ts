// A fake `t3 serve` that implements the contract in docs/t3-contract.md
// for one version: the pairing endpoint of that version, the session check,
// the cookie name (instance-specific from 0.0.29), an authenticated /ws (fake-t3-socket.ts),
// and the SPA fallback. Extra `/__fake/*` routes control it (wiping all
// sessions, what it has seen) or probe the proxy (fake-t3-probes.ts).
import { createHash, randomBytes } from "node:crypto";
import { appendFileSync, existsSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Server } from "bun";
import { credentialDir } from "./fake-mint";
import { pairPage, redirectToPair, workspacePage } from "./fake-t3-page";
import { json, probeRoute } from "./fake-t3-probes";
import { flood, onSocketMessage, type Socket, type SocketStats } from "./fake-t3-socket";

export type FakeVersion = "0.0.24" | "0.0.25" | "0.0.33";

export interface FakeT3Options {
  version: FakeVersion;
  /** Shared with the fake mint: credentials appear here as files. */
  stateDir: string;
  owner: string;
  port?: number;
  /** What `/.well-known/t3/environment` reports (default: the contract version). */
  serverVersion?: string;
  /** The workspace page's client cadence (default: the real client's). */
  cadence?: ClientCadence;
  /** A broken build, for health-check and autoupdate tests; its `/` still answers 200. */
  faults?: Faults;
}

export interface Faults {
  /** Every credential is rejected with 401. */
  pairing?: "reject";
  /** Pairing succeeds but the session is never authenticated. */
  session?: "never";
  /** The WebSocket endpoint refuses every upgrade. */
  websocket?: "refuse";
  /** The session check answers only after this long. */
  slowSessionMs?: number;
  /** Accepts connections at once but answers nothing for this long (a real t3 loading). */
  answerAfterMs?: number;
}

/** How often the workspace page's client sends its keepalive and its activity report (the real client: 5 s, 25 s). */
export interface ClientCadence {
  pingMs: number;
  reportMs: number;
}

export const REAL_CLIENT_CADENCE: ClientCadence = { pingMs: 5000, reportMs: 25_000 };

export interface FakeT3 {
  port: number;
  url: string;
  cookieName: string;
  stats: {
    /** Times t3's pair page was served: behind the dispatcher, always 0. */
    pairPageViews: number;
    exchanges: number;
    sessionChecks: number;
    upgrades: number;
    lastUpgrade?: Headers;
    closeCodes: number[];
    /** Every Cookie header it received (the last 1000): what an instance's owner could read. */
    cookieHeaders: string[];
    /** Requests by method, for counting what got through. */
    methods: Record<string, number>;
  } & SocketStats;
  wipeSessions(): void;
  stop(): Promise<void>;
}

const html = (body: string): Response =>
  new Response(body, {
    headers: { "content-type": "text/html; charset=utf-8" },
  });

function cookieValue(request: Request, name: string): string | undefined {
  for (const part of (request.headers.get("cookie") ?? "").split(";")) {
    const [key, ...rest] = part.trim().split("=");
    if (key === name) return rest.join("=");
  }
  return undefined;
}

const newStats = (): FakeT3["stats"] => ({
  pairPageViews: 0,
  exchanges: 0,
  sessionChecks: 0,
  upgrades: 0,
  closeCodes: [],
  pings: 0,
  reports: [],
  floodSent: 0,
  floodHeldSince: undefined,
  cookieHeaders: [],
  methods: {},
});

/**
 * Sessions kept in the state directory, as t3 keeps them in its database: a
 * restart keeps them; another version starts afresh (the 0.0.24 → 0.0.26
 * migration that logged everyone out).
 */
class SessionStore {
  private readonly tokens: Set<string>;
  private readonly file: string;

  constructor(stateDir: string, version: string) {
    this.file = join(stateDir, `sessions-${version}`);
    this.tokens = new Set(existsSync(this.file) ? readFileSync(this.file, "utf8").split("\n").filter(Boolean) : []);
  }

  has(token: string): boolean {
    return this.tokens.has(token);
  }

  add(token: string): void {
    this.tokens.add(token);
    appendFileSync(this.file, `${token}\n`);
  }

  clear(): void {
    this.tokens.clear();
    writeFileSync(this.file, "");
  }
}

/** One fake instance's state and routes; `route` is its fetch handler. */
class FakeInstance {
  readonly sessions: SessionStore;
  readonly stats = newStats();
  cookieName = "t3_session";
  private readonly faults: Faults;
  private readonly legacy: boolean;
  /** The version's pairing endpoint, and the other one (404 here). */
  private readonly pairPaths: readonly [string, string];
  /** Until then every request waits, as on a t3 that listens before it answers. */
  private readonly answersAt: number;

  constructor(private readonly options: FakeT3Options) {
    this.sessions = new SessionStore(options.stateDir, options.version);
    this.faults = options.faults ?? {};
    this.answersAt = Date.now() + (this.faults.answerAfterMs ?? 0);
    this.legacy = options.version === "0.0.24";
    this.pairPaths = this.legacy
      ? ["/api/auth/bootstrap", "/api/auth/browser-session"]
      : ["/api/auth/browser-session", "/api/auth/bootstrap"];
  }

  private authenticated(request: Request): boolean {
    if (this.faults.session === "never") return false;
    const value = cookieValue(request, this.cookieName);
    return value !== undefined && this.sessions.has(value);
  }

  /** The version's pairing exchange: a one-time credential file → a session cookie. */
  private async exchange(request: Request): Promise<Response> {
    this.stats.exchanges++;
    const legacy = this.legacy;
    if (this.faults.pairing === "reject") return json({ code: "auth_invalid", error: "Invalid credential." }, 401);
    const payload = (await request.json().catch(() => undefined)) as { credential?: unknown } | undefined;
    if (typeof payload?.credential !== "string" || !/^[A-Za-z0-9_-]+$/.test(payload.credential)) {
      return legacy ? json({ error: "Invalid bootstrap payload." }, 400) : new Response(null, { status: 400 });
    }
    const file = join(credentialDir(this.options.stateDir), payload.credential);
    if (!existsSync(file)) {
      return json(
        legacy ? { error: "Invalid bootstrap credential." } : { code: "auth_invalid", error: "Invalid credential." },
        401,
      );
    }
    unlinkSync(file); // one-time
    const token = randomBytes(24).toString("base64url");
    this.sessions.add(token);
    const expires = new Date(Date.now() + 30 * 86_400_000).toUTCString();
    const body = legacy ? { role: "client" } : { scopes: ["client"] };
    return json({ authenticated: true, ...body, sessionMethod: "browser-session-cookie", expiresAt: expires }, 200, {
      "set-cookie": `${this.cookieName}=${token}; Path=/; Expires=${expires}; HttpOnly; SameSite=Lax`,
      ...(legacy ? {} : { "cache-control": "no-store" }),
    });
  }

  private async sessionAnswer(request: Request): Promise<Response> {
    this.stats.sessionChecks++;
    if (this.faults.slowSessionMs) await Bun.sleep(this.faults.slowSessionMs);
    if (this.authenticated(request)) {
      return json({ authenticated: true, scopes: ["client"], sessionMethod: "browser-session-cookie" });
    }
    return json({ authenticated: false, auth: { policy: "loopback-browser", sessionCookieName: this.cookieName } });
  }

  private upgrade(request: Request, server: Server<Socket["data"]>): Response | undefined {
    if (this.faults.websocket === "refuse") return new Response("no websocket", { status: 503 });
    if (!this.authenticated(request)) return new Response("unauthorized", { status: 401 });
    this.stats.upgrades++;
    this.stats.lastUpgrade = request.headers;
    const offered = request.headers.get("sec-websocket-protocol")?.split(",")[0]?.trim();
    const headers = offered ? { "sec-websocket-protocol": offered } : undefined;
    return server.upgrade(request, { headers, data: { protocol: offered } })
      ? undefined
      : new Response("upgrade failed", { status: 400 });
  }

  /** The routes that read or change this instance's state; the rest are stateless probes. */
  private fakeRoute(request: Request, url: URL): Response | Promise<Response> {
    switch (url.pathname) {
      case "/__fake/wipe-sessions":
        this.sessions.clear();
        return new Response("wiped\n");
      case "/__fake/seen":
        // What this instance has seen, for a test to count (its owner could read it all).
        return json({ ...this.stats, lastUpgrade: undefined });
      default:
        return probeRoute(request, url);
    }
  }

  /** What its owner could read: every Cookie header and method (but not its own /__fake/seen). */
  private note(request: Request, url: URL): void {
    const cookie = request.headers.get("cookie");
    if (cookie !== null && url.pathname !== "/__fake/seen") {
      if (this.stats.cookieHeaders.length >= 1000) this.stats.cookieHeaders.shift();
      this.stats.cookieHeaders.push(cookie);
    }
    this.stats.methods[request.method] = (this.stats.methods[request.method] ?? 0) + 1;
  }

  route(request: Request, server: Server<Socket["data"]>): Response | undefined | Promise<Response | undefined> {
    const loading = this.answersAt - Date.now();
    if (loading > 0) return Bun.sleep(loading).then(() => this.route(request, server));
    const url = new URL(request.url);
    const { version } = this.options;
    const [pairPath, otherPairPath] = this.pairPaths;
    this.note(request, url);
    if (url.pathname.startsWith("/__fake/")) return this.fakeRoute(request, url);
    if (request.method === "POST" && url.pathname === pairPath) return this.exchange(request);
    if (request.method === "POST" && url.pathname === otherPairPath) return new Response(null, { status: 404 });
    if (url.pathname === "/api/auth/session") return this.sessionAnswer(request);
    if (url.pathname === "/.well-known/t3/environment") {
      return json({ serverVersion: this.options.serverVersion ?? version });
    }
    if (url.pathname === "/ws") return this.upgrade(request, server);
    if (request.method !== "GET" && request.method !== "HEAD") return new Response(null, { status: 404 });
    if (url.pathname === "/pair") {
      this.stats.pairPageViews++;
      return html(pairPage(version));
    }
    const cadence = this.options.cadence ?? REAL_CLIENT_CADENCE;
    return html(this.authenticated(request) ? workspacePage(this.options.owner, version, cadence) : redirectToPair);
  }
}

export function startFakeT3(options: FakeT3Options): FakeT3 {
  mkdirSync(credentialDir(options.stateDir), { recursive: true });
  const instance = new FakeInstance(options);
  const { stats } = instance;
  const server: Server<Socket["data"]> = Bun.serve({
    hostname: "127.0.0.1",
    port: options.port ?? 0,
    idleTimeout: 0,
    maxRequestBodySize: Number.MAX_SAFE_INTEGER,
    fetch: (request, srv) => instance.route(request, srv),
    websocket: {
      // t3's server queues what it cannot send yet; Bun's default (16 MiB) would drop echoes instead.
      backpressureLimit: 256 * 1024 * 1024,
      message: (ws, message) => onSocketMessage(ws, message, stats),
      drain: (ws) => flood(ws, stats),
      close(_ws, code) {
        stats.closeCodes.push(code);
      },
    },
  });
  const port = server.port as number;
  // From 0.0.29 a loopback server names its cookie after its port and data directory.
  if (options.version === "0.0.33") {
    const hash = createHash("sha256").update(options.stateDir).digest("hex").slice(0, 12);
    instance.cookieName = `t3_session_${port}_${hash}`;
  }
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    cookieName: instance.cookieName,
    stats,
    wipeSessions: () => instance.sessions.clear(),
    stop: async () => {
      await server.stop(true);
    },
  };
}
