// The ops subcommands' command lines: healthcheck, backup, restore, autoupdate.
// Each loads the same settings and dispatch table as `serve`.
import { parseSettingsArgs, settingsOrExit } from "../config/args";
import type { Settings } from "../config/settings";
import type { Instance } from "../config/table";
import { mintCredential } from "../mint";
import { readTableFile } from "../routing";
import { runCommand } from "../runtime/spawn";
import { probeWebSocket } from "../runtime/websocket-probe";
import { checkInstance, formatHealth, type HealthDeps } from "./healthcheck";

/** The table's instances, optionally just one user's; or a message why not. */
export async function selectInstances(settings: Settings, user: string | undefined): Promise<Instance[] | string> {
  const table = await readTableFile(settings.dispatchFile);
  if (!table.ok) return `${settings.dispatchFile}: ${table.errors.join("; ")}`;
  const all = [...table.table.values()].sort((a, b) => a.user.localeCompare(b.user));
  if (user === undefined) return all;
  const one = all.find((i) => i.user === user);
  return one ? [one] : `no user ${JSON.stringify(user)} in ${settings.dispatchFile}`;
}

export function healthDeps(settings: Settings): HealthDeps {
  return {
    mint: (osUser) =>
      mintCredential(osUser, { command: settings.mintCommand, timeoutMs: settings.mintTimeoutMs, run: runCommand }),
    probeWebSocket,
    upstreamHost: settings.upstreamHost,
    timeoutMs: settings.ops.healthTimeoutMs,
  };
}

export async function healthcheckCommand(args: string[]): Promise<number> {
  const parsed = settingsOrExit(
    parseSettingsArgs(args, { user: { type: "string" }, all: { type: "boolean" }, json: { type: "boolean" } }),
  );
  if (typeof parsed === "number") return parsed;
  const instances = await selectInstances(parsed.settings, parsed.values.user as string | undefined);
  if (typeof instances === "string") {
    process.stderr.write(`t3-dispatch healthcheck: ${instances}\n`);
    return 2;
  }
  const deps = healthDeps(parsed.settings);
  const results = await Promise.all(instances.map((instance) => checkInstance(instance, deps)));
  process.stdout.write(parsed.values.json ? `${JSON.stringify(results, null, 2)}\n` : `${formatHealth(results)}\n`);
  return results.every((r) => r.ok) && results.length > 0 ? 0 : 1;
}
