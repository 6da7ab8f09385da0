// Stage: is the socket on an instance's port really that instance's? Before a
// credential, a cookie or any request goes to a local instance, the LISTEN
// socket on its port must belong to the instance's OS account: while bob's
// instance is down, any account can listen on bob's port. The verdict is kept
// about a second (the hot path must not read /proc per request) and dropped
// after any connection error; a refusal is not kept. Pairing asks afresh
// before the mint and before the credential leaves.
import type { Accounts } from "./accounts";
import type { Instance } from "./config/table";
import { DispatchError } from "./errors";
import { addressesFor, type Listener, listenersOn } from "./listeners";

/** How long a verdict is kept: a squatter who binds and is reached within it is the residual window. */
export const VERDICT_MS = 1000;

/** Genuine (undefined), or why not: instance_impostor, or upstream_down when nothing listens. */
export type Genuineness = undefined | DispatchError;

export interface InstanceCheck {
  check(instance: Instance): Genuineness;
  /** Asks /proc now, whatever is cached (before a credential leaves). */
  fresh(instance: Instance): Genuineness;
  /** Forgets a port's verdict (after a connection error, or a changed listener). */
  forget(port: number): void;
}

/** The check for instances on `upstreamHost`; a host that is not loopback is not checked. */
export function instanceCheck(
  upstreamHost: string,
  accounts: Pick<Accounts, "uidOf">,
  onImpostor: () => void,
  read: (port: number) => Listener[] = listenersOn,
): InstanceCheck | undefined {
  const relevant = addressesFor(upstreamHost);
  if (relevant === undefined) return undefined;
  /** Port → until when it is known to be genuine. */
  const genuineUntil = new Map<number, number>();

  const judge = (instance: Instance): Genuineness => {
    const expected = accounts.uidOf(instance.osUser);
    const listeners = read(instance.port).filter((l) => relevant.has(l.address));
    if (listeners.length === 0) return new DispatchError("upstream_down", `nothing listens on port ${instance.port}`);
    const stranger = listeners.find((l) => l.uid !== expected);
    if (stranger === undefined) return undefined;
    onImpostor();
    return new DispatchError(
      "instance_impostor",
      `port ${instance.port} is held by uid ${stranger.uid}, not ${instance.osUser} (uid ${expected ?? "unknown"})`,
      { port: instance.port, holder_uid: stranger.uid, os_user: instance.osUser },
    );
  };
  const fresh = (instance: Instance): Genuineness => {
    const verdict = judge(instance);
    // Only "genuine" is kept: a refusal is judged again, so the instance is served once it is back.
    if (verdict === undefined) genuineUntil.set(instance.port, Date.now() + VERDICT_MS);
    else genuineUntil.delete(instance.port);
    return verdict;
  };
  return {
    check: (instance) => ((genuineUntil.get(instance.port) ?? 0) > Date.now() ? undefined : fresh(instance)),
    fresh,
    forget: (port) => void genuineUntil.delete(port),
  };
}
