/**
 * Memory back after a burst of load. A garbage-collected runtime holds what a burst left behind
 * until its next collection, and JavaScriptCore sizes that wait by bytes allocated, not by time: a
 * server that goes quiet after 100,000 requests can sit on tens of MiB of garbage. The collector
 * looks at the server's activity once a period and gives memory back in two steps:
 *
 * - **collect**: the first quiet period after a burst (at least `busyEventsMin` events since the
 *   last collection) gets one full collection. Compiled code stays, so the next burst runs at full
 *   speed. The pause (37-130 ms measured on a loaded leader) falls where few requests wait on it.
 * - **shrink**: a server that then stays quiet for `shrinkQuietPeriods` periods in a row also drops
 *   its compiled code and hands freed pages back to the system (`Bun.shrink()`): about 10 MiB on a
 *   leader after compare's grid. The next burst pays for it while its hot paths compile again: in
 *   paired runs of writes at 32 sessions, each 4 s after the previous, a three-node system that
 *   shrank in every pause wrote 6,100-12,900/s (p99 9-21 ms) and one that only collected
 *   10,700-15,600/s (p99 6-9 ms). So it waits until the server looks idle, not merely between
 *   bursts.
 *
 * A period is quiet when it has fewer than `quietEventsMax` events, so idle sessions' pings do not
 * keep a server from either step. A server under steady load never gets either from here.
 * @module
 */

/** Events since the last collection that count as a burst worth collecting after. */
export const busyEventsMinDefault = 1_000;

/** Fewer events than this in a period make it quiet (pings of idle sessions, not load). */
export const quietEventsMaxDefault = 50;

/** Quiet periods in a row, after a collection, before compiled code is dropped too. */
export const shrinkQuietPeriodsDefault = 30;

/** How often the server checks for quiet, ms. */
export const idleCheckMsDefault = 1_000;

/** What a runtime offers; each returns false, doing nothing, where it offers nothing. */
export interface CollectorRuntime {
  /** One full, synchronous collection. */
  collect(): boolean;
  /** Drop compiled code and return freed memory to the system. */
  shrink(): boolean;
}

/** Thresholds of an {@linkcode IdleCollector}; every one has a default above. */
export interface IdleCollectorOptions {
  busyEventsMin?: number;
  quietEventsMax?: number;
  shrinkQuietPeriods?: number;
}

/** Counts a server's activity and gives memory back once it turns quiet after a burst. */
export class IdleCollector {
  readonly #runtime: CollectorRuntime;
  readonly #busyEventsMin: number;
  readonly #quietEventsMax: number;
  readonly #shrinkQuietPeriods: number;
  #sinceCheck = 0;
  #sinceCollection = 0;
  #quietPeriods = 0;
  /** A collection happened and no shrink since. */
  #shrinkDue = false;

  constructor(runtime: CollectorRuntime, options: IdleCollectorOptions = {}) {
    this.#runtime = runtime;
    this.#busyEventsMin = options.busyEventsMin ?? busyEventsMinDefault;
    this.#quietEventsMax = options.quietEventsMax ?? quietEventsMaxDefault;
    this.#shrinkQuietPeriods = options.shrinkQuietPeriods ?? shrinkQuietPeriodsDefault;
  }

  /** Counts `events` (requests, applied txns) handled. */
  note(events = 1): void {
    this.#sinceCheck += events;
  }

  /** Called once a period: collects or shrinks when it is time; says which it did, if either. */
  check(): "collect" | "shrink" | null {
    const events = this.#sinceCheck;
    this.#sinceCheck = 0;
    this.#sinceCollection += events;
    if (events >= this.#quietEventsMax) {
      this.#quietPeriods = 0;
      return null;
    }
    this.#quietPeriods++;
    if (this.#sinceCollection >= this.#busyEventsMin) {
      this.#sinceCollection = 0;
      if (!this.#runtime.collect()) return null;
      this.#shrinkDue = true;
      return "collect";
    }
    if (this.#shrinkDue && this.#quietPeriods >= this.#shrinkQuietPeriods) {
      this.#shrinkDue = false;
      return this.#runtime.shrink() ? "shrink" : null;
    }
    return null;
  }
}

interface RuntimeGlobals {
  Bun?: { gc(force: boolean): void; shrink?(): void };
  gc?: () => void;
}

/**
 * The running runtime's collector: `Bun.gc(true)` and `Bun.shrink()` on Bun; the global `gc()`
 * where the runtime exposes one (Deno or Node started with `--expose-gc`), which has no shrink.
 */
export const runtimeCollector: CollectorRuntime = {
  collect(): boolean {
    const runtime = globalThis as unknown as RuntimeGlobals;
    if (runtime.Bun) {
      runtime.Bun.gc(true);
      return true;
    }
    if (typeof runtime.gc === "function") {
      runtime.gc();
      return true;
    }
    return false;
  },
  shrink(): boolean {
    const bun = (globalThis as unknown as RuntimeGlobals).Bun;
    if (bun?.shrink === undefined) return false;
    bun.shrink();
    return true;
  },
};
