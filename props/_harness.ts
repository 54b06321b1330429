/**
 * The host side of the model-based test: drives a replica (the real one, or one with a seeded
 * bug) as the server shell would, records what each connection receives, and plays storage,
 * reporting a persisted batch durable when the schedule says so.
 * @module
 */
import assert from "../tests/assert.ts";
import type { ReplicaAction, ReplicaEvent } from "../src/replica/types.ts";
import type { Stat } from "../src/tree/types.ts";
import type { ClientRequest, ServerMessage } from "../src/wire/messages.ts";
import type { Delivery } from "./_model.ts";

/** What the harness needs of a replica: `step`, and its tree to compare after each command. */
export interface SteppableReplica {
  step(event: ReplicaEvent): ReplicaAction[];
  readonly tree: {
    paths(): Iterable<string>;
    getData(path: string): { data: Uint8Array; stat: Stat } | null;
  };
}

/** The free text of errors is for humans; everything else a client sees is compared. */
function withoutMessage(value: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(value)) {
    if (field === undefined) continue;
    if (key === "message" && "err" in value) {
      assert.equal(typeof field, "string", "an error carries a message for humans");
      continue;
    }
    out[key] = field;
  }
  return out;
}

/** A server message as the property compares it (see {@linkcode Delivery}). */
export function normalizeMessage(message: ServerMessage): Delivery {
  const out = withoutMessage(message as unknown as Record<string, unknown>) as Delivery;
  if (Array.isArray(out.results)) {
    out.results = (out.results as Record<string, unknown>[]).map(withoutMessage);
  }
  return out;
}

/**
 * The order of the events one txn fires on one connection is not part of the contract (a session
 * close deletes its ephemerals in no promised order), so runs of events with the same zxid are
 * sorted. Events still must come in zxid order, and before any later response.
 */
export function canonicalOrder(deliveries: readonly Delivery[]): Delivery[] {
  const out: Delivery[] = [];
  let run: Delivery[] = [];
  const key = (d: Delivery) => `${d.type} ${d.path}`;
  const flush = () => {
    out.push(...run.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0)));
    run = [];
  };
  for (const delivery of deliveries) {
    if (delivery.t === "event" && run.length > 0 && run[0].zxid === delivery.zxid) {
      run.push(delivery);
      continue;
    }
    flush();
    if (delivery.t === "event") run.push(delivery);
    else out.push(delivery);
  }
  flush();
  return out;
}

/** Password entropy for new sessions; any 16 bytes will do. */
const entropy = new Uint8Array(16).fill(7);

/**
 * Plays host for a replica: one connection per session slot (connId = slot + 1), storage that
 * holds persisted batches until told to make them durable, and a record of deliveries.
 */
export class ReplicaHarness {
  #batches: number[][] = [];
  #received = new Map<number, Delivery[]>();
  #open = new Set<number>();
  #nextXid = new Map<number, number>();
  #slots = 0;

  constructor(readonly replica: SteppableReplica) {}

  /** zxids persisted and not yet reported durable, in order. */
  get outstandingZxids(): number[] {
    return this.#batches.flat();
  }

  /** Number of persisted batches not yet reported durable. */
  get outstandingBatches(): number {
    return this.#batches.length;
  }

  /** Opens a connection for a new session and makes its createSession durable at once. */
  connect(timeoutMs: number, nowMs: number): { slot: number; connected: Delivery } {
    const slot = this.#slots++;
    this.#open.add(slot);
    this.#step({
      type: "connect",
      connId: slot + 1,
      nowMs,
      remoteAddress: "127.0.0.1",
      request: {
        op: "connect",
        proto: 1,
        timeoutMs,
        sessionId: 0,
        password: new Uint8Array(),
        lastZxid: 0,
      },
      entropy,
    });
    assert.equal(this.#batches.length, 1, "a new session is one createSession txn to persist");
    this.makeDurable(1);
    const received = this.takeDeliveries().get(slot) ?? [];
    assert.equal(received.length, 1, "a new session is answered with exactly one message");
    assert.equal(received[0].t, "connected", "a new session is answered with connected");
    return { slot, connected: received[0] };
  }

  /** The next xid of a slot's connection (1, 2, 3, ...). */
  nextXid(slot: number): number {
    const xid = (this.#nextXid.get(slot) ?? 0) + 1;
    this.#nextXid.set(slot, xid);
    return xid;
  }

  /** A request arrives on a slot's connection. */
  request(slot: number, request: ClientRequest, nowMs: number): void {
    this.#step({ type: "request", connId: slot + 1, nowMs, request });
  }

  /** One tick of the clock. */
  tick(nowMs: number): void {
    this.#step({ type: "tick", nowMs });
  }

  /** The client side of a slot's connection goes away. */
  disconnect(slot: number): void {
    this.#open.delete(slot);
    this.#step({ type: "disconnect", connId: slot + 1 });
  }

  /**
   * Storage finishes the oldest `batches` persisted batches (all when larger): reports the last
   * zxid of the last of them durable. Returns that zxid, or null when nothing was outstanding.
   */
  makeDurable(batches: number): number | null {
    const done = this.#batches.splice(0, batches);
    if (done.length === 0) return null;
    const zxid = done[done.length - 1].at(-1)!;
    this.#step({ type: "durable", zxid });
    return zxid;
  }

  /** What each slot's connection received since the last call. */
  takeDeliveries(): Map<number, Delivery[]> {
    const out = this.#received;
    this.#received = new Map();
    return out;
  }

  #step(event: ReplicaEvent): void {
    const closed: number[] = [];
    for (const action of this.replica.step(event)) {
      switch (action.type) {
        case "send":
          this.#deliver(action.connId - 1, normalizeMessage(action.message));
          break;
        case "close":
          this.#deliver(action.connId - 1, { t: "close" });
          this.#open.delete(action.connId - 1);
          closed.push(action.connId);
          break;
        case "persist": {
          assert.ok(action.records.length > 0, "a persist action carries records");
          const last = this.outstandingZxids.at(-1);
          action.records.forEach((record, i) => {
            if (last !== undefined || i > 0) {
              const previous = i > 0 ? action.records[i - 1].zxid : last!;
              assert.equal(
                record.zxid,
                previous + 1,
                "txns are persisted in zxid order without gaps",
              );
            }
          });
          this.#batches.push(action.records.map((r) => r.zxid));
          break;
        }
        case "log":
          break;
      }
    }
    // The host reports every connection the replica closed, as the shell does.
    for (const connId of closed) this.#step({ type: "disconnect", connId });
  }

  #deliver(slot: number, delivery: Delivery): void {
    assert.ok(
      slot >= 0 && slot < this.#slots,
      `the replica sent to a known connection (${slot + 1})`,
    );
    assert.ok(
      this.#open.has(slot),
      `the replica sent ${delivery.t} to connection ${slot + 1}, which is closed`,
    );
    let list = this.#received.get(slot);
    if (!list) this.#received.set(slot, list = []);
    list.push(delivery);
  }
}
