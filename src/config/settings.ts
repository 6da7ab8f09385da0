// Service settings as the program uses them, resolved from the sources.
// Precedence: flags > environment (T3D_*) > config file > defaults. Every
// source is validated with the same schema (setting-schema.ts), and every
// problem is reported at once, named as the operator wrote it.
import { Value } from "@sinclair/typebox/value";
import { type AddressCheck, cidrMatcher } from "../lib/cidr";
import { Failure } from "../lib/errors";
import { DEFAULTS, envName, flagName, PartialSettings, RawSettings, SETTING_KEYS } from "./setting-schema";
import { durationMs, type ListenAddress, list, parseListen } from "./setting-values";

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
  /** trustedProxies, parsed once: is this peer the front? */
  trustedPeers: AddressCheck;
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
      `${origins[key] === "default" ? `default ${key}` : origins[key]} = ${JSON.stringify(raw[key])}: ${failure.detail}`,
    );
  const listen = parseListen(raw.listen);
  if (listen instanceof Failure) problem("listen", listen);
  const metricsListen = raw.metricsListen === "off" ? undefined : parseListen(raw.metricsListen);
  if (metricsListen instanceof Failure) problem("metricsListen", metricsListen);
  const peers = cidrMatcher(list(raw.trustedProxies));
  if (peers instanceof Failure) problem("trustedProxies", peers);
  if (errors.length > 0 || listen instanceof Failure || metricsListen instanceof Failure || peers instanceof Failure) {
    return { ok: false, errors };
  }
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
      trustedPeers: peers,
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
