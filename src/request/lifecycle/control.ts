// Starting, stopping and asking about an instance is a privileged act, done
// the way minting is: the configured wrapper command (a root-owned
// `t3-instance` through sudo) with a fixed verb and the os_user as argv
// elements. Its `status` prints the unit's state as JSON, parsed with a schema.
import { type Static, Type } from "@sinclair/typebox";
import { Value } from "@sinclair/typebox/value";
import { isOsUser } from "../../config/names";
import { Failure } from "../../lib/errors";
import type { CommandResult, CommandRunner } from "../../runtime/command";
import { withoutPairingSecrets } from "../../t3/pairing-secrets";

export type Verb = "start" | "stop" | "status";

const Status = Type.Object({
  unit: Type.String(),
  /** systemd's ActiveState: active, inactive, failed, activating, deactivating… */
  active: Type.String(),
  /** When it entered that state (ISO 8601), if known. */
  since: Type.Union([Type.String(), Type.Null()]),
  memory_bytes: Type.Union([Type.Number(), Type.Null()]),
  /** CPU time used by the unit's cgroup since it started, in microseconds. */
  cpu_usec: Type.Union([Type.Number(), Type.Null()]),
  /** The unit's last journal lines. */
  journal: Type.Array(Type.String()),
});
export type InstanceStatus = Static<typeof Status>;

/** A wrapper call that failed: its verb, and its output for the operator's log. */
export class ControlFailed extends Failure<"control_failed"> {
  constructor(
    readonly verb: Verb,
    detail: string,
    readonly output: string,
  ) {
    super("control_failed", detail);
  }
}

export interface InstanceControl {
  start(osUser: string): Promise<undefined | ControlFailed>;
  stop(osUser: string): Promise<undefined | ControlFailed>;
  status(osUser: string): Promise<InstanceStatus | ControlFailed>;
}

/** The last few hundred bytes of what a command printed, without a pairing secret: enough for the log line. */
const tail = (result: CommandResult): string =>
  withoutPairingSecrets(`${result.stdout}\n${result.stderr}`.split("\n")).join("\n").trim().slice(-1000);

/** The wrapper, run with `command` as its argv prefix, each call bounded by `timeoutMs`. */
export function commandControl(command: readonly string[], timeoutMs: number, run: CommandRunner): InstanceControl {
  async function call(verb: Verb, osUser: string): Promise<CommandResult | ControlFailed> {
    // The table's schema already enforces this; checked again because this is the argv boundary.
    if (!isOsUser(osUser)) return new ControlFailed(verb, "refusing an invalid os_user", "");
    let result: CommandResult;
    try {
      result = await run([...command, verb, osUser], timeoutMs);
    } catch (error) {
      return new ControlFailed(verb, `instance command could not start: ${(error as Error).message}`, "");
    }
    if (result.timedOut) return new ControlFailed(verb, `${verb} ${osUser} timed out after ${timeoutMs} ms`, "");
    if (result.exitCode !== 0) {
      return new ControlFailed(verb, `${verb} ${osUser} exited ${result.exitCode}`, tail(result));
    }
    return result;
  }
  const done = (result: CommandResult | ControlFailed) => (result instanceof ControlFailed ? result : undefined);
  return {
    start: async (osUser) => done(await call("start", osUser)),
    stop: async (osUser) => done(await call("stop", osUser)),
    async status(osUser) {
      const result = await call("status", osUser);
      if (result instanceof ControlFailed) return result;
      let parsed: unknown;
      try {
        parsed = JSON.parse(result.stdout);
      } catch {
        return new ControlFailed("status", `status ${osUser} printed no JSON`, tail(result));
      }
      if (!Value.Check(Status, parsed)) {
        return new ControlFailed("status", `status ${osUser} printed JSON of another shape`, tail(result));
      }
      return { ...parsed, journal: withoutPairingSecrets(parsed.journal) };
    },
  };
}
