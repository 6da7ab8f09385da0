// Each other host's dispatcher, reached as a door reaches it: its fleet
// listener's /healthz over the fleet's TLS (the operator's CA, and this
// host's certificate with mutual TLS). An answer proves the address, the
// certificates both ways and a running dispatcher; `check` and `healthcheck`
// report one line per host.
import type { FleetSettings } from "../config/fleet";
import type { ClientTls, Runtime } from "../runtime/runtime";

export interface HostHealth {
  host: string;
  url: string;
  ok: boolean;
  ms: number;
  detail?: string;
}

async function checkHost(
  host: string,
  origin: string,
  tls: ClientTls,
  fetchUpstream: Runtime["fetchUpstream"],
  timeoutMs: number,
): Promise<HostHealth> {
  const url = `${origin}/healthz`;
  const started = performance.now();
  const report = (ok: boolean, detail?: string): HostHealth => {
    const ms = Math.round(performance.now() - started);
    return { host, url, ok, ms, ...(detail ? { detail } : {}) };
  };
  try {
    const response = await fetchUpstream(url, { headers: new Headers(), tls, signal: AbortSignal.timeout(timeoutMs) });
    const body = await response.text();
    return response.status === 200 && body === "ok\n" ? report(true) : report(false, `answered ${response.status}`);
  } catch (error) {
    return report(false, (error as Error).message);
  }
}

/** Every other host of the fleet, at once. */
export const checkHosts = (
  fleet: FleetSettings,
  tls: ClientTls,
  fetchUpstream: Runtime["fetchUpstream"],
  timeoutMs: number,
): Promise<HostHealth[]> =>
  Promise.all(
    [...fleet.hosts]
      .filter(([host]) => host !== fleet.self)
      .map(([host, origin]) => checkHost(host, origin, tls, fetchUpstream, timeoutMs)),
  );

/** What `check` says of a host. */
export const describeHost = (h: HostHealth): string =>
  `host ${h.host} (${h.url}): ${h.ok ? "its dispatcher answers" : `not answering (${h.detail})`} ${h.ms}ms`;

/** healthcheck's line: PASS or FAIL, then the same. */
export const formatHost = (h: HostHealth): string => `${h.ok ? "PASS" : "FAIL"} ${describeHost(h)}`;
