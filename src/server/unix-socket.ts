// A Unix-socket listener's access: its file mode and group (the front's), so
// that the front can connect and nobody else. Set right after the bind (under
// the unit's UMask=0077 the socket starts owner-only).
import { chmodSync, chownSync, readFileSync } from "node:fs";
import { Failure } from "../lib/errors";

/** A group's id from a group-format file, or undefined. */
export function gidOf(group: string, groupFile = "/etc/group"): number | undefined {
  for (const line of readFileSync(groupFile, "utf8").split("\n")) {
    const [name, , gid] = line.split(":");
    if (name === group && gid && /^\d+$/.test(gid)) return Number(gid);
  }
  return undefined;
}

/** Applies mode and group; undefined, or what failed. */
export function restrictSocket(path: string, mode: number, group: string): Failure<"socket_access"> | undefined {
  try {
    if (group !== "") {
      const gid = gidOf(group);
      if (gid === undefined) return new Failure("socket_access", `listenGroup ${group}: no such group`);
      chownSync(path, -1, gid);
    }
    chmodSync(path, mode);
    return undefined;
  } catch (error) {
    return new Failure("socket_access", `${path}: ${(error as Error).message}`);
  }
}
