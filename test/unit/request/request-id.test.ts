// Request ids: the front's when it is a sane token, else a new unique one.
import { describe, expect, test } from "bun:test";
import { requestIdOf } from "../../../src/request/request-id";

const withId = (id?: string) =>
  new Request("http://t3.example/", { headers: id === undefined ? {} : { "x-request-id": id } });

describe("requestIdOf", () => {
  test("the front's X-Request-Id is kept when it is a sane token", () => {
    expect(requestIdOf(withId("b7e1c2d4-traefik.1:2_x"))).toBe("b7e1c2d4-traefik.1:2_x");
  });

  test("a hostile or oversized one is replaced, never echoed into logs and headers", () => {
    for (const bad of ["a b", "x;y", "<script>", "z".repeat(129), ""]) {
      const id = requestIdOf(withId(bad));
      expect(id).not.toBe(bad);
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-z]+$/);
    }
  });

  test("new ids are unique", () => {
    const ids = new Set(Array.from({ length: 1000 }, () => requestIdOf(withId())));
    expect(ids.size).toBe(1000);
  });
});
