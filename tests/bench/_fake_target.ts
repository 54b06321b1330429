/**
 * A deterministic BenchTarget for runner tests: no network, every operation logged per session,
 * settled the way the test asks (on the next microtask, on a 0 ms timer, or only when released),
 * with an outcome chosen by the operation's number, and the most operations a session ever had
 * outstanding recorded.
 * @module
 */
import type { BenchSession, BenchTarget } from "../../src/bench/targets.ts";

/** Operations one session settles on microtasks before it falls back to a timer. */
export const microtaskOpsMax = 200_000;

/** How an operation settles. */
export type Settle = "microtask" | "timer" | "held";

/** The kind of operation, as logged: w(rite), r(ead), c(reate). */
export type Kind = "w" | "r" | "c";

/** What a fake target's sessions do. */
export interface FakePlan {
  settle: Settle;
  /** The outcome of a session's operation number `n` (1-based): null for success, else a name. */
  outcome?: (n: number, kind: Kind) => string | null;
  /** Called with every session index as it opens; throw to fail that open. */
  onOpen?: (index: number) => void | Promise<void>;
}

/** One fake session. */
export class FakeSession implements BenchSession {
  /** Every operation sent, in order. */
  readonly log: Kind[] = [];
  inFlight = 0;
  maxInFlight = 0;
  closed = false;
  readonly #held: (() => void)[] = [];

  constructor(readonly index: number, readonly plan: FakePlan) {}

  write(): Promise<string | null> {
    return this.#op("w");
  }

  read(): Promise<string | null> {
    return this.#op("r");
  }

  create(): Promise<string | null> {
    return this.#op("c");
  }

  /** Settles every held operation. */
  release(): void {
    for (const settle of this.#held.splice(0)) settle();
  }

  close(): Promise<void> {
    this.closed = true;
    this.release();
    return Promise.resolve();
  }

  #op(kind: Kind): Promise<string | null> {
    this.log.push(kind);
    const outcome = this.plan.outcome?.(this.log.length, kind) ?? null;
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    const done = () => {
      this.inFlight--;
      return outcome;
    };
    switch (this.plan.settle) {
      case "microtask":
        // A runner that never yields to its timers would spin here for ever; past this many
        // operations, fall back to a timer so such a bug fails a test instead of hanging it.
        if (this.log.length > microtaskOpsMax) {
          return new Promise((resolve) => setTimeout(() => resolve(done()), 0));
        }
        return Promise.resolve().then(done);
      case "timer":
        return new Promise((resolve) => setTimeout(() => resolve(done()), 0));
      case "held":
        return new Promise((resolve) => this.#held.push(() => resolve(done())));
    }
  }
}

/** A fake system under test. */
export class FakeTarget implements BenchTarget {
  readonly protocol = "zk";
  prepared = 0;
  readonly sessions: FakeSession[] = [];
  /** Opens in progress now, and the most at once. */
  opening = 0;
  maxOpening = 0;

  constructor(readonly plan: FakePlan) {}

  prepare(): Promise<void> {
    this.prepared++;
    return Promise.resolve();
  }

  async open(index: number): Promise<FakeSession> {
    this.opening++;
    this.maxOpening = Math.max(this.maxOpening, this.opening);
    try {
      await this.plan.onOpen?.(index);
    } finally {
      this.opening--;
    }
    const session = new FakeSession(index, this.plan);
    this.sessions.push(session);
    return session;
  }

  /** Operations sent over all sessions. */
  get sent(): number {
    return this.sessions.reduce((sum, s) => sum + s.log.length, 0);
  }
}
