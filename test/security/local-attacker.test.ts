// The local-attacker suite: as root, real unprivileged accounts on this host
// attack the real dispatcher, and every attempt is counted. alice's and bob's
// instances run as their own accounts; mallory is any other person with a
// shell here (every mapped user has one); bob also plays the instance owner
// who reads what his instance receives. Each attack has its legitimate twin
// (the real front's signed request), which must still work. The table of
// results is printed at the end.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { SignJWT } from "jose";
import { startFakeOutpost } from "../../src/demo/fake-outpost";
import { RETRY_MS, SNAPSHOT_MS } from "../../src/request/instance/check";
import { asUser, attackTable } from "../fixtures/attacker";
import { type Child, runToEnd, startChild } from "../fixtures/child";
import { progressEvents } from "../fixtures/on-demand-stack";
import {
  Browser,
  freePort,
  isolatedSettings,
  OUTPOST,
  REPO,
  type Started,
  startDispatcher,
  tempDir,
  until,
} from "../fixtures/stack";

const isRoot = process.getuid?.() === 0;
if (!isRoot) console.warn("SKIPPED test/security: needs root to create accounts and run as them (CI runs as root)");

const ALICE = "t3sec_alice";
const BOB = "t3sec_bob";
const MALLORY = "t3sec_mallory";
const DAVE = "t3sec_dave"; // a person whose instance is stopped until they arrive
const FRONT = "t3sec_front"; // the front's account and group, for the Unix socket

const record = attackTable("Local-attacker suite", "what the attacker got");

const uidOf = async (user: string) => Number((await runToEnd(["id", "-u", user])).stdout.trim());

interface Answer {
  status: number;
  setCookies: string[];
  curlExit: number;
}

/** curl as `user`: the status and the cookies the dispatcher handed over. */
async function curlAs(user: string, url: string, headers: Record<string, string>, extra: string[] = []) {
  const args = Object.entries(headers).flatMap(([name, value]) => ["-H", `${name}: ${value}`]);
  const result = await asUser(user, ["curl", "-s", "-o", "/dev/null", "-D", "-", ...extra, ...args, url]);
  const status = Number(/^HTTP\/[\d.]+ (\d{3})/m.exec(result.stdout)?.[1] ?? 0);
  const setCookies = [...result.stdout.matchAll(/^set-cookie: (.*)$/gim)].map((m) => m[1] ?? "");
  return { status, setCookies, curlExit: result.code } satisfies Answer;
}
/** What an attacker "got" from an answer: a pairing redirect or any cookie. */
const gotSomething = (a: Answer) => a.status === 302 || a.status === 200 || a.setCookies.length > 0;

describe.skipIf(!isRoot)("local attackers (real accounts, real dispatcher)", () => {
  const work = tempDir("t3d-sec-");
  const bin = join(work, "bin", "t3-dispatch");
  const stateRoot = join(work, "state");
  const children: Child[] = [];
  const ports: Record<string, number> = {};
  let dispatcher: Started;
  let bob: Child;

  /** A fake t3 instance as a real process of `user`'s, on `port`. */
  async function instanceAs(user: string, port: number, dir = join(stateRoot, user)): Promise<Child> {
    const child = await startChild(
      ["setpriv", `--reuid=${user}`, `--regid=${user}`, "--init-groups", bin, "fake-instance"].concat([
        "--version",
        "0.0.33",
        "--port",
        String(port),
        "--state-dir",
        dir,
        "--owner",
        user,
      ]),
    );
    children.push(child);
    return child;
  }
  const stop = async (child: Child) => {
    child.process.kill("SIGTERM");
    await child.process.exited;
  };
  /** What bob's instance (or whoever holds bob's port) has seen: its owner can read all of it. */
  const seen = async (port: number) =>
    (await (await fetch(`http://127.0.0.1:${port}/__fake/seen`)).json()) as {
      exchanges: number;
      upgrades: number;
      cookieHeaders: string[];
      methods: Record<string, number>;
    };
  const mints = (osUser: string) => {
    const log = join(stateRoot, osUser, "mint.log");
    return existsSync(log) ? readFileSync(log, "utf8").split("\n").filter(Boolean).length : 0;
  };
  const logLines = (event: string) => dispatcher.log.lines.filter((l) => l.event === event);

  beforeAll(async () => {
    if (!existsSync(join(REPO, "dist/t3-dispatch"))) await runToEnd([process.execPath, "run", "build"]);
    if ((await runToEnd(["getent", "group", FRONT])).code !== 0) await runToEnd(["groupadd", FRONT]);
    for (const user of [ALICE, BOB, MALLORY, DAVE, FRONT]) {
      if ((await runToEnd(["id", user])).code !== 0) {
        const group = user === FRONT ? ["-g", FRONT] : ["-U"];
        await runToEnd(["useradd", "--create-home", "--shell", "/bin/sh", ...group, user]);
      }
    }
    // Where every account can run the binary, whoever owns the checkout.
    chmodSync(work, 0o755);
    mkdirSync(join(work, "bin"), { mode: 0o755 });
    copyFileSync(join(REPO, "dist/t3-dispatch"), bin);
    chmodSync(bin, 0o755);
    mkdirSync(stateRoot, { mode: 0o755 });
    for (const user of [ALICE, BOB]) {
      mkdirSync(join(stateRoot, user, "credentials"), { recursive: true });
      await runToEnd(["chown", "-R", `${user}:${user}`, join(stateRoot, user)]);
      ports[user] = await freePort();
      const child = await instanceAs(user, ports[user] ?? 0);
      if (user === BOB) bob = child;
    }
    const table = join(work, "dispatch.json");
    await Bun.write(
      table,
      JSON.stringify({ alice: { os_user: ALICE, port: ports[ALICE] }, bob: { os_user: BOB, port: ports[BOB] } }),
    );
    dispatcher = await startDispatcher({
      ...isolatedSettings(work),
      listen: "127.0.0.1:0",
      dispatchFile: table,
      mintCommand: `${bin} fake-mint --state-root ${stateRoot}`,
      accountsFile: "/etc/passwd", // the real accounts
      identityDomains: "example.com",
    });
  }, 60_000);

  afterAll(async () => {
    await dispatcher?.stop();
    for (const child of children) child.process.kill("SIGKILL");
    rmSync(work, { recursive: true, force: true });
  });

  const bobBrowser = () => new Browser(dispatcher.url, "bob@example.com");
  const nav = { "sec-fetch-dest": "document" };

  test("a forged identity header from a local account over TCP: refused, nothing minted", async () => {
    const before = mints(BOB);
    const answers = await Promise.all(
      Array.from({ length: 10 }, () =>
        curlAs(MALLORY, `${dispatcher.url}/`, { ...nav, "X-authentik-username": "bob@example.com" }),
      ),
    );
    const won = answers.filter(gotSomething).length;
    record(
      "identity header without a token (TCP)",
      10,
      won,
      `${answers.filter((a) => a.status === 403).length}× 403, ${mints(BOB) - before} mints`,
    );
    expect([won, mints(BOB) - before]).toEqual([0, 0]);
    // The twin: the front's signed request pairs and lands in bob's workspace.
    const browser = bobBrowser();
    expect((await browser.fetch("/", { document: true })).status).toBe(302);
    expect(await (await browser.fetch("/", { document: true })).text()).toContain(`${BOB}'s workspace`);
  });

  test("bad tokens: forged, wrong key, expired, not yet valid, alg none, HS/RS confusion, wrong aud/iss, mismatched name", async () => {
    const now = Math.floor(Date.now() / 1000);
    const impostor = await startFakeOutpost();
    const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
    const claims = { iss: "https://auth.example.com/application/o/t3/", aud: "t3-dispatch", exp: now + 600 };
    const publicJwk = new TextEncoder().encode(JSON.stringify(OUTPOST.jwks.keys[0]));
    const cases: Array<[string, string, string, Record<string, string>?]> = [
      [
        "forged (attacker's key, the front's kid)",
        await impostor.sign("bob@example.com", { kid: OUTPOST.kid }),
        "bad_signature",
      ],
      ["signed by an unknown key", await impostor.sign("bob@example.com"), "unknown_key"],
      ["expired", await OUTPOST.sign("bob@example.com", { claims: { exp: now - 3600 } }), "expired"],
      ["not yet valid", await OUTPOST.sign("bob@example.com", { claims: { nbf: now + 3600 } }), "not_yet_valid"],
      [
        "alg none",
        `${b64({ alg: "none", typ: "JWT" })}.${b64({ ...claims, preferred_username: "bob@example.com" })}.`,
        "alg_none",
      ],
      [
        "HS256 signed with the front's public key",
        await new SignJWT({ ...claims, preferred_username: "bob@example.com" })
          .setProtectedHeader({ alg: "HS256", kid: OUTPOST.kid })
          .sign(publicJwk),
        "alg_not_allowed",
      ],
      ["wrong audience", await OUTPOST.sign("bob@example.com", { claims: { aud: "another-app" } }), "wrong_audience"],
      [
        "wrong issuer",
        await OUTPOST.sign("bob@example.com", { claims: { iss: "https://evil.example/" } }),
        "wrong_issuer",
      ],
      ["malformed", "not.a.token", "malformed"],
      ["alice's valid token under bob's name", await OUTPOST.sign("alice@example.com"), "username_mismatch"],
    ];
    const before = mints(BOB);
    for (const [name, token, reason] of cases) {
      const answers = await Promise.all(
        [1, 2].map(() =>
          curlAs(MALLORY, `${dispatcher.url}/`, {
            ...nav,
            "X-authentik-username": "bob@example.com",
            "X-authentik-jwt": token,
          }),
        ),
      );
      await until(() => logLines("bad_proof").some((l) => l.reason === reason), 5000).catch(() => undefined);
      const logged = logLines("bad_proof").some((l) => l.reason === reason);
      const won = answers.filter(gotSomething).length;
      record(
        `token: ${name}`,
        2,
        won,
        `${answers.map((a) => a.status).join(", ")}; logged as ${logged ? reason : "?"}`,
      );
      expect({ name, won, logged }).toEqual({ name, won: 0, logged: true });
    }
    expect(mints(BOB) - before).toBe(0);
    await impostor.stop();
  });

  test("an identity from a domain outside identityDomains: refused; the same name at the right domain pairs", async () => {
    const before = mints(BOB);
    const outsider = new Browser(dispatcher.url, "bob@evil.example");
    const answers = await Promise.all([1, 2, 3].map(() => outsider.fetch("/", { document: true })));
    const won = answers.filter((a) => a.status !== 403).length;
    record(
      "identity bob@evil.example (domains: example.com)",
      3,
      won,
      `${answers.map((a) => a.status).join(", ")}, ${mints(BOB) - before} mints`,
    );
    expect([won, mints(BOB) - before]).toEqual([0, 0]);
    expect((await bobBrowser().fetch("/", { document: true })).status).toBe(302);
  });

  test("a shared browser: another instance's session cookie and the front's SSO cookies never reach bob's instance", async () => {
    const browser = new Browser(dispatcher.url, "alice@example.com");
    expect((await browser.fetch("/", { document: true })).status).toBe(302);
    const aliceSessions = [...browser.cookies].filter(([name]) => name.startsWith("t3_session")).map(([, v]) => v);
    // bob logs in on the same browser (the same cookie jar), with the front's SSO cookies there too.
    const shared = new Browser(dispatcher.url, "bob@example.com");
    for (const [name, value] of browser.cookies) shared.cookies.set(name, value);
    shared.cookies.set("authentik_session", "sso-secret-of-the-front");
    shared.cookies.set("authentik_proxy_a1b2", "outpost-secret");
    const port = ports[BOB] ?? 0;
    const already = (await seen(port)).cookieHeaders.length;
    expect((await shared.fetch("/", { document: true })).status).toBe(302);
    const requests = [
      () => shared.fetch("/", { document: true }),
      () => shared.fetch("/api/x"),
      () => shared.fetch("/__fake/method", { method: "POST", body: "x", headers: { origin: dispatcher.url } }),
    ];
    for (let i = 0; i < 9; i++) expect((await requests[i % 3]?.())?.status).toBe(200);
    const received = (await seen(port)).cookieHeaders.slice(already);
    const leaked = received.filter(
      (h) => aliceSessions.some((v) => h.includes(v)) || h.includes("authentik_") || h.includes("t3d_owner"),
    );
    record(
      "read others' cookies at one's own instance",
      received.length,
      leaked.length,
      `${received.length} Cookie headers at bob's instance: alice's session in ${leaked.length}, SSO/owner in ${leaked.length}`,
    );
    expect(aliceSessions.length).toBeGreaterThan(0);
    expect(received.length).toBeGreaterThanOrEqual(9);
    expect(leaked).toEqual([]);
    // The twin: bob's own session cookie does reach his instance.
    const own = [...shared.cookies].find(([name]) => name.startsWith(`t3_session_${port}_`))?.[1] ?? "?";
    expect(received.every((h) => h.includes(own))).toBe(true);
  });

  test("an instance that sets t3d_owner, another instance's session or Domain= cookies: none reaches the browser", async () => {
    const browser = bobBrowser();
    expect((await browser.fetch("/", { document: true })).status).toBe(302);
    const hostile = [
      "t3d_owner=alice.forged; Path=/",
      `t3_session_${ports[ALICE]}_aaaaaaaaaaaa=planted; Path=/`,
      "t3_session=planted; Path=/",
      "tracker=1; Domain=example.com; Path=/",
    ];
    const query = [...hostile, "theme=dark; Path=/"].map((c) => `c=${encodeURIComponent(c)}`).join("&");
    const response = await browser.fetch(`/__fake/set-cookie?${query}`);
    const relayed = response.headers.getSetCookie();
    const got = relayed.filter((line) => hostile.includes(line));
    record("set others' cookies from one's instance", hostile.length, got.length, `relayed: ${relayed.join(" | ")}`);
    expect(got).toEqual([]);
    expect(relayed).toEqual(["theme=dark; Path=/"]); // the twin: an ordinary cookie passes
    await until(() => logLines("set_cookie_dropped").length >= hostile.length, 5000);
  });

  test("a cross-origin WebSocket and a cross-origin POST: 403; the same-origin ones pass", async () => {
    const browser = bobBrowser();
    expect((await browser.fetch("/", { document: true })).status).toBe(302);
    const port = ports[BOB] ?? 0;
    const before = await seen(port);
    const evil = "https://preview.example.com";
    const posts = await Promise.all(
      [1, 2, 3].map(() => browser.fetch("/__fake/method", { method: "POST", body: "x", headers: { origin: evil } })),
    );
    const sockets = await Promise.all(
      [1, 2, 3].map(async () => {
        const ws = new WebSocket(`${dispatcher.url.replace("http", "ws")}/ws`, {
          headers: { ...(await browser.socketHeaders()), origin: evil },
        });
        return new Promise<boolean>((resolve) => {
          ws.addEventListener("open", () => resolve(true));
          ws.addEventListener("error", () => resolve(false));
        });
      }),
    );
    const after = await seen(port);
    const postsThrough = (after.methods.POST ?? 0) - (before.methods.POST ?? 0);
    const upgradesThrough = after.upgrades - before.upgrades;
    record(
      "cross-origin POST and WebSocket",
      6,
      postsThrough + upgradesThrough + sockets.filter(Boolean).length,
      `POST ${posts.map((p) => p.status).join(", ")}; sockets opened ${sockets.filter(Boolean).length}/3`,
    );
    expect(posts.map((p) => p.status)).toEqual([403, 403, 403]);
    expect([postsThrough, upgradesThrough, sockets.filter(Boolean).length]).toEqual([0, 0, 0]);
    // The twins: t3's own page sends its own origin.
    const same = await browser.fetch("/__fake/method", {
      method: "POST",
      body: "x",
      headers: { origin: dispatcher.url },
    });
    expect(same.status).toBe(200);
    const ws = new WebSocket(`${dispatcher.url.replace("http", "ws")}/ws`, { headers: await browser.socketHeaders() });
    expect(
      await new Promise((resolve) => {
        ws.addEventListener("open", () => resolve("open"));
        ws.addEventListener("error", () => resolve("error"));
      }),
    ).toBe("open");
    ws.close();
  });

  test("squatting a stopped instance's port: no credential, no cookie reaches the squatter", async () => {
    const port = ports[BOB] ?? 0;
    const paired = bobBrowser();
    expect((await paired.fetch("/", { document: true })).status).toBe(302);
    await stop(bob);
    // mallory takes bob's port while bob's instance is down, answering as t3 would.
    const lair = join(work, "squat");
    mkdirSync(lair);
    await runToEnd(["chown", `${MALLORY}:${MALLORY}`, lair]);
    const squatter = await instanceAs(MALLORY, port, lair);
    // The down window is seconds long (a crash, boot order, an update); the last snapshot is believed SNAPSHOT_MS.
    await Bun.sleep(SNAPSHOT_MS + 100);
    const before = mints(BOB);
    const answers = [
      ...(await Promise.all([1, 2, 3].map(() => bobBrowser().fetch("/", { document: true })))), // first visits
      ...(await Promise.all([1, 2, 3].map(() => paired.fetch("/", { document: true })))), // a paired browser
      ...(await Promise.all([1, 2, 3].map(() => paired.fetch("/api/x")))),
    ];
    const got = await seen(port);
    const stolen = got.exchanges + got.cookieHeaders.length;
    const page = await (await bobBrowser().fetch("/", { document: true })).text();
    record(
      "squat a stopped instance's port",
      answers.length,
      stolen,
      `${got.exchanges} credentials, ${got.cookieHeaders.length} Cookie headers; answers ${[...new Set(answers.map((a) => a.status))]}`,
    );
    expect(answers.every((a) => a.status === 502)).toBe(true);
    expect([got.exchanges, got.cookieHeaders.length, mints(BOB) - before]).toEqual([0, 0, 0]);
    expect(page).toContain("Your workspace is not answering");
    expect(page).toContain('id="request-id"');
    await until(() => logLines("instance_impostor").length > 0, 5000);
    expect(logLines("instance_impostor")[0]).toMatchObject({ port, holder_uid: await uidOf(MALLORY) });
    const metrics = await (await fetch(`${dispatcher.metricsUrl}/metrics`)).text();
    expect(metrics).toMatch(/t3d_instance_impostors_total [1-9]/);
    // The twin: bob's instance back on its port, as bob: the browser pairs again and lands home.
    await stop(squatter);
    bob = await instanceAs(BOB, port);
    await Bun.sleep(RETRY_MS + 50); // a refusal is judged again on a snapshot at most RETRY_MS old
    const home = bobBrowser();
    expect((await home.fetch("/", { document: true })).status).toBe(302);
    expect(await (await home.fetch("/", { document: true })).text()).toContain(`${BOB}'s workspace`);
  });

  test("squatting the port while an instance starts on demand: the start fails at 'genuine', the squatter gets nothing", async () => {
    const port = await freePort();
    mkdirSync(join(stateRoot, DAVE, "credentials"), { recursive: true });
    await runToEnd(["chown", "-R", `${DAVE}:${DAVE}`, join(stateRoot, DAVE)]);
    // The instance command: dave's real instance as dave, slow to listen (a real t3 takes seconds).
    const control = join(work, "instance-control.sh");
    await Bun.write(
      control,
      [
        "#!/bin/sh",
        "case $1 in",
        `  start) setsid setpriv --reuid="$2" --regid="$2" --init-groups ${bin} fake-instance --port ${port} --state-dir ${stateRoot}/"$2" --owner "$2" --listen-after 1500 </dev/null >/dev/null 2>&1 &`,
        `    echo $! > ${work}/"$2".pid ;;`,
        `  stop) kill "$(cat ${work}/"$2".pid)" 2>/dev/null; echo stopped >> ${work}/stops ;;`,
        `  status) echo '{"unit":"t3-serve@'"$2"'.service","active":"active","since":null,"memory_bytes":null,"cpu_usec":0,"journal":[]}' ;;`,
        "esac",
        "",
      ].join("\n"),
    );
    const table = join(work, "on-demand.json");
    await Bun.write(table, JSON.stringify({ dave: { os_user: DAVE, port } }));
    const onDemand = await startDispatcher({
      ...isolatedSettings(join(work, "state")),
      listen: "127.0.0.1:0",
      dispatchFile: table,
      mintCommand: `${bin} fake-mint --state-root ${stateRoot}`,
      accountsFile: "/etc/passwd",
      onDemand: "on",
      instanceCommand: `sh ${control}`,
      startTimeout: "10s",
    });
    try {
      const dave = new Browser(onDemand.url, "dave@example.com");
      expect((await dave.fetch("/", { document: true })).status).toBe(200); // the start is requested
      // mallory binds dave's port before dave's instance listens, answering as t3 would.
      const lair = join(work, "squat-start");
      mkdirSync(lair);
      await runToEnd(["chown", `${MALLORY}:${MALLORY}`, lair]);
      const squatter = await instanceAs(MALLORY, port, lair);
      const events = await progressEvents(() => dave.fetch("/_t3d/start/events"));
      const last = events.at(-1);
      const answers = await Promise.all([1, 2, 3].map(() => dave.fetch("/", { document: true })));
      const got = (await (await fetch(`http://127.0.0.1:${port}/__fake/seen`)).json()) as {
        exchanges: number;
        sessionChecks: number;
        cookieHeaders: string[];
      };
      const stolen = got.exchanges + got.sessionChecks + got.cookieHeaders.length;
      record(
        "squat the port during an on-demand start",
        1 + answers.length,
        stolen,
        `${got.exchanges} credentials, ${got.sessionChecks} session checks, ${got.cookieHeaders.length} Cookie headers; start ${last?.outcome} at ${Object.entries(last?.steps ?? {}).find(([, state]) => state === "failed")?.[0]}`,
      );
      expect([last?.outcome, last?.steps.listening, last?.steps.genuine]).toEqual(["failed", "done", "failed"]);
      expect(answers.every((a) => a.status === 503)).toBe(true); // the failure page, not a retry
      // One credential was minted ahead, during the start; it never left: unused in dave's state, never logged.
      expect([stolen, mints(DAVE)]).toEqual([0, 1]);
      const unused = readdirSync(join(stateRoot, DAVE, "credentials"));
      expect(unused.length).toBe(1);
      expect(JSON.stringify(onDemand.log.lines)).not.toContain(unused[0] ?? "?");
      await until(() => onDemand.log.lines.some((l) => l.event === "instance_start_failed"), 5000);
      expect(onDemand.log.lines.find((l) => l.event === "instance_start_failed")).toMatchObject({
        step: "genuine",
        user: "dave",
      });
      await stop(squatter);
    } finally {
      await onDemand.stop();
      await runToEnd(["sh", control, "stop", DAVE]);
    }
  });

  test("the Unix-socket listener: an account outside its group cannot connect; the front's group can", async () => {
    const dir = join(work, "sock");
    mkdirSync(dir, { mode: 0o755 });
    chmodSync(dir, 0o755);
    const socket = join(dir, "dispatch.sock");
    mkdirSync(join(work, "unix-state"));
    const unix = await startDispatcher({
      ...isolatedSettings(join(work, "unix-state")),
      listen: `unix:${socket}`,
      identityProof: "peer",
      listenGroup: FRONT,
      listenMode: "0660",
      dispatchFile: join(work, "dispatch.json"),
      mintCommand: `${bin} fake-mint --state-root ${stateRoot}`,
      accountsFile: "/etc/passwd",
    });
    try {
      const ask = (user: string) =>
        curlAs(user, "http://localhost/", { ...nav, "X-authentik-username": "bob@example.com" }, [
          "--unix-socket",
          socket,
        ]);
      const attempts = await Promise.all([1, 2, 3, 4, 5].map(() => ask(MALLORY)));
      const won = attempts.filter((a) => a.status !== 0).length;
      record(
        "connect to the Unix listener from outside its group",
        5,
        won,
        `curl exit ${[...new Set(attempts.map((a) => a.curlExit))]} (connection refused by the file mode)`,
      );
      expect(won).toBe(0);
      const front = await ask(FRONT);
      expect(front.status).toBe(302); // the twin: the front's group connects and pairs
    } finally {
      await unix.stop();
    }
  });
});
