// The fleet's TLS material, read once at start: this host's certificate and
// key (the fleet listener's, and the door's for mutual TLS) and the
// operator's CA. Each file is parsed here, so a wrong, expired or mismatched
// file is named at start rather than failing the first handshake.
import { createPrivateKey, type KeyObject, X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import { type FleetSettings, otherHosts } from "../config/fleet";
import { Invalid } from "../lib/errors";
import type { ClientTls, ServerTls } from "../runtime/runtime";

export interface FleetTls {
  /** The fleet listener's (undefined: fleetListen off). */
  server: ServerTls | undefined;
  /** The door's, to reach other hosts (undefined: no other host). */
  client: ClientTls | undefined;
}

type Read<T> = { pem: string; parsed: T } | string;

function readPem<T>(setting: string, path: string, parse: (pem: string) => T, now: number): Read<T> {
  let pem: string;
  try {
    pem = readFileSync(path, "utf8");
  } catch (error) {
    return `${setting} ${path}: ${(error as Error).message}`;
  }
  let parsed: T;
  try {
    parsed = parse(pem);
  } catch (error) {
    return `${setting} ${path}: not a PEM ${setting === "fleetKeyFile" ? "private key" : "certificate"} (${(error as Error).message})`;
  }
  if (parsed instanceof X509Certificate && Date.parse(parsed.validTo) < now) {
    return `${setting} ${path}: expired on ${parsed.validTo}`;
  }
  return { pem, parsed };
}

/** The TLS the fleet settings ask for, or every problem with its files. */
export function loadFleetTls(fleet: FleetSettings, now = Date.now()): FleetTls | Invalid {
  const forwards = otherHosts(fleet).length > 0;
  if (!forwards && fleet.listen === undefined) return { server: undefined, client: undefined };
  const presents = fleet.listen !== undefined || fleet.mutualTls;
  const ca = readPem("fleetCaFile", fleet.caFile, (pem) => new X509Certificate(pem), now);
  const cert = presents ? readPem("fleetCertFile", fleet.certFile, (pem) => new X509Certificate(pem), now) : undefined;
  const key = presents ? readPem<KeyObject>("fleetKeyFile", fleet.keyFile, createPrivateKey, now) : undefined;
  const problems = [ca, cert, key].filter((read): read is string => typeof read === "string");
  if (typeof cert === "object" && typeof key === "object" && !cert.parsed.checkPrivateKey(key.parsed)) {
    problems.push(`fleetKeyFile ${fleet.keyFile} is not the key of fleetCertFile ${fleet.certFile}`);
  }
  if (problems.length > 0 || typeof ca !== "object") return new Invalid(problems);
  const own = typeof cert === "object" && typeof key === "object" ? { cert: cert.pem, key: key.pem } : undefined;
  return {
    server: fleet.listen && own ? { ...own, ...(fleet.mutualTls ? { ca: ca.pem } : {}) } : undefined,
    client: forwards ? { ca: ca.pem, ...(fleet.mutualTls ? own : {}) } : undefined,
  };
}

/**
 * The fleet's TLS as this process can use it: the files, unless this runtime
 * cannot run a fleet at all (`unsupported`), which is then the one problem.
 * serve, check and healthcheck judge a fleet the same way.
 */
export function fleetTlsHere(fleet: FleetSettings, unsupported: string | undefined): FleetTls | Invalid {
  const tls = loadFleetTls(fleet);
  const used = tls instanceof Invalid || tls.server !== undefined || tls.client !== undefined;
  return used && unsupported ? new Invalid([unsupported]) : tls;
}
