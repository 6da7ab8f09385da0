// Stage: is the socket on an instance's port really that instance's? Before a
// credential, a cookie or any request goes to a local instance, the LISTEN
// socket on its port must belong to the instance's OS account: while bob's
// instance is down, any account can listen on bob's port. Reading /proc costs
// the kernel a walk of every socket (milliseconds), so one snapshot of the
// listen table serves every port for about a second; a refusal, or a port
// forgotten after a connection error, is judged again on a snapshot at most
// RETRY_MS old, so a flood of requests to a down instance costs a bounded
// number of reads. "Nothing listens" is the kernel's word, not a snapshot's:
// a port the snapshot shows empty is tried with a connection (no byte sent);
// only a refusal makes it down, and an accepted one is judged on the next
// snapshot (at most RETRY_MS away), so the moment an instance listens again
// the next request reaches it. A flood against a down or squatted port thus
// costs at most 1000/RETRY_MS + 1000/SNAPSHOT_MS = 11 reads a second. Pairing
// asks afresh before the credential leaves. A port seen with nothing on it, or
// with a new listener socket, is reported: the instance went down or
// restarted, and its sessions may have gone with it.

import type { Instance } from "../../config/table";
import { DispatchError } from "../../lib/errors";
import type { MaybePromise } from "../../lib/maybe-promise";
import type { Accounts } from "./accounts";
import { addressesFor, type ListenTable, readListenTable } from "./listeners";

/** How long a snapshot is believed: a squatter who binds and is reached within it is the residual window. */
export const SNAPSHOT_MS = 1000;

/** A refusal is judged again on a snapshot no older than this (reads are bounded, not per request). */
export const RETRY_MS = 100;

/** Nothing listens on the instance's port: the lifecycle may start it. */
export class InstanceDown extends DispatchError {
  constructor(readonly instance: Instance) {
    super("upstream_down", `nothing listens on port ${instance.port}`);
  }
}

/** Another account holds the instance's port: nothing is sent there. */
export class InstanceImpostor extends DispatchError {
  constructor(
    readonly instance: Instance,
    holderUid: number,
    expectedUid: number | undefined,
  ) {
    super(
      "instance_impostor",
      `port ${instance.port} is held by uid ${holderUid}, not ${instance.osUser} (uid ${expectedUid ?? "unknown"})`,
      { port: instance.port, holder_uid: holderUid, os_user: instance.osUser },
    );
  }
}

/** Genuine (undefined), or why not. */
export type Genuineness = undefined | InstanceDown | InstanceImpostor;

export interface InstanceCheck {
  /** Synchronous unless the snapshot says nothing listens (then the kernel is asked). */
  check(instance: Instance): MaybePromise<Genuineness>;
  /** Asks /proc now, whatever is cached (before a credential leaves). */
  fresh(instance: Instance): Genuineness;
  /** Its own account listens on its port, on the shared snapshot (no probe, nothing counted): for gauges and sweeps. */
  listening(instance: Instance): boolean;
  /** Judges a port again on a recent snapshot (after a connection error). */
  forget(port: number): void;
}

export interface InstanceCheckOptions {
  upstreamHost: string;
  accounts: Pick<Accounts, "uidOf">;
  onImpostor(): void;
  /** Nothing listens on its port any more (`listening` false), or a new socket does: it went down or restarted. */
  onReplaced(instance: Instance, listening: boolean): void;
  read?: () => ListenTable;
  /** Does the port accept a connection now? (undefined: the snapshot's word is final) */
  connects?: (port: number) => Promise<boolean>;
}

/** The check for instances on `upstreamHost`; a host that is not loopback is not checked. */
export function instanceCheck(options: InstanceCheckOptions): InstanceCheck | undefined {
  const { accounts, onImpostor, onReplaced, read = readListenTable, connects } = options;
  const relevant = addressesFor(options.upstreamHost);
  if (relevant === undefined) return undefined;
  let snapshot: ListenTable = new Map();
  let readAt = Number.NEGATIVE_INFINITY;
  /** Port → the os_user it was judged genuine for on the current snapshot: the hot path is one lookup. */
  const genuineOn = new Map<number, string>();
  /** Ports to judge again on a snapshot newer than RETRY_MS. */
  const doubted = new Set<number>();
  /** Port → the inodes of the listener last judged genuine there. */
  const sockets = new Map<number, string>();
  const noteSockets = (instance: Instance, inodes: string | undefined) => {
    const before = sockets.get(instance.port);
    if (inodes === undefined) sockets.delete(instance.port);
    else sockets.set(instance.port, inodes);
    if (before !== undefined && before !== inodes) onReplaced(instance, inodes !== undefined);
  };
  const readIfOlder = (ms: number) => {
    if (Date.now() - readAt < ms) return;
    snapshot = read();
    readAt = Date.now();
    genuineOn.clear();
  };

  const judge = (instance: Instance): Genuineness => {
    const expected = accounts.uidOf(instance.osUser);
    const listeners = (snapshot.get(instance.port) ?? []).filter((l) => relevant.has(l.address));
    if (listeners.length === 0) {
      noteSockets(instance, undefined);
      return new InstanceDown(instance);
    }
    const stranger = listeners.find((l) => l.uid !== expected);
    if (stranger === undefined) {
      noteSockets(
        instance,
        listeners
          .map((l) => l.inode)
          .sort()
          .join(","),
      );
      return undefined;
    }
    noteSockets(instance, undefined);
    return new InstanceImpostor(instance, stranger.uid, expected);
  };
  const counted = (genuineness: Genuineness): Genuineness => {
    if (genuineness instanceof InstanceImpostor) onImpostor();
    return genuineness;
  };
  /** Something accepted a connection the snapshot did not know of: judged on the next snapshot allowed. */
  const judgeAgainSoon = async (instance: Instance): Promise<Genuineness> => {
    const wait = readAt + RETRY_MS - Date.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    readIfOlder(RETRY_MS);
    const genuineness = judge(instance);
    if (genuineness === undefined) genuineOn.set(instance.port, instance.osUser);
    return counted(genuineness);
  };
  /** The snapshot says nothing listens: the kernel's refusal decides. */
  const confirmDown = async (instance: Instance, down: Genuineness): Promise<Genuineness> =>
    connects && (await connects(instance.port)) ? judgeAgainSoon(instance) : down;
  return {
    check(instance) {
      readIfOlder(SNAPSHOT_MS);
      const { port, osUser } = instance;
      if (!doubted.has(port) && genuineOn.get(port) === osUser) return undefined;
      let genuineness = judge(instance);
      if (genuineness !== undefined || doubted.has(port)) {
        readIfOlder(RETRY_MS);
        genuineness = judge(instance);
      }
      if (genuineness === undefined) {
        doubted.delete(port);
        genuineOn.set(port, osUser);
      }
      if (genuineness instanceof InstanceDown && connects) return confirmDown(instance, genuineness);
      return counted(genuineness);
    },
    fresh(instance) {
      readIfOlder(0);
      return counted(judge(instance));
    },
    listening(instance) {
      readIfOlder(SNAPSHOT_MS);
      return judge(instance) === undefined;
    },
    forget: (port) => void doubted.add(port),
  };
}
