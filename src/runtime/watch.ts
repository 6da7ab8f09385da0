// Reload-on-change for the dispatch table: watch its directory (editors and
// config tools replace the file by rename, which a watch on the file itself
// would miss), debounced so a burst of events makes one reload.
import { basename, dirname } from "node:path";
import type { Runtime } from "./runtime";

export function watchFile(
  path: string,
  onChange: () => void,
  watchDirectory: Runtime["watchDirectory"],
  onError: (error: Error) => void,
  debounceMs = 100,
): { close(): void } {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const watcher = watchDirectory(
    dirname(path),
    (name) => {
      if (name !== null && name !== basename(path)) return;
      clearTimeout(timer);
      timer = setTimeout(onChange, debounceMs);
    },
    onError,
  );
  return {
    close() {
      clearTimeout(timer);
      watcher.close();
    },
  };
}
