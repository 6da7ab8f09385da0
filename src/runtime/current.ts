// The runtime this process runs on, picked once. Both implementations are in
// the Bun binary; neither touches its runtime's globals until called.
import type { Runtime } from "./runtime";

export const runtime: Runtime =
  "Deno" in globalThis ? (await import("./deno/runtime")).denoRuntime : (await import("./bun/runtime")).bunRuntime;
