import { describe, expect, test } from "bun:test";
import { envName, flagName, settingsFromEnv } from "../../../src/config/setting-schema";

describe("setting schema", () => {
  test("names", () => {
    expect(envName("dispatchFile")).toBe("T3D_DISPATCH_FILE");
    expect(flagName("sessionTimeout")).toBe("session-timeout");
  });

  test("the environment's T3D_* variables, and nothing else, are settings", () => {
    expect(settingsFromEnv({ T3D_LISTEN: "127.0.0.1:2", T3D_MINT_TIMEOUT: "2s", UNRELATED: "x" })).toEqual({
      listen: "127.0.0.1:2",
      mintTimeout: "2s",
    });
  });
});
