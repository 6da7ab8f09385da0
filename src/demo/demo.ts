// `t3-dispatch demo`: with no t3 installed, two fake instances (alice on the
// 0.0.33 contract, running; bob on 0.0.24, stopped until he arrives, then
// started on demand) behind the real dispatcher, behind a small front that
// plays Traefik + Authentik (a fake outpost signs each person's token; the
// dispatcher verifies it against the outpost's JWKS, as in production).
// Prints the URL to open.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { resolveSettings } from "../config/settings";
import { Invalid } from "../lib/errors";
import type { Logger } from "../lib/log";
import { selfCommand } from "../runtime/bun/self";
import { startServer } from "../server/server";
import { fakeUnits } from "./fake-instance-control";
import { OUTPOST_AUDIENCE, OUTPOST_ISSUER, startFakeOutpost } from "./fake-outpost";
import { freePort } from "./free-port";
import { startFront } from "./front";

const DEMO_IDLE = "45s";

/** Waits (up to 10 s) until the instance on `port` answers: the demo opens with alice's running. */
async function answering(port: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const answered = await fetch(`http://127.0.0.1:${port}/api/auth/session`).then(
      () => true,
      () => false,
    );
    if (answered) return;
    await Bun.sleep(50);
  }
}

/**
 * alice's and bob's instances, run by the fake instance wrapper on the ports
 * of the table: alice's is running, bob's is stopped (choosing bob starts it).
 */
async function startInstances(stateRoot: string) {
  const ports = { alice: await freePort(), bob: await freePort() };
  const dispatchFile = join(stateRoot, "dispatch.json");
  const table = { alice: { os_user: "alice", port: ports.alice }, bob: { os_user: "bob", port: ports.bob } };
  writeFileSync(dispatchFile, JSON.stringify(table, null, 2));
  mkdirSync(join(stateRoot, "instances"));
  writeFileSync(join(stateRoot, "instances", "bob.version"), "0.0.24");
  // The fake instances run as this account: it is alice's and bob's in the demo's accounts file.
  const uid = process.getuid?.() ?? 0;
  const accountsFile = join(stateRoot, "passwd");
  writeFileSync(accountsFile, ["alice", "bob"].map((u) => `${u}:x:${uid}:${uid}::/nonexistent:/bin/false\n`).join(""));
  const units = fakeUnits(stateRoot);
  units.start("alice");
  await answering(ports.alice);
  return { ports, units, dispatchFile, accountsFile };
}

/** Runs the demo; the function that stops it, or why the dispatcher would not start. */
export async function runDemo(frontPort: number, log: Logger): Promise<(() => Promise<void>) | Invalid> {
  const stateRoot = mkdtempSync(join(tmpdir(), "t3-dispatch-demo-"));
  const { ports, units, dispatchFile, accountsFile } = await startInstances(stateRoot);
  const outpost = await startFakeOutpost();
  const stopAll = async (...more: Array<{ stop(): Promise<void> }>) => {
    for (const part of [...more, outpost]) await part.stop();
    await units.stopAll();
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
      instanceCommand: [...selfCommand(), "fake-instance-control", "--root", stateRoot].join(" "),
      // Short enough to watch: leave a workspace alone this long and its next visit starts it again.
      idleTimeout: DEMO_IDLE,
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
      `  alice's fake t3 0.0.33  http://127.0.0.1:${ports.alice} (running)`,
      `  bob's fake t3 0.0.24    http://127.0.0.1:${ports.bob} (stopped: choosing bob starts it)`,
      `  dispatcher               ${dispatcher.url} (metrics: ${dispatcher.metricsUrl}/metrics)`,
      "",
      `Open ${front.url}/ and pick a user (the front plays Traefik + Authentik).`,
      `An instance nobody uses for ${DEMO_IDLE} is stopped (an open tab nobody touches does not keep it); a click in that tab, or a visit, starts it again.`,
      "Press Ctrl-C to stop.",
      "",
    ].join("\n"),
  );
  return () => stopAll(front, dispatcher);
}
