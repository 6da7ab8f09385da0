// What the bench scripts read of a process from /proc: its CPU time and its memory.
import { readFileSync } from "node:fs";

/** Linux's clock ticks per second in /proc/<pid>/stat (USER_HZ, 100 on every Linux ABI in use). */
const TICKS_PER_SECOND = 100;

/** The CPU time a process has used, user and system (utime + stime), in µs. */
export function cpuMicros(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
  return ((Number(fields[11]) + Number(fields[12])) * 1e6) / TICKS_PER_SECOND;
}

/** Its resident memory now (VmRSS) or at its peak (VmHWM), in KiB. */
export const memoryKiB = (pid: number, field: "VmRSS" | "VmHWM") =>
  Number(new RegExp(`${field}:\\s+(\\d+)`).exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0);
