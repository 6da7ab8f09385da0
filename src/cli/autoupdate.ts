// `t3-dispatch autoupdate`: update t3, canary first, health-checked, rolled
// back (version and state) on failure; root's state file says which versions are bad.
import { join } from "node:path";
import { Failure, Invalid } from "../lib/errors";
import { autoupdate } from "../ops/autoupdate";
import { loadState, saveState } from "../ops/autoupdate-state";
import { backupAll } from "../ops/backup";
import { checkInstance } from "../ops/healthcheck";
import { restoreDatabase } from "../ops/restore";
import { runtime } from "../runtime/current";
import { selectInstances } from "../server/wiring";
import { instanceUrl } from "../t3/address";
import { fetchServerVersion } from "../t3/client";
import { parseSettingsArgs, unusableSettings } from "./args";
import { fail } from "./exit";
import { backupOptions, healthDeps, restoreOptions, targetsOf, unfound } from "./ops-wiring";

/** Installing a t3 version with npm can take minutes; every other command is quick. */
const COMMAND_TIMEOUT_MS = 15 * 60_000;

export async function autoupdateCommand(args: string[]): Promise<number> {
  const parsed = parseSettingsArgs(args, { version: { type: "string" }, "dry-run": { type: "boolean" } });
  if (parsed instanceof Invalid) return unusableSettings(parsed);
  const { settings, values } = parsed;
  const instances = await selectInstances(settings, undefined);
  if (instances instanceof Failure) return fail("autoupdate", instances.detail);
  const { targets, missing } = targetsOf(settings, instances);
  if (missing.length > 0) return fail("autoupdate", unfound(missing));
  const statePath = settings.ops.autoupdateState;
  const state = loadState(statePath, (why) => process.stderr.write(`t3-dispatch autoupdate: ${why}\n`));
  if (state instanceof Failure) return fail("autoupdate", `${state.detail}; nothing was changed`);
  const health = healthDeps(settings);
  const result = await autoupdate(
    {
      instances: targets,
      commands: settings.ops.commands,
      run: runtime.runCommand,
      commandTimeoutMs: COMMAND_TIMEOUT_MS,
      readyTimeoutMs: settings.ops.readyTimeoutMs,
      canary: settings.ops.canary,
      serverVersion: (port) => fetchServerVersion(instanceUrl(settings.upstreamHost, port), 2000),
      health: (instance) => checkInstance(instance, health),
      backup: (list, label) =>
        backupAll(list, { ...backupOptions(settings), dest: join(settings.ops.backupDir, label), keep: 0 }),
      restore: (target, from) =>
        restoreDatabase({ target, from, instanceRunning: false, force: false }, restoreOptions(settings)),
      loadState: () => state,
      saveState: (next) => saveState(statePath, next),
      report: (line) => process.stdout.write(`${line}\n`),
    },
    { version: values.version as string | undefined, dryRun: values["dry-run"] === true },
  );
  return result.exitCode;
}
