/**
 * Sessions (REFERENCE §3): the replicated table of live sessions and the leader's bucketed
 * expiry. Time is counted in ticks: a session touched at tick T with a timeout of K ticks expires
 * when tick T + K + 1 is processed, so expiry is checked once per tick for a whole bucket.
 * @module
 */
import { assert } from "../assert.ts";

/** One live session. */
export interface Session {
  id: number;
  timeoutMs: number;
  password: Uint8Array;
  /** Tick at which the session expires unless touched again. */
  expiresAtTick: number;
  /** Set once a close or expiry txn is ordered: no new requests are accepted. */
  closing: boolean;
}

/**
 * Live sessions and their expiry buckets.
 *
 * @example
 * ```ts
 * import { SessionTable } from "./session_table.ts";
 * const sessions = new SessionTable(2000);
 * sessions.add(1, 4000, new Uint8Array(16), 0); // expires at tick 3 unless touched
 * sessions.expiredAt(3); // [1]
 * ```
 */
export class SessionTable {
  #sessions = new Map<number, Session>();
  #buckets = new Map<number, Set<number>>();

  constructor(readonly tickMs: number) {
    assert(tickMs > 0, "tickMs is positive");
  }

  /** Number of live sessions. */
  get size(): number {
    return this.#sessions.size;
  }

  /** The session with `id`, if live. */
  get(id: number): Session | undefined {
    return this.#sessions.get(id);
  }

  /** All live sessions, in id order (for snapshots). */
  all(): Session[] {
    return [...this.#sessions.values()].sort((a, b) => a.id - b.id);
  }

  /** Adds a session (from a createSession txn) that expires `timeoutMs` after `nowTick`. */
  add(id: number, timeoutMs: number, password: Uint8Array, nowTick: number): Session {
    assert(!this.#sessions.has(id), `session ${id} is new`);
    const session: Session = { id, timeoutMs, password, expiresAtTick: -1, closing: false };
    this.#sessions.set(id, session);
    this.touch(id, nowTick);
    return session;
  }

  /** Pushes the expiry of a live session to its timeout after `nowTick`; false if unknown. */
  touch(id: number, nowTick: number): boolean {
    const session = this.#sessions.get(id);
    if (!session || session.closing) return false;
    const expiresAtTick = nowTick + Math.ceil(session.timeoutMs / this.tickMs) + 1;
    if (expiresAtTick === session.expiresAtTick) return true;
    this.#unbucket(session);
    session.expiresAtTick = expiresAtTick;
    let bucket = this.#buckets.get(expiresAtTick);
    if (!bucket) this.#buckets.set(expiresAtTick, bucket = new Set());
    bucket.add(id);
    return true;
  }

  /** Marks a session as closing (its close txn is ordered); it no longer expires on its own. */
  markClosing(id: number): void {
    const session = this.#sessions.get(id);
    if (!session) return;
    session.closing = true;
    this.#unbucket(session);
  }

  /** Undoes {@linkcode SessionTable.markClosing} (the close txn failed to reach storage). */
  unmarkClosing(id: number, nowTick: number): void {
    const session = this.#sessions.get(id);
    if (!session || !session.closing) return;
    session.closing = false;
    session.expiresAtTick = -1;
    this.touch(id, nowTick);
  }

  /** Removes a session (its close txn was applied). */
  remove(id: number): void {
    const session = this.#sessions.get(id);
    if (!session) return;
    this.#unbucket(session);
    this.#sessions.delete(id);
  }

  /** Sessions whose expiry tick is at or before `nowTick` and that are not already closing. */
  expiredAt(nowTick: number): number[] {
    const expired: number[] = [];
    for (const [tick, bucket] of this.#buckets) {
      if (tick <= nowTick) expired.push(...bucket);
    }
    return expired.sort((a, b) => a - b);
  }

  #unbucket(session: Session): void {
    const bucket = this.#buckets.get(session.expiresAtTick);
    bucket?.delete(session.id);
    if (bucket?.size === 0) this.#buckets.delete(session.expiresAtTick);
  }
}
