// `t3-dispatch fake-instance`: one fake t3 instance as a process of its own,
// so a test can run it as a real OS account (the instance check looks at who
// holds the port) — or as an attacker squatting someone else's port. Prints a
// `listening` JSON line on stderr; stops on SIGTERM. Its faults play a start
// gone wrong: --listen-after (a slow or a never-listening start),
// --answer-after (listening before answering), --busy (work with no browser);
// --poll does what an idle t3 serve does on its own (the idle CPU baseline);
// --client-cadence PING_MS:REPORT_MS speeds up its page's client for a test.
// Like t3, it prints a pairing token, its URL and a QR code when it starts.
import { randomBytes } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { type ClientCadence, type FakeVersion, REAL_CLIENT_CADENCE, startFakeT3 } from "./fake-t3";

/** Half of one CPU, in slices: an agent or a build running with nobody watching. */
function burnHalfACpu(): void {
  setInterval(() => {
    const until = performance.now() + 50;
    while (performance.now() < until) {
      // busy on purpose
    }
  }, 100);
}

/**
 * An idle t3 serve's own work, as a model: every 5 s it looks at its state
 * (lists and stats its directory, parses and writes back a 64 KiB JSON
 * document, as its SQLite housekeeping and provider checks would).
 */
function pollLikeAnIdleT3(stateDir: string): void {
  mkdirSync(stateDir, { recursive: true });
  const state = join(stateDir, "poll-state.json");
  const blob = JSON.stringify({ threads: Array.from({ length: 400 }, (_, i) => ({ id: i, title: "x".repeat(120) })) });
  writeFileSync(state, blob);
  setInterval(() => {
    for (const entry of readdirSync(stateDir)) statSync(join(stateDir, entry));
    writeFileSync(state, JSON.stringify(JSON.parse(readFileSync(state, "utf8"))));
  }, 5000);
}

/** `PING_MS:REPORT_MS`, or the real client's cadence. */
function cadenceOf(value: string | undefined): ClientCadence {
  if (value === undefined) return REAL_CLIENT_CADENCE;
  const [pingMs, reportMs] = value.split(":").map(Number);
  if (!pingMs || !reportMs) throw new Error(`fake-instance: --client-cadence ${value}: want PING_MS:REPORT_MS`);
  return { pingMs, reportMs };
}

/** What t3 prints at start: a one-time pairing token, its URL and a QR code of it (never to be logged). */
function printPairingBanner(url: string): void {
  const token = randomBytes(9).toString("base64url");
  const qr = ["█▀▀▀▀▀█ ▄▀▄ █▀▀▀▀▀█", "█ ███ █ ▀█▀ █ ███ █", "▀▀▀▀▀▀▀ ▀ ▀ ▀▀▀▀▀▀▀"];
  process.stderr.write(`Pair a browser: ${url}/pair#token=${token}\nToken: ${token}\n${qr.join("\n")}\n`);
}

export function fakeInstanceMain(args: string[]): "running" {
  const { values } = parseArgs({
    args,
    options: {
      version: { type: "string", default: "0.0.33" },
      port: { type: "string", default: "0" },
      "state-dir": { type: "string" },
      owner: { type: "string", default: "someone" },
      "listen-after": { type: "string", default: "0" },
      "answer-after": { type: "string", default: "0" },
      busy: { type: "boolean", default: false },
      poll: { type: "boolean", default: false },
      "client-cadence": { type: "string" },
    },
    strict: true,
  });
  const stateDir = values["state-dir"];
  if (!stateDir) throw new Error("fake-instance: --state-dir is required");
  let stop = (): void => process.exit(0);
  process.on("SIGTERM", () => stop());
  if (values.busy) burnHalfACpu();
  if (values.poll) pollLikeAnIdleT3(stateDir);
  setTimeout(() => {
    const instance = startFakeT3({
      version: values.version as FakeVersion,
      port: Number(values.port),
      stateDir,
      owner: values.owner,
      faults: { answerAfterMs: Number(values["answer-after"]) },
      cadence: cadenceOf(values["client-cadence"]),
    });
    printPairingBanner(instance.url);
    stop = () => void instance.stop().then(() => process.exit(0));
    process.stderr.write(`${JSON.stringify({ event: "listening", url: instance.url, cookie: instance.cookieName })}\n`);
  }, Number(values["listen-after"]));
  return "running";
}

/**
 * `fake-t3 serve --host H --port P --base-dir D`: the real CLI's form, so a
 * unit's own ExecStart can run the fake instance (the host suite); its owner is
 * the account systemd runs it as.
 */
export function fakeT3Serve(args: string[]): "running" {
  const { values } = parseArgs({
    args,
    options: { host: { type: "string" }, port: { type: "string" }, "base-dir": { type: "string" } },
    strict: true,
  });
  const owner = process.env.USER ?? "someone";
  return fakeInstanceMain(["--port", values.port ?? "0", "--state-dir", values["base-dir"] ?? ".", "--owner", owner]);
}
