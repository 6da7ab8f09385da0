import { describe, expect, test } from "bun:test";
import { effectiveSettings } from "../../../src/config/effective";
import { envName, flagName, settingsFromEnv } from "../../../src/config/setting-schema";
import { durationMs, parseListen } from "../../../src/config/setting-values";
import { resolveSettings } from "../../../src/config/settings";
import { Failure } from "../../../src/lib/errors";

describe("settings", () => {
  test("defaults are the original's, except a loopback bind and a signed identity", () => {
    const result = resolveSettings({});
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    // trustedPeers is trustedProxies parsed once: a function, checked by what it answers.
    expect([result.settings.trustedPeers("127.0.0.1"), result.settings.trustedPeers("10.0.0.1")]).toEqual([
      true,
      false,
    ]);
    expect({ ...result.settings, ops: undefined, trustedPeers: undefined }).toEqual({
      listen: { kind: "tcp", hostname: "127.0.0.1", port: 3780 },
      dispatchFile: "/etc/t3-serve/dispatch.json",
      mintCommand: ["sudo", "-n", "/usr/local/bin/t3-mint"],
      reloadIntervalMs: 60_000,
      sessionTimeoutMs: 5_000,
      mintTimeoutMs: 15_000,
      exchangeTimeoutMs: 10_000,
      upstreamHost: "127.0.0.1",
      identityHeader: "X-authentik-username",
      proof: {
        mode: "jwt",
        tokenHeader: "X-authentik-jwt",
        jwksUrl: "",
        jwksFile: "",
        jwtSecretFile: "",
        issuer: undefined,
        audience: undefined,
        secretHeader: undefined,
        secretFile: "",
      },
      identityDomains: [],
      frontCookiePrefixes: [],
      accountsFile: "/etc/passwd",
      listenMode: 0o660,
      listenGroup: "",
      trustedProxies: ["127.0.0.0/8", "::1/128"],
      trustedPeers: undefined,
      publicOrigin: undefined,
      secureCookies: false,
      secretFile: "/var/lib/t3-dispatch/cookie-secret",
      sessionCacheTtlMs: 15_000,
      pairAttempts: 5,
      pairWindowMs: 60_000,
      metricsListen: { kind: "tcp", hostname: "127.0.0.1", port: 3781 },
      accessLog: true,
      shutdownTimeoutMs: 10_000,
      ops: undefined,
    });
    expect(result.settings.ops.stateDb).toBe("{home}/.t3/userdata/state.sqlite");
    expect(result.settings.ops.commands.stop).toEqual(["systemctl", "stop", "t3-serve@{os_user}"]);
    expect(result.settings.ops.backupKeep).toBe(14);
  });

  test("https publicUrl makes cookies Secure; metrics can be turned off", () => {
    const result = resolveSettings({ flags: { publicUrl: "https://t3.example.com", metricsListen: "off" } });
    expect(result.ok && result.settings.secureCookies).toBe(true);
    expect(result.ok && result.settings.publicOrigin).toBe("https://t3.example.com");
    expect(result.ok && result.settings.metricsListen).toBeUndefined();
    expect(resolveSettings({ flags: { publicUrl: "t3.example.com" } }).ok).toBe(false);
  });

  test("flags beat the environment, which beats the config file", () => {
    const result = resolveSettings({
      file: { listen: "127.0.0.1:1", dispatchFile: "/file.json", mintTimeout: "1s" },
      env: settingsFromEnv({ T3D_LISTEN: "127.0.0.1:2", T3D_MINT_TIMEOUT: "2s", UNRELATED: "x" }),
      flags: { listen: "127.0.0.1:3" },
    });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.settings.listen).toEqual({ kind: "tcp", hostname: "127.0.0.1", port: 3 });
    expect(result.settings.mintTimeoutMs).toBe(2000);
    expect(result.settings.dispatchFile).toBe("/file.json");
  });

  test("every invalid value is reported with its source", () => {
    const result = resolveSettings({
      file: { sessionTimeout: "soon", bogus: 1 },
      env: { mintTimeout: "-5" },
    });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors).toEqual([
      "config file: bogus = 1: not a setting",
      'config file: sessionTimeout = "soon": expected a duration above zero (500ms, 5s, 2m, 1h, or milliseconds)',
      'environment: T3D_MINT_TIMEOUT (mintTimeout) = "-5": expected a duration above zero (500ms, 5s, 2m, 1h, or milliseconds)',
    ]);
  });

  test("one pass finds every problem of every source: schema, listen addresses, trusted proxies, zero timeouts", () => {
    const result = resolveSettings({
      env: { listen: "bad", trustedProxies: "nonsense", mintTimeout: "xyz", metricsListen: "nowhere" },
      flags: { sessionTimeout: "0", identityProof: "maybe" },
    });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    const named = result.errors.map((e) => /(T3D_\w+|--[\w-]+)/.exec(e)?.[1]);
    expect(named.sort()).toEqual(
      [
        "T3D_MINT_TIMEOUT",
        "--session-timeout",
        "--identity-proof",
        "T3D_LISTEN",
        "T3D_METRICS_LISTEN",
        "T3D_TRUSTED_PROXIES",
      ].sort(),
    );
    // The checks on the merged values name where the value came from, the value and the expected form too.
    expect(result.errors).toContain(
      'environment: T3D_TRUSTED_PROXIES (trustedProxies) = "nonsense": "nonsense" is not an IP address or CIDR (10.0.0.0/8, ::1)',
    );
    expect(result.errors).toContain(
      'environment: T3D_LISTEN (listen) = "bad": expected host:port (127.0.0.1:3780, [::1]:3780) or unix:/absolute/path',
    );
    // Durations that are not timeouts may still be zero (0 turns the poll and the cache off).
    expect(resolveSettings({ env: { reloadInterval: "0", sessionCacheTtl: "0" } }).ok).toBe(true);
  });

  test("listen accepts host:port, [v6]:port and unix:/path only", () => {
    expect(parseListen("0.0.0.0:80")).toEqual({ kind: "tcp", hostname: "0.0.0.0", port: 80 });
    expect(parseListen("[::1]:3780")).toEqual({ kind: "tcp", hostname: "::1", port: 3780 });
    expect(parseListen("unix:/run/t3d.sock")).toEqual({ kind: "unix", path: "/run/t3d.sock" });
    expect(parseListen("3780")).toBeInstanceOf(Failure);
    expect(parseListen("unix:relative.sock")).toBeInstanceOf(Failure);
    expect(parseListen("host:99999")).toBeInstanceOf(Failure);
  });

  test("names and durations", () => {
    expect(envName("dispatchFile")).toBe("T3D_DISPATCH_FILE");
    expect(flagName("sessionTimeout")).toBe("session-timeout");
    expect(durationMs("250ms")).toBe(250);
    expect(durationMs("2m")).toBe(120_000);
    expect(durationMs(42)).toBe(42);
    expect(() => durationMs("5 s")).toThrow();
  });
});

describe("the effective settings check prints", () => {
  test("every setting with its origin; a URL's password and query values redacted wherever a URL appears", () => {
    const resolved = resolveSettings({
      env: { jwksUrl: "https://front:hunter2@auth.example/jwks?token=abc&kid=1" },
      flags: { t3LatestCommand: "curl -s https://bot:tok3n@registry.example/latest?auth=xyz" },
    });
    if (!resolved.ok) throw new Error(resolved.errors.join("; "));
    const lines = effectiveSettings(resolved.raw, resolved.origins);
    const line = (key: string) => lines.find((l) => l.startsWith(`${key} `)) ?? "";
    expect(lines).toHaveLength(Object.keys(resolved.raw).length);
    expect(line("jwksUrl")).toMatch(
      /^jwksUrl +https:\/\/front:\*\*\*@auth\.example\/jwks\?token=\*\*\*&kid=\*\*\* +\(environment: T3D_JWKS_URL \(jwksUrl\)\)$/,
    );
    expect(line("t3LatestCommand")).toContain(
      "curl -s https://bot:***@registry.example/latest?auth=***  (flag: --t3-latest-command",
    );
    expect(line("listen")).toMatch(/^listen +127\.0\.0\.1:3780 +\(default\)$/);
    expect(lines.join("\n")).not.toMatch(/hunter2|tok3n|abc|xyz/);
  });
});
