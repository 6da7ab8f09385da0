// Where each instance keeps its state database: the `stateDb` setting with
// {home} and {os_user} filled in ({home} from the account database).
import type { Instance } from "../config/table";
import type { CommandRunner } from "../mint";

export interface StateDbTarget {
  user: string;
  osUser: string;
  port: number;
  db: string;
}

async function homeOf(osUser: string, run: CommandRunner): Promise<string | undefined> {
  const result = await run(["getent", "passwd", osUser], 5000);
  const home = result.exitCode === 0 ? result.stdout.trim().split(":")[5] : undefined;
  return home || undefined;
}

/** Resolves each instance's database path, or says whose home could not be found. */
export async function stateDbTargets(
  instances: Instance[],
  template: string,
  run: CommandRunner,
): Promise<{ targets: StateDbTarget[]; errors: string[] }> {
  const targets: StateDbTarget[] = [];
  const errors: string[] = [];
  for (const instance of instances) {
    let db = template.replaceAll("{os_user}", instance.osUser);
    if (db.includes("{home}")) {
      const home = await homeOf(instance.osUser, run);
      if (home === undefined) {
        errors.push(`${instance.user}: no home directory for os_user ${instance.osUser}`);
        continue;
      }
      db = db.replaceAll("{home}", home);
    }
    targets.push({ user: instance.user, osUser: instance.osUser, port: instance.port, db });
  }
  return { targets, errors };
}
