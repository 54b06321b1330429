/**
 * The read checker (REFERENCE §6 "Reads"): every read returns the state after some prefix of the
 * committed writes, namely the prefix up to the zxid its response carries; every acknowledged
 * write is a committed txn of its own session with the content the client asked for; and each
 * client's view only moves forward (monotonic prefix, read-your-writes), across reconnects too.
 * @module
 */
import type { Txn } from "../../src/tree/txn.ts";
import type { Stat } from "../../src/tree/types.ts";
import { statFields } from "../../src/tree/types.ts";
import type { ClientRequest, MultiOp } from "../../src/wire/messages.ts";
import {
  type CommittedReplay,
  hex,
  type NodeView,
  replayCommitted,
  type StateQuery,
} from "./committed.ts";
import type { CheckResult, History, HistoryOp, Violation } from "./history.ts";

const readOps = new Set(["getData", "exists", "getChildren", "getACL"]);
const writeOps = new Set(["create", "delete", "setData", "setACL", "multi", "check", "close"]);

/** Which model answers an op needs: at its response zxid, and (for a versioned delete) just before. */
interface OpQueries {
  at?: number;
  before?: number;
}

/**
 * Judges every answered op of `history` against its committed txns (see the module doc).
 * `checked` counts the ops with a response.
 *
 * @example
 * ```ts
 * import { checkReads } from "./reads.ts";
 * checkReads({ ops: [], events: [], sessions: [], committed: [] }).violations; // []
 * ```
 */
export function checkReads(history: History): CheckResult {
  const queries: StateQuery[] = [];
  const planned = new Map<number, OpQueries>();
  for (const op of history.ops) planned.set(op.index, planQueries(op, queries));
  const replay = replayCommitted(history.committed, queries);
  const violations: Violation[] = [...replay.violations];
  const claims = new Map<number, HistoryOp>();
  let checked = 0;
  for (const op of history.ops) {
    if (op.response === null) continue;
    checked++;
    if (op.response.zxid > replay.lastZxid) {
      violations.push(violation(
        `${describeOp(op)} was answered at zxid ${hex(op.response.zxid)}, beyond the last ` +
          `committed zxid ${hex(replay.lastZxid)}`,
        [op],
      ));
      continue;
    }
    const answers = planned.get(op.index)!;
    const at = answers.at === undefined ? undefined : replay.answers[answers.at];
    const before = answers.before === undefined ? undefined : replay.answers[answers.before];
    const problem = readOps.has(op.request.op)
      ? judgeRead(op, at)
      : op.outcome === "ok" && writeOps.has(op.request.op)
      ? judgeWrite(op, { at, before }, replay, claims)
      : null;
    if (problem) violations.push(problem);
  }
  violations.push(...checkMonotonic(history.ops));
  return { violations, checked };
}

function planQueries(op: HistoryOp, queries: StateQuery[]): OpQueries {
  const response = op.response;
  if (response === null || response.zxid <= 0) return {};
  const ask = (zxid: number, path: string) => queries.push({ zxid, path }) - 1;
  const request = op.request;
  if (readOps.has(request.op) && "path" in request) return { at: ask(response.zxid, request.path) };
  if (op.outcome !== "ok") return {};
  switch (request.op) {
    case "create":
      return { at: ask(response.zxid, response.path ?? request.path) };
    case "setData":
    case "setACL":
      return { at: ask(response.zxid, request.path) };
    case "delete":
      return request.version === -1 ? {} : { before: ask(response.zxid - 1, request.path) };
    default:
      return {};
  }
}

/** Names an op for a report: `client 3 getData /k1 (xid 12, session 0x7, connection 2 to server 1)`. */
export function describeOp(op: HistoryOp): string {
  const path = "path" in op.request ? ` ${op.request.path}` : "";
  return `client ${op.client} ${op.request.op}${path} (xid ${op.xid}, session ${
    hex(op.sessionId)
  }, connection ${op.connection} to server ${op.server})`;
}

function violation(message: string, ops: HistoryOp[]): Violation {
  return { check: "reads", message, ops: ops.map((o) => o.index) };
}

// ---- reads --------------------------------------------------------------------------------------

function judgeRead(op: HistoryOp, node: NodeView | null | undefined): Violation | null {
  const response = op.response!;
  if (response.zxid <= 0) return null; // zxid 0: the server said nothing about when it read.
  const at = `at zxid ${hex(response.zxid)}`;
  if (response.err !== undefined) {
    if (response.err !== "NoNode" || node === null) return null;
    return violation(`${describeOp(op)} answered NoNode ${at}, but the node existed then`, [op]);
  }
  const problem = readMismatch(op, node ?? null);
  return problem ? violation(`${describeOp(op)} ${at}: ${problem}`, [op]) : null;
}

/** How an ok read's answer differs from the model's node, or null when it matches. */
function readMismatch(op: HistoryOp, node: NodeView | null): string | null {
  const response = op.response!;
  if (op.request.op === "exists") {
    if (node === null) {
      return response.stat == null ? null : "it says the node exists, but it did not then";
    }
    if (response.stat == null) return "it says the node is missing, but it existed then";
    return statMismatch(response.stat, node.stat);
  }
  if (node === null) return "it answered ok, but the node did not exist then";
  if (response.stat == null) return "the answer carries no stat";
  const stat = statMismatch(response.stat, node.stat);
  if (stat) return stat;
  switch (op.request.op) {
    case "getData":
      return equalBytes(response.data ?? new Uint8Array(0), node.data)
        ? null
        : `data ${show(response.data)}, but the node held ${show(node.data)} then`;
    case "getChildren": {
      const got = [...(response.children ?? [])].sort();
      return got.join("\n") === node.children.join("\n")
        ? null
        : `children [${got.join(", ")}], but the node had [${node.children.join(", ")}] then`;
    }
    case "getACL": {
      const key = (acl: readonly { perms: number; scheme: string; id: string }[]) =>
        acl.map((a) => `${a.perms}:${a.scheme}:${a.id}`).join(",");
      return key(response.acl ?? []) === key(node.acl)
        ? null
        : `ACL ${key(response.acl ?? [])}, but the node had ${key(node.acl)} then`;
    }
  }
  return null;
}

function statMismatch(got: Stat, expected: Stat): string | null {
  const wrong = statFields.filter((f) => got[f] !== expected[f]);
  if (wrong.length === 0) return null;
  return "stat differs from the committed state: " +
    wrong.map((f) => `${f} ${got[f]}, expected ${expected[f]}`).join("; ");
}

function show(data: Uint8Array | undefined): string {
  const bytes = data ?? new Uint8Array(0);
  const text = new TextDecoder().decode(bytes.subarray(0, 32));
  return JSON.stringify(text) + (bytes.byteLength > 32 ? `... (${bytes.byteLength} bytes)` : "");
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}

// ---- writes -------------------------------------------------------------------------------------

function judgeWrite(
  op: HistoryOp,
  answers: { at: NodeView | null | undefined; before: NodeView | null | undefined },
  replay: CommittedReplay,
  claims: Map<number, HistoryOp>,
): Violation | null {
  const response = op.response!;
  const fail = (what: string, ops = [op]) => violation(`${describeOp(op)} ${what}`, ops);
  const applied = replay.byZxid.get(response.zxid);
  if (!applied) return fail(`succeeded at zxid ${hex(response.zxid)}, but no txn committed there`);
  const { record } = applied;
  if (record.sessionId !== op.sessionId) {
    return fail(
      `succeeded at zxid ${hex(response.zxid)}, but that txn came from session ` +
        hex(record.sessionId),
    );
  }
  const other = claims.get(record.zxid);
  if (other) {
    return fail(`claims txn ${hex(record.zxid)}, which ${describeOp(other)} claimed already`, [
      other,
      op,
    ]);
  }
  claims.set(record.zxid, op);
  const differs = txnMismatch(op.request, record.txn, op.sessionId) ??
    multiResultMismatch(op, record.txn);
  if (differs) return fail(`succeeded at zxid ${hex(response.zxid)}, but the txn there ${differs}`);
  const effect = effectMismatch(op, answers);
  return effect ? fail(`at zxid ${hex(response.zxid)}: ${effect}`) : null;
}

const sequenceSuffix = /^(\d{10}|-\d{9})$/;

type SingleWrite = MultiOp | Extract<ClientRequest, { op: "setACL" }>;

/** How committed `txn` differs from the single op the client sent, or null. */
function opMismatch(op: SingleWrite, txn: Txn, sessionId: number): string | null {
  if (txn.type !== op.op) return `is a ${txn.type}, not a ${op.op}`;
  const samePath = (path: string) =>
    path === op.path ? null : `is on ${JSON.stringify(path)}, not ${JSON.stringify(op.path)}`;
  switch (op.op) {
    case "create": {
      const t = txn as Extract<Txn, { type: "create" }>;
      const sequential = op.mode === "persistentSequential" || op.mode === "ephemeralSequential";
      if (sequential) {
        if (!t.path.startsWith(op.path) || !sequenceSuffix.test(t.path.slice(op.path.length))) {
          return `creates ${t.path}, not ${op.path} with a 10-digit sequence suffix`;
        }
      } else if (samePath(t.path)) return samePath(t.path);
      if (!equalBytes(t.data, op.data)) return `holds data ${show(t.data)}, not ${show(op.data)}`;
      const owner = op.mode === "ephemeral" || op.mode === "ephemeralSequential" ? sessionId : 0;
      return t.ephemeralOwner === owner
        ? null
        : `has ephemeralOwner ${hex(t.ephemeralOwner)}, not ${hex(owner)}`;
    }
    case "delete":
      return samePath(txn.path);
    case "setData": {
      const t = txn as Extract<Txn, { type: "setData" }>;
      if (samePath(t.path)) return samePath(t.path);
      if (!equalBytes(t.data, op.data)) return `holds data ${show(t.data)}, not ${show(op.data)}`;
      return op.version === -1 || t.version === op.version + 1
        ? null
        : `makes version ${t.version}, but the request expected version ${op.version}`;
    }
    case "check": {
      const t = txn as Extract<Txn, { type: "check" }>;
      if (samePath(t.path)) return samePath(t.path);
      return t.version === op.version ? null : `checks version ${t.version}, not ${op.version}`;
    }
    case "setACL": {
      // The ACL itself is not compared: the server expands "auth" entries into identities.
      const t = txn as Extract<Txn, { type: "setACL" }>;
      if (samePath(t.path)) return samePath(t.path);
      return op.version === -1 || t.aversion === op.version + 1
        ? null
        : `makes aversion ${t.aversion}, but the request expected aversion ${op.version}`;
    }
  }
}

/**
 * How committed `txn` differs from the write `request` that `sessionId` sent, or null when the
 * txn is that request's (the txn decides what the request left open: sequence suffixes, versions
 * for -1, expanded ACLs).
 */
export function txnMismatch(request: ClientRequest, txn: Txn, sessionId: number): string | null {
  if (request.op === "close") {
    return txn.type === "closeSession" && txn.sessionId === sessionId
      ? null
      : `is a ${txn.type}, not this session's closeSession`;
  }
  if (request.op !== "multi") return opMismatch(request as SingleWrite, txn, sessionId);
  if (txn.type !== "multi") return `is a ${txn.type}, not a multi`;
  if (txn.txns.length !== request.ops.length) {
    return `holds ${txn.txns.length} txns for the ${request.ops.length} ops sent`;
  }
  for (let i = 0; i < request.ops.length; i++) {
    const differs = opMismatch(request.ops[i], txn.txns[i], sessionId);
    if (differs) return `(op ${i}) ${differs}`;
  }
  return null;
}

/** For an answered multi: a created path the client was told that the txn did not make. */
function multiResultMismatch(op: HistoryOp, txn: Txn): string | null {
  if (txn.type !== "multi") return null;
  for (let i = 0; i < txn.txns.length; i++) {
    const result = op.response!.results?.[i];
    const sub = txn.txns[i];
    if (sub.type === "create" && result?.op === "create" && result.path !== sub.path) {
      return `(op ${i}) creates ${sub.path}, but the client was told ${result.path}`;
    }
  }
  return null;
}

/** Whether the response's stat and path, and a versioned delete, agree with the model. */
function effectMismatch(
  op: HistoryOp,
  answers: { at: NodeView | null | undefined; before: NodeView | null | undefined },
): string | null {
  const request = op.request;
  const response = op.response!;
  switch (request.op) {
    case "create":
    case "setData":
    case "setACL": {
      if (answers.at === undefined) return null;
      if (answers.at === null) return `the node does not exist after the write`;
      if (response.stat == null) return `the answer carries no stat`;
      return statMismatch(response.stat, answers.at.stat);
    }
    case "delete": {
      if (answers.before == null) return null;
      const version = answers.before.stat.version;
      return version === request.version
        ? null
        : `delete expected version ${request.version}, but the node was at ${version}`;
    }
  }
  return null;
}

// ---- monotonic prefix ---------------------------------------------------------------------------

/**
 * Per client (and per session, when several clients shared one), in xid order: response zxids
 * never go down. This is both "a client never goes back in time" across reconnects and
 * read-your-writes, since a write's response carries its own zxid.
 */
function checkMonotonic(ops: readonly HistoryOp[]): Violation[] {
  const byClient = groupBy(ops, (op) => op.client);
  const bySession = groupBy(ops, (op) => op.sessionId);
  const groups = [...byClient.values()];
  for (const group of bySession.values()) {
    if (new Set(group.map((op) => op.client)).size > 1) groups.push(group);
  }
  const violations: Violation[] = [];
  for (const group of groups) {
    const answered = group.filter((op) => op.response !== null && op.response.zxid > 0);
    answered.sort((a, b) => a.xid - b.xid);
    let latest: HistoryOp | null = null;
    for (const op of answered) {
      if (latest === null || op.response!.zxid > latest.response!.zxid) {
        latest = op;
        continue;
      }
      if (op.response!.zxid < latest.response!.zxid) {
        violations.push(violation(backwardsMessage(op, latest), [latest, op]));
      }
    }
  }
  return violations;
}

function backwardsMessage(op: HistoryOp, latest: HistoryOp): string {
  const request = op.request;
  const what = readOps.has(request.op) && "path" in request
    ? `read ${request.path}`
    : `got ${request.op}'s answer`;
  const earlier = writeOps.has(latest.request.op) && latest.outcome === "ok"
    ? `its own write at ${hex(latest.response!.zxid)} completed`
    : `it had seen zxid ${hex(latest.response!.zxid)}`;
  return `client ${op.client} ${what} at zxid ${hex(op.response!.zxid)} after ${earlier}: ` +
    `${describeOp(op)} came after ${describeOp(latest)}`;
}

function groupBy<K>(ops: readonly HistoryOp[], key: (op: HistoryOp) => K): Map<K, HistoryOp[]> {
  const out = new Map<K, HistoryOp[]>();
  for (const op of ops) {
    let list = out.get(key(op));
    if (!list) out.set(key(op), list = []);
    list.push(op);
  }
  return out;
}
