// Stage: is the socket on an instance's port really that instance's? Before a
// credential, a cookie or any request goes to a local instance, the LISTEN
// socket on its port must belong to the instance's OS account: while bob's
// instance is down, any account can listen on bob's port. The verdict is kept
// about a second (the hot path must not read /proc per request) and dropped
// after any connection error; pairing asks afresh before it sends a credential.
import type { Accounts } from "./accounts";
import type { Instance } from "./config/table";
import { DispatchError } from "./errors";
import { addressesFor, type Listener, listenersOn } from "./listeners";

const VERDICT_MS = 1000;

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
  const verdicts = new Map<number, { until: number; verdict: Genuineness }>();

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
    // "Nothing listens" is not kept: the instance may be back by the next request.
    if (verdict?.kind === "upstream_down") verdicts.delete(instance.port);
    else verdicts.set(instance.port, { until: Date.now() + VERDICT_MS, verdict });
    return verdict;
  };
  return {
    check(instance) {
      const known = verdicts.get(instance.port);
      return known !== undefined && known.until > Date.now() ? known.verdict : fresh(instance);
    },
    fresh,
    forget: (port) => void verdicts.delete(port),
  };
}
