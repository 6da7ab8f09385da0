import { describe, expect, test } from "bun:test";
import { settingsFromEnv } from "../../../src/config/setting-schema";
import { resolveSettings } from "../../../src/config/settings";
import { Invalid } from "../../../src/lib/errors";

describe("settings", () => {
  test("defaults are the original's, except a loopback bind and a signed identity", () => {
    const result = resolveSettings({});
    expect(result).not.toBeInstanceOf(Invalid);
    if (result instanceof Invalid) return;
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
      lifecycle: {
        onDemand: true,
        command: ["sudo", "-n", "/usr/local/bin/t3-instance"],
        startTimeoutMs: 60_000,
        maxConcurrentStarts: 2,
        idleTimeoutMs: 0,
        idleCpuShare: 0.02,
      },
      fleet: {
        self: "",
        hosts: new Map(),
        listen: undefined,
        certFile: "",
        keyFile: "",
        caFile: "",
        mutualTls: true,
      },
      ops: undefined,
    });
    expect(result.settings.ops.stateDb).toBe("{home}/.t3/userdata/state.sqlite");
    expect(result.settings.ops.commands.stop).toEqual(["systemctl", "stop", "t3-serve@{os_user}"]);
    expect(result.settings.ops.backupKeep).toBe(14);
  });

  test("https publicUrl makes cookies Secure; metrics can be turned off", () => {
    const result = resolveSettings({ flags: { publicUrl: "https://t3.example.com", metricsListen: "off" } });
    expect(!(result instanceof Invalid) && result.settings.secureCookies).toBe(true);
    expect(!(result instanceof Invalid) && result.settings.publicOrigin).toBe("https://t3.example.com");
    expect(!(result instanceof Invalid) && result.settings.metricsListen).toBeUndefined();
    expect(resolveSettings({ flags: { publicUrl: "t3.example.com" } })).toBeInstanceOf(Invalid);
  });

  test("flags beat the environment, which beats the config file", () => {
    const result = resolveSettings({
      file: { listen: "127.0.0.1:1", dispatchFile: "/file.json", mintTimeout: "1s" },
      env: settingsFromEnv({ T3D_LISTEN: "127.0.0.1:2", T3D_MINT_TIMEOUT: "2s", UNRELATED: "x" }),
      flags: { listen: "127.0.0.1:3" },
    });
    expect(result).not.toBeInstanceOf(Invalid);
    if (result instanceof Invalid) return;
    expect(result.settings.listen).toEqual({ kind: "tcp", hostname: "127.0.0.1", port: 3 });
    expect(result.settings.mintTimeoutMs).toBe(2000);
    expect(result.settings.dispatchFile).toBe("/file.json");
  });

  test("every invalid value is reported with its source", () => {
    const result = resolveSettings({
      file: { sessionTimeout: "soon", bogus: 1 },
      env: { mintTimeout: "-5" },
    });
    expect(result).toBeInstanceOf(Invalid);
    if (!(result instanceof Invalid)) return;
    expect(result.problems).toEqual([
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
    expect(result).toBeInstanceOf(Invalid);
    if (!(result instanceof Invalid)) return;
    const named = result.problems.map((e) => /(T3D_\w+|--[\w-]+)/.exec(e)?.[1]);
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
    expect(result.problems).toContain(
      'environment: T3D_TRUSTED_PROXIES (trustedProxies) = "nonsense": "nonsense" is not an IP address or CIDR (10.0.0.0/8, ::1)',
    );
    expect(result.problems).toContain(
      'environment: T3D_LISTEN (listen) = "bad": expected host:port (127.0.0.1:3780, [::1]:3780) or unix:/absolute/path',
    );
    // Durations that are not timeouts may still be zero (0 turns the poll and the cache off).
    expect(resolveSettings({ env: { reloadInterval: "0", sessionCacheTtl: "0" } })).not.toBeInstanceOf(Invalid);
  });

  test("the lifecycle: on-demand off, an idle timeout, a CPU share; a bad share or zero starts are refused", () => {
    const result = resolveSettings({
      env: { onDemand: "off", idleTimeout: "1h", idleCpu: "0.5%", maxConcurrentStarts: "4" },
    });
    if (result instanceof Invalid) throw new Error(result.detail);
    expect(result.settings.lifecycle).toMatchObject({
      onDemand: false,
      idleTimeoutMs: 3_600_000,
      idleCpuShare: 0.005,
      maxConcurrentStarts: 4,
    });
    const bad = resolveSettings({ flags: { idleCpu: "2", maxConcurrentStarts: "0", startTimeout: "0" } });
    expect(bad instanceof Invalid && bad.problems.map((p) => /--[\w-]+/.exec(p)?.[0]).sort()).toEqual([
      "--idle-cpu",
      "--max-concurrent-starts",
      "--start-timeout",
    ]);
  });
});
