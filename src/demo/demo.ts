// `t3-dispatch demo`: with no t3 installed, two fake instances (alice on the
// 0.0.33 contract, bob on 0.0.24) behind the real dispatcher, behind a small
// front that plays Traefik + Authentik (a fake outpost signs each person's
// token; the dispatcher verifies it against the outpost's JWKS, as in
// production). Prints the URL to open.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { resolveSettings } from "../config/settings";
import { Invalid } from "../lib/errors";
import type { Logger } from "../lib/log";
import { selfCommand } from "../runtime/bun/self";
import { startServer } from "../server/server";
import { OUTPOST_AUDIENCE, OUTPOST_ISSUER, startFakeOutpost } from "./fake-outpost";
import { startFakeT3 } from "./fake-t3";
import { startFront } from "./front";

/** alice's and bob's fake instances, and the table that routes to them. */
function startInstances(stateRoot: string) {
  const alice = startFakeT3({ version: "0.0.33", stateDir: join(stateRoot, "alice"), owner: "alice" });
  const bob = startFakeT3({ version: "0.0.24", stateDir: join(stateRoot, "bob"), owner: "bob" });
  const dispatchFile = join(stateRoot, "dispatch.json");
  const table = { alice: { os_user: "alice", port: alice.port }, bob: { os_user: "bob", port: bob.port } };
  writeFileSync(dispatchFile, JSON.stringify(table, null, 2));
  // The fake instances run as this account: it is alice's and bob's in the demo's accounts file.
  const uid = process.getuid?.() ?? 0;
  const accountsFile = join(stateRoot, "passwd");
  writeFileSync(accountsFile, ["alice", "bob"].map((u) => `${u}:x:${uid}:${uid}::/nonexistent:/bin/false\n`).join(""));
  return { alice, bob, dispatchFile, accountsFile };
}

/** Runs the demo; the function that stops it, or why the dispatcher would not start. */
export async function runDemo(frontPort: number, log: Logger): Promise<(() => Promise<void>) | Invalid> {
  const stateRoot = mkdtempSync(join(tmpdir(), "t3-dispatch-demo-"));
  const { alice, bob, dispatchFile, accountsFile } = startInstances(stateRoot);
  const outpost = await startFakeOutpost();
  const stopAll = async (...more: Array<{ stop(): Promise<void> }>) => {
    for (const part of [...more, outpost, alice, bob]) await part.stop();
    rmSync(stateRoot, { recursive: true, force: true });
  };
  const resolved = resolveSettings({
    flags: {
      identityProof: "jwt",
      jwksUrl: outpost.jwksUrl,
      jwtIssuer: OUTPOST_ISSUER,
      jwtAudience: OUTPOST_AUDIENCE,
      accountsFile,
      listen: "127.0.0.1:0",
      dispatchFile,
      mintCommand: [...selfCommand(), "fake-mint", "--state-root", stateRoot].join(" "),
      secretFile: join(stateRoot, "cookie-secret"),
      metricsListen: "127.0.0.1:0",
    },
  });
  const dispatcher = resolved instanceof Invalid ? resolved : await startServer(resolved.settings, log);
  if (dispatcher instanceof Invalid) {
    await stopAll();
    return dispatcher;
  }
  const front = startFront({ port: frontPort, dispatcherUrl: dispatcher.url, users: ["alice", "bob"], outpost });
  process.stdout.write(
    [
      "",
      "t3-dispatch demo is running:",
      `  alice's fake t3 0.0.33  ${alice.url}`,
      `  bob's fake t3 0.0.24    ${bob.url}`,
      `  dispatcher               ${dispatcher.url} (metrics: ${dispatcher.metricsUrl}/metrics)`,
      "",
      `Open ${front.url}/ and pick a user (the front plays Traefik + Authentik).`,
      "Press Ctrl-C to stop.",
      "",
    ].join("\n"),
  );
  return () => stopAll(front, dispatcher);
}
