// The mint command runs as a real child process (the fake mint), as in production.
import { afterAll, describe, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { DispatchError } from "../../../../src/lib/errors";
import { mintCredential } from "../../../../src/request/pairing/mint";
import { bunRuntime } from "../../../../src/runtime/bun/runtime";
import { fakeMintCommand, tempDir } from "../../../fixtures/stack";

const stateRoot = tempDir();
afterAll(() => rmSync(stateRoot, { recursive: true, force: true }));

const mintWith = (mode: string, osUser = "alice", timeoutMs = 10_000) =>
  mintCredential(osUser, {
    command: fakeMintCommand(stateRoot, mode).split(" "),
    timeoutMs,
    run: bunRuntime.runCommand,
  });

describe("mint", () => {
  test("parses the CLI's pretty-printed multi-line JSON", async () => {
    const credential = await mintWith("ok");
    expect(typeof credential).toBe("string");
    expect(credential as string).toMatch(/^[A-Za-z0-9_-]{12}$/);
  });

  test("a non-zero exit is mint_failed with the stderr in the detail", async () => {
    const result = (await mintWith("fail")) as DispatchError;
    expect(result).toBeInstanceOf(DispatchError);
    expect(result.kind).toBe("mint_failed");
    expect(result.detail).toContain("exited 3");
    expect(result.detail).toContain("not a mapped user");
    expect(result.status).toBe(500);
  });

  test("log lines instead of JSON are mint_unparseable", async () => {
    const result = (await mintWith("garbage")) as DispatchError;
    expect(result.kind).toBe("mint_unparseable");
    expect(result.status).toBe(500);
  });

  test("JSON with an empty credential is mint_unparseable", async () => {
    expect(((await mintWith("empty")) as DispatchError).kind).toBe("mint_unparseable");
  });

  test("a hanging mint is killed at the timeout", async () => {
    const started = performance.now();
    const result = (await mintWith("hang", "alice", 600)) as DispatchError;
    expect(result.kind).toBe("mint_failed");
    expect(result.detail).toContain("timed out after 600 ms");
    expect(performance.now() - started).toBeLessThan(5000);
  });

  test("a missing command is mint_failed, not a crash", async () => {
    const result = (await mintCredential("alice", {
      command: ["/nonexistent/t3-mint"],
      timeoutMs: 1000,
      run: bunRuntime.runCommand,
    })) as DispatchError;
    expect(result.kind).toBe("mint_failed");
  });

  test("the os_user is one argv element appended to the command, and is validated first", async () => {
    const seen: string[][] = [];
    const run = async (argv: string[]) => {
      seen.push(argv);
      return { exitCode: 0, stdout: '{"credential":"abc"}', stderr: "", timedOut: false };
    };
    expect(
      await mintCredential("alice", { command: ["sudo", "-n", "/usr/local/bin/t3-mint"], timeoutMs: 1, run }),
    ).toBe("abc");
    expect(seen).toEqual([["sudo", "-n", "/usr/local/bin/t3-mint", "alice"]]);
    const refused = await mintCredential("alice; id", { command: ["sudo"], timeoutMs: 1, run });
    expect(refused).toBeInstanceOf(DispatchError);
    expect(seen).toHaveLength(1);
  });
});
