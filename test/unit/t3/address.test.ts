import { describe, expect, test } from "bun:test";
import { instanceUrl } from "../../../src/t3/address";

describe("instanceUrl", () => {
  test("the instance's HTTP base, or its WebSocket URL for a path", () => {
    expect(instanceUrl("127.0.0.1", 3773)).toBe("http://127.0.0.1:3773");
    expect(instanceUrl("127.0.0.1", 3773, "/api/x?y=1")).toBe("http://127.0.0.1:3773/api/x?y=1");
    expect(instanceUrl("localhost", 4000, "/ws", "ws")).toBe("ws://localhost:4000/ws");
  });
});
