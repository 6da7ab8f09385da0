// The fake instance's web app: the workspace page (with a live WebSocket) for a
// paired browser, and t3's pair page for one that is not — which a user of the
// dispatcher must never see.

const STYLE =
  "body{font:16px system-ui,sans-serif;margin:3rem;max-width:40rem}code{background:#eee;padding:0 .3em}" +
  "#ws{font-weight:bold}.ok{color:#080}.bad{color:#b00}";

export function workspacePage(owner: string, version: string): string {
  return `<!doctype html><html><head><meta charset="utf-8"><title>${owner} · t3 ${version}</title><style>${STYLE}</style></head>
<body><h1 id="owner">${owner}'s workspace</h1>
<p>A fake <code>t3 serve</code> ${version}, reached through t3-dispatch. Path: <code id="path"></code></p>
<p>WebSocket: <span id="ws">connecting…</span></p><p>Echo: <span id="echo"></span></p>
<script>
document.getElementById("path").textContent = location.pathname + location.search;
const state = document.getElementById("ws");
const ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws");
ws.onopen = () => { state.textContent = "connected"; state.className = "ok"; ws.send("hello from the browser"); };
ws.onmessage = (e) => { document.getElementById("echo").textContent = e.data; };
ws.onclose = (e) => { state.textContent = "closed (" + e.code + ")"; state.className = "bad"; };
</script></body></html>`;
}

export function pairPage(version: string): string {
  return `<!doctype html><html><head><meta charset="utf-8"><title>Pair · t3 ${version}</title><style>${STYLE}</style></head>
<body><h1 id="pair">Pair this browser</h1><p class="bad">Enter a pairing token. (Behind t3-dispatch you should never see this page.)</p></body></html>`;
}

/** What t3's SPA does without a session: load, then navigate to /pair. */
export const redirectToPair = `<!doctype html><html><head><meta charset="utf-8"></head><body><script>location.replace("/pair")</script></body></html>`;
