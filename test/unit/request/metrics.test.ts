// The Prometheus text the metrics listener serves (exposition format 0.0.4).
import { describe, expect, test } from "bun:test";
import { Metrics, metricsResponse } from "../../../src/request/metrics";

describe("metrics", () => {
  test("counters by label, an unlabelled counter at 0, the gauge set to a value", () => {
    const metrics = new Metrics();
    metrics.requests.inc("proxied");
    metrics.requests.inc("proxied");
    metrics.requests.inc("paired");
    metrics.openWebSockets.set(3);
    metrics.openWebSockets.set(1);
    const text = metrics.render();
    expect(text).toContain('t3d_requests_total{outcome="proxied"} 2\n');
    expect(text).toContain('t3d_requests_total{outcome="paired"} 1\n');
    expect(text).toContain("t3d_instance_impostors_total 0\n");
    expect(text).toContain("# TYPE t3d_open_websockets gauge\nt3d_open_websockets 1\n");
    expect(text.endsWith("\n")).toBe(true);
  });

  test("the histogram's buckets are cumulative, with +Inf, sum and count", () => {
    const metrics = new Metrics();
    for (const seconds of [0.05, 0.3, 3, 30]) metrics.pairingSeconds.observe(seconds);
    const text = metrics.render();
    expect(text).toContain('t3d_pairing_duration_seconds_bucket{le="0.1"} 1\n');
    expect(text).toContain('t3d_pairing_duration_seconds_bucket{le="0.5"} 2\n');
    expect(text).toContain('t3d_pairing_duration_seconds_bucket{le="4"} 3\n');
    expect(text).toContain('t3d_pairing_duration_seconds_bucket{le="16"} 3\n');
    expect(text).toContain('t3d_pairing_duration_seconds_bucket{le="+Inf"} 4\n');
    expect(text).toContain("t3d_pairing_duration_seconds_sum 33.35\n");
    expect(text).toContain("t3d_pairing_duration_seconds_count 4\n");
  });

  test("a labelled histogram: one series per host, each with its own buckets", () => {
    const metrics = new Metrics();
    metrics.fleetSeconds.observe(0.004, "b");
    metrics.fleetSeconds.observe(0.2, "b");
    metrics.fleetSeconds.observe(0.02, "c");
    const text = metrics.render();
    expect(text).toContain('t3d_fleet_duration_seconds_bucket{host="b",le="0.005"} 1\n');
    expect(text).toContain('t3d_fleet_duration_seconds_bucket{host="b",le="0.25"} 2\n');
    expect(text).toContain('t3d_fleet_duration_seconds_bucket{host="c",le="0.005"} 0\n');
    expect(text).toContain('t3d_fleet_duration_seconds_count{host="c"} 1\n');
    expect(text).toContain('t3d_fleet_duration_seconds_count{host="b"} 2\n');
  });

  test("GET /metrics answers the text format; any other path is a 404", async () => {
    const metrics = new Metrics();
    const ok = metricsResponse(new Request("http://127.0.0.1:9/metrics"), metrics);
    expect(ok.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8");
    expect(await ok.text()).toContain("# HELP t3d_requests_total");
    expect(metricsResponse(new Request("http://127.0.0.1:9/"), metrics).status).toBe(404);
  });
});
