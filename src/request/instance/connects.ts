// Does anything accept a TCP connection on the instance's port right now? The
// kernel's answer, not a snapshot's: a refused connection is "nothing
// listens", decided without reading /proc. No byte is sent on an accepted
// connection; it is closed at once, and who holds the port is then judged.
import { createConnection } from "node:net";

/** How long a loopback connect may take before the port counts as not listening. */
const CONNECT_TIMEOUT_MS = 1000;

export function connects(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: host.replace(/^\[(.*)\]$/, "$1"), port });
    const done = (accepted: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(accepted);
    };
    const timer = setTimeout(() => done(false), CONNECT_TIMEOUT_MS);
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
  });
}
