// `t3-dispatch backup`: online, verified backups of each instance's state database.
import { Failure, Invalid } from "../lib/errors";
import { BackupFailed, backupAll, backupJson, formatBackups } from "../ops/backup";
import { selectInstances } from "../server/wiring";
import { parseSettingsArgs, unusableSettings } from "./args";
import { fail } from "./exit";
import { backupOptions, targetsOf } from "./ops-wiring";

export async function backupCommand(args: string[]): Promise<number> {
  const parsed = parseSettingsArgs(args, {
    user: { type: "string" },
    dest: { type: "string" },
    keep: { type: "string" },
    json: { type: "boolean" },
  });
  if (parsed instanceof Invalid) return unusableSettings(parsed);
  const { settings, values } = parsed;
  const keep = values.keep === undefined ? undefined : Number(values.keep);
  if (keep !== undefined && !(Number.isInteger(keep) && keep >= 1))
    return fail("backup", "--keep must be a whole number ≥ 1");
  const instances = await selectInstances(settings, values.user as string | undefined);
  if (instances instanceof Failure) return fail("backup", instances.detail);
  const { targets, missing } = targetsOf(settings, instances);
  const results = await backupAll(targets, backupOptions(settings, { dest: values.dest as string | undefined, keep }));
  for (const { user, detail } of missing) results.push(new BackupFailed(user, "?", detail));
  const json = `${JSON.stringify(results.map(backupJson), null, 2)}\n`;
  process.stdout.write(values.json ? json : `${formatBackups(results)}\n`);
  return results.some((r) => r instanceof BackupFailed) ? 1 : 0;
}
