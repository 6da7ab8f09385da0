// `t3-dispatch fake-instance`: one fake t3 instance as a process of its own,
// so a test can run it as a real OS account (the instance check looks at who
// holds the port) — or as an attacker squatting someone else's port. Prints a
// `listening` JSON line on stderr; stops on SIGTERM.
import { parseArgs } from "node:util";
import { type FakeVersion, startFakeT3 } from "./fake-t3";

export function fakeInstanceMain(args: string[]): "running" {
  const { values } = parseArgs({
    args,
    options: {
      version: { type: "string", default: "0.0.33" },
      port: { type: "string", default: "0" },
      "state-dir": { type: "string" },
      owner: { type: "string", default: "someone" },
    },
    strict: true,
  });
  const stateDir = values["state-dir"];
  if (!stateDir) throw new Error("fake-instance: --state-dir is required");
  const instance = startFakeT3({
    version: values.version as FakeVersion,
    port: Number(values.port),
    stateDir,
    owner: values.owner,
  });
  process.stderr.write(`${JSON.stringify({ event: "listening", url: instance.url, cookie: instance.cookieName })}\n`);
  process.on("SIGTERM", () => void instance.stop().then(() => process.exit(0)));
  return "running";
}
