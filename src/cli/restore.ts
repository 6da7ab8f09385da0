// `t3-dispatch restore`: put a backup back (the instance stopped unless --force).
import { Failure, Invalid } from "../lib/errors";
import { restoreDatabase } from "../ops/restore";
import { selectInstances } from "../server/wiring";
import { instanceUrl } from "../t3/address";
import { fetchServerVersion } from "../t3/client";
import { parseSettingsArgs, unusableSettings } from "./args";
import { fail } from "./exit";
import { restoreOptions, targetsOf, unfound } from "./ops-wiring";

export async function restoreCommand(args: string[]): Promise<number> {
  const parsed = parseSettingsArgs(args, {
    user: { type: "string" },
    from: { type: "string" },
    force: { type: "boolean" },
  });
  if (parsed instanceof Invalid) return unusableSettings(parsed);
  const { settings, values } = parsed;
  if (typeof values.user !== "string" || typeof values.from !== "string") {
    return fail("restore", "usage: restore --user U --from FILE [--force]");
  }
  const instances = await selectInstances(settings, values.user);
  if (instances instanceof Failure) return fail("restore", instances.detail);
  const { targets, missing } = targetsOf(settings, instances);
  const target = targets[0];
  if (!target) return fail("restore", unfound(missing));
  const running = (await fetchServerVersion(instanceUrl(settings.upstreamHost, target.port), 2000)) !== undefined;
  const result = await restoreDatabase(
    { target, from: values.from, instanceRunning: running, force: values.force === true },
    restoreOptions(settings),
  );
  if (result instanceof Failure) return fail("restore", result.detail, 1);
  process.stdout.write(
    `restored ${target.db} from ${values.from}${result.replacedAside ? `; the replaced file is kept at ${result.replacedAside}` : ""}\n`,
  );
  return 0;
}
