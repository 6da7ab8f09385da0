// `t3-dispatch instance-port <os_user>`: the port the dispatch table gives an
// account's instance, for the t3-instance wrapper (which runs it as nobody and
// writes the port where the t3-serve@ unit reads it): the table stays the one
// source of truth, read by the same parser the dispatcher uses.
import { isOsUser } from "../config/names";
import { readTableFile } from "../config/table";
import { Invalid } from "../lib/errors";
import { parseSettingsArgs } from "./args";
import { fail, refused } from "./exit";

export async function instancePortCommand(args: string[]): Promise<number> {
  const parsed = parseSettingsArgs(args);
  if (parsed instanceof Invalid) return refused(parsed, 2, "instance-port");
  const [osUser, ...extra] = parsed.positionals;
  if (osUser === undefined || extra.length > 0 || !isOsUser(osUser)) {
    return fail("instance-port", "usage: t3-dispatch instance-port <os_user>");
  }
  const { dispatchFile, fleet } = parsed.settings;
  const table = await readTableFile(dispatchFile, fleet);
  if (table instanceof Invalid) return refused(table, 1, "instance-port");
  // This host's instances only: another host's wrapper starts the instances it owns.
  const mine = [...table.values()].filter((i) => i.osUser === osUser && i.host === undefined);
  const ports = new Set(mine.map((i) => i.port));
  // The table's parser already refuses two accounts on one port; one account on two ports has no single answer.
  if (ports.size !== 1) return fail("instance-port", `${osUser} has ${ports.size} ports in ${dispatchFile}`, 1);
  process.stdout.write(`${[...ports][0]}\n`);
  return 0;
}
