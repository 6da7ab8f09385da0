// `t3-dispatch check`: everything `serve` needs, checked before it is needed —
// the table, the trusted peers, the mint command and (with on-demand start)
// the instance command (present, executable, and the sudo target
// root-owned), the secret file, every instance of this host answering (or
// stopped, when it starts on demand), and in a fleet the TLS files and every
// other host's dispatcher.
// Lists every problem, not just the first.
import { accessSync, constants, existsSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import type { Settings } from "../config/settings";
import { readTableFile } from "../config/table";
import { Failure, Invalid } from "../lib/errors";
import { memoryLogger } from "../lib/log";
import { addressesFor } from "../request/instance/listeners";
import { proofFromSettings } from "../request/proof/from-settings";
import { runtime } from "../runtime/current";
import { fleetTlsHere } from "../server/fleet-tls";
import { onDemandElsewhere } from "../server/wiring";
import { instanceUrl } from "../t3/address";
import { fetchServerVersion } from "../t3/client";
import { checkHosts, describeHost } from "./fleet-health";

export interface CheckLine {
  ok: boolean;
  what: string;
  /** Worth an operator's look, but not a problem. */
  warning?: boolean;
}

/** How the identity is proven, and what that leaves open. */
async function checkProof(settings: Settings): Promise<CheckLine[]> {
  const proof = await proofFromSettings(settings, memoryLogger()); // check prints; the log lines are not needed
  if (proof instanceof Failure) return [{ ok: false, what: `identityProof: ${proof.detail}` }];
  if (proof.unfetched) return [{ ok: false, what: `jwksUrl ${settings.proof.jwksUrl}: ${proof.unfetched.detail}` }];
  if (proof.mode === "peer" && settings.listen.kind === "tcp") {
    return [
      {
        ok: false,
        what: "identityProof peer on a TCP listener: any local account can act as any user (use jwt or secret)",
      },
    ];
  }
  return [{ ok: true, what: `identityProof ${proof.mode}` }];
}

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** An argv[0] as the OS would find it: a path, or the first match on PATH. */
function resolveCommand(name: string): string | undefined {
  if (name.includes("/")) return executable(name) ? name : undefined;
  for (const dir of (process.env.PATH ?? "").split(":")) {
    if (dir !== "" && executable(join(dir, name))) return join(dir, name);
  }
  return undefined;
}

/** A command the dispatcher runs for a privileged act (`kind`: mint or instance). */
function checkWrapperCommand(kind: string, argv: string[]): CheckLine[] {
  const [program = "", ...rest] = argv;
  const resolved = resolveCommand(program);
  const lines: CheckLine[] = [
    {
      ok: resolved !== undefined,
      what: `${kind} command ${program}: ${resolved ? `found at ${resolved}` : "not found or not executable"}`,
    },
  ];
  if (program.endsWith("sudo")) {
    // The wrapper sudo runs must be root-owned and writable by root alone, or the boundary is void.
    const target = rest.find((arg) => arg.startsWith("/"));
    if (target === undefined)
      return [...lines, { ok: false, what: `${kind} command: sudo without an absolute command path` }];
    if (!existsSync(target)) return [...lines, { ok: false, what: `${kind} wrapper ${target}: missing` }];
    for (const path of [target, dirname(target)]) {
      const stat = statSync(path);
      const safe = stat.uid === 0 && (stat.mode & 0o022) === 0;
      lines.push({
        ok: safe,
        what: `${path}: ${safe ? "root-owned, not writable by others" : "must be root-owned and not group/world-writable"}`,
      });
    }
  }
  return lines;
}

function checkSecret(path: string): CheckLine {
  if (existsSync(path)) {
    const stat = statSync(path);
    const ok = (stat.mode & 0o077) === 0;
    return { ok, what: `secret ${path}: ${ok ? "present, private" : "readable by group or others: chmod 600"}` };
  }
  try {
    accessSync(dirname(path), constants.W_OK);
    return { ok: true, what: `secret ${path}: will be created` };
  } catch {
    return {
      ok: false,
      what: `secret ${path}: missing and ${dirname(path)} is not writable (browsers re-pair after each restart)`,
    };
  }
}

/** The fleet: its TLS files, the listener, and each other host's dispatcher as a door reaches it. */
async function checkFleet(settings: Settings): Promise<CheckLine[]> {
  const tls = fleetTlsHere(settings.fleet, runtime.fleetUnsupported);
  if (tls instanceof Invalid) return tls.problems.map((what) => ({ ok: false, what }));
  if (!tls.server && !tls.client) return [];
  const { fleet } = settings;
  const lines: CheckLine[] = [];
  if (fleet.listen?.kind === "tcp") {
    const mutual = fleet.mutualTls ? "client certificates from fleetCaFile required" : "fleetMutualTls off: any client";
    lines.push({
      ok: true,
      warning: !fleet.mutualTls,
      what: `fleet listener ${fleet.listen.hostname}:${fleet.listen.port} (host ${fleet.self || "unnamed"}): ${mutual}`,
    });
  }
  if (tls.client) {
    const hosts = await checkHosts(fleet, tls.client, runtime.fetchUpstream, settings.ops.healthTimeoutMs);
    lines.push(...hosts.map((host) => ({ ok: host.ok, what: describeHost(host) })));
  }
  return lines;
}

export async function checkAll(settings: Settings): Promise<CheckLine[]> {
  const lines: CheckLine[] = [];
  const loaded = await readTableFile(settings.dispatchFile, settings.fleet);
  const table = loaded instanceof Invalid ? undefined : loaded;
  const where = `table ${settings.dispatchFile}`;
  if (loaded instanceof Invalid) lines.push(...loaded.problems.map((p) => ({ ok: false, what: `${where}: ${p}` })));
  else lines.push({ ok: true, what: `${where}: ${loaded.size} user(s)` });
  lines.push(...(await checkProof(settings)));
  if (table && settings.identityDomains.length === 0) {
    const localKeys = [...table.keys()].filter((key) => !key.includes("@"));
    if (localKeys.length > 0)
      lines.push({
        ok: true,
        warning: true,
        what: `local-part keys (${localKeys.join(", ")}) match that name at any domain: set identityDomains`,
      });
  }
  const { onDemand } = settings.lifecycle;
  const elsewhere = onDemandElsewhere(settings);
  if (elsewhere) lines.push({ ok: false, what: elsewhere.detail });
  else if (!addressesFor(settings.upstreamHost)) {
    lines.push({
      ok: true,
      warning: true,
      what: `upstreamHost ${settings.upstreamHost} is not local: who listens on its ports is not checked`,
    });
  }
  lines.push(...checkWrapperCommand("mint", settings.mintCommand));
  if (onDemand) lines.push(...checkWrapperCommand("instance", settings.lifecycle.command));
  lines.push(checkSecret(settings.secretFile));
  lines.push(...(await checkFleet(settings)));
  if (table) {
    const answers = await Promise.all(
      [...table.values()]
        .filter((i) => i.host === undefined)
        .map(async (instance) => ({
          instance,
          version: await fetchServerVersion(
            instanceUrl(settings.upstreamHost, instance.port),
            settings.sessionTimeoutMs,
          ),
        })),
    );
    // With on-demand start, an instance that does not answer is stopped until its person arrives.
    const silent = onDemand ? "stopped (starts when its person arrives)" : "not answering";
    for (const { instance, version } of answers) {
      lines.push({
        ok: version !== undefined || onDemand,
        what: `${instance.user} → ${instance.osUser}@${settings.upstreamHost}:${instance.port}: ${version === undefined ? silent : `t3 ${version}`}`,
      });
    }
  }
  return lines;
}
