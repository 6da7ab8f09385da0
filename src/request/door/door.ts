// Stage: the door. A request whose instance another host owns, once its
// identity is proven here, goes to that host's dispatcher as it came: the
// front's token and identity header along (the owner verifies them itself),
// every cookie (the owner picks the instance's own), over TLS with the
// operator's CA. HTTP streams both ways and a WebSocket is bridged, with the
// local proxy's backpressure and close codes; the answer comes back as the
// owner made it. Nothing here decides a session or touches an instance.
import type { Instance } from "../../config/table";
import { DispatchError, type ErrorKind } from "../../lib/errors";
import type { Logger } from "../../lib/log";
import type { ClientTls, OpenSockets, Runtime } from "../../runtime/runtime";
import type { RequestRecord } from "../context";
import type { Forwarded } from "../forward/forward";
import { takeWebSocketHandshake, upstreamRequestHeaders } from "../forward/headers";
import { forwardHttp } from "../forward/http";
import type { Metrics } from "../metrics";

export interface DoorDeps {
  /** Each host's name → its dispatcher's fleet origin. */
  hosts: ReadonlyMap<string, string>;
  tls: ClientTls;
  /** How long the owner's WebSocket may take to open. */
  connectTimeoutMs: number;
  runtime: Pick<Runtime, "fetchUpstream" | "bridgeWebSocket">;
  openSockets: OpenSockets;
  metrics: Pick<Metrics, "fleetRequests" | "fleetErrors" | "fleetSeconds">;
  log: Logger;
}

export type Door = ReturnType<typeof door>;

/**
 * The owner answered a WebSocket upgrade with a status instead of 101: it is
 * up and said no. Bun's client puts the status in its error message only; a
 * message without it stays a host that did not answer.
 */
const OWNER_SAID = /Expected 101 status code: (\d{3})/;
/** What the owner's refusal of an upgrade means here: a dropped session, a start under way, or the instance. */
const REFUSAL: Record<string, ErrorKind> = { "401": "no_session", "503": "instance_starting" };

export function door(deps: DoorDeps) {
  const { runtime, tls, metrics, log } = deps;
  const fetchOwner: Parameters<typeof forwardHttp>[3] = (url, init) => runtime.fetchUpstream(url, { ...init, tls });

  /** The owner did not take it: the person sees the "not answering" page, the log names the host. */
  function hostDown(host: string, detail: string): DispatchError {
    metrics.fleetErrors.inc(host);
    return new DispatchError("host_down", `host ${host}: ${detail}`, { host });
  }

  /** An upgrade the owner refused is its answer (a 401 stays a 401); one it never answered is the host down. */
  function upgradeRefused(host: string, refused: DispatchError): DispatchError {
    const status = OWNER_SAID.exec(refused.detail)?.[1];
    if (status === undefined) return hostDown(host, refused.detail);
    const detail = `host ${host} refused the WebSocket with ${status}`;
    return new DispatchError(REFUSAL[status] ?? "upstream_down", detail, { host, status: Number(status) });
  }

  /** The browser's socket bridged to the owner's (`wss:`), over the fleet's TLS. */
  function bridge(request: Request, server: unknown, url: string, headers: Headers) {
    const protocols = takeWebSocketHandshake(request, headers);
    const target = { url, headers, protocols, connectTimeoutMs: deps.connectTimeoutMs, onClientFrame() {}, tls };
    return runtime.bridgeWebSocket(server, request, target, log, deps.openSockets);
  }

  async function proxy(
    request: Request,
    server: unknown,
    record: RequestRecord,
    instance: Instance,
  ): Promise<Forwarded> {
    const host = instance.host ?? "";
    const origin = deps.hosts.get(host);
    if (origin === undefined) return hostDown(host, "not in fleetHosts");
    metrics.fleetRequests.inc(host);
    const started = performance.now();
    // No prefix is dropped: the owner needs the front's token and identity header to prove the request itself.
    const headers = upstreamRequestHeaders(request, {
      clientAddress: record.peer,
      dropPrefixes: [],
      requestId: record.id,
      protocol: record.url.protocol,
    });
    const path = record.url.pathname + record.url.search;
    const answer = record.upgrade
      ? await bridge(request, server, `${origin.replace(/^https:/, "wss:")}${path}`, headers)
      : await forwardHttp(request, `${origin}${path}`, headers, fetchOwner, record.id);
    metrics.fleetSeconds.observe((performance.now() - started) / 1000, host);
    if (!(answer instanceof DispatchError)) return answer;
    return record.upgrade ? upgradeRefused(host, answer) : hostDown(host, answer.detail);
  }

  return { proxy };
}
