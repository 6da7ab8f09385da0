// The nightly t3 update with rollback. Install the candidate beside the current
// version, back up every state database (an extra copy), then one instance at
// a time, canary first: stop it, back it up as of its stop, switch, start,
// prove it with the real-handshake health check. On any failure every switched
// instance goes back — stopped, its at-stop database restored (t3 migrates one
// way: the old binary cannot use a migrated database), switched back, started
// and checked — and the version is remembered as bad. Versions reach root's
// command lines only after they match VERSION: an instance's owner controls
// what its /.well-known/t3/environment says.
import type { CommandRunner } from "../runtime/command";
import type { BackupResult } from "./backup";
import type { InstanceHealth } from "./healthcheck";
import type { RestoreResult } from "./restore";
import type { StateDbTarget } from "./state-db";

export const VERSION = /^[0-9A-Za-z][0-9A-Za-z.+_-]{0,63}$/;

export interface AutoupdateState {
  bad: Record<string, { at: string; reason: string }>;
}

export interface AutoupdateDeps {
  instances: StateDbTarget[];
  /** argv templates with {version} and {os_user}. */
  commands: { latest: string[]; install: string[]; switch: string[]; stop: string[]; start: string[] };
  run: CommandRunner;
  commandTimeoutMs: number;
  readyTimeoutMs: number;
  canary: string;
  serverVersion(port: number): Promise<string | undefined>;
  health(instance: StateDbTarget): Promise<InstanceHealth>;
  backup(targets: StateDbTarget[], label: string): Promise<BackupResult[]>;
  restore(target: StateDbTarget, from: string): Promise<RestoreResult>;
  loadState(): AutoupdateState;
  saveState(state: AutoupdateState): void;
  report(line: string): void;
}

export interface AutoupdateResult {
  /** 0 updated or nothing to do · 1 failed and rolled back · 3 rollback incomplete. */
  exitCode: 0 | 1 | 3;
  candidate?: string;
}

class StepFailed extends Error {}

/** A hostile answer, shown safely: quoted and cut short. */
const shown = (value: string | undefined) => (value === undefined ? "none" : JSON.stringify(value.slice(0, 80)));

function fill(argv: string[], values: Record<string, string>): string[] {
  // Checked here too, whatever the caller checked: nothing else reaches a root command line.
  if (values.version !== undefined && !VERSION.test(values.version))
    throw new StepFailed(`refusing the version ${shown(values.version)} in a command line`);
  return argv.map((arg) => arg.replace(/\{(version|os_user)\}/g, (_, key: string) => values[key] ?? ""));
}

export async function autoupdate(
  deps: AutoupdateDeps,
  options: { version?: string; dryRun: boolean },
): Promise<AutoupdateResult> {
  const say = deps.report;

  async function command(name: keyof AutoupdateDeps["commands"], values: Record<string, string>): Promise<string> {
    const argv = fill(deps.commands[name], values);
    const result = await deps.run(argv, deps.commandTimeoutMs);
    if (result.exitCode !== 0 || result.timedOut) {
      const why = result.timedOut ? "timed out" : `exit ${result.exitCode}: ${result.stderr.trim().slice(0, 200)}`;
      throw new StepFailed(`${name} (${argv.join(" ")}) failed: ${why}`);
    }
    return result.stdout.trim();
  }

  async function waitForVersion(instance: StateDbTarget, version: string): Promise<void> {
    const deadline = Date.now() + deps.readyTimeoutMs;
    let seen: string | undefined;
    while (Date.now() < deadline) {
      seen = await deps.serverVersion(instance.port);
      if (seen === version) return;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new StepFailed(`${instance.user} did not come up on ${version} (last answer: ${shown(seen)})`);
  }

  async function switchTo(instance: StateDbTarget, version: string): Promise<void> {
    const values = { version, os_user: instance.osUser };
    await command("switch", values);
    await command("start", values);
    await waitForVersion(instance, version);
  }

  /** Its database as of this stop: what a rollback restores, so no write before the stop is lost. */
  async function backUpStopped(instance: StateDbTarget, label: string): Promise<string> {
    const [result] = await deps.backup([instance], label);
    if (!result?.ok || !result.file)
      throw new StepFailed(`backup of ${instance.user} after its stop: ${result?.error}`);
    return result.file;
  }

  // 1. The candidate, unless it is already known bad.
  let candidate = options.version;
  try {
    candidate ??= (await command("latest", {})).split("\n").at(-1)?.trim();
  } catch (error) {
    say(`FAILED: cannot learn the latest version: ${(error as Error).message}`);
    return { exitCode: 1 };
  }
  if (!candidate || !VERSION.test(candidate)) {
    say(`FAILED: not a version: ${JSON.stringify(candidate)}`);
    return { exitCode: 1 };
  }
  const state = deps.loadState();
  const known = state.bad[candidate];
  if (known) {
    say(`skip: ${candidate} is known bad (since ${known.at}: ${known.reason})`);
    return { exitCode: 0, candidate };
  }

  // 2. Where every instance is now; a host that is already unhealthy is not touched.
  const previous = new Map<string, string>();
  for (const instance of deps.instances) {
    const version = await deps.serverVersion(instance.port);
    if (version === undefined || !VERSION.test(version)) {
      const why = version === undefined ? "does not answer" : `answers the version ${shown(version)}`;
      say(`FAILED: ${instance.user}'s instance (port ${instance.port}) ${why}; nothing was changed`);
      return { exitCode: 1, candidate };
    }
    previous.set(instance.user, version);
  }
  const canary = deps.instances.find((i) => i.user === deps.canary) ?? deps.instances[0];
  const order = [...deps.instances].sort((a, b) => (a === canary ? -1 : b === canary ? 1 : 0));
  const pending = order.filter((i) => previous.get(i.user) !== candidate);
  if (pending.length === 0) {
    say(`nothing to do: every instance runs ${candidate}`);
    return { exitCode: 0, candidate };
  }
  say(`plan: install ${candidate}; back up ${pending.length} database(s); then, one at a time, canary first:`);
  for (const i of pending)
    say(`  ${i.user} (port ${i.port}): stop, back up, ${previous.get(i.user)} → ${candidate}, then health check`);
  if (options.dryRun) {
    say("dry run: nothing was changed");
    return { exitCode: 0, candidate };
  }

  // 3. Install beside the current version, and back up before anything switches.
  try {
    await command("install", { version: candidate });
  } catch (error) {
    say(`FAILED before any switch: ${(error as Error).message}`);
    return { exitCode: 1, candidate };
  }
  const backups = await deps.backup(pending, `pre-update-${candidate}`);
  const failedBackups = backups.filter((b) => !b.ok);
  if (failedBackups.length > 0) {
    say(
      `FAILED before any switch: pre-update backup of ${failedBackups.map((b) => `${b.user} (${b.error})`).join(", ")}`,
    );
    return { exitCode: 1, candidate };
  }
  say(`backed up: ${backups.map((b) => b.file).join(", ")}`);

  // 4. Switch one at a time; the first failure stops the roll-forward.
  const switched: StateDbTarget[] = [];
  const atStop = new Map<string, string>();
  let failure: string | undefined;
  for (const instance of pending) {
    try {
      await command("stop", { version: candidate, os_user: instance.osUser });
      try {
        atStop.set(instance.user, await backUpStopped(instance, `at-stop-${candidate}`));
      } catch (error) {
        // Nothing switched for this one: it goes back up on its own version.
        await command("start", { version: previous.get(instance.user) ?? "", os_user: instance.osUser });
        throw error;
      }
      switched.push(instance);
      say(`stopped and backed up: ${instance.user} → ${atStop.get(instance.user)}`);
      await switchTo(instance, candidate);
      const health = await deps.health(instance);
      const failedStep = health.steps.find((s) => !s.ok);
      if (!health.ok)
        throw new StepFailed(
          `${instance.user} on ${candidate}: health check failed at ${failedStep?.step}: ${failedStep?.detail}`,
        );
      say(`ok: ${instance.user} runs ${candidate} and passes the health check`);
    } catch (error) {
      failure = (error as Error).message;
      break;
    }
  }
  if (failure === undefined) {
    say(`updated: ${pending.map((i) => i.user).join(", ")} → ${candidate}`);
    return { exitCode: 0, candidate };
  }

  // 5. Roll back everything that moved: version and state.
  say(`FAILED: ${failure}`);
  say(`rolling back ${switched.map((i) => i.user).join(", ")}`);
  state.bad[candidate] = { at: new Date().toISOString(), reason: failure };
  let remembered = true;
  try {
    deps.saveState(state);
  } catch (error) {
    // The rollback matters more than the memory of it.
    remembered = false;
    say(`WARNING: cannot remember ${candidate} as bad: ${(error as Error).message}`);
  }
  let incomplete = false;
  for (const instance of switched.reverse()) {
    const back = previous.get(instance.user) ?? "";
    try {
      await command("stop", { version: back, os_user: instance.osUser });
      const restored = await deps.restore(instance, atStop.get(instance.user) ?? "");
      if (!restored.ok) throw new StepFailed(`restore of ${instance.db} failed: ${restored.error}`);
      await switchTo(instance, back);
      const health = await deps.health(instance);
      if (!health.ok) throw new StepFailed(`${instance.user} on ${back} fails its health check after rollback`);
      say(`rolled back: ${instance.user} runs ${back} with its database as of its stop`);
    } catch (error) {
      incomplete = true;
      say(`ROLLBACK INCOMPLETE for ${instance.user}: ${(error as Error).message} — needs an operator`);
    }
  }
  if (remembered) say(`${candidate} is remembered as bad; the next run skips it`);
  return { exitCode: incomplete ? 3 : 1, candidate };
}
