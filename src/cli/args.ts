// Command-line settings for every subcommand: each setting is a `--flag`, plus
// `--config FILE` and the subcommand's own options. Precedence is resolved in
// config/settings.ts (flags > T3D_* > config file > defaults).
import { readFileSync } from "node:fs";
import { type ParseArgsConfig, parseArgs } from "node:util";
import { flagName, type RawSettings, SETTING_KEYS, settingsFromEnv } from "../config/setting-schema";
import { type Origins, resolveSettings, type Settings } from "../config/settings";

type Options = NonNullable<ParseArgsConfig["options"]>;

export type ParsedArgs =
  | {
      ok: true;
      settings: Settings;
      /** The merged text of every setting and where each came from (what `check` prints). */
      raw: RawSettings;
      origins: Origins;
      values: Record<string, string | boolean | undefined>;
      positionals: string[];
    }
  | { ok: false; errors: string[] };

function loadConfigFile(path: string | undefined): unknown {
  if (path === undefined) return undefined;
  try {
    return JSON.parse(readFileSync(path, "utf8"));
  } catch (error) {
    throw new Error(`config file ${path}: ${(error as Error).message}`);
  }
}

export function parseSettingsArgs(args: string[], own: Options = {}): ParsedArgs {
  const options: Options = { ...own, config: { type: "string" } };
  for (const key of SETTING_KEYS) options[flagName(key)] = { type: "string" };
  // An unknown flag or a missing value throws: the command line answers it with the command's usage.
  const parsed = parseArgs({ args, options, strict: true, allowPositionals: true });
  const values = parsed.values as Record<string, string | boolean | undefined>;
  const flags: Partial<Record<keyof RawSettings, string>> = {};
  for (const key of SETTING_KEYS) {
    const value = values[flagName(key)];
    if (typeof value === "string") flags[key] = value;
  }
  const configPath = (values.config as string | undefined) ?? process.env.T3D_CONFIG;
  const resolved = resolveSettings({ file: loadConfigFile(configPath), env: settingsFromEnv(process.env), flags });
  if (!resolved.ok) return resolved;
  const { settings, raw, origins } = resolved;
  return { ok: true, settings, raw, origins, values, positionals: parsed.positionals };
}

/** The parsed arguments, or every problem written to stderr and exit code 2. */
export function settingsOrExit(parsed: ParsedArgs): Extract<ParsedArgs, { ok: true }> | number {
  if (parsed.ok) return parsed;
  for (const error of parsed.errors) process.stderr.write(`t3-dispatch: ${error}\n`);
  return 2;
}
