// The frame of every page the dispatcher renders itself (a refusal, the
// progress of a start): one look, readable without JavaScript, without any
// request for another resource (the instance may be down), and never cached.

export const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const STYLE = `body{font:16px/1.5 system-ui,sans-serif;margin:0;color:#1f2328;background:#f6f8fa}
main{max-width:36rem;margin:4rem auto;padding:2rem;background:#fff;border:1px solid #d0d7de;border-radius:8px}
h1{font-size:1.4rem;margin:0 0 1rem}code{background:#eff1f3;padding:0 .3em;border-radius:4px}
progress{width:100%;height:.75rem;margin:.5rem 0 1rem}
ol.steps{list-style:none;padding:0;margin:0 0 1rem}ol.steps li{padding:.25rem 0}
.steps .state{display:inline-block;min-width:6.5rem;font-weight:600}
.done .state{color:#1a7f37}.running .state{color:#0969da}.pending .state{color:#656d76}.failed .state{color:#cf222e}
a.button{display:inline-block;padding:.4rem 1rem;border:1px solid #1f883d;border-radius:6px;background:#1f883d;color:#fff;text-decoration:none}
a.button:focus{outline:3px solid #0969da;outline-offset:2px}`;

/** A complete page: `title` is text; `head` and `body` are HTML the caller has escaped. */
export function pageHtml(title: string, body: string, head = ""): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1"><title>${escapeHtml(title)}</title>${head}
<style>${STYLE}</style></head>
<body><main>${body}</main></body></html>`;
}

/** The page as a response: never cached (what it says is true only now), with the request id. */
export function pageResponse(html: string, status: number, requestId: string, headers: Record<string, string> = {}) {
  return new Response(html, {
    status,
    headers: {
      "content-type": "text/html; charset=utf-8",
      "cache-control": "no-store",
      "x-request-id": requestId,
      ...headers,
    },
  });
}
