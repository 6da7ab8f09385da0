// Command-line settings for every subcommand: each setting is a `--flag`, plus
// `--config FILE` and the subcommand's own options. Precedence is resolved in
// config/settings.ts (flags > T3D_* > config file > defaults).
import { readFileSync } from "node:fs";
import { type ParseArgsConfig, parseArgs } from "node:util";
import { flagName, type RawSettings, SETTING_KEYS, settingsFromEnv } from "../config/setting-schema";
import { type ResolvedSettings, resolveSettings } from "../config/settings";
import { Invalid } from "../lib/errors";
import { refused } from "./exit";

type Options = NonNullable<ParseArgsConfig["options"]>;

export interface ParsedArgs extends ResolvedSettings {
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
}

/** The config file's JSON (undefined: none given), or why it cannot be read. */
function loadConfigFile(path: string | undefined): unknown {
  if (path === undefined) return undefined;
  try {
    return JSON.parse(readFileSync(path, "utf8"));
  } catch (error) {
    return new Invalid([`config file ${path}: ${(error as Error).message}`]);
  }
}

/** The settings and the subcommand's own options; an unknown flag or a missing value throws (main answers with the usage). */
export function parseSettingsArgs(args: string[], own: Options = {}): ParsedArgs | Invalid {
  const options: Options = { ...own, config: { type: "string" } };
  for (const key of SETTING_KEYS) options[flagName(key)] = { type: "string" };
  const parsed = parseArgs({ args, options, strict: true, allowPositionals: true });
  const values = parsed.values as Record<string, string | boolean | undefined>;
  const flags: Partial<Record<keyof RawSettings, string>> = {};
  for (const key of SETTING_KEYS) {
    const value = values[flagName(key)];
    if (typeof value === "string") flags[key] = value;
  }
  const file = loadConfigFile((values.config as string | undefined) ?? process.env.T3D_CONFIG);
  if (file instanceof Invalid) return file;
  const resolved = resolveSettings({ file, env: settingsFromEnv(process.env), flags });
  if (resolved instanceof Invalid) return resolved;
  return { ...resolved, values, positionals: parsed.positionals };
}

/** Settings that cannot be used: every problem on stderr, and exit code 2. */
export const unusableSettings = (invalid: Invalid): number => refused(invalid, 2);
