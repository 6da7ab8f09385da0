// What the settings make, for `serve` and the ops commands alike: the check
// of who holds an instance's port, the mint as an instance's account, and the
// instances of the table. One place, so the service and the health check
// judge an instance and mint for it the same way.
import type { Settings } from "../config/settings";
import { type Instance, readTableFile } from "../config/table";
import { type DispatchError, Failure, Invalid } from "../lib/errors";
import { Accounts } from "../request/instance/accounts";
import { type InstanceCheckOptions, instanceCheck } from "../request/instance/check";
import { mintCredential } from "../request/pairing/mint";
import { runtime } from "../runtime/current";

/** The instance check for this host's instances (undefined: upstreamHost is not this host). */
export const instancesFor = (settings: Settings, hooks: Pick<InstanceCheckOptions, "onImpostor" | "onReplaced">) =>
  instanceCheck({ upstreamHost: settings.upstreamHost, accounts: new Accounts(settings.accountsFile), ...hooks });

/** The configured mint command, run as the instance's account, bounded by mintTimeout. */
export const minterFor =
  (settings: Settings) =>
  (osUser: string): Promise<string | DispatchError> =>
    mintCredential(osUser, {
      command: settings.mintCommand,
      timeoutMs: settings.mintTimeoutMs,
      run: runtime.runCommand,
    });

/** The table's instances, sorted by user, optionally just one user's; or why not. */
export async function selectInstances(
  settings: Settings,
  user: string | undefined,
): Promise<Instance[] | Failure<"no_instances">> {
  const table = await readTableFile(settings.dispatchFile);
  if (table instanceof Invalid) return new Failure("no_instances", `${settings.dispatchFile}: ${table.detail}`);
  const all = [...table.values()].sort((a, b) => a.user.localeCompare(b.user));
  if (user === undefined) return all;
  const one = all.find((i) => i.user === user);
  return one ? [one] : new Failure("no_instances", `no user ${JSON.stringify(user)} in ${settings.dispatchFile}`);
}
