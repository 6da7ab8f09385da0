// At most N starts at once; the rest wait their turn, first come first served.
import { describe, expect, test } from "bun:test";
import { Slots } from "../../../../src/request/lifecycle/slots";

describe("Slots", () => {
  test("the third caller of two slots waits until one is given back, in arrival order", async () => {
    const slots = new Slots(2);
    const order: string[] = [];
    expect([slots.acquire(), slots.acquire()]).toEqual([undefined, undefined]); // free: taken at once, synchronously
    const third = slots.acquire()?.then(() => order.push("third"));
    const fourth = slots.acquire()?.then(() => order.push("fourth"));
    expect([third, fourth]).toEqual([expect.any(Promise), expect.any(Promise)]);
    await Bun.sleep(5);
    expect([order, slots.queued]).toEqual([[], 2]);
    slots.release();
    await third;
    expect([order, slots.queued]).toEqual([["third"], 1]);
    slots.release();
    await fourth;
    expect(order).toEqual(["third", "fourth"]);
  });
});
