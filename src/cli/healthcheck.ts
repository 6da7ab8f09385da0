// `t3-dispatch healthcheck`: the real pairing handshake against each instance.
import { Failure, Invalid } from "../lib/errors";
import { checkInstance, formatHealth } from "../ops/healthcheck";
import { selectInstances } from "../server/wiring";
import { parseSettingsArgs, unusableSettings } from "./args";
import { fail } from "./exit";
import { healthDeps } from "./ops-wiring";

export async function healthcheckCommand(args: string[]): Promise<number> {
  const parsed = parseSettingsArgs(args, {
    user: { type: "string" },
    all: { type: "boolean" },
    json: { type: "boolean" },
  });
  if (parsed instanceof Invalid) return unusableSettings(parsed);
  const instances = await selectInstances(parsed.settings, parsed.values.user as string | undefined);
  if (instances instanceof Failure) return fail("healthcheck", instances.detail);
  const deps = healthDeps(parsed.settings);
  const results = await Promise.all(instances.map((instance) => checkInstance(instance, deps)));
  process.stdout.write(parsed.values.json ? `${JSON.stringify(results, null, 2)}\n` : `${formatHealth(results)}\n`);
  return results.every((r) => r.ok) && results.length > 0 ? 0 : 1;
}
