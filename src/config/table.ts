// The dispatch table: `{"<user>": {"os_user": "...", "port": N}}`, and its
// loader (serve, check and the ops commands read the same file). Parsing
// reports every problem at once so an operator fixes the file in one pass.
import { readFile } from "node:fs/promises";
import { type Static, Type } from "@sinclair/typebox";
import { Value } from "@sinclair/typebox/value";
import { Invalid } from "../lib/errors";
import { OS_USER_PATTERN, TABLE_KEY_PATTERN } from "./names";

const Entry = Type.Object(
  {
    os_user: Type.String({ pattern: OS_USER_PATTERN }),
    port: Type.Integer({ minimum: 1, maximum: 65535 }),
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
}

export type DispatchTable = ReadonlyMap<string, Instance>;

/** Parses and validates the table's JSON text; every error is listed, none is fatal here. */
export function parseTable(text: string): DispatchTable | Invalid {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    return new Invalid([`not valid JSON: ${(error as Error).message}`]);
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    return new Invalid(["the table must be a JSON object of user name (or user@domain) to {os_user, port}"]);
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
  const portOwner = new Map<number, string>();
  for (const [user, { os_user, port }] of Object.entries(entries)) {
    // Two OS users on one port would send one person to another's instance.
    const owner = portOwner.get(port);
    if (owner !== undefined && owner !== os_user) {
      errors.push(`/${user}/port: port ${port} is already the instance of os_user ${owner}`);
    }
    portOwner.set(port, os_user);
    table.set(user, { user, osUser: os_user, port });
  }
  return errors.length > 0 ? new Invalid(errors) : table;
}

/** The table in `path`, or every reason it cannot be used. */
export async function readTableFile(path: string): Promise<DispatchTable | Invalid> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    return new Invalid([`cannot read ${path}: ${(error as Error).message}`]);
  }
  return parseTable(text);
}
