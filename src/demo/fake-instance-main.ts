// `t3-dispatch fake-instance`: one fake t3 instance as a process of its own,
// so a test can run it as a real OS account (the instance check looks at who
// holds the port) — or as an attacker squatting someone else's port. Prints a
// `listening` JSON line on stderr; stops on SIGTERM. Its faults play a start
// gone wrong: --listen-after (a slow or a never-listening start),
// --answer-after (listening before answering), --busy (work with no browser).
import { parseArgs } from "node:util";
import { type FakeVersion, startFakeT3 } from "./fake-t3";

/** Half of one CPU, in slices: an agent or a build running with nobody watching. */
function burnHalfACpu(): void {
  setInterval(() => {
    const until = performance.now() + 50;
    while (performance.now() < until) {
      // busy on purpose
    }
  }, 100);
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
    },
    strict: true,
  });
  const stateDir = values["state-dir"];
  if (!stateDir) throw new Error("fake-instance: --state-dir is required");
  let stop = (): void => process.exit(0);
  process.on("SIGTERM", () => stop());
  if (values.busy) burnHalfACpu();
  setTimeout(() => {
    const instance = startFakeT3({
      version: values.version as FakeVersion,
      port: Number(values.port),
      stateDir,
      owner: values.owner,
      faults: { answerAfterMs: Number(values["answer-after"]) },
    });
    stop = () => void instance.stop().then(() => process.exit(0));
    process.stderr.write(`${JSON.stringify({ event: "listening", url: instance.url, cookie: instance.cookieName })}\n`);
  }, Number(values["listen-after"]));
  return "running";
}
