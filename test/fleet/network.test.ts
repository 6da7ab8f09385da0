// The fleet tests' hosts are network namespaces on one bridge: a host reaches
// another's address and the front reaches every host, but no host shares
// another's loopback, and nothing of the net is left once it is destroyed.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { FleetNet, FRONT_ADDRESS } from "../fixtures/fleet-net";

const isRoot = process.getuid?.() === 0;
if (!isRoot)
  console.warn("SKIPPED test/fleet/network.test.ts: needs root to make network namespaces (CI runs as root)");

const bun = process.execPath;
/** A server on host `host`'s `address`, answering its host's name; resolves with its port. */
async function serveOn(net: FleetNet, host: string, address: string): Promise<number> {
  const script = `const s = Bun.serve({ hostname: "${address}", port: 0, fetch: () => new Response("${host}") }); console.log(s.port);`;
  const child = net.start(host, [bun, "-e", script]);
  const reader = child.stdout.getReader();
  const { value } = await reader.read();
  reader.releaseLock();
  return Number(new TextDecoder().decode(value).trim());
}

/** What `url` answers when fetched from inside host `from`, or the error's name. */
async function fetchFrom(net: FleetNet, from: string, url: string): Promise<string> {
  const script = `fetch("${url}", { signal: AbortSignal.timeout(1500) }).then((r) => r.text(), (e) => "error:" + e.name).then((t) => console.log(t));`;
  const child = Bun.spawn(net.exec(from, [bun, "-e", script]), { stdout: "pipe", stderr: "ignore" });
  return (await new Response(child.stdout).text()).trim();
}

describe.skipIf(!isRoot)("fleet hosts as network namespaces", () => {
  let net: FleetNet;
  beforeAll(async () => {
    net = await FleetNet.create(["a", "b"]);
  });
  afterAll(async () => {
    await net?.destroy();
  });

  test("hosts and the front reach each host's address on the bridge", async () => {
    const port = await serveOn(net, "a", net.host("a").address);
    expect(await fetchFrom(net, "b", `http://${net.host("a").address}:${port}/`)).toBe("a");
    // The test's own namespace is the front, at FRONT_ADDRESS.
    expect(await (await fetch(`http://${net.host("a").address}:${port}/`)).text()).toBe("a");
    expect(FRONT_ADDRESS).toStartWith("198.18.");
  });

  test("a host's loopback is its own: b's 127.0.0.1 is not a's", async () => {
    const port = await serveOn(net, "a", "127.0.0.1");
    expect(await fetchFrom(net, "a", `http://127.0.0.1:${port}/`)).toBe("a");
    expect(await fetchFrom(net, "b", `http://127.0.0.1:${port}/`)).toStartWith("error:");
  });

  test("destroy removes every namespace and link it made", async () => {
    const other = await FleetNet.create(["x"]);
    expect((await other.leftovers()).length).toBeGreaterThan(0);
    await other.destroy();
    expect(await other.leftovers()).toEqual([]);
  });
});
