// WebSocket round trips, one after another: p50 and p99 in microseconds.
// Usage: bun bench/ws-rtt.ts <ws-url> <count> [cookie] [user] [token]
export {};

const [url = "", count = "1000", cookie = "", user = "", token = ""] = process.argv.slice(2);
const headers: Record<string, string> = {};
if (cookie) headers.cookie = cookie;
if (user) headers["x-authentik-username"] = user;
if (token) headers["x-authentik-jwt"] = token;
const ws = new WebSocket(url, { headers });
await new Promise((resolve, reject) => {
  ws.onopen = resolve;
  ws.onerror = () => reject(new Error(`cannot open ${url}`));
});
const samples: number[] = [];
const payload = "x".repeat(64);
for (let i = 0; i < Number(count); i++) {
  const started = performance.now();
  await new Promise<void>((resolve) => {
    ws.onmessage = () => resolve();
    ws.send(payload);
  });
  samples.push((performance.now() - started) * 1000);
}
ws.close();
samples.sort((a, b) => a - b);
const at = (q: number) => Math.round(samples[Math.min(samples.length - 1, Math.floor(q * samples.length))] ?? 0);
console.log(JSON.stringify({ count: samples.length, p50: at(0.5), p99: at(0.99) }));
