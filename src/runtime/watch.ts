// Reload-on-change for the dispatch table: watch its directory (editors and
// config tools replace the file by rename, which a watch on the file itself
// would miss), debounced so a burst of events makes one reload.
import { type FSWatcher, watch } from "node:fs";
import { basename, dirname } from "node:path";

export function watchFile(path: string, onChange: () => void, debounceMs = 100): { close(): void } {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(dirname(path), (_event, name) => {
      if (name !== null && name !== basename(path)) return;
      clearTimeout(timer);
      timer = setTimeout(onChange, debounceMs);
    });
    watcher.unref?.();
  } catch {
    // No watch support here: the poll (and SIGHUP) still reload.
  }
  return {
    close() {
      clearTimeout(timer);
      watcher?.close();
    },
  };
}
