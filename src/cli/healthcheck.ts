// `t3-dispatch healthcheck`: the real pairing handshake against each instance
// of this host, and in a fleet each other host's dispatcher (all of them
// unless --user picks one person).
import { Failure, Invalid } from "../lib/errors";
import { checkHosts, formatHost, type HostHealth } from "../ops/fleet-health";
import { checkInstance, formatHealth } from "../ops/healthcheck";
import { runtime } from "../runtime/current";
import { fleetTlsHere } from "../server/fleet-tls";
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
  const { settings } = parsed;
  const tls = fleetTlsHere(settings.fleet, runtime.fleetUnsupported);
  if (tls instanceof Invalid) return fail("healthcheck", tls.detail);
  const deps = healthDeps(settings);
  const [results, hosts] = await Promise.all([
    Promise.all(instances.map((instance) => checkInstance(instance, deps))),
    tls.client && parsed.values.user === undefined
      ? checkHosts(settings.fleet, tls.client, runtime.fetchUpstream, settings.ops.healthTimeoutMs)
      : ([] as HostHealth[]),
  ]);
  const text = [formatHealth(results), ...hosts.map(formatHost)].filter((line) => line !== "").join("\n");
  process.stdout.write(
    parsed.values.json ? `${JSON.stringify({ instances: results, hosts }, null, 2)}\n` : `${text}\n`,
  );
  const checked = results.length + hosts.length;
  return [...results, ...hosts].every((r) => r.ok) && checked > 0 ? 0 : 1;
}
