// Autoupdate's memory: the versions found bad, in root's own file, read only
// from a root-owned file on a path no user can change (private-files.ts).
import { Type } from "@sinclair/typebox";
import { Value } from "@sinclair/typebox/value";
import { Failure } from "../lib/errors";
import type { AutoupdateState } from "./autoupdate";
import { readTrusted, writeTrusted } from "./private-files";

const StateFile = Type.Object({
  bad: Type.Record(Type.String(), Type.Object({ at: Type.String(), reason: Type.String() })),
});

/**
 * The state; none yet is an empty one, and a file that is not a state file
 * starts afresh (`afresh` is told why). An unsafe or unreadable file is a
 * Failure: nothing may run on a state that cannot be trusted.
 */
export function loadState(path: string, afresh: (why: string) => void): AutoupdateState | Failure<"unsafe_state"> {
  let text: string;
  try {
    text = readTrusted(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return { bad: {} };
    return new Failure("unsafe_state", `cannot use ${path}: ${(error as Error).message}`);
  }
  try {
    const parsed: unknown = JSON.parse(text);
    if (Value.Check(StateFile, parsed)) return parsed;
  } catch {
    // Not JSON: said below.
  }
  afresh(`${path} is not a state file; starting afresh`);
  return { bad: {} };
}

export const saveState = (path: string, state: AutoupdateState): void =>
  writeTrusted(path, `${JSON.stringify(state, null, 2)}\n`);
