// Every answer the dispatcher makes is recorded here, once: the access-log
// line and the requests metric, and for a refusal its one log line, its
// metric and the page or JSON the browser gets.
import { DispatchError } from "../lib/errors";
import type { Logger } from "../lib/log";
import type { Outcome, RequestRecord } from "./context";
import { eventStream } from "./lifecycle/events";
import { FAILED_SHOWN_MS, type Waiting } from "./lifecycle/lifecycle";
import type { Metrics } from "./metrics";
import { renderRefusal } from "./pages/error-page";
import { progressPage } from "./pages/progress-page";
import { requestIdOf } from "./request-id";

/** Refusals that are an instance (or its host) not answering, counted as upstream errors. */
const UNANSWERED = new Set<string>(["upstream_down", "exchange_unreachable", "host_down"]);
/** A 503 of an ordinary start or stop (the start itself has its own info lines): nothing for the operator to do. */
const ORDINARY = new Set<string>(["instance_starting", "instance_stopped"]);

export interface AnswerDeps {
  accessLog: boolean;
  metrics: Pick<Metrics, "requests" | "refusals" | "upstreamErrors">;
  log: Logger;
}

export function answers({ accessLog, metrics, log }: AnswerDeps) {
  /** The access-log line and request metric of one answer (undefined: the runtime sent a 101). */
  function record(request: RequestRecord, outcome: Outcome, response: Response | undefined): void {
    metrics.requests.inc(outcome);
    if (!accessLog) return;
    log.log("info", "request", {
      request_id: request.id,
      user: request.user,
      outcome,
      status: response?.status ?? 101,
      ms: Math.round((performance.now() - request.started) * 10) / 10,
    });
  }

  /** A refusal's one log line (with its fields and whose request it was) and what the browser gets. */
  function logged(error: DispatchError, id: string, html: boolean, user?: string): Response {
    log.log(ORDINARY.has(error.kind) ? "info" : error.status >= 500 ? "error" : "warn", error.kind, {
      request_id: id,
      status: error.status,
      detail: error.detail,
      ...error.fields,
      user,
    });
    return renderRefusal(error, id, html);
  }

  /** A refusal: logged once, counted, rendered, recorded. */
  function refuse(request: RequestRecord, error: DispatchError): Response {
    if (UNANSWERED.has(error.kind)) metrics.upstreamErrors.inc(error.kind);
    else if (error.status === 403) metrics.refusals.inc(error.kind);
    const response = logged(error, request.id, request.html, request.user);
    record(request, error.kind, response);
    return response;
  }

  /** An unexpected throw (a bug): one log line with the request id, a 500 with it. */
  function crash(request: Request, record: RequestRecord | undefined, code: string, thrown: unknown): Response {
    const detail = `${code}: ${thrown instanceof Error ? thrown.message : String(thrown)}`;
    return logged(new DispatchError("internal", detail), record?.id ?? requestIdOf(request), record?.html ?? false);
  }

  /** A person waiting on their instance's start: the progress page (or the failure), or its event stream. */
  function wait(request: RequestRecord, waiting: Waiting): Response {
    const { start } = waiting;
    if (waiting.answer === "events" || start === undefined) {
      const response = eventStream(start, request.id);
      record(request, "starting", response);
      return response;
    }
    const response = progressPage(start, request.id, FAILED_SHOWN_MS);
    record(request, start.outcome === "failed" ? "start_failed" : "starting", response);
    return response;
  }

  return { record, refuse, crash, wait };
}
