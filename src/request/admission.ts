// The stages before the session, in order: proof (is the identity the
// front's?), identity (a valid name), route (whose instance), instance (is its
// port held by its own account? on this host only), origin (a WebSocket or
// write from the public origin only). The first refusal ends the request;
// nothing reaches an instance, or another host, and nothing is minted, before
// all five pass.
import type { Instance } from "../config/table";
import { DispatchError } from "../lib/errors";
import { andThen, type MaybePromise } from "../lib/maybe-promise";
import type { RequestRecord } from "./context";
import { type Identity, identityFrom } from "./identity";
import type { InstanceCheck } from "./instance/check";
import { checkOrigin } from "./origin";
import type { Proof } from "./proof/proof";

/** Admitted to an instance, or refused. */
export type Admission = Instance | DispatchError;

export interface AdmissionDeps {
  proof: Pick<Proof, "prove">;
  routing: { route(identity: Identity): Instance | DispatchError };
  /** undefined: instances are not on this host (not checked). */
  instances: Pick<InstanceCheck, "check"> | undefined;
  /** The configured public origin (undefined: what the front forwarded). */
  publicOrigin: string | undefined;
}

/** The stages after the proof; each that learns whose request it is notes it on the record. */
function afterProof(deps: AdmissionDeps, request: Request, record: RequestRecord, claimed: string | DispatchError) {
  if (claimed instanceof DispatchError) return claimed;
  const identity = identityFrom(claimed);
  if (identity instanceof DispatchError) return identity;
  record.user = identity.full;
  const instance = deps.routing.route(identity);
  if (instance instanceof DispatchError) return instance;
  record.user = instance.user;
  // Another host's instance is that host's to check: its dispatcher admits the request again.
  const local = instance.host === undefined;
  return andThen(
    local ? deps.instances?.check(instance) : undefined,
    (impostor) => impostor ?? checkOrigin(request, record.url, deps.publicOrigin, record.upgrade) ?? instance,
  );
}

/** Synchronous unless the proof needs a first signature check. */
export function admit(deps: AdmissionDeps, request: Request, record: RequestRecord): MaybePromise<Admission> {
  return andThen(deps.proof.prove(request, record.peer), (claimed) => afterProof(deps, request, record, claimed));
}
