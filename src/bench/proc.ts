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

/** The whole machine's CPU time so far, all cores, in clock ticks (from /proc/stat). */
export interface MachineSample {
  /** Running anything: user, nice, system, irq and softirq. */
  busy: number;
  /** Idle, waiting for I/O included. */
  idle: number;
  /** Taken by the hypervisor for other guests while this machine had work to run. */
  steal: number;
}

/** The machine's CPU time now, or null where /proc/stat cannot be read. */
export function machineSample(): MachineSample | null {
  try {
    const line = readFileSync("/proc/stat", "utf8").split("\n", 1)[0];
    // cpu user nice system idle iowait irq softirq steal guest guest_nice; guest time is already
    // counted in user.
    const [label, ...fields] = line.trim().split(/\s+/);
    const t = fields.map(Number);
    if (label !== "cpu" || t.length < 8 || t.some((v) => !Number.isFinite(v))) return null;
    return { busy: t[0] + t[1] + t[2] + t[5] + t[6], idle: t[3] + t[4], steal: t[7] };
  } catch {
    return null;
  }
}

/** How the machine's CPU capacity (all cores) was spent between two samples, percent. */
export interface MachineUsage {
  busyPercent: number;
  idlePercent: number;
  /**
   * Time the machine's virtual CPUs had work but the hypervisor ran someone else: on a shared
   * host, what makes one minute's results differ from the next.
   */
  stealPercent: number;
}

/** The machine's usage between `before` and `after`, or null without both or with no ticks. */
export function machineUsage(
  before: MachineSample | null,
  after: MachineSample | null,
): MachineUsage | null {
  if (before === null || after === null) return null;
  const busy = after.busy - before.busy;
  const idle = after.idle - before.idle;
  const steal = after.steal - before.steal;
  const total = busy + idle + steal;
  if (!(total > 0)) return null;
  return {
    busyPercent: busy / total * 100,
    idlePercent: idle / total * 100,
    stealPercent: steal / total * 100,
  };
}

/** CPU time of some processes, of this one and of the machine, at one moment. */
export interface CpuSample {
  /** performance.now() when taken. */
  at: number;
  /** CPU seconds of each pid (null when unreadable). */
  pidsS: (number | null)[];
  /** CPU seconds of this process (the load generator). */
  selfS: number;
  /** The whole machine's CPU time (null when unreadable). */
  machine: MachineSample | null;
}

/** CPU time of `pids` and of this process, now. */
export function cpuSample(pids: readonly number[]): CpuSample {
  const self = process.cpuUsage();
  return {
    at: performance.now(),
    pidsS: pids.map(cpuSecondsOf),
    selfS: (self.user + self.system) / 1e6,
    machine: machineSample(),
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
