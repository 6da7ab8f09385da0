// Where each instance keeps its state database: the `stateDb` setting with
// {home} and {os_user} filled in, and the account (uid, gid, home) that owns
// it, from the accounts file (the same one the instance check reads).
import type { Instance } from "../config/table";
import { Failure } from "../lib/errors";
import type { Accounts } from "../request/instance/accounts";
import type { AccountIds } from "./as-account";

export interface StateDbTarget extends AccountIds {
  user: string;
  osUser: string;
  port: number;
  db: string;
}

/** An instance whose database cannot be found: its user, and why. */
export class NoStateDb extends Failure<"no_state_db"> {
  constructor(
    readonly user: string,
    detail: string,
  ) {
    super("no_state_db", detail);
  }
}

/** Each instance's database path and account, or whose account could not be found. */
export function stateDbTargets(
  instances: Instance[],
  template: string,
  accounts: Accounts,
): Array<StateDbTarget | NoStateDb> {
  return instances.map((instance) => {
    const account = accounts.entryOf(instance.osUser);
    if (account === undefined || (template.includes("{home}") && !account.home)) {
      return new NoStateDb(instance.user, `no account (or no home) for os_user ${instance.osUser}`);
    }
    const db = template.replaceAll("{os_user}", instance.osUser).replaceAll("{home}", account.home);
    const { user, osUser, port } = instance;
    return { user, osUser, port, db, uid: account.uid, gid: account.gid };
  });
}
