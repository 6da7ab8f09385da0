// Prometheus metrics, served on their own loopback listener. A handful of
// counters with at most one label, a gauge and one histogram: small enough to
// write by hand (text exposition format 0.0.4).

class Counter {
  private readonly values = new Map<string, number>();

  constructor(
    readonly name: string,
    readonly help: string,
    readonly label?: string,
  ) {}

  inc(labelValue = "", by = 1): void {
    this.values.set(labelValue, (this.values.get(labelValue) ?? 0) + by);
  }

  get(labelValue = ""): number {
    return this.values.get(labelValue) ?? 0;
  }

  render(type = "counter"): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} ${type}`];
    if (this.values.size === 0 && !this.label) lines.push(`${this.name} 0`);
    for (const [value, count] of this.values) {
      lines.push(this.label ? `${this.name}{${this.label}="${value}"} ${count}` : `${this.name} ${count}`);
    }
    return lines.join("\n");
  }
}

class Gauge extends Counter {
  set(value: number): void {
    this.inc("", value - this.get());
  }
}

/** One series of a histogram: its bucket counts, sum and count. */
interface Series {
  counts: number[];
  sum: number;
  count: number;
}

const emptySeries = (buckets: readonly number[]): Series => ({ counts: buckets.map(() => 0), sum: 0, count: 0 });

class Histogram {
  private readonly series = new Map<string, Series>();

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly buckets: number[],
    readonly label?: string,
  ) {
    // Unlabelled, the one series is shown even before anything is observed.
    if (!label) this.series.set("", emptySeries(buckets));
  }

  observe(seconds: number, labelValue = ""): void {
    let series = this.series.get(labelValue);
    if (!series) {
      series = emptySeries(this.buckets);
      this.series.set(labelValue, series);
    }
    series.sum += seconds;
    series.count++;
    for (const [i, le] of this.buckets.entries()) if (seconds <= le) series.counts[i] = (series.counts[i] ?? 0) + 1;
  }

  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`];
    for (const [value, { counts, sum, count }] of this.series) {
      const labels = (le?: string): string => {
        const parts = [...(this.label ? [`${this.label}="${value}"`] : []), ...(le ? [`le="${le}"`] : [])];
        return parts.length > 0 ? `{${parts.join(",")}}` : "";
      };
      lines.push(
        ...this.buckets.map((le, i) => `${this.name}_bucket${labels(String(le))} ${counts[i]}`),
        `${this.name}_bucket${labels("+Inf")} ${count}`,
        `${this.name}_sum${labels()} ${sum}`,
        `${this.name}_count${labels()} ${count}`,
      );
    }
    return lines.join("\n");
  }
}

export class Metrics {
  readonly requests = new Counter("t3d_requests_total", "Requests by outcome.", "outcome");
  readonly pairings = new Counter("t3d_pairings_total", "Pairings run, by result (ok or the error kind).", "result");
  readonly pairingSeconds = new Histogram(
    "t3d_pairing_duration_seconds",
    "Time to mint and exchange a credential.",
    [0.1, 0.25, 0.5, 1, 2, 4, 8, 16],
  );
  readonly sessionChecks = new Counter(
    "t3d_session_checks_total",
    "Session validations of document navigations, by result (cached answers included).",
    "result",
  );
  readonly upstreamErrors = new Counter("t3d_upstream_errors_total", "Instances that did not answer, by kind.", "kind");
  readonly openWebSockets = new Gauge("t3d_open_websockets", "WebSockets bridged right now.");
  readonly reloads = new Counter("t3d_table_reloads_total", "Dispatch table reloads, by result.", "result");
  readonly impostors = new Counter(
    "t3d_instance_impostors_total",
    "Times an instance's port was found held by another OS account.",
  );
  readonly refusals = new Counter(
    "t3d_refusals_total",
    "Requests refused before reaching an instance, by kind (bad_proof, cross_origin, …).",
    "kind",
  );

  readonly starts = new Counter("t3d_instance_starts_total", "Instance starts, by result (ready or failed).", "result");
  readonly startSeconds = new Histogram(
    "t3d_instance_start_duration_seconds",
    "From a start's slot to the instance answering (or failing).",
    [0.5, 1, 2, 4, 8, 16, 32, 64],
  );
  readonly stops = new Counter("t3d_instance_stops_total", "Instances stopped by the dispatcher, by reason.", "reason");
  readonly instancesRunning = new Gauge("t3d_instances_running", "Instances of the table listening on their port.");

  readonly fleetRequests = new Counter(
    "t3d_fleet_forwarded_total",
    "Requests this door forwarded to another host's dispatcher, by host.",
    "host",
  );
  readonly fleetErrors = new Counter(
    "t3d_fleet_errors_total",
    "Forwarded requests another host's dispatcher did not take, by host.",
    "host",
  );
  readonly fleetSeconds = new Histogram(
    "t3d_fleet_duration_seconds",
    "From forwarding a request to the owner host's answer (its headers), by host.",
    [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    "host",
  );

  render(): string {
    return `${[
      this.requests.render(),
      this.pairings.render(),
      this.pairingSeconds.render(),
      this.sessionChecks.render(),
      this.upstreamErrors.render(),
      this.openWebSockets.render("gauge"),
      this.reloads.render(),
      this.impostors.render(),
      this.refusals.render(),
      this.starts.render(),
      this.startSeconds.render(),
      this.stops.render(),
      this.instancesRunning.render("gauge"),
      this.fleetRequests.render(),
      this.fleetErrors.render(),
      this.fleetSeconds.render(),
    ].join("\n")}\n`;
  }
}

/** The Prometheus endpoint (GET /metrics), served on its own listener away from the proxied traffic. */
export function metricsResponse(request: Request, metrics: Metrics): Response {
  return new URL(request.url).pathname === "/metrics"
    ? new Response(metrics.render(), { headers: { "content-type": "text/plain; version=0.0.4; charset=utf-8" } })
    : new Response("not found\n", { status: 404 });
}
