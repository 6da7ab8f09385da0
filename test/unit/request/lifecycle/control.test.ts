// The instance wrapper as the dispatcher runs it: a fixed verb and the
// os_user as argv elements after the configured prefix, every failure typed
// with the wrapper's output, and status parsed with a schema.
import { describe, expect, test } from "bun:test";
import { ControlFailed, commandControl } from "../../../../src/request/lifecycle/control";
import type { CommandResult } from "../../../../src/runtime/command";

const STATUS = {
  unit: "t3-serve@alice.service",
  active: "active",
  since: "2026-12-05T21:00:00Z",
  memory_bytes: 1024,
  cpu_usec: 5000,
  journal: ["started"],
};

function controlAnswering(result: Partial<CommandResult>) {
  const ran: string[][] = [];
  const control = commandControl(["sudo", "-n", "/usr/local/bin/t3-instance"], 1000, async (argv) => {
    ran.push(argv);
    return { exitCode: 0, stdout: "", stderr: "", timedOut: false, ...result };
  });
  return { control, ran };
}

describe("commandControl", () => {
  test("each verb is the prefix, the verb and the os_user, as separate elements", async () => {
    const { control, ran } = controlAnswering({ stdout: JSON.stringify(STATUS) });
    expect(await control.start("alice")).toBeUndefined();
    expect(await control.stop("alice")).toBeUndefined();
    expect(await control.status("alice")).toEqual(STATUS);
    expect(ran.map((argv) => argv.slice(3))).toEqual([
      ["start", "alice"],
      ["stop", "alice"],
      ["status", "alice"],
    ]);
  });

  test("an os_user that is not a name never reaches the argv", async () => {
    const { control, ran } = controlAnswering({});
    for (const name of ["--help", "../root", "alice bob", ""]) {
      expect(await control.start(name)).toBeInstanceOf(ControlFailed);
    }
    expect(ran).toEqual([]);
  });

  test("a failed start carries its exit code and the wrapper's last output", async () => {
    const { control } = controlAnswering({ exitCode: 70, stderr: "Job for t3-serve@alice.service failed\n" });
    const failed = await control.start("alice");
    expect(failed).toBeInstanceOf(ControlFailed);
    expect([failed?.verb, failed?.detail, failed?.output]).toEqual([
      "start",
      "start alice exited 70",
      "Job for t3-serve@alice.service failed",
    ]);
  });

  test("t3's pairing token, its URL and QR code never leave the wrapper's output, in status or a failure", async () => {
    const banner = [
      "Listening on http://127.0.0.1:4310",
      "Pair a browser: http://127.0.0.1:4310/pair#token=Qk3xV9aLmP2z",
      "Token: Qk3xV9aLmP2z",
      "█▀▀▀▀▀█ ▄▀▄ █▀▀▀▀▀█",
      "▀▀▀▀▀▀▀ ▀ ▀ ▀▀▀▀▀▀▀",
    ];
    const { control } = controlAnswering({ stdout: JSON.stringify({ ...STATUS, journal: banner }) });
    expect(await control.status("alice")).toEqual({ ...STATUS, journal: ["Listening on http://127.0.0.1:4310"] });
    const failed = await controlAnswering({ exitCode: 70, stderr: banner.join("\n") }).control.start("alice");
    expect(failed?.output).toBe("Listening on http://127.0.0.1:4310");
    expect(JSON.stringify(failed)).not.toContain("Qk3xV9aLmP2z");
  });

  test("a timeout, output that is not JSON and JSON of another shape are failures too", async () => {
    expect(String(await controlAnswering({ timedOut: true, exitCode: null }).control.stop("alice"))).toContain(
      "timed out after 1000 ms",
    );
    expect(String(await controlAnswering({ stdout: "active\n" }).control.status("alice"))).toContain("printed no JSON");
    const shape = await controlAnswering({ stdout: JSON.stringify({ ...STATUS, cpu_usec: "lots" }) }).control.status(
      "alice",
    );
    expect(String(shape)).toContain("JSON of another shape");
  });
});
