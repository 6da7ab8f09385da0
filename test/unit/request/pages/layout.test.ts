// The frame of the dispatcher's own pages: escaped text, one look, never cached.
import { describe, expect, test } from "bun:test";
import { escapeHtml, pageHtml, pageResponse } from "../../../../src/request/pages/layout";

describe("layout", () => {
  test("text is escaped; the page is complete, in English, with a viewport", () => {
    expect(escapeHtml(`<a href="x">'&'</a>`)).toBe("&#60;a href=&#34;x&#34;&#62;&#39;&#38;&#39;&#60;/a&#62;");
    const html = pageHtml("a < b", "<p>body</p>", '<meta name="x">');
    expect(html).toStartWith('<!doctype html><html lang="en">');
    expect(html).toContain("<title>a &#60; b</title>");
    expect(html).toContain('<meta name="x">');
    expect(html).toContain("<main><p>body</p></main>");
  });

  test("the response: HTML, no-store, the request id, and any extra header", () => {
    const response = pageResponse("<p>x</p>", 503, "r-1", { "retry-after": "5" });
    expect(Object.fromEntries(response.headers)).toEqual({
      "content-type": "text/html; charset=utf-8",
      "cache-control": "no-store",
      "x-request-id": "r-1",
      "retry-after": "5",
    });
  });
});
