// Running the mint command: the configured argv prefix plus the os_user as one
// more element, a timeout, and the CLI's (pretty-printed, multi-line) JSON
// parsed as JSON — never with a line regex.
import { Type } from "@sinclair/typebox";
import { Value } from "@sinclair/typebox/value";
import { isOsUser } from "../../config/names";
import { DispatchError } from "../../lib/errors";
import type { CommandResult, CommandRunner } from "../../runtime/command";

const MintOutput = Type.Object({ credential: Type.String({ minLength: 1 }) });

export interface MintOptions {
  command: string[];
  timeoutMs: number;
  run: CommandRunner;
}

/** Mints a one-time pairing credential for `osUser`; the credential or a typed error. */
export async function mintCredential(osUser: string, options: MintOptions): Promise<string | DispatchError> {
  // The table schema already enforces this; checked again because this is the argv boundary.
  if (!isOsUser(osUser)) return new DispatchError("mint_failed", "refusing to mint for an invalid os_user");
  let result: CommandResult;
  try {
    result = await options.run([...options.command, osUser], options.timeoutMs);
  } catch (error) {
    return new DispatchError("mint_failed", `mint command could not start: ${(error as Error).message}`);
  }
  if (result.timedOut) {
    return new DispatchError("mint_failed", `mint for ${osUser} timed out after ${options.timeoutMs} ms`);
  }
  if (result.exitCode !== 0) {
    const stderr = result.stderr.trim().slice(0, 300);
    return new DispatchError("mint_failed", `mint for ${osUser} exited ${result.exitCode}: ${stderr}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(result.stdout);
  } catch {
    return new DispatchError("mint_unparseable", `mint for ${osUser} printed no JSON (${result.stdout.length} bytes)`);
  }
  if (!Value.Check(MintOutput, parsed)) {
    return new DispatchError("mint_unparseable", `mint for ${osUser} printed JSON without a credential`);
  }
  return parsed.credential;
}
