// The settings as the operator writes them: one TypeBox schema for every
// source (config file, T3D_* environment, flags), the defaults, and how each
// setting is named in each source.
import { type Static, Type } from "@sinclair/typebox";
import { HOST_NAME_PATTERN } from "./fleet";

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
    // The fleet (several hosts behind one table).
    // A host's name, or empty (not in a fleet, or a door without instances).
    hostName: Type.String({ pattern: `^(${HOST_NAME_PATTERN.slice(1, -1)})?$` }),
    fleetHosts: Type.String(),
    fleetListen: Type.String({ minLength: 1 }),
    fleetCertFile: Type.String(),
    fleetKeyFile: Type.String(),
    fleetCaFile: Type.String(),
    fleetMutualTls: Type.Union([Type.Literal("on"), Type.Literal("off")]),
    // The instance lifecycle (on-demand start, idle stop).
    onDemand: Type.Union([Type.Literal("on"), Type.Literal("off")]),
    instanceCommand: Type.String({ minLength: 1 }),
    startTimeout: Timeout,
    maxConcurrentStarts: Count,
    idleTimeout: Duration,
    idleCpu: Type.String({ pattern: "^[0-9]+(\\.[0-9]+)?%$", description: "a share of one CPU (2%, 0.5%)" }),
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
export const PartialSettings = Type.Partial(RawSettings, {
  additionalProperties: false,
});
export type PartialSettings = Static<typeof PartialSettings>;

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
  // This host's name in the table's `host` entries (empty: not in a fleet, or a door without instances).
  hostName: "",
  // Comma-separated name=https://address:port of every host's fleet listener, this one's included.
  fleetHosts: "",
  // The TLS listener other hosts' doors forward this host's people to; "off" disables it.
  fleetListen: "off",
  // PEM files: this host's certificate and key (served, and presented as a door), the operator's CA.
  fleetCertFile: "",
  fleetKeyFile: "",
  fleetCaFile: "",
  // A fleet listener accepts only connections with a client certificate from fleetCaFile.
  fleetMutualTls: "on",
  // A person whose instance is down gets a progress page while it starts ("off": a 502, as before).
  onDemand: "on",
  // `start|stop|status <os_user>` is appended; a root-owned wrapper (deploy/t3-instance) through sudo.
  instanceCommand: "sudo -n /usr/local/bin/t3-instance",
  // From start requested to answering; then the page shows the step that failed (no retry loop).
  startTimeout: "60s",
  // Starts at once across the host (each t3 start is a busy Node process); the rest wait their turn.
  maxConcurrentStarts: 2,
  // Stop an instance with no traffic for this long (0: never; the installed sample sets one).
  idleTimeout: 0,
  // An instance using more CPU than this over the sweep window is busy on its own, not idle.
  idleCpu: "2%",
  // {home} and {os_user} are filled in per instance; t3 keeps its state here (see the contract).
  stateDb: "{home}/.t3/userdata/state.sqlite",
  backupDir: "/var/backups/t3-state",
  backupKeep: 14,
  backupTimeout: "5m",
  healthTimeout: "10s",
  readyTimeout: "60s",
  // Commands are split on spaces and run without a shell; {version} and {os_user} are filled in.
  t3LatestCommand: "npm view t3 version",
  // npm as the unprivileged t3-install account, never as root (see deploy/t3-install-version).
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

/** Picks the T3D_* variables that name a setting. */
export function settingsFromEnv(env: Record<string, string | undefined>): Record<string, string> {
  const picked: Record<string, string> = {};
  for (const key of SETTING_KEYS) {
    const value = env[envName(key)];
    if (value !== undefined) picked[key] = value;
  }
  return picked;
}
