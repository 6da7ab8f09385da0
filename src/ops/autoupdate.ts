// The nightly t3 update with rollback. Install the candidate beside the current
// version, back up every state database (an extra copy), then one instance at
// a time, canary first: stop it, back it up as of its stop, switch, start,
// prove it with the real-handshake health check. On any failure every switched
// instance goes back — stopped, its at-stop database restored (t3 migrates one
// way: the old binary cannot use a migrated database), switched back, started
// and checked — and the version is remembered as bad. Versions reach root's
// command lines only after they match VERSION: an instance's owner controls
// what its /.well-known/t3/environment says.
import { Failure } from "../lib/errors";
import type { CommandRunner } from "../runtime/command";
import { BackupFailed, type BackupResult } from "./backup";
import type { InstanceHealth } from "./healthcheck";
import { OpsError } from "./ops-error";
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

/** A hostile answer, shown safely: quoted and cut short. */
const shown = (value: string | undefined) => (value === undefined ? "none" : JSON.stringify(value.slice(0, 80)));

function fill(argv: string[], values: Record<string, string>): string[] {
  // Checked here too, whatever the caller checked: nothing else reaches a root command line.
  if (values.version !== undefined && !VERSION.test(values.version))
    throw new OpsError(`refusing the version ${shown(values.version)} in a command line`);
  return argv.map((arg) => arg.replace(/\{(version|os_user)\}/g, (_, key: string) => values[key] ?? ""));
}

/** What the roll-forward left: the instances it switched, their at-stop backups, and why it stopped. */
interface Forward {
  switched: StateDbTarget[];
  atStop: Map<string, string>;
  failure: string | undefined;
}

/** One run: its steps, and the phases `autoupdate` runs them in. */
class Update {
  private readonly say: (line: string) => void;

  constructor(private readonly deps: AutoupdateDeps) {
    this.say = deps.report;
  }

  private async command(name: keyof AutoupdateDeps["commands"], values: Record<string, string>): Promise<string> {
    const argv = fill(this.deps.commands[name], values);
    const result = await this.deps.run(argv, this.deps.commandTimeoutMs);
    if (result.exitCode !== 0 || result.timedOut) {
      const why = result.timedOut ? "timed out" : `exit ${result.exitCode}: ${result.stderr.trim().slice(0, 200)}`;
      throw new OpsError(`${name} (${argv.join(" ")}) failed: ${why}`);
    }
    return result.stdout.trim();
  }

  private async waitForVersion(instance: StateDbTarget, version: string): Promise<void> {
    const deadline = Date.now() + this.deps.readyTimeoutMs;
    let seen: string | undefined;
    while (Date.now() < deadline) {
      seen = await this.deps.serverVersion(instance.port);
      if (seen === version) return;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new OpsError(`${instance.user} did not come up on ${version} (last answer: ${shown(seen)})`);
  }

  private async switchTo(instance: StateDbTarget, version: string): Promise<void> {
    const values = { version, os_user: instance.osUser };
    await this.command("switch", values);
    await this.command("start", values);
    await this.waitForVersion(instance, version);
  }

  /** Its database as of this stop: what a rollback restores, so no write before the stop is lost. */
  private async backUpStopped(instance: StateDbTarget, label: string): Promise<string> {
    const [result] = await this.deps.backup([instance], label);
    if (result === undefined || result instanceof BackupFailed)
      throw new OpsError(`backup of ${instance.user} after its stop: ${result?.detail}`);
    return result.file;
  }

  /** 1. The candidate, unless it is already known bad (a result: nothing more to do). */
  async candidate(version: string | undefined): Promise<string | AutoupdateResult> {
    let candidate = version;
    try {
      candidate ??= (await this.command("latest", {})).split("\n").at(-1)?.trim();
    } catch (error) {
      this.say(`FAILED: cannot learn the latest version: ${(error as Error).message}`);
      return { exitCode: 1 };
    }
    if (!candidate || !VERSION.test(candidate)) {
      this.say(`FAILED: not a version: ${JSON.stringify(candidate)}`);
      return { exitCode: 1 };
    }
    const known = this.deps.loadState().bad[candidate];
    if (known) {
      this.say(`skip: ${candidate} is known bad (since ${known.at}: ${known.reason})`);
      return { exitCode: 0, candidate };
    }
    return candidate;
  }

  /** 2. Where every instance is now; a host that is already unhealthy is not touched (undefined). */
  async currentVersions(): Promise<Map<string, string> | undefined> {
    const previous = new Map<string, string>();
    for (const instance of this.deps.instances) {
      const version = await this.deps.serverVersion(instance.port);
      if (version === undefined || !VERSION.test(version)) {
        const why = version === undefined ? "does not answer" : `answers the version ${shown(version)}`;
        this.say(`FAILED: ${instance.user}'s instance (port ${instance.port}) ${why}; nothing was changed`);
        return undefined;
      }
      previous.set(instance.user, version);
    }
    return previous;
  }

  /** The instances not on the candidate yet, canary first, and the plan said. */
  plan(candidate: string, previous: Map<string, string>): StateDbTarget[] {
    const { instances } = this.deps;
    const canary = instances.find((i) => i.user === this.deps.canary) ?? instances[0];
    const order = [...instances].sort((a, b) => (a === canary ? -1 : b === canary ? 1 : 0));
    const pending = order.filter((i) => previous.get(i.user) !== candidate);
    if (pending.length === 0) return pending;
    this.say(`plan: install ${candidate}; back up ${pending.length} database(s); then, one at a time, canary first:`);
    for (const i of pending)
      this.say(
        `  ${i.user} (port ${i.port}): stop, back up, ${previous.get(i.user)} → ${candidate}, then health check`,
      );
    return pending;
  }

  /** 3. Install beside the current version, and back up before anything switches; false: stop here. */
  async prepare(candidate: string, pending: StateDbTarget[]): Promise<boolean> {
    try {
      await this.command("install", { version: candidate });
    } catch (error) {
      this.say(`FAILED before any switch: ${(error as Error).message}`);
      return false;
    }
    const backups = await this.deps.backup(pending, `pre-update-${candidate}`);
    const failed = backups.filter((b) => b instanceof BackupFailed);
    if (failed.length > 0) {
      const which = failed.map((b) => `${b.user} (${b.detail})`).join(", ");
      this.say(`FAILED before any switch: pre-update backup of ${which}`);
      return false;
    }
    this.say(`backed up: ${backups.map((b) => (b instanceof BackupFailed ? "" : b.file)).join(", ")}`);
    return true;
  }

  /** 4. Switch one at a time; the first failure stops the roll-forward. */
  async rollForward(candidate: string, pending: StateDbTarget[], previous: Map<string, string>): Promise<Forward> {
    const forward: Forward = { switched: [], atStop: new Map(), failure: undefined };
    for (const instance of pending) {
      try {
        await this.command("stop", { version: candidate, os_user: instance.osUser });
        try {
          forward.atStop.set(instance.user, await this.backUpStopped(instance, `at-stop-${candidate}`));
        } catch (error) {
          // Nothing switched for this one: it goes back up on its own version.
          await this.command("start", { version: previous.get(instance.user) ?? "", os_user: instance.osUser });
          throw error;
        }
        forward.switched.push(instance);
        this.say(`stopped and backed up: ${instance.user} → ${forward.atStop.get(instance.user)}`);
        await this.switchTo(instance, candidate);
        const health = await this.deps.health(instance);
        const failedStep = health.steps.find((s) => !s.ok);
        if (!health.ok)
          throw new OpsError(
            `${instance.user} on ${candidate}: health check failed at ${failedStep?.step}: ${failedStep?.detail}`,
          );
        this.say(`ok: ${instance.user} runs ${candidate} and passes the health check`);
      } catch (error) {
        forward.failure = (error as Error).message;
        break;
      }
    }
    return forward;
  }

  /** 5. Roll back everything that moved, version and state, and remember the candidate as bad. */
  async rollBack(candidate: string, forward: Forward, previous: Map<string, string>): Promise<AutoupdateResult> {
    const failure = forward.failure ?? "";
    this.say(`FAILED: ${failure}`);
    this.say(`rolling back ${forward.switched.map((i) => i.user).join(", ")}`);
    const state = this.deps.loadState();
    state.bad[candidate] = { at: new Date().toISOString(), reason: failure };
    let remembered = true;
    try {
      this.deps.saveState(state);
    } catch (error) {
      // The rollback matters more than the memory of it.
      remembered = false;
      this.say(`WARNING: cannot remember ${candidate} as bad: ${(error as Error).message}`);
    }
    let incomplete = false;
    for (const instance of [...forward.switched].reverse()) {
      const back = previous.get(instance.user) ?? "";
      try {
        await this.command("stop", { version: back, os_user: instance.osUser });
        const restored = await this.deps.restore(instance, forward.atStop.get(instance.user) ?? "");
        if (restored instanceof Failure) throw new OpsError(`restore of ${instance.db} failed: ${restored.detail}`);
        await this.switchTo(instance, back);
        const health = await this.deps.health(instance);
        if (!health.ok) throw new OpsError(`${instance.user} on ${back} fails its health check after rollback`);
        this.say(`rolled back: ${instance.user} runs ${back} with its database as of its stop`);
      } catch (error) {
        incomplete = true;
        this.say(`ROLLBACK INCOMPLETE for ${instance.user}: ${(error as Error).message} — needs an operator`);
      }
    }
    if (remembered) this.say(`${candidate} is remembered as bad; the next run skips it`);
    return { exitCode: incomplete ? 3 : 1, candidate };
  }
}

export async function autoupdate(
  deps: AutoupdateDeps,
  options: { version?: string; dryRun: boolean },
): Promise<AutoupdateResult> {
  const update = new Update(deps);
  const candidate = await update.candidate(options.version);
  if (typeof candidate !== "string") return candidate;
  const previous = await update.currentVersions();
  if (previous === undefined) return { exitCode: 1, candidate };
  const pending = update.plan(candidate, previous);
  if (pending.length === 0) {
    deps.report(`nothing to do: every instance runs ${candidate}`);
    return { exitCode: 0, candidate };
  }
  if (options.dryRun) {
    deps.report("dry run: nothing was changed");
    return { exitCode: 0, candidate };
  }
  if (!(await update.prepare(candidate, pending))) return { exitCode: 1, candidate };
  const forward = await update.rollForward(candidate, pending, previous);
  if (forward.failure === undefined) {
    deps.report(`updated: ${pending.map((i) => i.user).join(", ")} → ${candidate}`);
    return { exitCode: 0, candidate };
  }
  return update.rollBack(candidate, forward, previous);
}
