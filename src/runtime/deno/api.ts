// The few Deno APIs the Deno runtime calls, typed here so the shared
// type-check (Bun's types) covers that module without Deno's full lib.

export interface DenoNetAddr {
  transport: string;
  hostname?: string;
  port?: number;
  path?: string;
}

export interface DenoHttpServer {
  addr: DenoNetAddr;
  shutdown(): Promise<void>;
}

type DenoServeOptions = ({ hostname: string; port: number } | { path: string }) & { onListen(addr: DenoNetAddr): void };

export interface DenoChild {
  stdout: ReadableStream<Uint8Array>;
  stderr: ReadableStream<Uint8Array>;
  status: Promise<{ code: number; signal: string | null }>;
  kill(signal: string): void;
}

export interface DenoApi {
  serve(
    options: DenoServeOptions,
    handler: (request: Request, info: { remoteAddr: DenoNetAddr }) => Response | Promise<Response>,
  ): DenoHttpServer;
  upgradeWebSocket(
    request: Request,
    options: { protocol?: string; idleTimeout?: number },
  ): { socket: WebSocket; response: Response };
  Command: new (
    command: string,
    options: {
      args: string[];
      stdin: "null";
      stdout: "piped";
      stderr: "piped";
      env?: Record<string, string>;
      clearEnv?: boolean;
    },
  ) => { spawn(): DenoChild };
  addSignalListener(signal: string, handler: () => void): void;
  watchFs(path: string): AsyncIterable<{ kind: string; paths: string[] }> & { close(): void };
}

/** The unstable WebSocketStream (`--unstable-net`): a client socket whose reads can wait. */
export interface WebSocketStreamLike {
  opened: Promise<{
    readable: ReadableStream<string | Uint8Array>;
    writable: WritableStream<string | Uint8Array>;
    protocol: string;
  }>;
  closed: Promise<{ closeCode?: number; reason?: string }>;
  close(info?: { closeCode?: number; reason?: string }): void;
}

export type WebSocketStreamConstructor = new (
  url: string,
  options: { protocols: string[]; headers: Headers; signal: AbortSignal },
) => WebSocketStreamLike;

export interface DenoGlobals {
  Deno: DenoApi;
  WebSocketStream?: WebSocketStreamConstructor;
}

/** Deno's globals, typed; touched only when called (the Bun binary carries this module unused). */
export const globals = () => globalThis as unknown as DenoGlobals;

export function webSocketStream() {
  const stream = globals().WebSocketStream;
  if (!stream) throw new Error("Deno needs --unstable-net (WebSocketStream) to bridge WebSockets");
  return stream;
}
