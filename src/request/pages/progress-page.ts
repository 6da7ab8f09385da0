// The page a person sees while their instance starts: the steps as they
// happen, fed by the event stream on the reserved path; without JavaScript
// the page refreshes itself instead. When the start ends the page reloads
// the same URL (the original deep link), which then pairs as usual. A failed
// start shows the step that failed and the request id in the operator's log.
import { EVENTS_PATH } from "../lifecycle/lifecycle";
import { STEPS, type Start, type StepName, type StepState } from "../lifecycle/start";
import { escapeHtml, pageHtml, pageResponse } from "./layout";

const LABEL: Record<StepName, string> = {
  requested: "Start requested",
  listening: "Listening on its port",
  genuine: "Checked that it is really yours",
  answering: "Answering",
};

const WORD: Record<StepState, string> = {
  pending: "Waiting",
  running: "In progress",
  done: "Done",
  failed: "Failed",
};

/** What the event stream sends, and what the page's script reads. */
export interface ProgressEvent {
  outcome: Start["outcome"];
  queued: boolean;
  steps: Record<StepName, StepState>;
}

export const progressOf = (start: Start): ProgressEvent => ({
  outcome: start.outcome,
  queued: start.queued,
  steps: { ...start.steps },
});

const statusLine = (start: Start): string =>
  start.queued ? "Waiting for a free start slot: other workspaces are starting." : "This takes a few seconds.";

/** The steps with their states; after a failure, the steps never reached say so. */
function stepList(start: Start): string {
  const word = (state: StepState) => (start.outcome === "failed" && state === "pending" ? "Not reached" : WORD[state]);
  const items = STEPS.map(
    (step) =>
      `<li id="step-${step}" class="${start.steps[step]}"><span class="state">${word(start.steps[step])}</span> ${LABEL[step]}</li>`,
  );
  return `<ol class="steps">${items.join("")}</ol>`;
}

const done = (start: Start): number => STEPS.filter((step) => start.steps[step] === "done").length;

/** Updates the steps from the event stream; reloads the page (the deep link) once the start is over. */
const SCRIPT = `<script>
(() => {
  const word = ${JSON.stringify(WORD)};
  const events = new EventSource(${JSON.stringify(EVENTS_PATH)});
  events.onmessage = (message) => {
    const progress = JSON.parse(message.data);
    if (progress.outcome !== "starting") { events.close(); location.reload(); return; }
    let done = 0;
    for (const [step, state] of Object.entries(progress.steps)) {
      const item = document.getElementById("step-" + step);
      item.className = state;
      item.querySelector(".state").textContent = word[state];
      if (state === "done") done++;
    }
    document.getElementById("progress").value = done;
    document.getElementById("status").textContent = progress.queued
      ? "Waiting for a free start slot: other workspaces are starting." : "This takes a few seconds.";
  };
})();
</script>`;

function starting(start: Start): string {
  const who = escapeHtml(start.instance.user);
  return pageHtml(
    `Starting ${start.instance.user}'s workspace`,
    `<h1>Starting ${who}'s workspace</h1>
<progress id="progress" max="${STEPS.length}" value="${done(start)}" aria-label="Start progress">${done(start)} of ${STEPS.length}</progress>
${stepList(start)}
<p id="status" role="status" aria-live="polite">${statusLine(start)}</p>
<p>The page continues to your workspace by itself.</p>${SCRIPT}`,
    `<noscript><meta http-equiv="refresh" content="2"></noscript>`,
  );
}

/** Counts the wait down to "now" (without JavaScript the page says the seconds left when it was served). */
const COUNTDOWN = `<script>
(() => {
  const left = document.getElementById("retry-in");
  let seconds = Number(left.dataset.seconds);
  const timer = setInterval(() => {
    seconds--;
    left.textContent = seconds > 0 ? "in " + seconds + (seconds === 1 ? " second" : " seconds") : "now";
    if (seconds <= 0) clearInterval(timer);
  }, 1000);
})();
</script>`;

const seconds = (n: number): string => `${n} ${n === 1 ? "second" : "seconds"}`;

function failed(start: Start, retryAfterS: number): string {
  const who = escapeHtml(start.instance.user);
  const step = start.failedStep;
  return pageHtml(
    `${start.instance.user}'s workspace did not start`,
    `<h1>${who}'s workspace did not start</h1>
${stepList(start)}
<p role="alert">The step “${step ? LABEL[step] : "start"}” failed.</p>
<p>If it keeps happening, send your administrator this request id: <code id="request-id">${escapeHtml(start.requestId)}</code></p>
<p>You can try again <span id="retry-in" data-seconds="${retryAfterS}">in ${seconds(retryAfterS)}</span>. <a class="button" href="">Try again</a></p>${COUNTDOWN}`,
  );
}

/**
 * The page for a navigation waiting on `start`: 200 while it runs; once it
 * failed, a 503 whose Retry-After is what is left of the `shownMs` it is shown.
 */
export function progressPage(start: Start, requestId: string, shownMs: number): Response {
  if (start.outcome === "failed") {
    const left = Math.max(1, Math.ceil(((start.endedAt ?? Date.now()) + shownMs - Date.now()) / 1000));
    return pageResponse(failed(start, left), 503, requestId, { "retry-after": String(left) });
  }
  return pageResponse(starting(start), 200, requestId);
}
