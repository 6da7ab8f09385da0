// Service settings. Precedence: flags > environment (T3D_*) > config file >
// defaults. Every source is validated with the same TypeBox schema, and every
// problem is reported at once.
import { type Static, Type } from "@sinclair/typebox";
import { Value } from "@sinclair/typebox/value";
import { Failure } from "../errors";
import { trustedPeers } from "../trust";
import { durationMs, type ListenAddress, list, parseListen } from "./setting-values";

/** Durations are written `500ms`, `5s`, `2m`, `1h`, or a bare number of milliseconds. */
const Duration = Type.Union([Type.String({ pattern: "^[0-9]+(ms|s|m|h)?$" }), Type.Integer({ minimum: 0 })], {
  description: "a duration (500ms, 5s, 2m, 1h, or milliseconds)",
});
/** A timeout: a duration above zero (a zero timeout would fail every call at once). */
const Timeout = Type.Union([Type.String({ pattern: "^0*[1-9][0-9]*(ms|s|m|h)?$" }), Type.Integer({ minimum: 1 })], {
  description: "a duration above zero (500ms, 5s, 2m, 1h, or milliseconds)",
});

/** A whole number; environment variables and flags give it as digits. */
const Count = Type.Union([Type.String({ pattern: "^[1-9][0-9]*$" }), Type.Integer({ minimum: 1 })], {
  description: "a whole number ≥ 1",
});

export const RawSettings = Type.Object(
  {
    listen: Type.String({ minLength: 1 }),
    dispatchFile: Type.String({ minLength: 1 }),
    mintCommand: Type.String({ minLength: 1 }),
    reloadInterval: Duration,
    sessionTimeout: Timeout,
    mintTimeout: Timeout,
    exchangeTimeout: Timeout,
    upstreamHost: Type.String({ minLength: 1 }),
    identityHeader: Type.String({ pattern: "^[A-Za-z0-9-]+$" }),
    identityProof: Type.Union([Type.Literal("jwt"), Type.Literal("secret"), Type.Literal("peer")]),
    jwtHeader: Type.String({ pattern: "^[A-Za-z0-9-]+$" }),
    jwksUrl: Type.String({ pattern: "^(|https?://\\S+)$" }),
    jwksFile: Type.String(),
    jwtSecretFile: Type.String(),
    jwtIssuer: Type.String(),
    jwtAudience: Type.String(),
    proofHeader: Type.String({ pattern: "^[A-Za-z0-9-]+$" }),
    proofSecretFile: Type.String(),
    identityDomains: Type.String({ pattern: "^[a-z0-9., -]*$" }),
    frontCookiePrefixes: Type.String({ pattern: "^[A-Za-z0-9_.,-]*$" }),
    accountsFile: Type.String({ minLength: 1 }),
    listenMode: Type.String({ pattern: "^0?[0-7]{3}$" }),
    listenGroup: Type.String({ pattern: "^([a-z_][a-z0-9_-]{0,31})?$" }),
    trustedProxies: Type.String(),
    publicUrl: Type.String({ pattern: "^(|https?://[^\\s/]+/?)$" }),
    secretFile: Type.String({ minLength: 1 }),
    sessionCacheTtl: Duration,
    pairAttempts: Count,
    pairWindow: Timeout,
    metricsListen: Type.String({ minLength: 1 }),
    accessLog: Type.Union([Type.Literal("on"), Type.Literal("off")]),
    shutdownTimeout: Timeout,
    // The ops subcommands (healthcheck, backup, restore, autoupdate).
    stateDb: Type.String({ minLength: 1 }),
    backupDir: Type.String({ minLength: 1 }),
    backupKeep: Count,
    backupTimeout: Timeout,
    healthTimeout: Timeout,
    readyTimeout: Timeout,
    t3LatestCommand: Type.String({ minLength: 1 }),
    t3InstallCommand: Type.String({ minLength: 1 }),
    t3SwitchCommand: Type.String({ minLength: 1 }),
    t3StopCommand: Type.String({ minLength: 1 }),
    t3StartCommand: Type.String({ minLength: 1 }),
    canary: Type.String(),
    autoupdateState: Type.String({ minLength: 1 }),
  },
  { additionalProperties: false },
);
export type RawSettings = Static<typeof RawSettings>;
const PartialSettings = Type.Partial(RawSettings, {
  additionalProperties: false,
});
type PartialSettings = Static<typeof PartialSettings>;

export const DEFAULTS: RawSettings = {
  // Loopback only: the identity header must come from the front proxy alone.
  listen: "127.0.0.1:3780",
  dispatchFile: "/etc/t3-serve/dispatch.json",
  mintCommand: "sudo -n /usr/local/bin/t3-mint",
  reloadInterval: "60s",
  sessionTimeout: "5s",
  mintTimeout: "15s",
  exchangeTimeout: "10s",
  upstreamHost: "127.0.0.1",
  identityHeader: "X-authentik-username",
  // How the identity is proven: the front's signed token (jwt), a shared-secret
  // header the front adds (secret), or the peer's address (peer: any local
  // account can forge it on loopback; for existing hosts only).
  identityProof: "jwt",
  jwtHeader: "X-authentik-jwt",
  // One key source for jwt: the provider's JWKS URL or a JWKS file (RS256/ES256),
  // or its client secret in a file (HS256, a provider without a signing key).
  jwksUrl: "",
  jwksFile: "",
  jwtSecretFile: "",
  // Checked when set: the token's iss and aud.
  jwtIssuer: "",
  jwtAudience: "",
  // secret mode: the header the front adds, and the file with its value.
  proofHeader: "X-t3d-front-secret",
  proofSecretFile: "",
  // Comma-separated: a local-part table key matches only identities of these domains (empty: any).
  identityDomains: "",
  // Cookie name prefixes of the front, never forwarded to an instance (authentik_ always is not).
  frontCookiePrefixes: "",
  // Where OS accounts' uids are looked up (the instance check).
  accountsFile: "/etc/passwd",
  // A unix: listener's file mode and group (the front's group; empty: the service's own).
  listenMode: "0660",
  listenGroup: "",
  // Only these peers may assert an identity (the front proxy); comma-separated CIDRs.
  trustedProxies: "127.0.0.0/8,::1/128",
  // The public origin (e.g. https://t3.example.com): https adds Secure to the cookies.
  publicUrl: "",
  // Signs which user a session cookie was minted for; created (0600) if missing.
  secretFile: "/var/lib/t3-dispatch/cookie-secret",
  sessionCacheTtl: "15s",
  // At most this many pairings per user within pairWindow, then an error page (no loop).
  pairAttempts: 5,
  pairWindow: "60s",
  // Prometheus metrics on their own loopback listener; "off" disables it.
  metricsListen: "127.0.0.1:3781",
  accessLog: "on",
  shutdownTimeout: "10s",
  // {home} and {os_user} are filled in per instance; t3 keeps its state here (see the contract).
  stateDb: "{home}/.t3/userdata/state.sqlite",
  backupDir: "/var/backups/t3-state",
  backupKeep: 14,
  backupTimeout: "5m",
  healthTimeout: "10s",
  readyTimeout: "60s",
  // Commands are split on spaces and run without a shell; {version} and {os_user} are filled in.
  t3LatestCommand: "npm view t3 version",
  // npm as the unprivileged t3-install account, never as root (see src/install/t3-install-version).
  t3InstallCommand: "/usr/local/bin/t3-install-version {version}",
  t3SwitchCommand: "ln -sfn /opt/t3/{version} /opt/t3/instances/{os_user}",
  t3StopCommand: "systemctl stop t3-serve@{os_user}",
  t3StartCommand: "systemctl start t3-serve@{os_user}",
  // Empty: the first user of the table (by name) is the canary.
  canary: "",
  // Root's own: in a root-only directory, not the service account's /var/lib/t3-dispatch.
  autoupdateState: "/var/lib/t3-autoupdate/state.json",
};

/** Environment variable for each setting: listen → T3D_LISTEN, dispatchFile → T3D_DISPATCH_FILE. */
export const envName = (key: string): string => `T3D_${key.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`;

/** Flag for each setting: dispatchFile → --dispatch-file. */
export const flagName = (key: string): string => key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

export const SETTING_KEYS = Object.keys(DEFAULTS) as Array<keyof RawSettings>;

export interface Settings {
  listen: ListenAddress;
  dispatchFile: string;
  /** argv prefix; the os_user is appended as one more element, never interpolated. */
  mintCommand: string[];
  reloadIntervalMs: number;
  sessionTimeoutMs: number;
  mintTimeoutMs: number;
  exchangeTimeoutMs: number;
  upstreamHost: string;
  identityHeader: string;
  proof: ProofSettings;
  identityDomains: string[];
  frontCookiePrefixes: string[];
  accountsFile: string;
  /** A unix: listener's file mode and group name. */
  listenMode: number;
  listenGroup: string;
  trustedProxies: string[];
  /** The public origin (scheme://host[:port]) from publicUrl, for the origin check. */
  publicOrigin: string | undefined;
  /** Whether the public side is https (from publicUrl, never from a request header). */
  secureCookies: boolean;
  secretFile: string;
  sessionCacheTtlMs: number;
  pairAttempts: number;
  pairWindowMs: number;
  metricsListen: ListenAddress | undefined;
  accessLog: boolean;
  shutdownTimeoutMs: number;
  ops: OpsSettings;
}

export interface ProofSettings {
  mode: "jwt" | "secret" | "peer";
  tokenHeader: string;
  jwksUrl: string;
  jwksFile: string;
  jwtSecretFile: string;
  issuer: string | undefined;
  audience: string | undefined;
  /** secret mode: the header, and the file with its value (empty in other modes). */
  secretHeader: string | undefined;
  secretFile: string;
}

export interface OpsSettings {
  stateDb: string;
  backupDir: string;
  backupKeep: number;
  backupTimeoutMs: number;
  healthTimeoutMs: number;
  readyTimeoutMs: number;
  commands: { latest: string[]; install: string[]; switch: string[]; stop: string[]; start: string[] };
  canary: string;
  autoupdateState: string;
}

/** Where each setting's value came from, as the operator wrote it (`environment: T3D_LISTEN (listen)`, `default`). */
export type Origins = Record<keyof RawSettings, string>;

type SettingsResult =
  | { ok: true; settings: Settings; raw: RawSettings; origins: Origins }
  | { ok: false; errors: string[] };

const SOURCE_NAMES = { file: "config file", env: "environment", flags: "flag" } as const;
type Source = keyof typeof SOURCE_NAMES;

/** How the operator wrote the setting in that source. */
function spelled(source: Source, key: string): string {
  if (source === "env") return `${envName(key)} (${key})`;
  if (source === "flags") return `--${flagName(key)} (${key})`;
  return key;
}

/** What a setting's schema accepts, in words. */
function expected(key: string): string {
  const schema = (RawSettings.properties as Record<string, TSchemaLike | undefined>)[key];
  if (schema?.description) return schema.description;
  if (schema?.anyOf) return `one of ${schema.anyOf.map((s) => JSON.stringify(s.const)).join(", ")}`;
  if (schema?.pattern) return `text matching ${schema.pattern}`;
  return "a non-empty text";
}
type TSchemaLike = { description?: string; anyOf?: Array<{ const?: unknown }>; pattern?: string };

/** One message per bad key: the setting as written, its source, the value and the expected form. */
function validate(source: Source, value: unknown): { errors: string[]; bad: Set<string> } {
  const bad = new Set<string>();
  const errors: string[] = [];
  for (const error of Value.Errors(PartialSettings, value)) {
    const key = error.path.split("/")[1] ?? "";
    if (bad.has(key)) continue;
    bad.add(key);
    const want = key in RawSettings.properties ? `expected ${expected(key)}` : "not a setting";
    errors.push(`${SOURCE_NAMES[source]}: ${spelled(source, key)} = ${JSON.stringify(error.value)}: ${want}`);
  }
  return { errors, bad };
}

/** The source's valid keys only, so that one bad value does not hide the checks of the others. */
function validPart(value: unknown, bad: Set<string>): PartialSettings {
  if (typeof value !== "object" || value === null) return {};
  return Object.fromEntries(Object.entries(value).filter(([key]) => !bad.has(key))) as PartialSettings;
}

/** Picks the T3D_* variables that name a setting. */
export function settingsFromEnv(env: Record<string, string | undefined>): Record<string, string> {
  const picked: Record<string, string> = {};
  for (const key of SETTING_KEYS) {
    const value = env[envName(key)];
    if (value !== undefined) picked[key] = value;
  }
  return picked;
}

/** Merges the sources in precedence order and validates the result. */
export function resolveSettings(sources: { file?: unknown; env?: unknown; flags?: unknown }): SettingsResult {
  // Every source is checked whole, then the valid parts are merged and checked together: one pass, every problem.
  const errors: string[] = [];
  const parts: Array<[Source, PartialSettings]> = [];
  for (const source of ["file", "env", "flags"] as const) {
    if (sources[source] === undefined) continue;
    const checked = validate(source, sources[source]);
    errors.push(...checked.errors);
    parts.push([source, validPart(sources[source], checked.bad)]);
  }
  const raw: RawSettings = Object.assign({ ...DEFAULTS }, ...parts.map(([, part]) => part));
  const origins = Object.fromEntries(
    SETTING_KEYS.map((key) => {
      const from = parts.findLast(([, part]) => key in part)?.[0];
      return [key, from ? `${SOURCE_NAMES[from]}: ${spelled(from, key)}` : "default"];
    }),
  ) as Origins;
  /** A problem with the merged value of `key`, named as the operator wrote it where it came from. */
  const problem = (key: keyof RawSettings, failure: Failure) =>
    errors.push(
      `${origins[key] === "default" ? `default ${key}` : origins[key]} = ${JSON.stringify(raw[key])}: ${failure.problems.join("; ")}`,
    );
  const listen = parseListen(raw.listen);
  if (listen instanceof Failure) problem("listen", listen);
  const metricsListen = raw.metricsListen === "off" ? undefined : parseListen(raw.metricsListen);
  if (metricsListen instanceof Failure) problem("metricsListen", metricsListen);
  const peers = trustedPeers(list(raw.trustedProxies));
  if (peers instanceof Failure) problem("trustedProxies", peers);
  if (errors.length > 0 || listen instanceof Failure || metricsListen instanceof Failure) return { ok: false, errors };
  const argv = (command: string): string[] => command.trim().split(/\s+/);
  return {
    ok: true,
    raw,
    origins,
    settings: {
      listen,
      dispatchFile: raw.dispatchFile,
      mintCommand: argv(raw.mintCommand),
      reloadIntervalMs: durationMs(raw.reloadInterval),
      sessionTimeoutMs: durationMs(raw.sessionTimeout),
      mintTimeoutMs: durationMs(raw.mintTimeout),
      exchangeTimeoutMs: durationMs(raw.exchangeTimeout),
      upstreamHost: raw.upstreamHost,
      identityHeader: raw.identityHeader,
      proof: {
        mode: raw.identityProof,
        tokenHeader: raw.jwtHeader,
        jwksUrl: raw.jwksUrl,
        jwksFile: raw.jwksFile,
        jwtSecretFile: raw.jwtSecretFile,
        issuer: raw.jwtIssuer || undefined,
        audience: raw.jwtAudience || undefined,
        secretHeader: raw.identityProof === "secret" ? raw.proofHeader : undefined,
        secretFile: raw.proofSecretFile,
      },
      identityDomains: list(raw.identityDomains),
      frontCookiePrefixes: list(raw.frontCookiePrefixes),
      accountsFile: raw.accountsFile,
      listenMode: Number.parseInt(raw.listenMode, 8),
      listenGroup: raw.listenGroup,
      trustedProxies: list(raw.trustedProxies),
      publicOrigin: raw.publicUrl === "" ? undefined : raw.publicUrl.replace(/\/$/, "").toLowerCase(),
      secureCookies: raw.publicUrl.startsWith("https://"),
      secretFile: raw.secretFile,
      sessionCacheTtlMs: durationMs(raw.sessionCacheTtl),
      pairAttempts: Number(raw.pairAttempts),
      pairWindowMs: durationMs(raw.pairWindow),
      metricsListen,
      accessLog: raw.accessLog === "on",
      shutdownTimeoutMs: durationMs(raw.shutdownTimeout),
      ops: {
        stateDb: raw.stateDb,
        backupDir: raw.backupDir,
        backupKeep: Number(raw.backupKeep),
        backupTimeoutMs: durationMs(raw.backupTimeout),
        healthTimeoutMs: durationMs(raw.healthTimeout),
        readyTimeoutMs: durationMs(raw.readyTimeout),
        commands: {
          latest: argv(raw.t3LatestCommand),
          install: argv(raw.t3InstallCommand),
          switch: argv(raw.t3SwitchCommand),
          stop: argv(raw.t3StopCommand),
          start: argv(raw.t3StartCommand),
        },
        canary: raw.canary,
        autoupdateState: raw.autoupdateState,
      },
    },
  };
}
