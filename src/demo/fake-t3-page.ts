// The fake instance's web app: the workspace page (with a live WebSocket) for a
// paired browser, and t3's pair page for one that is not — which a user of the
// dispatcher must never see.
import type { ClientCadence } from "./fake-t3";

const STYLE =
  "body{font:16px system-ui,sans-serif;margin:3rem;max-width:40rem}code{background:#eee;padding:0 .3em}" +
  "#ws{font-weight:bold}.ok{color:#080}.bad{color:#b00}";

/**
 * The workspace: its WebSocket speaks what the real client sends (docs/t3-contract.md): a
 * keepalive every `pingMs`, an activity report every `reportMs` (and at once when a person
 * comes back to a quiet tab), and it reconnects by itself with the real client's back-off.
 */
export function workspacePage(owner: string, version: string, cadence: ClientCadence): string {
  return `<!doctype html><html><head><meta charset="utf-8"><title>${owner} · t3 ${version}</title><style>${STYLE}</style></head>
<body><h1 id="owner">${owner}'s workspace</h1>
<p>A fake <code>t3 serve</code> ${version}, reached through t3-dispatch. Path: <code id="path"></code></p>
<p>WebSocket: <span id="ws">connecting…</span> · connections: <span id="opens">0</span></p><p>Echo: <span id="echo"></span></p>
<p><button id="touch" type="button">Do something</button> <span id="touched"></span></p>
<script>
document.getElementById("path").textContent = location.pathname + location.search;
const CADENCE = ${JSON.stringify(cadence)};
const state = document.getElementById("ws");
const url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws";
const clientId = Math.random().toString(36).slice(2);
let ws, retry = 0, opens = 0, id = 0, touchedAt = 0;
const present = () => Date.now() - touchedAt < CADENCE.reportMs;
const send = (message) => { if (ws && ws.readyState === 1) ws.send(JSON.stringify(message)); };
const report = () => send({ _tag: "Request", id: String(++id), tag: "server.reportClientActivity", headers: [],
  payload: { clientId, clientKind: "web", visible: document.visibilityState === "visible", focused: document.hasFocus(),
    recentlyInteracted: present(), scopes: [], ttlMs: 45000, observedAt: new Date().toISOString() } });
for (const type of ["pointerdown", "keydown"]) addEventListener(type, () => {
  const quiet = !present();
  touchedAt = Date.now();
  if (quiet) report();
});
document.getElementById("touch").onclick = () => { document.getElementById("touched").textContent = "done at " + new Date().toLocaleTimeString(); };
function connect() {
  ws = new WebSocket(url);
  ws.onopen = () => { retry = 0; state.textContent = "connected"; state.className = "ok";
    document.getElementById("opens").textContent = String(++opens); ws.send("hello from the browser"); report(); };
  ws.onmessage = (e) => { if (!String(e.data).startsWith('{"_tag":')) document.getElementById("echo").textContent = e.data; };
  ws.onclose = (e) => { state.textContent = "closed (" + e.code + "), reconnecting"; state.className = "bad";
    setTimeout(connect, Math.min(1000 * 2 ** retry++, 64000)); };
}
setInterval(() => send({ _tag: "Ping" }), CADENCE.pingMs);
setInterval(report, CADENCE.reportMs);
connect();
</script></body></html>`;
}

export function pairPage(version: string): string {
  return `<!doctype html><html><head><meta charset="utf-8"><title>Pair · t3 ${version}</title><style>${STYLE}</style></head>
<body><h1 id="pair">Pair this browser</h1><p class="bad">Enter a pairing token. (Behind t3-dispatch you should never see this page.)</p></body></html>`;
}

/** What t3's SPA does without a session: load, then navigate to /pair. */
export const redirectToPair = `<!doctype html><html><head><meta charset="utf-8"></head><body><script>location.replace("/pair")</script></body></html>`;
