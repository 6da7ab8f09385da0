// Every subcommand's command line: settings as flags, a config file, the
// subcommand's own options; what cannot be used is an Invalid listing every
// problem, which the command line turns into exit 2.
import { afterAll, describe, expect, spyOn, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type ParsedArgs, parseSettingsArgs, unusableSettings } from "../../../src/cli/args";
import { Invalid } from "../../../src/lib/errors";

const dir = mkdtempSync(join(tmpdir(), "t3d-args-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const parsed = (result: ParsedArgs | Invalid): ParsedArgs => {
  if (result instanceof Invalid) throw new Error(result.detail);
  return result;
};

describe("parseSettingsArgs", () => {
  test("flags are settings; the subcommand's own options and positionals come back as given", () => {
    const result = parsed(
      parseSettingsArgs(["--mint-timeout", "3s", "--user", "alice", "extra"], { user: { type: "string" } }),
    );
    expect(result.settings.mintTimeoutMs).toBe(3000);
    expect(result.origins.mintTimeout).toBe("flag: --mint-timeout (mintTimeout)");
    expect([result.values.user, result.positionals]).toEqual(["alice", ["extra"]]);
  });

  test("--config names a JSON file of settings; a flag beats it", () => {
    const file = join(dir, "config.json");
    writeFileSync(file, JSON.stringify({ mintTimeout: "4s", upstreamHost: "127.0.0.2" }));
    const result = parsed(parseSettingsArgs(["--config", file, "--mint-timeout", "5s"]));
    expect([result.settings.mintTimeoutMs, result.settings.upstreamHost]).toEqual([5000, "127.0.0.2"]);
  });

  test("a config file that cannot be read or parsed is an Invalid naming it", () => {
    const broken = join(dir, "broken.json");
    writeFileSync(broken, "{ not json");
    for (const path of [broken, join(dir, "missing.json")]) {
      const result = parseSettingsArgs(["--config", path]);
      expect(result).toBeInstanceOf(Invalid);
      expect((result as Invalid).problems).toHaveLength(1);
      expect((result as Invalid).problems[0]).toStartWith(`config file ${path}: `);
    }
  });

  test("every bad value at once", () => {
    const result = parseSettingsArgs(["--mint-timeout", "soon", "--listen", "nowhere"]);
    expect(result).toBeInstanceOf(Invalid);
    expect((result as Invalid).problems.map((p) => p.split(" = ")[0])).toEqual([
      "flag: --mint-timeout (mintTimeout)",
      "flag: --listen (listen)",
    ]);
  });

  test("an unknown flag or a missing value throws for main to answer with the usage", () => {
    expect(() => parseSettingsArgs(["--no-such-flag"])).toThrow(
      expect.objectContaining({ code: "ERR_PARSE_ARGS_UNKNOWN_OPTION" }),
    );
    expect(() => parseSettingsArgs(["--listen"])).toThrow(
      expect.objectContaining({ code: "ERR_PARSE_ARGS_INVALID_OPTION_VALUE" }),
    );
  });
});

describe("unusableSettings", () => {
  test("each problem on stderr, exit code 2", () => {
    const written: string[] = [];
    const spy = spyOn(process.stderr, "write").mockImplementation((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    });
    try {
      expect(unusableSettings(new Invalid(["a is bad", "b is bad"]))).toBe(2);
    } finally {
      spy.mockRestore();
    }
    expect(written).toEqual(["t3-dispatch: a is bad\n", "t3-dispatch: b is bad\n"]);
  });
});
