/**
 * The FIFO checker (REFERENCE §6 "FIFO client order", §4 "Ordering"): on each connection the
 * answers come back in the order the requests went out, a session's writes take effect in that
 * order, and responses and watch events on one connection carry zxids that never go down.
 * @module
 */
import { hex } from "./committed.ts";
import type { CheckResult, History, HistoryEvent, HistoryOp, Violation } from "./history.ts";
import { describeOp } from "./reads.ts";

const writeOps = new Set(["create", "delete", "setData", "setACL", "multi", "check", "close"]);

/**
 * Judges the order of answers, write effects and events of `history` (see the module doc).
 * `checked` counts the ops with a response.
 *
 * @example
 * ```ts
 * import { checkFifo } from "./fifo.ts";
 * checkFifo({ ops: [], events: [], sessions: [], committed: [] }).violations; // []
 * ```
 */
export function checkFifo(history: History): CheckResult {
  const violations: Violation[] = [];
  const answered = history.ops.filter((op) => op.completed !== null && op.response !== null);
  for (const op of answered) violations.push(...answerShape(op));
  violations.push(...uniqueXids(history.ops));
  const connections = group(history.ops, (op) => `${op.client} ${op.connection}`);
  const eventsOf = group(history.events, (e) => `${e.client} ${e.connection}`);
  for (const [key, ops] of connections) {
    violations.push(...answersInSendOrder(ops));
    violations.push(...zxidsOnConnection(ops, eventsOf.get(key) ?? []));
  }
  for (const ops of group(history.ops, (op) => `${op.client} ${op.sessionId}`).values()) {
    violations.push(...writesInSendOrder(ops));
  }
  return { violations, checked: answered.length };
}

function violation(message: string, ops: HistoryOp[]): Violation {
  return { check: "fifo", message, ops: ops.map((op) => op.index) };
}

/** A response answers its own request, and comes after it was sent. */
function answerShape(op: HistoryOp): Violation[] {
  const out: Violation[] = [];
  if (op.response!.xid !== op.xid) {
    out.push(violation(`${describeOp(op)} got the response for xid ${op.response!.xid}`, [op]));
  }
  if (op.completed! <= op.invoked) {
    out.push(violation(`${describeOp(op)} was answered before it was sent`, [op]));
  }
  return out;
}

/** A client never uses an xid twice, so no op can be answered twice. */
function uniqueXids(ops: readonly HistoryOp[]): Violation[] {
  const out: Violation[] = [];
  const seen = new Map<string, HistoryOp>();
  for (const op of ops) {
    const key = `${op.client} ${op.xid}`;
    const first = seen.get(key);
    if (first) {
      out.push(violation(`${describeOp(op)} reuses the xid of ${describeOp(first)}`, [first, op]));
    } else seen.set(key, op);
  }
  return out;
}

/**
 * On one connection, answers arrive in xid order, and an answer to a later request means every
 * earlier one was answered (the server never skips a request of a live connection).
 */
function answersInSendOrder(ops: readonly HistoryOp[]): Violation[] {
  const out: Violation[] = [];
  const byArrival = ops.filter((op) => op.completed !== null).sort((a, b) =>
    a.completed! - b.completed!
  );
  for (let i = 1; i < byArrival.length; i++) {
    const [before, after] = [byArrival[i - 1], byArrival[i]];
    if (after.xid < before.xid) {
      out.push(violation(
        `client ${after.client} connection ${after.connection}: the response to xid ${after.xid} ` +
          `arrived after the response to xid ${before.xid}, which was sent later: ` +
          `${describeOp(after)} after ${describeOp(before)}`,
        [before, after],
      ));
    }
  }
  const lastAnswered = byArrival.reduce((max, op) => Math.max(max, op.xid), -Infinity);
  for (const op of ops) {
    const unanswered = op.outcome === "unknown" || op.outcome === "pending";
    if (op.completed === null && unanswered && op.xid < lastAnswered) {
      out.push(violation(
        `${describeOp(op)} was never answered, though a request sent after it on the same ` +
          `connection was`,
        [op],
      ));
    }
  }
  return out;
}

/** A session's acknowledged writes took effect in the order they were sent: zxids grow with xid. */
function writesInSendOrder(ops: readonly HistoryOp[]): Violation[] {
  const out: Violation[] = [];
  const writes = ops
    .filter((op) => op.outcome === "ok" && op.response !== null && writeOps.has(op.request.op))
    .sort((a, b) => a.xid - b.xid);
  for (let i = 1; i < writes.length; i++) {
    const [before, after] = [writes[i - 1], writes[i]];
    if (after.response!.zxid <= before.response!.zxid) {
      out.push(violation(
        `client ${after.client} session ${hex(after.sessionId)}: a write took effect at zxid ` +
          `${hex(after.response!.zxid)}, not after the write sent before it ` +
          `(${hex(before.response!.zxid)}): ${describeOp(after)} after ${describeOp(before)}`,
        [before, after],
      ));
    }
  }
  return out;
}

/** Responses and events of one connection, by arrival, carry zxids that never go down (0 skipped). */
function zxidsOnConnection(
  ops: readonly HistoryOp[],
  events: readonly HistoryEvent[],
): Violation[] {
  type Arrival = { at: number; zxid: number; op: HistoryOp | null; what: string };
  const arrivals: Arrival[] = [];
  for (const op of ops) {
    if (op.completed === null || op.response === null || op.response.zxid <= 0) continue;
    arrivals.push({
      at: op.completed,
      zxid: op.response.zxid,
      op,
      what: `the response to ${describeOp(op)}`,
    });
  }
  for (const e of events) {
    if (e.zxid <= 0) continue;
    arrivals.push({ at: e.at, zxid: e.zxid, op: null, what: `event ${e.type} ${e.path}` });
  }
  arrivals.sort((a, b) => a.at - b.at);
  const out: Violation[] = [];
  let highest: Arrival | null = null;
  for (const arrival of arrivals) {
    if (highest !== null && arrival.zxid < highest.zxid) {
      const involved = [highest.op, arrival.op].filter((op): op is HistoryOp => op !== null);
      out.push(violation(
        `${arrival.what} at zxid ${hex(arrival.zxid)} arrived after ${highest.what} at zxid ` +
          `${hex(highest.zxid)} on the same connection`,
        involved,
      ));
    }
    if (highest === null || arrival.zxid > highest.zxid) highest = arrival;
  }
  return out;
}

function group<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const item of items) {
    let list = out.get(key(item));
    if (!list) out.set(key(item), list = []);
    list.push(item);
  }
  return out;
}
