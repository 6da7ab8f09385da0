// The dispatch table: `{"<user>": {"os_user": "...", "port": N, "host": "b"}}`,
// and its loader (serve, check and the ops commands read the same file).
// `host` names the fleet host whose dispatcher owns the instance (none: this
// host); the same file goes to every host. Parsing reports every problem at
// once so an operator fixes the file in one pass.
import { readFile } from "node:fs/promises";
import { type Static, Type } from "@sinclair/typebox";
import { Value } from "@sinclair/typebox/value";
import { Invalid } from "../lib/errors";
import { type FleetSettings, HOST_NAME_PATTERN } from "./fleet";
import { OS_USER_PATTERN, TABLE_KEY_PATTERN } from "./names";

const Entry = Type.Object(
  {
    os_user: Type.String({ pattern: OS_USER_PATTERN }),
    port: Type.Integer({ minimum: 1, maximum: 65535 }),
    host: Type.Optional(Type.String({ pattern: HOST_NAME_PATTERN })),
  },
  { additionalProperties: false },
);

const TableSchema = Type.Record(Type.String({ pattern: TABLE_KEY_PATTERN }), Entry, {
  additionalProperties: false,
});

export type TableEntry = Static<typeof Entry>;

/** One user's route: who they are, and where their instance listens. */
export interface Instance {
  readonly user: string;
  readonly osUser: string;
  readonly port: number;
  /** The fleet host that owns the instance, when it is not this one. */
  readonly host?: string;
}

/** What the table's `host` entries are checked against: this host's name and the fleet's. */
export type TableHosts = Pick<FleetSettings, "self" | "hosts">;

/** Not in a fleet: every instance is on this host, and an entry naming a host is a mistake. */
export const NO_FLEET: TableHosts = { self: "", hosts: new Map() };

export type DispatchTable = ReadonlyMap<string, Instance>;

/** An entry's host as the instance carries it (undefined: this host), or why it names no host of the fleet. */
function hostOf(host: string | undefined, fleet: TableHosts): { host?: string } | string {
  if (host === undefined || host === fleet.self) return {};
  if (fleet.hosts.has(host)) return { host };
  const known = [...fleet.hosts.keys()].join(", ");
  return `host ${host} is not one of fleetHosts (${known || "none: set fleetHosts to use hosts"})`;
}

/** Parses and validates the table's JSON text against the fleet; every error is listed, none is fatal here. */
export function parseTable(text: string, fleet: TableHosts): DispatchTable | Invalid {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    return new Invalid([`not valid JSON: ${(error as Error).message}`]);
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    return new Invalid(["the table must be a JSON object of user name (or user@domain) to {os_user, port, host?}"]);
  }
  const errors = [...Value.Errors(TableSchema, raw)].map((e) =>
    // A top-level "unexpected property" is a key that is not a valid user name.
    e.path.lastIndexOf("/") === 0 && e.message === "Unexpected property"
      ? `${e.path}: must be a user name or user@domain (${TABLE_KEY_PATTERN})`
      : `${e.path || "/"}: ${e.message}`,
  );
  if (errors.length > 0) return new Invalid(errors);

  const entries = raw as Static<typeof TableSchema>;
  const table = new Map<string, Instance>();
  const portOwner = new Map<string, string>();
  for (const [user, entry] of Object.entries(entries)) {
    const { os_user, port } = entry;
    const where = hostOf(entry.host, fleet);
    if (typeof where === "string") {
      errors.push(`/${user}/host: ${where}`);
      continue;
    }
    // Two OS users on one port of one host would send one person to another's instance.
    const at = `${where.host ?? fleet.self}:${port}`;
    const owner = portOwner.get(at);
    if (owner !== undefined && owner !== os_user) {
      errors.push(
        `/${user}/port: port ${port} is already the instance of os_user ${owner}${where.host ? ` on ${where.host}` : ""}`,
      );
    }
    portOwner.set(at, os_user);
    table.set(user, { user, osUser: os_user, port, ...where });
  }
  return errors.length > 0 ? new Invalid(errors) : table;
}

/** The table in `path`, or every reason it cannot be used. */
export async function readTableFile(path: string, fleet: TableHosts): Promise<DispatchTable | Invalid> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    return new Invalid([`cannot read ${path}: ${(error as Error).message}`]);
  }
  return parseTable(text, fleet);
}
