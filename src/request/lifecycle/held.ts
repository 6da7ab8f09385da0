// A tab whose instance is stopped (the idle sweep stopped it, or the host
// rebooted) reconnects its socket by itself. Refused, the app would show a
// broken connection until its person thinks of reloading; so the dispatcher
// holds the socket instead: it answers the client's keepalive and activity
// report as t3 does (docs/t3-contract.md), leaves every other request
// unanswered, and asks for a start when a report says a person interacted.
// A tab nobody touches therefore never starts its instance again. Once the
// instance answers, the account's held sockets are closed with 1012 (service
// restart): the client reconnects on its own, through the whole request path
// (the instance check, the session, the owner binding), to its instance.
import type { Instance } from "../../config/table";
import type { SocketPeer } from "../../runtime/runtime";
import { clientMessages, PONG, successExit } from "../../t3/rpc-frames";

/** Close codes a held socket ends with: the instance is there now, or its start failed. */
export const READY_CLOSE = { code: 1012, reason: "the instance is ready: reconnect" };
export const FAILED_CLOSE = { code: 1011, reason: "the instance did not start: reload the page" };

/** A person's browsers rarely hold more; beyond it a socket gets the 503 as before. */
export const MAX_HELD_PER_ACCOUNT = 8;

type Held = Parameters<SocketPeer["opened"]>[0];

export class HeldSockets {
  /** os_user → its held sockets. */
  private readonly byAccount = new Map<string, Set<Held>>();

  constructor(
    /** A report said a person interacted on a socket of `instance`'s (opened by request `requestId`). */
    private readonly wake: (instance: Instance, requestId: string) => void,
  ) {}

  /** The peer for one more socket of `instance`'s, or undefined when its account holds enough. */
  peer(instance: Instance, requestId: string): SocketPeer | undefined {
    const { osUser } = instance;
    if ((this.byAccount.get(osUser)?.size ?? 0) >= MAX_HELD_PER_ACCOUNT) return undefined;
    let socket: Held | undefined;
    return {
      opened: (opened) => {
        socket = opened;
        const held = this.byAccount.get(osUser) ?? new Set();
        held.add(opened);
        this.byAccount.set(osUser, held);
      },
      message: (frame) => {
        for (const message of clientMessages(frame) ?? []) {
          if (message.kind === "automatic" && message.tag === "Ping") socket?.send(PONG);
          if (message.kind !== "report") continue;
          socket?.send(successExit(message.id));
          if (message.present) this.wake(instance, requestId);
        }
      },
      closed: () => {
        const held = this.byAccount.get(osUser);
        if (socket) held?.delete(socket);
        if (held?.size === 0) this.byAccount.delete(osUser);
      },
    };
  }

  /** Closes every held socket of `osUser` with `close`. */
  release(osUser: string, close: { code: number; reason: string }): void {
    const held = this.byAccount.get(osUser);
    this.byAccount.delete(osUser);
    for (const socket of held ?? []) socket.close(close.code, close.reason);
  }
}
