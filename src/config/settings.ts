// Service settings as the program uses them, resolved from the sources.
// Precedence: flags > environment (T3D_*) > config file > defaults. Every
// source is validated with the same schema (setting-schema.ts), and every
// problem is reported at once, named as the operator wrote it.
import { Value } from "@sinclair/typebox/value";
import { type AddressCheck, cidrMatcher } from "../lib/cidr";
import { Failure, Invalid } from "../lib/errors";
import { type FleetSettings, fleetProblems, parseFleetHosts } from "./fleet";
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
  lifecycle: LifecycleSettings;
  fleet: FleetSettings;
  ops: OpsSettings;
}

export interface LifecycleSettings {
  onDemand: boolean;
  /** argv prefix of the instance wrapper; the verb and the os_user are appended as elements. */
  command: string[];
  startTimeoutMs: number;
  maxConcurrentStarts: number;
  /** 0: never stopped for idleness. */
  idleTimeoutMs: number;
  /** idleCpu as a fraction of one CPU (2% → 0.02). */
  idleCpuShare: number;
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

/** The settings, and the merged text of each with where it came from (what `check` prints). */
export interface ResolvedSettings {
  settings: Settings;
  raw: RawSettings;
  origins: Origins;
}

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

/** The durations, in milliseconds once resolved. */
const DURATIONS = [
  "reloadInterval",
  "sessionTimeout",
  "mintTimeout",
  "exchangeTimeout",
  "sessionCacheTtl",
  "pairWindow",
  "shutdownTimeout",
  "startTimeout",
  "idleTimeout",
  "backupTimeout",
  "healthTimeout",
  "readyTimeout",
] as const;
type Durations = Record<(typeof DURATIONS)[number], number>;

/** The merged values that need parsing beyond the schema, parsed once. */
interface Parsed {
  listen: ListenAddress;
  metricsListen: ListenAddress | undefined;
  fleetListen: ListenAddress | undefined;
  fleetHosts: ReadonlyMap<string, string>;
  trustedPeers: AddressCheck;
  ms: Durations;
}

/** Every source checked whole, then its valid parts merged: one bad value hides no other check. */
function merge(sources: { file?: unknown; env?: unknown; flags?: unknown }, problems: string[]) {
  const parts: Array<[Source, PartialSettings]> = [];
  for (const source of ["file", "env", "flags"] as const) {
    if (sources[source] === undefined) continue;
    const checked = validate(source, sources[source]);
    problems.push(...checked.errors);
    parts.push([source, validPart(sources[source], checked.bad)]);
  }
  const raw: RawSettings = Object.assign({ ...DEFAULTS }, ...parts.map(([, part]) => part));
  const origins = Object.fromEntries(
    SETTING_KEYS.map((key) => {
      const from = parts.findLast(([, part]) => key in part)?.[0];
      return [key, from ? `${SOURCE_NAMES[from]}: ${spelled(from, key)}` : "default"];
    }),
  ) as Origins;
  return { raw, origins };
}

/** The merged values parsed, or undefined with each problem named as the operator wrote it where it came from. */
function parseMerged(raw: RawSettings, origins: Origins, problems: string[]): Parsed | undefined {
  const before = problems.length;
  function parsed<T>(key: keyof RawSettings, value: T | Failure): T | undefined {
    if (!(value instanceof Failure)) return value;
    const where = origins[key] === "default" ? `default ${key}` : origins[key];
    problems.push(`${where} = ${JSON.stringify(raw[key])}: ${value.detail}`);
    return undefined;
  }
  const listen = parsed("listen", parseListen(raw.listen));
  const metricsListen = optionalListen("metricsListen");
  const fleetListen = optionalListen("fleetListen");
  const fleetHosts = parsed("fleetHosts", parseFleetHosts(raw.fleetHosts));
  const trustedPeers = parsed("trustedProxies", cidrMatcher(list(raw.trustedProxies)));
  const ms = Object.fromEntries(DURATIONS.map((key) => [key, parsed(key, durationMs(raw[key]))])) as Durations;
  if (problems.length > before || !listen || !metricsListen || !fleetListen || !fleetHosts || !trustedPeers) {
    return undefined;
  }
  const on = (address: ListenAddress | "off") => (address === "off" ? undefined : address);
  return { listen, metricsListen: on(metricsListen), fleetListen: on(fleetListen), fleetHosts, trustedPeers, ms };

  /** A listener that may be "off". */
  function optionalListen(key: "metricsListen" | "fleetListen") {
    return raw[key] === "off" ? ("off" as const) : parsed(key, parseListen(raw[key]));
  }
}

const argv = (command: string): string[] => command.trim().split(/\s+/);

const proofSettings = (raw: RawSettings): ProofSettings => ({
  mode: raw.identityProof,
  tokenHeader: raw.jwtHeader,
  jwksUrl: raw.jwksUrl,
  jwksFile: raw.jwksFile,
  jwtSecretFile: raw.jwtSecretFile,
  issuer: raw.jwtIssuer || undefined,
  audience: raw.jwtAudience || undefined,
  secretHeader: raw.identityProof === "secret" ? raw.proofHeader : undefined,
  secretFile: raw.proofSecretFile,
});

const fleetSettings = (raw: RawSettings, parsed: Parsed): FleetSettings => ({
  self: raw.hostName,
  hosts: parsed.fleetHosts,
  listen: parsed.fleetListen,
  certFile: raw.fleetCertFile,
  keyFile: raw.fleetKeyFile,
  caFile: raw.fleetCaFile,
  mutualTls: raw.fleetMutualTls === "on",
});

function settingsOf(raw: RawSettings, parsed: Parsed): Settings {
  const { listen, metricsListen, trustedPeers, ms } = parsed;
  return {
    listen,
    dispatchFile: raw.dispatchFile,
    mintCommand: argv(raw.mintCommand),
    reloadIntervalMs: ms.reloadInterval,
    sessionTimeoutMs: ms.sessionTimeout,
    mintTimeoutMs: ms.mintTimeout,
    exchangeTimeoutMs: ms.exchangeTimeout,
    upstreamHost: raw.upstreamHost,
    identityHeader: raw.identityHeader,
    proof: proofSettings(raw),
    identityDomains: list(raw.identityDomains),
    frontCookiePrefixes: list(raw.frontCookiePrefixes),
    accountsFile: raw.accountsFile,
    listenMode: Number.parseInt(raw.listenMode, 8),
    listenGroup: raw.listenGroup,
    trustedProxies: list(raw.trustedProxies),
    trustedPeers,
    publicOrigin: raw.publicUrl === "" ? undefined : raw.publicUrl.replace(/\/$/, "").toLowerCase(),
    secureCookies: raw.publicUrl.startsWith("https://"),
    secretFile: raw.secretFile,
    sessionCacheTtlMs: ms.sessionCacheTtl,
    pairAttempts: Number(raw.pairAttempts),
    pairWindowMs: ms.pairWindow,
    metricsListen,
    accessLog: raw.accessLog === "on",
    shutdownTimeoutMs: ms.shutdownTimeout,
    lifecycle: {
      onDemand: raw.onDemand === "on",
      command: argv(raw.instanceCommand),
      startTimeoutMs: ms.startTimeout,
      maxConcurrentStarts: Number(raw.maxConcurrentStarts),
      idleTimeoutMs: ms.idleTimeout,
      idleCpuShare: Number.parseFloat(raw.idleCpu) / 100,
    },
    fleet: fleetSettings(raw, parsed),
    ops: {
      stateDb: raw.stateDb,
      backupDir: raw.backupDir,
      backupKeep: Number(raw.backupKeep),
      backupTimeoutMs: ms.backupTimeout,
      healthTimeoutMs: ms.healthTimeout,
      readyTimeoutMs: ms.readyTimeout,
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
  };
}

/** Merges the sources in precedence order and validates the result: the settings, or every problem. */
export function resolveSettings(sources: {
  file?: unknown;
  env?: unknown;
  flags?: unknown;
}): ResolvedSettings | Invalid {
  const problems: string[] = [];
  const { raw, origins } = merge(sources, problems);
  const parsed = parseMerged(raw, origins, problems);
  if (problems.length > 0 || parsed === undefined) return new Invalid(problems);
  const settings = settingsOf(raw, parsed);
  const fleet = fleetProblems(settings.fleet, settings.proof.mode);
  if (fleet.length > 0) return new Invalid(fleet);
  return { settings, raw, origins };
}
