// A TCP port on loopback that nothing listens on right now (the demo's and the
// tests' instances need their port in the table before they run).
export async function freePort(): Promise<number> {
  const probe = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response() });
  const port = probe.port as number;
  await probe.stop(true);
  return port;
}
