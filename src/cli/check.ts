// `t3-dispatch check`: the effective settings, then every problem of the
// settings, table, mint command and instances, listed at once.
import { effectiveSettings } from "../config/effective";
import { Invalid } from "../lib/errors";
import { checkAll } from "../ops/check";
import { parseSettingsArgs } from "./args";

export async function checkCommand(args: string[]): Promise<number> {
  const parsed = parseSettingsArgs(args);
  if (parsed instanceof Invalid) {
    // Settings that cannot be used: exit 2, as every command does for them.
    for (const problem of parsed.problems) process.stdout.write(`PROBLEM ${problem}\n`);
    process.stdout.write(`${parsed.problems.length} problem(s) in the settings\n`);
    return 2;
  }
  process.stdout.write("effective settings (secrets are read from files; URL passwords and query values redacted):\n");
  for (const line of effectiveSettings(parsed.raw, parsed.origins)) process.stdout.write(`  ${line}\n`);
  process.stdout.write("\n");
  const lines = await checkAll(parsed.settings);
  for (const line of lines)
    process.stdout.write(`${line.ok ? (line.warning ? "warning" : "ok     ") : "PROBLEM"} ${line.what}\n`);
  const problems = lines.filter((l) => !l.ok).length;
  process.stdout.write(problems === 0 ? "no problems found\n" : `${problems} problem(s)\n`);
  return problems === 0 ? 0 : 1;
}
