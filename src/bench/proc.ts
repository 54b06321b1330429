/**
 * What a benchmark reads of a server process from Linux's /proc: CPU time used and resident
 * memory. Works for any process by pid (a JVM, etcd, Corral), on Linux only; elsewhere, or when
 * the process is gone, the readers return null.
 * @module
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import process from "node:process";

/** CPU and memory of one process at one moment. */
export interface ProcessSample {
  /** User plus system CPU time used since the process started, seconds. */
  cpuSeconds: number;
  /** Resident set size, bytes (VmRSS). */
  rssBytes: number;
}

let ticksPerS = 0;

/** Clock ticks per second of /proc's CPU times (`getconf CLK_TCK`, 100 if that fails). */
function clockTicksPerS(): number {
  if (ticksPerS === 0) {
    try {
      ticksPerS = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" })) || 100;
    } catch {
      ticksPerS = 100;
    }
  }
  return ticksPerS;
}

/** CPU seconds (user + system) used so far by process `pid`, or null when it cannot be read. */
export function cpuSecondsOf(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The fields after the command name, which is in parentheses and may hold spaces.
    const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(rest[11]) + Number(rest[12])) / clockTicksPerS();
  } catch {
    return null;
  }
}

/** Resident memory of process `pid` in bytes, or null when it cannot be read. */
export function rssBytesOf(pid: number): number | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status);
    return match ? Number(match[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/** CPU time and RSS of `pid` now, or null when the process cannot be read. */
export function sampleProcess(pid: number): ProcessSample | null {
  const cpuSeconds = cpuSecondsOf(pid);
  const rssBytes = rssBytesOf(pid);
  return cpuSeconds === null || rssBytes === null ? null : { cpuSeconds, rssBytes };
}

/** CPU time of some processes and of this one, at one moment. */
export interface CpuSample {
  /** performance.now() when taken. */
  at: number;
  /** CPU seconds of each pid (null when unreadable). */
  pidsS: (number | null)[];
  /** CPU seconds of this process (the load generator). */
  selfS: number;
}

/** CPU time of `pids` and of this process, now. */
export function cpuSample(pids: readonly number[]): CpuSample {
  const self = process.cpuUsage();
  return {
    at: performance.now(),
    pidsS: pids.map(cpuSecondsOf),
    selfS: (self.user + self.system) / 1e6,
  };
}

/** Percent of one core used between two samples, per pid (null when unreadable) and by us. */
export function cpuPercents(
  before: CpuSample,
  after: CpuSample,
): { pids: (number | null)[]; self: number } {
  const wallS = Math.max(1e-6, (after.at - before.at) / 1000);
  return {
    pids: before.pidsS.map((from, i) => {
      const to = after.pidsS[i];
      return from === null || to === null ? null : (to - from) / wallS * 100;
    }),
    self: (after.selfS - before.selfS) / wallS * 100,
  };
}
