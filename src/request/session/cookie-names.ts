// Which of the browser's cookies is an instance's session cookie: t3 names it
// per port, and the dispatcher learns each instance's name from its answers.
import { isSessionCookieName } from "../../t3/contract";

/** The session cookie name each instance uses, learned from its answers (keyed by port). */
export class CookieNames {
  private readonly byPort = new Map<number, string>();

  learn(port: number, name: string | undefined): void {
    if (name !== undefined && isSessionCookieName(name, port)) this.byPort.set(port, name);
  }

  /**
   * Is `name` this instance's session cookie? Before the name is learned, any
   * plausible name for this port counts, so a restart of the dispatcher does
   * not re-pair every browser.
   */
  isOwn(port: number, name: string): boolean {
    const known = this.byPort.get(port);
    return known === undefined ? isSessionCookieName(name, port) : name === known;
  }

  /** Which of the browser's cookies is this instance's session cookie. */
  find(port: number, cookieNames: Iterable<string>): string | undefined {
    for (const name of cookieNames) if (this.isOwn(port, name)) return name;
    return undefined;
  }
}
