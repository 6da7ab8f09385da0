// The stages before the session, in order: proof (is the identity the
// front's?), identity (a valid name), route (whose instance), instance (is its
// port held by its own account?), origin (a WebSocket or write from the public
// origin only). The first refusal ends the request; nothing reaches an
// instance, and nothing is minted, before all five pass.

import type { Instance } from "../config/table";
import { DispatchError } from "../lib/errors";
import type { AppDeps, Meta } from "./app";
import { identityFrom } from "./identity";
import { checkOrigin } from "./origin";

/** Admitted to `instance`, or refused (with the user, once one is known). */
export type Admission = { instance: Instance } | { refused: DispatchError; user?: string };

type Stages = Pick<AppDeps, "proof" | "routing" | "instances" | "settings">;

function afterProof(deps: Stages, request: Request, meta: Meta, claimed: string | DispatchError): Admission {
  if (claimed instanceof DispatchError) return { refused: claimed };
  const identity = identityFrom(claimed);
  if (identity instanceof DispatchError) return { refused: identity };
  const instance = deps.routing.route(identity);
  if (instance instanceof DispatchError) return { refused: instance, user: identity.full };
  const impostor = deps.instances?.check(instance);
  if (impostor) return { refused: impostor, user: instance.user };
  const crossOrigin = checkOrigin(request, meta.url, deps.settings.publicOrigin, meta.upgrade);
  if (crossOrigin) return { refused: crossOrigin, user: instance.user };
  return { instance };
}

/** Synchronous unless the proof needs a first signature check. */
export function admit(deps: Stages, request: Request, meta: Meta): Admission | Promise<Admission> {
  const claimed = deps.proof.prove(request, meta.peer);
  return claimed instanceof Promise
    ? claimed.then((settled) => afterProof(deps, request, meta, settled))
    : afterProof(deps, request, meta, claimed);
}
