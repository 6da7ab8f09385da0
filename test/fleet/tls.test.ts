// What the fleet's TLS between dispatchers rests on, checked in this runtime
// with a CA the test makes: a server certificate is believed only through the
// operator's CA, and with mutual TLS a client without a certificate from that
// CA cannot even complete a handshake.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import type { Server } from "bun";
import { tempDir } from "../fixtures/stack";
import { type Issued, TestCa } from "../fixtures/test-ca";

type ClientTls = { ca?: string; cert?: string; key?: string };

/** The answer's text, or "refused: <error>" when the connection or handshake failed. */
const get = (url: string, tls: ClientTls) =>
  fetch(url, { tls, signal: AbortSignal.timeout(3000) } as RequestInit).then(
    (response) => response.text(),
    (error: Error) => `refused: ${error.name}`,
  );

describe("TLS between dispatchers (test CA, openssl)", () => {
  let ca: TestCa;
  let other: TestCa;
  let server: Issued;
  let client: Issued;
  let stranger: Issued;
  const servers: Server<unknown>[] = [];
  const serve = (tls: Record<string, unknown>) => {
    const s = Bun.serve({ hostname: "127.0.0.1", port: 0, tls, fetch: () => new Response("door") });
    servers.push(s);
    return `https://127.0.0.1:${s.port}/`;
  };

  beforeAll(async () => {
    const dir = tempDir("t3d-tls-");
    ca = await TestCa.create(join(dir, "ca"));
    other = await TestCa.create(join(dir, "other"), "someone else's CA");
    server = await ca.issue("door-a", { serverIps: ["127.0.0.1"] });
    client = await ca.issue("door-b", "client");
    stranger = await other.issue("stranger", "client");
  });
  afterAll(() => {
    for (const s of servers) s.stop(true);
  });

  test("a server certificate is believed through the operator's CA, and only through it", async () => {
    const url = serve({ cert: server.cert, key: server.key });
    expect(await get(url, { ca: ca.cert })).toBe("door");
    expect(await get(url, {})).toStartWith("refused");
    expect(await get(url, { ca: other.cert })).toStartWith("refused");
  });

  test("mutual TLS: a client certificate from the CA gets through; none, or another CA's, is refused", async () => {
    const url = serve({ cert: server.cert, key: server.key, ca: ca.cert, requestCert: true, rejectUnauthorized: true });
    expect(await get(url, { ca: ca.cert, cert: client.cert, key: client.key })).toBe("door");
    expect(await get(url, { ca: ca.cert })).toStartWith("refused");
    expect(await get(url, { ca: ca.cert, cert: stranger.cert, key: stranger.key })).toStartWith("refused");
  });
});
