// What the settings make, for `serve` and the ops commands alike: the check
// of who holds an instance's port, the mint as an instance's account, and the
// instances of the table. One place, so the service and the health check
// judge an instance and mint for it the same way.
import type { Settings } from "../config/settings";
import { type Instance, readTableFile } from "../config/table";
import { type DispatchError, Failure, Invalid } from "../lib/errors";
import type { Logger } from "../lib/log";
import { Accounts } from "../request/instance/accounts";
import { type InstanceCheck, type InstanceCheckOptions, instanceCheck } from "../request/instance/check";
import { connects } from "../request/instance/connects";
import { addressesFor } from "../request/instance/listeners";
import { commandControl } from "../request/lifecycle/control";
import { Lifecycle, type LifecycleDeps } from "../request/lifecycle/lifecycle";
import { mintCredential } from "../request/pairing/mint";
import { runtime } from "../runtime/current";
import { instanceUrl } from "../t3/address";
import { checkSession } from "../t3/client";

/** How long one "does it answer yet?" session check of a starting instance may take. */
const ANSWER_PROBE_MS = 1000;

/** The instance check for this host's instances (undefined: upstreamHost is not this host). */
export const instancesFor = (settings: Settings, hooks: Pick<InstanceCheckOptions, "onImpostor" | "onReplaced">) =>
  instanceCheck({
    upstreamHost: settings.upstreamHost,
    accounts: new Accounts(settings.accountsFile),
    connects: (port) => connects(settings.upstreamHost, port),
    ...hooks,
  });

/** The configured mint command, run as the instance's account, bounded by mintTimeout. */
export const minterFor =
  (settings: Settings) =>
  (osUser: string): Promise<string | DispatchError> =>
    mintCredential(osUser, {
      command: settings.mintCommand,
      timeoutMs: settings.mintTimeoutMs,
      run: runtime.runCommand,
    });

/** Why on-demand start cannot work with these settings (the wrapper starts instances here, they are elsewhere), or undefined. */
export function onDemandElsewhere(settings: Settings): Failure<"on_demand_elsewhere"> | undefined {
  if (!settings.lifecycle.onDemand || addressesFor(settings.upstreamHost)) return undefined;
  return new Failure(
    "on_demand_elsewhere",
    `onDemand starts instances on this host, but upstreamHost ${settings.upstreamHost} is not: set onDemand off`,
  );
}

/** On-demand start and idle stop through the instance wrapper (undefined: off, or instances not on this host). */
export function lifecycleFor(
  settings: Settings,
  instances: InstanceCheck | undefined,
  hooks: Pick<LifecycleDeps, "table" | "stopped" | "metrics" | "hold">,
  log: Logger,
): Lifecycle | undefined {
  const { lifecycle } = settings;
  if (!lifecycle.onDemand || instances === undefined) return undefined;
  return new Lifecycle({
    settings: lifecycle,
    control: commandControl(lifecycle.command, lifecycle.startTimeoutMs, runtime.runCommand),
    instances,
    ...hooks,
    async answers(instance) {
      const base = instanceUrl(settings.upstreamHost, instance.port);
      return (await checkSession(base, "", Math.min(ANSWER_PROBE_MS, settings.sessionTimeoutMs))).state !== "unknown";
    },
    log,
  });
}

/** The table's instances on this host, sorted by user, optionally just one user's; or why not. */
export async function selectInstances(
  settings: Settings,
  user: string | undefined,
): Promise<Instance[] | Failure<"no_instances">> {
  const table = await readTableFile(settings.dispatchFile, settings.fleet);
  if (table instanceof Invalid) return new Failure("no_instances", `${settings.dispatchFile}: ${table.detail}`);
  const all = [...table.values()].sort((a, b) => a.user.localeCompare(b.user));
  if (user === undefined) return all.filter((i) => i.host === undefined);
  const one = all.find((i) => i.user === user);
  if (one?.host !== undefined) {
    return new Failure("no_instances", `${user}'s instance is on host ${one.host}: run this there`);
  }
  return one ? [one] : new Failure("no_instances", `no user ${JSON.stringify(user)} in ${settings.dispatchFile}`);
}
