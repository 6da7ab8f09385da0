// `t3-dispatch autoupdate`: update t3, canary first, health-checked, rolled
// back (version and state) on failure; root's state file says which versions are bad.
import { join } from "node:path";
import { Type } from "@sinclair/typebox";
import { Value } from "@sinclair/typebox/value";
import { Failure, Invalid } from "../lib/errors";
import { type AutoupdateState, autoupdate } from "../ops/autoupdate";
import { backupAll } from "../ops/backup";
import { checkInstance } from "../ops/healthcheck";
import { readTrusted, writeTrusted } from "../ops/private-files";
import { restoreDatabase } from "../ops/restore";
import { runtime } from "../runtime/current";
import { selectInstances } from "../server/wiring";
import { instanceUrl } from "../t3/address";
import { fetchServerVersion } from "../t3/client";
import { parseSettingsArgs, unusableSettings } from "./args";
import { fail } from "./exit";
import { backupOptions, healthDeps, restoreOptions, targetsOf } from "./ops-wiring";

const StateFile = Type.Object({
  bad: Type.Record(Type.String(), Type.Object({ at: Type.String(), reason: Type.String() })),
});

/** Installing a t3 version with npm can take minutes; every other command is quick. */
const COMMAND_TIMEOUT_MS = 15 * 60_000;

/** Root's own state: read only from a root-owned file on a path no user can change. */
function loadState(path: string): AutoupdateState {
  let text: string;
  try {
    text = readTrusted(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return { bad: {} };
    throw error;
  }
  try {
    const parsed: unknown = JSON.parse(text);
    if (Value.Check(StateFile, parsed)) return parsed;
  } catch {
    // Reported below.
  }
  process.stderr.write(`t3-dispatch autoupdate: ${path} is not a state file; starting afresh\n`);
  return { bad: {} };
}

const saveState = (path: string, state: AutoupdateState) => writeTrusted(path, `${JSON.stringify(state, null, 2)}\n`);

export async function autoupdateCommand(args: string[]): Promise<number> {
  const parsed = parseSettingsArgs(args, { version: { type: "string" }, "dry-run": { type: "boolean" } });
  if (parsed instanceof Invalid) return unusableSettings(parsed);
  const { settings, values } = parsed;
  const instances = await selectInstances(settings, undefined);
  if (instances instanceof Failure) return fail("autoupdate", instances.detail);
  const { targets, errors } = targetsOf(settings, instances);
  if (errors.length > 0) return fail("autoupdate", errors.join("; "));
  const statePath = settings.ops.autoupdateState;
  let state: AutoupdateState;
  try {
    state = loadState(statePath);
  } catch (error) {
    return fail("autoupdate", `cannot use ${statePath}: ${(error as Error).message}; nothing was changed`);
  }
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
