// The ops subcommands' command lines: healthcheck, backup, restore, autoupdate.
// Each loads the same settings and dispatch table as `serve`.
import { join } from "node:path";
import { parseArgs } from "node:util";
import { Type } from "@sinclair/typebox";
import { Value } from "@sinclair/typebox/value";
import { effectiveSettings } from "../config/effective";
import type { Settings } from "../config/settings";
import type { Instance } from "../config/table";
import { Failure } from "../lib/errors";
import { restoreFromStdin, snapshotToStdout } from "../ops/account-side";
import { type AutoupdateState, autoupdate } from "../ops/autoupdate";
import { type BackupOptions, backupAll, formatBackups } from "../ops/backup";
import { checkAll } from "../ops/check";
import { checkInstance, formatHealth, type HealthDeps } from "../ops/healthcheck";
import { readTrusted, writeTrusted } from "../ops/private-files";
import { type RestoreOptions, restoreDatabase } from "../ops/restore";
import { stateDbTargets } from "../ops/state-db";
import { Accounts } from "../request/instance/accounts";
import { instanceCheck } from "../request/instance/check";
import { mintCredential } from "../request/pairing/mint";
import { readTableFile } from "../request/route";
import { selfCommand } from "../runtime/bun/self";
import { runtime } from "../runtime/current";
import { fetchServerVersion } from "../t3/client";
import { parseSettingsArgs, settingsOrExit } from "./args";

/** The table's instances, optionally just one user's; or why not. */
export async function selectInstances(
  settings: Settings,
  user: string | undefined,
): Promise<Instance[] | Failure<"no_instances">> {
  const table = await readTableFile(settings.dispatchFile);
  if (!table.ok) return new Failure("no_instances", `${settings.dispatchFile}: ${table.errors.join("; ")}`);
  const all = [...table.table.values()].sort((a, b) => a.user.localeCompare(b.user));
  if (user === undefined) return all;
  const one = all.find((i) => i.user === user);
  return one ? [one] : new Failure("no_instances", `no user ${JSON.stringify(user)} in ${settings.dispatchFile}`);
}

function fail(command: string, message: string, code = 2): number {
  process.stderr.write(`t3-dispatch ${command}: ${message}\n`);
  return code;
}

export function backupOptions(settings: Settings, overrides: { dest?: string; keep?: number } = {}): BackupOptions {
  return {
    dest: overrides.dest ?? settings.ops.backupDir,
    keep: overrides.keep ?? settings.ops.backupKeep,
    timeoutMs: settings.ops.backupTimeoutMs,
    snapshotCommand: [...selfCommand(), "snapshot-db"],
    run: runtime.runCommand,
  };
}

export function restoreOptions(settings: Settings): RestoreOptions {
  return {
    restoreCommand: [...selfCommand(), "restore-db"],
    timeoutMs: settings.ops.backupTimeoutMs,
    run: runtime.runCommand,
  };
}

const targetsOf = (settings: Settings, instances: Instance[]) =>
  stateDbTargets(instances, settings.ops.stateDb, new Accounts(settings.accountsFile));

export function healthDeps(settings: Settings): HealthDeps {
  return {
    instances: instanceCheck({
      upstreamHost: settings.upstreamHost,
      accounts: new Accounts(settings.accountsFile),
      onImpostor() {},
      onReplaced() {},
    }),
    mint: (osUser) =>
      mintCredential(osUser, {
        command: settings.mintCommand,
        timeoutMs: settings.mintTimeoutMs,
        run: runtime.runCommand,
      }),
    probeWebSocket: runtime.probeWebSocket,
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
  if (instances instanceof Failure) return fail("healthcheck", instances.detail);
  const deps = healthDeps(parsed.settings);
  const results = await Promise.all(instances.map((instance) => checkInstance(instance, deps)));
  process.stdout.write(parsed.values.json ? `${JSON.stringify(results, null, 2)}\n` : `${formatHealth(results)}\n`);
  return results.every((r) => r.ok) && results.length > 0 ? 0 : 1;
}

export async function backupCommand(args: string[]): Promise<number> {
  const parsed = settingsOrExit(
    parseSettingsArgs(args, {
      user: { type: "string" },
      dest: { type: "string" },
      keep: { type: "string" },
      json: { type: "boolean" },
    }),
  );
  if (typeof parsed === "number") return parsed;
  const { settings, values } = parsed;
  const keep = values.keep === undefined ? undefined : Number(values.keep);
  if (keep !== undefined && !(Number.isInteger(keep) && keep >= 1))
    return fail("backup", "--keep must be a whole number ≥ 1");
  const instances = await selectInstances(settings, values.user as string | undefined);
  if (instances instanceof Failure) return fail("backup", instances.detail);
  const { targets, errors } = targetsOf(settings, instances);
  const results = await backupAll(targets, backupOptions(settings, { dest: values.dest as string | undefined, keep }));
  for (const error of errors) results.push({ user: error.split(":")[0] ?? "?", db: "?", ok: false, ms: 0, error });
  process.stdout.write(values.json ? `${JSON.stringify(results, null, 2)}\n` : `${formatBackups(results)}\n`);
  return results.every((r) => r.ok) ? 0 : 1;
}

export async function restoreCommand(args: string[]): Promise<number> {
  const parsed = settingsOrExit(
    parseSettingsArgs(args, { user: { type: "string" }, from: { type: "string" }, force: { type: "boolean" } }),
  );
  if (typeof parsed === "number") return parsed;
  const { settings, values } = parsed;
  if (typeof values.user !== "string" || typeof values.from !== "string") {
    return fail("restore", "usage: restore --user U --from FILE [--force]");
  }
  const instances = await selectInstances(settings, values.user);
  if (instances instanceof Failure) return fail("restore", instances.detail);
  const { targets, errors } = targetsOf(settings, instances);
  const target = targets[0];
  if (!target) return fail("restore", errors.join("; "));
  const running = (await fetchServerVersion(`http://${settings.upstreamHost}:${target.port}`, 2000)) !== undefined;
  const result = await restoreDatabase(
    { target, from: values.from, instanceRunning: running, force: values.force === true },
    restoreOptions(settings),
  );
  if (!result.ok) return fail("restore", result.error, 1);
  process.stdout.write(
    `restored ${target.db} from ${values.from}${result.replacedAside ? `; the replaced file is kept at ${result.replacedAside}` : ""}\n`,
  );
  return 0;
}

/**
 * Internal: one database's snapshot to stdout, run by `backup` as the
 * instance's account (so it can be bounded and killed, and reaches only what
 * that account can).
 */
export function snapshotCommand(args: string[]): number {
  const { values } = parseArgs({
    args,
    options: { db: { type: "string" }, "busy-timeout": { type: "string", default: "5000" } },
    strict: true,
  });
  if (!values.db) return fail("snapshot-db", "usage: snapshot-db --db FILE [--busy-timeout MS] >COPY");
  process.umask(0o077);
  try {
    snapshotToStdout(values.db, Number(values["busy-timeout"]));
    return 0;
  } catch (error) {
    return fail("snapshot-db", (error as Error).message, 1);
  }
}

/** Internal: puts the backup on stdin in place of the database, run by `restore` as the instance's account. */
export function restoreDbCommand(args: string[]): number {
  const { values } = parseArgs({ args, options: { db: { type: "string" } }, strict: true });
  if (!values.db) return fail("restore-db", "usage: restore-db --db FILE <BACKUP");
  process.umask(0o077);
  try {
    process.stdout.write(`${restoreFromStdin(values.db) ?? ""}\n`);
    return 0;
  } catch (error) {
    return fail("restore-db", (error as Error).message, 1);
  }
}

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
  const parsed = settingsOrExit(
    parseSettingsArgs(args, { version: { type: "string" }, "dry-run": { type: "boolean" } }),
  );
  if (typeof parsed === "number") return parsed;
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
      serverVersion: (port) => fetchServerVersion(`http://${settings.upstreamHost}:${port}`, 2000),
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

export async function checkCommand(args: string[]): Promise<number> {
  const parsed = parseSettingsArgs(args);
  if (!parsed.ok) {
    // Settings that cannot be used: exit 2, as every command does for them.
    for (const error of parsed.errors) process.stdout.write(`PROBLEM ${error}\n`);
    process.stdout.write(`${parsed.errors.length} problem(s) in the settings\n`);
    return 2;
  }
  process.stdout.write("effective settings (secrets are read from files; URL passwords and query values redacted):\n");
  for (const line of effectiveSettings(parsed.raw, parsed.origins)) process.stdout.write(`  ${line}\n`);
  process.stdout.write("\n");
  const lines = await checkAll(parsed.settings);
  for (const line of lines)
    process.stdout.write(`${line.ok ? (line.warning ? "warning" : "ok     ") : "PROBLEM"} ${line.what}\n`);
  const problems = lines.filter((l) => !l.ok).length;
  process.stdout.write(problems === 0 ? "no problems found\n" : `${problems} problem(s)\n`);
  return problems === 0 ? 0 : 1;
}
