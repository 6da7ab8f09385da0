// What root does to a user's files it does as that user: the child that reads
// or writes them runs under the account's uid and gid (setpriv, as the mint
// wrapper does), with no groups, no capabilities and a clean environment, so a
// symbolic link or a swapped file in the user's directory reaches nothing the
// user could not reach from their own shell.
import type { ChildIO } from "../runtime/command";
import { OpsError } from "./ops-error";

export interface AccountIds {
  uid: number;
  gid: number;
}

const CHILD_ENV = { PATH: "/usr/sbin:/usr/bin:/sbin:/bin", LANG: "C.UTF-8", TMPDIR: "/tmp" };

/** `argv` run as the account: as is when we already are it, under setpriv when we are root. */
export function asAccount(account: AccountIds, argv: string[], io: ChildIO = {}): { argv: string[]; io: ChildIO } {
  const euid = process.geteuid?.() ?? 0;
  const env = { ...CHILD_ENV, ...io.env };
  if (euid === account.uid) return { argv, io: { ...io, env } };
  if (euid !== 0) throw new OpsError(`acting as uid ${account.uid} needs root (running as uid ${euid})`);
  const drop = [
    "setpriv",
    `--reuid=${account.uid}`,
    `--regid=${account.gid}`,
    "--clear-groups",
    "--inh-caps=-all",
    "--",
  ];
  return { argv: [...drop, ...argv], io: { ...io, env } };
}
