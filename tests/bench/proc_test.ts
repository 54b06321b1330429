/**
 * The /proc readers agree with what the runtime reports of this very process, and give null for
 * a process that does not exist. Linux only, like the readers.
 * @module
 */
import process from "node:process";
import assert from "../assert.ts";
import {
  cpuSecondsOf,
  machineSample,
  machineUsage,
  rssBytesOf,
  sampleProcess,
} from "../../src/bench/proc.ts";

const linux = Deno.build.os === "linux";
const nobody = 2 ** 31 - 1;

Deno.test({
  name: "cpuSecondsOf: this process's CPU time, as getrusage counts it, to the clock tick",
  ignore: !linux,
  fn() {
    // Burn some CPU so there is something to count.
    const until = performance.now() + 30;
    while (performance.now() < until) { /* spin */ }
    const before = process.cpuUsage();
    const fromProc = cpuSecondsOf(Deno.pid);
    const after = process.cpuUsage();
    assert.ok(fromProc !== null && Number.isFinite(fromProc), `${fromProc}`);
    const low = (before.user + before.system) / 1e6;
    const high = (after.user + after.system) / 1e6;
    // /proc counts whole clock ticks (10 ms at 100 Hz) and per thread group: allow some slack.
    assert.ok(fromProc >= low - 0.05 && fromProc <= high + 0.05, `${fromProc} vs ${low}..${high}`);
    const later = cpuSecondsOf(Deno.pid)!;
    assert.ok(later >= fromProc, "CPU time never goes back");
  },
});

Deno.test({
  name: "rssBytesOf: this process's resident memory, in bytes",
  ignore: !linux,
  fn() {
    const fromProc = rssBytesOf(Deno.pid);
    const fromRuntime = Deno.memoryUsage().rss;
    assert.ok(fromProc !== null && fromProc > 0);
    assert.equal(fromProc % 1024, 0, "VmRSS is in kB");
    assert.ok(Math.abs(fromProc - fromRuntime) <= fromRuntime / 2, `${fromProc} vs ${fromRuntime}`);
  },
});

Deno.test({
  name: "sampleProcess: both figures for a live pid, null for a missing one",
  ignore: !linux,
  fn() {
    const sample = sampleProcess(Deno.pid);
    assert.ok(sample !== null);
    assert.ok(sample.cpuSeconds >= 0 && sample.rssBytes > 0);
    assert.equal(cpuSecondsOf(nobody), null);
    assert.equal(rssBytesOf(nobody), null);
    assert.equal(sampleProcess(nobody), null);
  },
});

Deno.test("machineUsage: shares of all the ticks between two samples; null without both or ticks", () => {
  const before = { busy: 1_000, idle: 500, steal: 40 };
  const usage = machineUsage(before, { busy: 1_150, idle: 530, steal: 60 });
  assert.ok(usage !== null);
  assert.equal(usage.busyPercent, 75);
  assert.equal(usage.idlePercent, 15);
  assert.equal(usage.stealPercent, 10);
  assert.equal(machineUsage(null, before), null);
  assert.equal(machineUsage(before, null), null);
  assert.equal(machineUsage(before, before), null, "no tick passed: no shares to give");
});

Deno.test({
  name: "machineSample: the machine's ticks from /proc/stat, which only grow",
  ignore: !linux,
  fn() {
    const first = machineSample();
    assert.ok(first !== null);
    const until = performance.now() + 50;
    while (performance.now() < until) { /* spin, so some busy ticks pass */ }
    const second = machineSample()!;
    assert.ok(second.busy > first.busy, `busy ${first.busy} -> ${second.busy}`);
    assert.ok(second.idle >= first.idle && second.steal >= first.steal);
    const usage = machineUsage(first, second)!;
    const sum = usage.busyPercent + usage.idlePercent + usage.stealPercent;
    assert.ok(Math.abs(sum - 100) < 1e-9, `${sum}`);
  },
});
