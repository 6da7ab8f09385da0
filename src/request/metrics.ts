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

class Histogram {
  private readonly counts: number[];
  private sum = 0;
  private count = 0;

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly buckets: number[],
  ) {
    this.counts = buckets.map(() => 0);
  }

  observe(seconds: number): void {
    this.sum += seconds;
    this.count++;
    this.buckets.forEach((le, i) => {
      if (seconds <= le) this.counts[i] = (this.counts[i] ?? 0) + 1;
    });
  }

  render(): string {
    return [
      `# HELP ${this.name} ${this.help}`,
      `# TYPE ${this.name} histogram`,
      ...this.buckets.map((le, i) => `${this.name}_bucket{le="${le}"} ${this.counts[i]}`),
      `${this.name}_bucket{le="+Inf"} ${this.count}`,
      `${this.name}_sum ${this.sum}`,
      `${this.name}_count ${this.count}`,
    ].join("\n");
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
    ].join("\n")}\n`;
  }
}

/** The Prometheus endpoint (GET /metrics), served on its own listener away from the proxied traffic. */
export function metricsResponse(request: Request, metrics: Metrics): Response {
  return new URL(request.url).pathname === "/metrics"
    ? new Response(metrics.render(), { headers: { "content-type": "text/plain; version=0.0.4; charset=utf-8" } })
    : new Response("not found\n", { status: 404 });
}
