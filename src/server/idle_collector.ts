/**
 * Memory back after a burst of load. A garbage-collected runtime holds what a burst left behind
 * until its next collection, and JavaScriptCore sizes that wait by bytes allocated, not by time: a
 * server that goes quiet after 100,000 requests can sit on tens of MiB of garbage. The collector
 * watches the server's activity once a period; when a server that handled at least
 * `busyEventsMin` events since its last collection has a whole period without any, it asks the
 * runtime for one full collection. A server under steady load never gets one from here, and an
 * idle one gets one per burst, so the pause (37-130 ms measured on a loaded leader) falls where no
 * request waits on it.
 * @module
 */

/** Events since the last collection that count as a burst worth collecting after. */
export const busyEventsMinDefault = 1_000;

/** How often the server checks for quiet, ms. */
export const idleCheckMsDefault = 1_000;

/** Counts a server's activity and collects once it turns quiet after a burst. */
export class IdleCollector {
  readonly #collect: () => boolean;
  readonly #busyEventsMin: number;
  #sinceCheck = 0;
  #sinceCollection = 0;

  /**
   * @param collect asks the runtime for a full collection; false if it offers none
   * @param busyEventsMin events since the last collection that make quiet worth collecting
   */
  constructor(collect: () => boolean, busyEventsMin = busyEventsMinDefault) {
    this.#collect = collect;
    this.#busyEventsMin = busyEventsMin;
  }

  /** Counts `events` (requests, applied txns) handled. */
  note(events = 1): void {
    this.#sinceCheck += events;
  }

  /** Called once a period: collects when the period was quiet after a burst; true if it did. */
  check(): boolean {
    const events = this.#sinceCheck;
    this.#sinceCheck = 0;
    if (events > 0) {
      this.#sinceCollection += events;
      return false;
    }
    if (this.#sinceCollection < this.#busyEventsMin) return false;
    this.#sinceCollection = 0;
    return this.#collect();
  }
}

/**
 * Asks the running runtime for a full, synchronous garbage collection: `Bun.gc(true)` and then
 * `Bun.shrink()` on Bun, the global `gc()` where the runtime exposes one (Deno or Node started with
 * `--expose-gc`). Returns false, doing nothing, where there is neither.
 */
export function collectGarbage(): boolean {
  const runtime = globalThis as unknown as {
    Bun?: { gc(force: boolean): void; shrink?(): void };
    gc?: () => void;
  };
  if (runtime.Bun) {
    runtime.Bun.gc(true);
    // Hands the freed pages back to the system at once instead of leaving them cached; it also
    // drops compiled code, which the next burst compiles again (see docs/PERFORMANCE.md).
    runtime.Bun.shrink?.();
    return true;
  }
  if (typeof runtime.gc === "function") {
    runtime.gc();
    return true;
  }
  return false;
}
