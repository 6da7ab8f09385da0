import { describe, expect, test } from "bun:test";
import { effectiveSettings } from "../../../src/config/effective";
import { resolveSettings } from "../../../src/config/settings";
import { Invalid } from "../../../src/lib/errors";

describe("the effective settings check prints", () => {
  test("every setting with its origin; a URL's password and query values redacted wherever a URL appears", () => {
    const resolved = resolveSettings({
      env: { jwksUrl: "https://front:hunter2@auth.example/jwks?token=abc&kid=1" },
      flags: { t3LatestCommand: "curl -s https://bot:tok3n@registry.example/latest?auth=xyz" },
    });
    if (resolved instanceof Invalid) throw new Error(resolved.detail);
    const lines = effectiveSettings(resolved.raw, resolved.origins);
    const line = (key: string) => lines.find((l) => l.startsWith(`${key} `)) ?? "";
    expect(lines).toHaveLength(Object.keys(resolved.raw).length);
    expect(line("jwksUrl")).toMatch(
      /^jwksUrl +https:\/\/front:\*\*\*@auth\.example\/jwks\?token=\*\*\*&kid=\*\*\* +\(environment: T3D_JWKS_URL \(jwksUrl\)\)$/,
    );
    expect(line("t3LatestCommand")).toContain(
      "curl -s https://bot:***@registry.example/latest?auth=***  (flag: --t3-latest-command",
    );
    expect(line("listen")).toMatch(/^listen +127\.0\.0\.1:3780 +\(default\)$/);
    expect(lines.join("\n")).not.toMatch(/hunter2|tok3n|abc|xyz/);
  });
});
