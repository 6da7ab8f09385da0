// The real-handshake health check: for each instance, mint → exchange →
// session check → WebSocket, exactly as a browser's first visit goes (a
// `GET / → 200` check once passed a build whose pairing was broken). It reuses
// the dispatcher's own mint and t3 client code.
import type { Instance } from "../config/table";
import { type DispatchError, Failure } from "../lib/errors";
import { type InstanceCheck, InstanceDown } from "../request/instance/check";
import type { Runtime } from "../runtime/runtime";
import { instanceUrl } from "../t3/address";
import { checkSession, type Exchanged, exchangeCredential } from "../t3/client";

export type Step = "instance" | "mint" | "exchange" | "session" | "websocket";

export interface StepResult {
  step: Step;
  ok: boolean;
  ms: number;
  detail?: string;
}

export interface InstanceHealth {
  user: string;
  port: number;
  ok: boolean;
  /** The pairing endpoint that answered (it tells the instance's contract). */
  endpoint?: string;
  steps: StepResult[];
}

export interface HealthDeps {
  /** The instance check (who holds the port); undefined where instances are not local. */
  instances?: Pick<InstanceCheck, "fresh">;
  mint(osUser: string): Promise<string | DispatchError>;
  probeWebSocket: Runtime["probeWebSocket"];
  upstreamHost: string;
  timeoutMs: number;
}

/** Runs the steps in order and stops at the first that fails. */
export async function checkInstance(instance: Instance, deps: HealthDeps): Promise<InstanceHealth> {
  const base = instanceUrl(deps.upstreamHost, instance.port);
  const steps: StepResult[] = [];
  const report = (ok: boolean, endpoint?: string): InstanceHealth => ({
    user: instance.user,
    port: instance.port,
    ok,
    endpoint,
    steps,
  });
  /** Times one step; its body returns a value to go on with, or the Failure that stops the check. */
  async function step<T>(name: Step, body: () => Promise<T | Failure>): Promise<T | undefined> {
    const started = performance.now();
    const result = await body();
    const ms = Math.round(performance.now() - started);
    if (result instanceof Failure) {
      steps.push({ step: name, ok: false, ms, detail: result.message });
      return undefined;
    }
    steps.push({ step: name, ok: true, ms });
    return result;
  }

  // No credential is minted for, or sent to, a port another account holds.
  if (deps.instances) {
    const genuine = await step("instance", async () => {
      const verdict = deps.instances?.fresh(instance);
      // Down: the operator's next look is the instance's unit.
      if (verdict instanceof InstanceDown)
        return new Failure(verdict.kind, `${verdict.detail}: see systemctl status t3-serve@${instance.osUser}`);
      return verdict ?? true;
    });
    if (genuine === undefined) return report(false);
  }
  const credential = await step<string>("mint", async () => {
    return deps.mint(instance.osUser);
  });
  if (credential === undefined) return report(false);

  const exchanged = await step<Exchanged>("exchange", async () => {
    const result = await exchangeCredential(base, instance.port, credential, deps.timeoutMs);
    if (result instanceof Failure || result.setCookies.length > 0) return result;
    return new Failure("exchange_without_cookie", "the 200 carried no Set-Cookie");
  });
  if (exchanged === undefined) return report(false);
  const cookie = exchanged.setCookies.map((line) => line.split(";")[0]).join("; ");

  const session = await step("session", async () => {
    const state = await checkSession(base, cookie, deps.timeoutMs);
    if (state.state === "unknown") return new Failure("session_unanswered", state.reason);
    return state.state === "valid" ? true : new Failure("session_invalid", "authenticated: false with the new cookie");
  });
  if (session === undefined) return report(false, exchanged.endpoint);

  const socket = await step("websocket", () =>
    deps.probeWebSocket(instanceUrl(deps.upstreamHost, instance.port, "/ws", "ws"), { cookie }, deps.timeoutMs),
  );
  return report(socket !== undefined, exchanged.endpoint);
}

/** One line per instance: what passed, how long each step took, where it failed. */
export function formatHealth(results: InstanceHealth[]): string {
  return results
    .map((r) => {
      const steps = r.steps.map(
        (s) => `${s.step} ${s.ok ? "ok" : "FAILED"} ${s.ms}ms${s.detail ? ` (${s.detail})` : ""}`,
      );
      return `${r.ok ? "PASS" : "FAIL"} ${r.user} (port ${r.port}${r.endpoint ? `, ${r.endpoint}` : ""}): ${steps.join(" · ")}`;
    })
    .join("\n");
}
