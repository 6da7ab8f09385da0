// What a person sees when the request path refuses: a page for a navigation
// (a title for the common cases, the request id to send an administrator),
// JSON otherwise; the operator's detail in neither, and nothing cached.
import { describe, expect, test } from "bun:test";
import { DispatchError } from "../../../../src/lib/errors";
import { renderRefusal } from "../../../../src/request/pages/error-page";

describe("renderRefusal", () => {
  test("a navigation gets an HTML page with its title, message and request id", async () => {
    const response = renderRefusal(new DispatchError("not_provisioned", "no entry for eve"), "r-7", true);
    expect([response.status, response.headers.get("content-type"), response.headers.get("cache-control")]).toEqual([
      403,
      "text/html; charset=utf-8",
      "no-store",
    ]);
    const page = await response.text();
    expect(page).toContain("<title>No workspace for you here yet</title>");
    expect(page).toContain("no t3 instance provisioned for this user.");
    expect(page).toContain('<code id="request-id">r-7</code>');
    expect(page).not.toContain("eve");
  });

  test("anything else gets JSON: kind, message, request id", async () => {
    const response = renderRefusal(new DispatchError("no_session", "GET /api without a session"), "r-8", false);
    expect(response.status).toBe(401);
    expect(await response.json()).toEqual({
      error: "no_session",
      message: "no t3 session for this request: reload the page to pair again",
      request_id: "r-8",
    });
  });

  test("a request id is escaped in the page", async () => {
    const page = await renderRefusal(new DispatchError("internal", ""), "<b>&", true).text();
    expect(page).toContain("&#60;b&#62;&#38;");
    expect(page).toContain("<title>Something went wrong</title>");
  });
});
