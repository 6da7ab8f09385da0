// The kernel's word on a port: a listener accepts, an empty port refuses.
import { describe, expect, test } from "bun:test";
import { freePort } from "../../../../src/demo/free-port";
import { connects } from "../../../../src/request/instance/connects";

describe("connects", () => {
  test("true for a port something listens on, false for an empty one; no request is sent", async () => {
    let requests = 0;
    const server = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      fetch: () => {
        requests++;
        return new Response();
      },
    });
    try {
      expect(await connects("127.0.0.1", server.port as number)).toBe(true);
      expect(await connects("127.0.0.1", await freePort())).toBe(false);
      expect(requests).toBe(0);
    } finally {
      await server.stop(true);
    }
  });
});
