// A stand-in for the `t3-instance` wrapper and its systemd unit, for the demo
// and the tests: `fake-instance-control --root DIR start|stop|status <os_user>`
// runs one fake instance process per os_user on the port the table in
// DIR/dispatch.json gives it, and `status` prints the wrapper's JSON (CPU and
// memory from /proc, the last lines of the instance's log). A file
// DIR/instances/<os_user>.faults holds extra `fake-instance` flags for a
// start gone wrong, or `refuse` for a start the wrapper itself fails.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { NO_FLEET, parseTable } from "../config/table";
import { Invalid } from "../lib/errors";
import { selfCommand } from "../runtime/bun/self";

/** Linux's USER_HZ: /proc/<pid>/stat counts CPU time in these. */
const TICKS_PER_SECOND = 100;

const readOr = (path: string, fallback: string): string =>
  existsSync(path) ? readFileSync(path, "utf8").trim() : fallback;

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return readOr(`/proc/${pid}/stat`, "").split(" ")[2] !== "Z";
  } catch {
    return false;
  }
};

class FakeUnits {
  constructor(private readonly root: string) {}

  private file(osUser: string, ext: string): string {
    return join(this.root, "instances", `${osUser}.${ext}`);
  }

  private pid(osUser: string): number | undefined {
    const pid = Number(readOr(this.file(osUser, "pid"), "0"));
    return pid > 0 && alive(pid) ? pid : undefined;
  }

  private portOf(osUser: string): number | undefined {
    const table = parseTable(readFileSync(join(this.root, "dispatch.json"), "utf8"), NO_FLEET);
    if (table instanceof Invalid) return undefined;
    return [...table.values()].find((instance) => instance.osUser === osUser)?.port;
  }

  start(osUser: string): number {
    if (this.pid(osUser) !== undefined) return 0; // like systemctl start on an active unit
    const port = this.portOf(osUser);
    const faults = readOr(this.file(osUser, "faults"), "");
    if (port === undefined || faults === "refuse") {
      process.stderr.write(`Job for fake-t3-serve@${osUser} failed (${port === undefined ? "no port" : "refused"})\n`);
      return 1;
    }
    mkdirSync(join(this.root, "instances"), { recursive: true });
    const argv = [
      ...selfCommand(),
      "fake-instance",
      ...["--port", String(port), "--state-dir", join(this.root, osUser), "--owner", osUser],
      ...["--version", readOr(this.file(osUser, "version"), "0.0.33")],
      ...faults.split(/\s+/).filter(Boolean),
    ];
    // Not our pipes: whoever ran `start` must not wait for the instance to exit.
    const child = Bun.spawn(argv, {
      stdin: "ignore",
      stdout: "ignore",
      stderr: Bun.file(this.file(osUser, "log")),
    });
    child.unref();
    writeFileSync(this.file(osUser, "pid"), String(child.pid));
    writeFileSync(this.file(osUser, "since"), new Date().toISOString());
    writeFileSync(this.file(osUser, "starts"), `${Number(readOr(this.file(osUser, "starts"), "0")) + 1}`);
    return 0;
  }

  async stop(osUser: string): Promise<number> {
    const pid = this.pid(osUser);
    if (pid !== undefined) {
      process.kill(pid, "SIGTERM");
      for (let i = 0; i < 100 && alive(pid); i++) await Bun.sleep(20);
      if (alive(pid)) process.kill(pid, "SIGKILL");
    }
    rmSync(this.file(osUser, "pid"), { force: true });
    writeFileSync(this.file(osUser, "stops"), `${Number(readOr(this.file(osUser, "stops"), "0")) + 1}`);
    return 0;
  }

  status(osUser: string): number {
    const pid = this.pid(osUser);
    const stat = pid ? readOr(`/proc/${pid}/stat`, "").split(") ")[1]?.split(" ") : undefined;
    // After "pid (comm) ": state is field 0, utime 11 and stime 12.
    const ticks = stat ? Number(stat[11]) + Number(stat[12]) : undefined;
    const rss = pid ? /VmRSS:\s+(\d+) kB/.exec(readOr(`/proc/${pid}/status`, ""))?.[1] : undefined;
    const status = {
      unit: `fake-t3-serve@${osUser}`,
      active: pid ? "active" : "inactive",
      since: pid ? readOr(this.file(osUser, "since"), "") || null : null,
      memory_bytes: rss ? Number(rss) * 1024 : null,
      cpu_usec: ticks === undefined ? null : (ticks * 1_000_000) / TICKS_PER_SECOND,
      journal: readOr(this.file(osUser, "log"), "").split("\n").filter(Boolean).slice(-5),
    };
    process.stdout.write(`${JSON.stringify(status)}\n`);
    return 0;
  }

  /** Every instance this root started (the demo's exit). */
  async stopAll(): Promise<void> {
    const table = parseTable(readOr(join(this.root, "dispatch.json"), "{}"), NO_FLEET);
    if (table instanceof Invalid) return;
    for (const instance of table.values()) if (this.pid(instance.osUser)) await this.stop(instance.osUser);
  }
}

export const fakeUnits = (root: string) => new FakeUnits(root);

export async function fakeInstanceControlMain(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: { root: { type: "string" } },
    allowPositionals: true,
  });
  const [verb, osUser] = positionals;
  if (!values.root || positionals.length !== 2 || osUser === undefined) {
    process.stderr.write("usage: fake-instance-control --root DIR start|stop|status <os_user>\n");
    return 64;
  }
  const units = new FakeUnits(values.root);
  if (verb === "start") return units.start(osUser);
  if (verb === "stop") return await units.stop(osUser);
  if (verb === "status") return units.status(osUser);
  process.stderr.write(`fake-instance-control: unknown verb ${JSON.stringify(verb)}\n`);
  return 64;
}
