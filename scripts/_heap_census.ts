/**
 * Preloaded into a Corral server run from source under Bun by scripts/profile_memory.ts (`bun
 * --preload`); never part of the server. On SIGUSR2 it writes what JavaScriptCore's heap holds
 * (`bun:jsc` `heapStats()`: live bytes, block capacity, memory outside the heap, object count) to
 * `$CORRAL_CENSUS_DIR/<pid>-<n>.json`. On SIGUSR1 it writes the live heap by cell class, from a
 * heap snapshot; that takes seconds on a large heap and allocates much, so it comes last.
 * @module
 */
import process from "node:process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";

interface Jsc {
  heapStats(): {
    heapSize: number;
    heapCapacity: number;
    extraMemorySize: number;
    objectCount: number;
  };
  /** JavaScriptCore's own snapshot: `nodes` in runs of 7, size second, class index third. */
  generateHeapSnapshotForDebugging(): { nodes: (number | string)[]; nodeClassNames: string[] };
}

const dir = process.env.CORRAL_CENSUS_DIR;
if (dir !== undefined) {
  // Only Bun resolves "bun:jsc"; this file is type-checked by Deno, hence `require`.
  const jsc = require("bun:jsc") as Jsc;
  let taken = 0;
  const write = (kind: string, body: unknown) =>
    writeFileSync(join(dir, `${process.pid}-${++taken}-${kind}.json`), JSON.stringify(body));
  process.on("SIGUSR2", () => {
    const h = jsc.heapStats();
    write("heap", {
      liveBytes: h.heapSize,
      capacityBytes: h.heapCapacity,
      extraBytes: h.extraMemorySize,
      objects: h.objectCount,
    });
  });
  process.on("SIGUSR1", () => {
    const snapshot = jsc.generateHeapSnapshotForDebugging();
    const byClass = new Map<string, { cells: number; bytes: number }>();
    for (let i = 0; i < snapshot.nodes.length; i += 7) {
      const name = snapshot.nodeClassNames[snapshot.nodes[i + 2] as number];
      const entry = byClass.get(name) ?? { cells: 0, bytes: 0 };
      entry.cells++;
      entry.bytes += snapshot.nodes[i + 1] as number;
      byClass.set(name, entry);
    }
    write("classes", [...byClass].sort((a, b) => b[1].bytes - a[1].bytes).slice(0, 12));
  });
}
