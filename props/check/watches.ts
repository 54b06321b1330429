/**
 * The watch checker (REFERENCE §4): one-shot watches judged against the committed write order.
 *
 * Per session, in arrival order, it tracks each registration (an ok getData, getChildren or
 * exists with `watch`) from the zxid its response carries until an event consumes it or the
 * session ends; it stays pending across reconnects, since the client re-sends it with
 * `setWatches`. For each registration, T is the first committed change after it (and before the
 * session's closeSession) that fires it. Then:
 * - every event consumes a pending registration of its session, path and a table it can fire
 *   (a NodeDeleted consumes both tables' of that path); otherwise it fired twice or unasked;
 * - an event on the registration's connection names T exactly (type, path, zxid); an event on a
 *   later connection (the catch-up `setWatches` fires at once) is what the server's setWatches
 *   rules give for the state at the event's zxid, and T committed at or before it;
 * - an event comes before any response of the session that reflects T (zxid >= T's): on the
 *   registration's connection always; on a later one too, except for an exists-watch on a node
 *   that is missing again (a create and delete while disconnected are missed, as in ZooKeeper);
 * - no event carries a zxid at or after the session's end.
 * @module
 */
import type { WatchEventType } from "../../src/tree/types.ts";
import {
  fires,
  hex,
  type NodeView,
  type PlacedTrigger,
  replayCommitted,
  TriggerIndex,
  type WatchTableName,
} from "./committed.ts";
import type { CheckResult, History, HistoryEvent, HistoryOp, Violation } from "./history.ts";
import { describeOp } from "./reads.ts";

/** A pending watch: `exist` is an exists-watch on a missing node (the data table on the server). */
interface Registration {
  op: HistoryOp;
  table: WatchTableName;
  kind: "data" | "exist" | "child";
  path: string;
  zxid: number;
  /** The first committed change that fires it, before the session ended. */
  trigger: PlacedTrigger | null;
  /** Already reported as overtaken by a response; reported once. */
  reported: boolean;
}

/** What one session saw, in arrival order. */
type Arrival =
  | { at: number; kind: "response"; op: HistoryOp }
  | { at: number; kind: "event"; event: HistoryEvent; state: NodeView | null };

/** What the walk over one session needs from the whole history. */
interface Context {
  index: TriggerIndex;
  /** zxid of the session's closeSession, or Infinity. */
  end: number;
  violations: Violation[];
  checked: number;
}

/**
 * Judges every watch registration and event of `history` (see the module doc). `checked`
 * counts registrations plus events.
 *
 * @example
 * ```ts
 * import { checkWatches } from "./watches.ts";
 * checkWatches({ ops: [], events: [], sessions: [], committed: [] }).violations; // []
 * ```
 */
export function checkWatches(history: History): CheckResult {
  const replay = replayCommitted(
    history.committed,
    history.events.map((e) => ({ zxid: e.zxid, path: e.path })),
  );
  const index = new TriggerIndex(replay);
  const arrivals = new Map<number, Arrival[]>();
  const arrivalsOf = (sessionId: number) => {
    let list = arrivals.get(sessionId);
    if (!list) arrivals.set(sessionId, list = []);
    return list;
  };
  for (const op of history.ops) {
    if (op.completed === null || op.response === null) continue;
    arrivalsOf(op.sessionId).push({ at: op.completed, kind: "response", op });
  }
  history.events.forEach((event, i) => {
    arrivalsOf(event.sessionId).push({
      at: event.at,
      kind: "event",
      event,
      state: replay.answers[i],
    });
  });
  const violations: Violation[] = [];
  let checked = 0;
  for (const [sessionId, list] of arrivals) {
    list.sort((a, b) => a.at - b.at);
    const context = {
      index,
      end: replay.sessionEnds.get(sessionId) ?? Infinity,
      violations,
      checked: 0,
    };
    walkSession(list, context);
    checked += context.checked;
  }
  return { violations, checked };
}

function walkSession(arrivals: readonly Arrival[], context: Context): void {
  const pending = new Map<string, Registration>();
  /** The event that last consumed each (table, path), until a new registration. */
  const consumed = new Map<string, HistoryEvent>();
  for (const arrival of arrivals) {
    if (arrival.kind === "event") {
      context.checked++;
      onEvent(arrival.event, arrival.state, pending, consumed, context);
      continue;
    }
    checkOvertaken(arrival.op, pending, context);
    const registration = registrationOf(arrival.op, context);
    if (registration === null) continue;
    context.checked++;
    const key = `${registration.table} ${registration.path}`;
    consumed.delete(key);
    // A second registration before the first fired is the same watch (REFERENCE §4).
    if (!pending.has(key)) pending.set(key, registration);
  }
}

function registrationOf(op: HistoryOp, context: Context): Registration | null {
  const request = op.request;
  const response = op.response!;
  if (op.outcome !== "ok" || response.err !== undefined) return null;
  if (request.op !== "getData" && request.op !== "exists" && request.op !== "getChildren") {
    return null;
  }
  if (!request.watch) return null;
  const table = request.op === "getChildren" ? "child" : "data";
  const kind = request.op === "getChildren"
    ? "child"
    : request.op === "exists" && response.stat == null
    ? "exist"
    : "data";
  return {
    op,
    table,
    kind,
    path: request.path,
    zxid: response.zxid,
    trigger: context.index.firstAfter(table, request.path, response.zxid, context.end),
    reported: false,
  };
}

/** A response that reflects a pending watch's change must come after the watch's event. */
function checkOvertaken(
  op: HistoryOp,
  pending: Map<string, Registration>,
  context: Context,
): void {
  const zxid = op.response!.zxid;
  if (zxid <= 0) return;
  for (const reg of pending.values()) {
    if (reg.reported || reg.trigger === null || reg.trigger.zxid > zxid) continue;
    const sameConnection = op.connection === reg.op.connection;
    // After a reconnect an exists-watch on a node missing again may have missed the create.
    if (!sameConnection && reg.kind === "exist" && !context.index.existsAt(reg.path, zxid)) {
      continue;
    }
    reg.reported = true;
    context.violations.push(violation(
      `session ${hex(op.sessionId)}: the ${reg.table} watch on ${reg.path} set by ` +
        `${describeOp(reg.op)} at zxid ${hex(reg.zxid)} was not told of ${reg.trigger.type} ` +
        `at zxid ${hex(reg.trigger.zxid)} before the response to ${describeOp(op)} at zxid ` +
        `${hex(zxid)}, which reflects that change (lost or late event)`,
      [reg.op, op],
    ));
  }
}

function onEvent(
  event: HistoryEvent,
  state: NodeView | null,
  pending: Map<string, Registration>,
  consumed: Map<string, HistoryEvent>,
  context: Context,
): void {
  const what = `client ${event.client} session ${hex(event.sessionId)} got ${event.type} ` +
    `${event.path} at zxid ${hex(event.zxid)} (connection ${event.connection})`;
  if (event.zxid >= context.end) {
    context.violations.push(violation(
      `${what} after the session ended at zxid ${hex(context.end)}`,
      [],
    ));
  }
  const tables = (["data", "child"] as const).filter((t) => fires(event.type, t));
  const regs: Registration[] = [];
  for (const table of tables) {
    const key = `${table} ${event.path}`;
    const reg = pending.get(key);
    if (!reg) continue;
    pending.delete(key);
    consumed.set(key, event);
    regs.push(reg);
  }
  if (regs.length === 0) {
    const earlier = tables.map((t) => consumed.get(`${t} ${event.path}`)).find((e) => e);
    context.violations.push(violation(
      earlier
        ? `${what}: fired twice; the event at zxid ${hex(earlier.zxid)} already consumed the ` +
          `watch and none was set again`
        : `${what}: fired without registration; the session had no pending watch it can fire`,
      [],
    ));
    return;
  }
  for (const reg of regs) {
    const problem = correspondence(event, reg, state, context.index);
    if (problem) {
      context.violations.push(violation(
        `${what} for the ${reg.table} watch set by ${describeOp(reg.op)} at zxid ` +
          `${hex(reg.zxid)}: ${problem}`,
        [reg.op],
      ));
    }
  }
}

/** Why `event` is not a change that fires `reg`, or null. */
function correspondence(
  event: HistoryEvent,
  reg: Registration,
  state: NodeView | null,
  index: TriggerIndex,
): string | null {
  const trigger = reg.trigger;
  if (trigger === null) return `no committed change after the watch was set fires it`;
  const expected = `${trigger.type} at zxid ${hex(trigger.zxid)}`;
  if (event.connection === reg.op.connection) {
    return event.type === trigger.type && event.zxid === trigger.zxid
      ? null
      : `expected ${expected}, the first change that fires it`;
  }
  if (trigger.zxid > event.zxid) return `the first change that fires it is ${expected}, later`;
  // A live event on the new connection names a change that fires the re-sent watch.
  const live = index.firstAfter(reg.table, reg.path, event.zxid - 1);
  if (live && live.zxid === event.zxid && live.type === event.type) return null;
  const problem = catchUpMismatch(event.type, reg, state);
  return problem === null ? null : `${problem} at zxid ${hex(event.zxid)}`;
}

/** What the server's setWatches fires for `reg` given `state` at the event's zxid, if not `type`. */
function catchUpMismatch(
  type: WatchEventType,
  reg: Registration,
  state: NodeView | null,
): string | null {
  switch (reg.kind) {
    case "exist":
      return type === "NodeCreated" && state !== null
        ? null
        : `an exists-watch fires NodeCreated once the node exists, and it ${
          state ? "exists" : "is missing"
        }`;
    case "data":
      if (state === null) return type === "NodeDeleted" ? null : "the node is missing";
      return type === "NodeDataChanged" && state.stat.mzxid > reg.zxid
        ? null
        : `a data watch fires NodeDataChanged when mzxid (${hex(state.stat.mzxid)}) is newer`;
    case "child":
      if (state === null) return type === "NodeDeleted" ? null : "the node is missing";
      return type === "NodeChildrenChanged" && state.stat.pzxid > reg.zxid
        ? null
        : `a child watch fires NodeChildrenChanged when pzxid (${hex(state.stat.pzxid)}) is newer`;
  }
}

function violation(message: string, ops: HistoryOp[]): Violation {
  return { check: "watches", message, ops: ops.map((op) => op.index) };
}
