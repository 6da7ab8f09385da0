// Where each instance keeps its state database: the `stateDb` setting with
// {home} and {os_user} filled in, and the account (uid, gid, home) that owns
// it, from the accounts file (the same one the instance check reads).

import type { Instance } from "../config/table";
import type { Accounts } from "../request/instance/accounts";
import type { AccountIds } from "./as-account";

export interface StateDbTarget extends AccountIds {
  user: string;
  osUser: string;
  port: number;
  db: string;
}

/** Resolves each instance's database path and account, or says whose account could not be found. */
export function stateDbTargets(
  instances: Instance[],
  template: string,
  accounts: Accounts,
): { targets: StateDbTarget[]; errors: string[] } {
  const targets: StateDbTarget[] = [];
  const errors: string[] = [];
  for (const instance of instances) {
    const account = accounts.entryOf(instance.osUser);
    if (account === undefined || (template.includes("{home}") && !account.home)) {
      errors.push(`${instance.user}: no account (or no home) for os_user ${instance.osUser}`);
      continue;
    }
    const db = template.replaceAll("{os_user}", instance.osUser).replaceAll("{home}", account.home);
    targets.push({
      user: instance.user,
      osUser: instance.osUser,
      port: instance.port,
      db,
      uid: account.uid,
      gid: account.gid,
    });
  }
  return { targets, errors };
}
