// The session decision: is there a cookie for this instance, and is this
// request one that may be answered with a re-pair redirect?
import { isSessionCookieName } from "../../t3/contract";

/**
 * A top-level browser navigation, as opposed to an XHR, asset or WebSocket
 * sub-request. Only these may be answered with a 302: redirecting a
 * sub-resource would corrupt the page's fetch/WebSocket contract. Sec-Fetch-Dest
 * is trusted when present; Accept is the fallback for browsers without it.
 */
export function isDocumentNavigation(request: Request): boolean {
  if (request.method !== "GET") return false;
  const dest = request.headers.get("sec-fetch-dest");
  if (dest !== null && dest !== "") return dest === "document";
  return (request.headers.get("accept") ?? "").includes("text/html");
}

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
