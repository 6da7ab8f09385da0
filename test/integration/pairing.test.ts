// Pairing against real fake t3 instances, with the fake mint run as a real
// child process and the real dispatcher on a real port.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Browser, type Stack, startPairedStack, startStack, until } from "../fixtures/stack";

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ alice: "0.0.33", bob: "0.0.24", carol: "0.0.25" });
});
afterAll(() => stack.stop());

describe("first visit auto-pairs, on every contract", () => {
  test.each([
    ["alice", "0.0.33"],
    ["bob", "0.0.24"],
    ["carol", "0.0.25"],
  ])("%s (%s): 302 with the instance's cookie, then the workspace; one mint", async (user) => {
    const browser = new Browser(stack.url, `${user}@example.com`);
    const first = await browser.fetch("/", { document: true });
    expect(first.status).toBe(302);
    expect(first.headers.get("location")).toBe("/");
    const instance = stack.instances[user];
    expect(browser.cookies.has(instance?.cookieName ?? "?")).toBe(true);

    const page = await browser.fetch("/", { document: true });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain(`${user}'s workspace`);
    // Sub-requests with the cookie never pair again: the cookie name was learned.
    for (let i = 0; i < 5; i++) expect((await browser.fetch(`/asset-${i}.js`)).status).toBe(200);
    expect(stack.mints(user)).toBe(1);
  });

  test("0.0.33's cookie is t3_session_<port>_<hash>, not t3_session", () => {
    expect(stack.instances.alice?.cookieName).toMatch(/^t3_session_\d+_[0-9a-f]{12}$/);
  });
});

describe("dead cookies", () => {
  test("after the instance wipes its sessions, a document navigation re-pairs; sub-requests never 302", async () => {
    const browser = new Browser(stack.url, "carol");
    await browser.fetch("/", { document: true });
    const before = stack.mints("carol");
    stack.instances.carol?.wipeSessions();

    const xhr = await browser.fetch("/api/thing", { headers: { "sec-fetch-dest": "empty" } });
    expect(xhr.status).toBe(200); // proxied as-is: the instance answers it
    expect(stack.mints("carol")).toBe(before);

    const nav = await browser.fetch("/", { document: true });
    expect(nav.status).toBe(302);
    expect(stack.mints("carol")).toBe(before + 1);
    const page = await browser.fetch("/", { document: true });
    expect(await page.text()).toContain("carol's workspace");
  });
});

describe("an instance restart", () => {
  test("its sessions gone, a navigation re-pairs as soon as the new listener is seen, not when the cached 'valid' expires", async () => {
    const { stack: own, browser } = await startPairedStack("alice", "0.0.33", { sessionCacheTtl: "10m" });
    try {
      expect((await browser.fetch("/", { document: true })).status).toBe(200); // asked: "valid", cached
      const checks = own.instances.alice?.stats.sessionChecks;
      expect((await browser.fetch("/", { document: true })).status).toBe(200);
      expect(own.instances.alice?.stats.sessionChecks).toBe(checks); // the cache answered
      const mints = own.mints("alice");
      await own.restartInstance("alice"); // a new process on the same port, without the old sessions
      // Navigate as a person would, until the dispatcher re-pairs; the cached answer had ten minutes to go.
      let status = 0;
      const deadline = Date.now() + 8000;
      while (status !== 302 && Date.now() < deadline) {
        status = (await browser.fetch("/", { document: true })).status;
        if (status !== 302) await Bun.sleep(50);
      }
      expect(status).toBe(302);
      expect(own.mints("alice")).toBe(mints + 1);
      expect(own.log.lines.some((l) => l.event === "instance_replaced")).toBe(true);
      expect(await (await browser.fetch("/", { document: true })).text()).toContain("alice's workspace");
    } finally {
      await own.stop();
    }
  }, 20_000);
});

describe("refusals", () => {
  test("no header, unknown user: 403", async () => {
    expect((await new Browser(stack.url, undefined).fetch("/")).status).toBe(403);
    const unknown = await new Browser(stack.url, "mallory@example.com").fetch("/", { document: true });
    expect(unknown.status).toBe(403);
    expect(await unknown.text()).toContain("no t3 instance provisioned for this user");
  });

  test("peer mode: an identity header from a peer that is not the front proxy: 403, nothing minted", async () => {
    const guarded = await startStack(
      { frank: "0.0.25" },
      { settings: { identityProof: "peer", trustedProxies: "10.0.0.0/8" } },
    );
    try {
      const forged = await new Browser(guarded.url, "frank").fetch("/", { document: true });
      expect(forged.status).toBe(403);
      expect(await forged.text()).toContain("only accepted from the front proxy");
      expect(guarded.mints("frank")).toBe(0);
    } finally {
      await guarded.stop();
    }
  });
});

describe("mint command failures (real child processes)", () => {
  test.each([
    ["fail", 500, "pairing mint failed"],
    ["garbage", 500, "unparseable pairing output from the mint command"],
  ])("mode %s: %d", async (mode, status, body) => {
    const again = await startStack({ dave: "0.0.25" }, { mintMode: mode });
    try {
      const response = await new Browser(again.url, "dave").fetch("/", { document: true });
      expect(response.status).toBe(status);
      expect(await response.text()).toContain(body);
      // A Deno dispatcher's log arrives through a pipe, a moment after its answer.
      await until(() => again.log.lines.some((l) => l.level === "error"));
      expect(again.log.lines.filter((l) => l.level === "error")).toHaveLength(1);
    } finally {
      await again.stop();
    }
  });

  test("an instance that is down: 502 before any mint (nothing listens on its port)", async () => {
    const down = await startStack({ erin: "0.0.25" });
    try {
      await down.instances.erin?.stop();
      const response = await new Browser(down.url, "erin").fetch("/", { document: true });
      expect(response.status).toBe(502);
      expect(await response.text()).toContain("Your workspace is not answering");
      expect(down.mints("erin")).toBe(0);
    } finally {
      await down.stop();
    }
  });
});
