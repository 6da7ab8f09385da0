// Reload-on-change for the table: a burst of events is one reload, other
// files in the directory are ignored, a broken watch is reported, and close
// releases both the watch and a pending reload. Once with a scripted watch,
// once with the runtime's real one on a real directory.
import { describe, expect, test } from "bun:test";
import { mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bunRuntime } from "../../../src/runtime/bun/runtime";
import type { Runtime } from "../../../src/runtime/runtime";
import { watchFile } from "../../../src/runtime/watch";

/** A watch the test drives: `emit(name)` and `fail(error)` as the runtime would call them. */
function scripted() {
  let onEvent: (name: string | null) => void = () => {};
  let onError: (error: Error) => void = () => {};
  const state = { dir: "", closed: false };
  const watchDirectory: Runtime["watchDirectory"] = (dir, event, error) => {
    state.dir = dir;
    onEvent = event;
    onError = error;
    return {
      close() {
        state.closed = true;
      },
    };
  };
  return { watchDirectory, state, emit: (name: string | null) => onEvent(name), fail: (e: Error) => onError(e) };
}

const settle = () => Bun.sleep(60); // past the 20 ms debounce used below

describe("watchFile", () => {
  test("the file's directory is watched; a burst of events is one reload; other names are ignored", async () => {
    const watch = scripted();
    let reloads = 0;
    watchFile(
      "/etc/t3-serve/dispatch.json",
      () => reloads++,
      watch.watchDirectory,
      () => {},
      20,
    );
    expect(watch.state.dir).toBe("/etc/t3-serve");
    for (let i = 0; i < 10; i++) watch.emit("dispatch.json");
    watch.emit(null); // a platform that does not name the entry: counts
    await settle();
    expect(reloads).toBe(1);
    watch.emit("other.json");
    watch.emit(".dispatch.json.swp");
    await settle();
    expect(reloads).toBe(1);
  });

  test("a broken watch is reported to the caller", () => {
    const watch = scripted();
    const errors: string[] = [];
    watchFile(
      "/x/dispatch.json",
      () => {},
      watch.watchDirectory,
      (e) => errors.push(e.message),
      20,
    );
    watch.fail(new Error("ENOENT: directory removed"));
    expect(errors).toEqual(["ENOENT: directory removed"]);
  });

  test("close releases the watch and drops a reload still pending", async () => {
    const watch = scripted();
    let reloads = 0;
    const watcher = watchFile(
      "/x/dispatch.json",
      () => reloads++,
      watch.watchDirectory,
      () => {},
      20,
    );
    watch.emit("dispatch.json");
    watcher.close();
    await settle();
    expect([reloads, watch.state.closed]).toEqual([0, true]);
  });

  test("the runtime's real watch: a file replaced by rename is seen", async () => {
    const dir = mkdtempSync(join(tmpdir(), "t3d-watch-"));
    const path = join(dir, "dispatch.json");
    writeFileSync(path, "{}");
    let reloads = 0;
    const watcher = watchFile(
      path,
      () => reloads++,
      bunRuntime.watchDirectory,
      () => {},
      20,
    );
    try {
      writeFileSync(join(dir, "dispatch.json.new"), '{"alice":{"os_user":"alice","port":1}}');
      renameSync(join(dir, "dispatch.json.new"), path); // how editors and config tools replace it
      for (let waited = 0; reloads === 0 && waited < 5000; waited += 10) await Bun.sleep(10);
      expect(reloads).toBe(1);
    } finally {
      watcher.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
