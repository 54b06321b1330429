/**
 * The linearizability checker (REFERENCE §6, "Linearizable writes"; "sync then read gives the
 * latest committed state"): searches for one total order of the history's writes, synced reads
 * and session ends that respects real time and that a sequential znode tree
 * (`_lin_model.ts`) answers exactly as the servers did. The search is Wing & Gong's with Lowe's
 * memoisation, as Porcupine runs it, on P-compositional parts of the history.
 *
 * What is judged:
 * - writes (create, delete, setData, setACL, check, multi) that answered ok, or that failed with
 *   an error the tree decides (NoNode, NodeExists, BadVersion, NotEmpty, NoChildrenForEphemerals):
 *   each takes effect, or fails, at one point inside [invoked, completed];
 * - unknown/pending writes: at any point after `invoked`, or never;
 * - synced reads: getData/exists/getChildren sent after an ok `sync` on the same connection, at
 *   one point inside [that sync's invoked, the read's completed];
 * - for each session with an ephemeral create, "the session ends" (closeSession): inside
 *   [first sight of the session, when the client learned of the end], or never if it did not.
 *
 * Other errors (SessionExpired, ConnectionLoss, NoAuth, BadArguments, ...) and plain reads are
 * not judged here; `checkReads` judges plain reads.
 *
 * Before searching, each component tries one candidate order: the order the servers committed
 * (`History.committed`), with unknown writes placed at the txn that matches them and reads at the
 * zxid they answered at. The candidate is verified by the same rules as the search (real time,
 * the model's answers, session ends), so it proves a history linearizable without trusting the
 * servers; only when it fails does the search run. After an outage with many writes of unknown
 * outcome, this decides histories whose search space is far beyond any budget.
 * @module
 */
import type { Stat } from "../../src/tree/types.ts";
import type { MultiOp, MultiResult, ResponseMessage } from "../../src/wire/messages.ts";
import type { CheckResult, History, HistoryOp, Violation } from "./history.ts";
import { txnMismatch } from "./reads.ts";
import {
  initialPaths,
  Interner,
  isSequenceSuffix,
  type ModelNode,
  type ModelOp,
  parentPath,
  replay,
  type Scope,
  type Step,
  type StepAnswer,
  TreeModel,
  type WriteExpect,
} from "./_lin_model.ts";

/** Options of {@linkcode checkLinearizable}. */
export interface LinearizableOptions {
  /**
   * Most configurations (set of ops taken, tree state) the search may visit in one component
   * before it gives up and reports "linearizability search budget exceeded" (default 5,000,000).
   */
  maxStates?: number;
  /**
   * Try the committed order as a linearization before searching (default true). False searches
   * every component, which tests use to keep the search itself under test.
   */
  witness?: boolean;
}

/** Default of {@linkcode LinearizableOptions.maxStates}. */
export const linearizableStatesMax = 5_000_000;

/** Errors the tree decides: a write that failed with one of them failed at one point in time. */
const modelErrors: ReadonlySet<string> = new Set([
  "NoNode",
  "NodeExists",
  "BadVersion",
  "NotEmpty",
  "NoChildrenForEphemerals",
]);

/** Lines of a violation's explanation, at most. */
const explainLinesMax = 12;

/** One op of the search: a history op or a session's end. */
interface LinOp {
  /** History index; -1 for a session's end. */
  index: number;
  source: HistoryOp | null;
  session: number;
  invoked: number;
  /** Infinity when the op may take effect at any time after `invoked`, or never. */
  completed: number;
  /** True when the op must take effect (ok or a decided error). */
  required: boolean;
  /** True when taking effect changes nothing (reads, errors, checks). */
  readOnly: boolean;
  /** Exploration order among writes: the response's zxid (not trusted, only a hint). */
  hint: number;
  body: ModelOp;
  /** Paths whose state the op reads or writes (filled in by `assignKeys`). */
  keys: string[];
}

/**
 * Checks that the history's judged ops have a linearization (see the module doc). Each
 * independent component of the history is searched separately; every one must linearize.
 *
 * @example
 * ```ts
 * import { checkLinearizable } from "./linearizable.ts";
 * const result = checkLinearizable({ ops: [], events: [], sessions: [], committed: [] });
 * result.violations.length; // 0
 * ```
 */
export function checkLinearizable(
  history: History,
  options: LinearizableOptions = {},
): CheckResult {
  const statesMax = options.maxStates ?? linearizableStatesMax;
  const interner = new Interner();
  for (const path of initialPaths) interner.path(path);
  const ops = collectOps(history, interner);
  const facts = pathFacts(ops);
  ops.push(...sessionEnds(history, ops));
  assignKeys(ops, facts);
  hintSessionEnds(ops);
  for (const op of ops) for (const key of op.keys) interner.path(key);
  const knownPaths = interner.paths.length;
  const claims = claimedTxns(ops);
  const violations: Violation[] = [];
  for (const component of components(ops)) {
    const scope = componentScope(component, interner, facts, knownPaths);
    const witness = new Search(component, interner, scope, 0, { lazy: false, exact: false });
    const slots = options.witness === false ? null : witnessSlots(history, component, claims);
    if (slots && witness.verify(slots)) continue;
    const violation = searchComponent(component, interner, scope, statesMax);
    if (violation) violations.push(violation);
  }
  return { violations, checked: ops.filter((op) => op.index >= 0).length };
}

// ---------------------------------------------------------------------------------------------
// From history ops to search ops.

function collectOps(history: History, interner: Interner): LinOp[] {
  const ops: LinOp[] = [];
  /** Latest ok sync per (client, connection), by invocation. */
  const syncs = new Map<string, HistoryOp>();
  const sorted = [...history.ops].sort((a, b) => a.invoked - b.invoked);
  for (const op of sorted) {
    const request = op.request;
    const connection = `${op.client}/${op.connection}`;
    switch (request.op) {
      case "sync":
        if (op.outcome === "ok") syncs.set(connection, op);
        break;
      case "getData":
      case "exists":
      case "getChildren": {
        const sync = syncs.get(connection);
        const read = sync ? readOp(op, sync, interner) : null;
        if (read) ops.push(read);
        break;
      }
      case "create":
      case "delete":
      case "setData":
      case "setACL":
      case "check":
      case "multi": {
        const write = writeOp(op, interner);
        if (write) ops.push(write);
        break;
      }
    }
  }
  return ops;
}

function readOp(op: HistoryOp, sync: HistoryOp, interner: Interner): LinOp | null {
  const request = op.request as Extract<HistoryOp["request"], { op: "getData" }>;
  const response = op.response;
  if (op.outcome !== "ok" && op.outcome !== "error") return null;
  if (!response || (response.err !== undefined && !modelErrors.has(response.err))) return null;
  const expect = response.err !== undefined ? { kind: "error" as const, err: response.err } : {
    kind: "ok" as const,
    data: response.data ? interner.data(response.data) : undefined,
    stat: response.stat,
    children: response.children,
  };
  return {
    index: op.index,
    source: op,
    session: op.sessionId,
    invoked: sync.invoked,
    completed: op.completed!,
    required: true,
    readOnly: true,
    hint: response.zxid + 0.5,
    body: {
      kind: "read",
      read: request.op as "getData" | "exists" | "getChildren",
      path: interner.path(request.path),
      expect,
    },
    keys: [],
  };
}

function writeOp(op: HistoryOp, interner: Interner): LinOp | null {
  const request = op.request;
  const multi = request.op === "multi" ? request.ops : [request as MultiOp];
  const expect = writeExpect(op, multi.length);
  if (expect === null) return null;
  const steps: Step[] = request.op === "setACL"
    ? [{ op: "setACL", path: interner.path(request.path), version: request.version }]
    : multi.map((step) => toStep(step, interner));
  const changes = expect.kind !== "error" && steps.some((s) => s.op !== "check");
  return {
    index: op.index,
    source: op,
    session: op.sessionId,
    invoked: op.invoked,
    completed: expect.kind === "unknown" ? Infinity : op.completed!,
    required: expect.kind !== "unknown",
    readOnly: !changes,
    hint: expect.kind === "unknown"
      ? Infinity
      : op.response!.zxid + (expect.kind === "ok" ? 0 : 0.5),
    body: { kind: "write", session: op.sessionId, steps, expect },
    keys: [],
  };
}

/** What the history says of a write; null when it tells nothing (a dropped error). */
function writeExpect(op: HistoryOp, steps: number): WriteExpect | null {
  const response = op.response;
  if (op.outcome === "unknown" || op.outcome === "pending" || !response) {
    return { kind: "unknown" };
  }
  if (op.outcome === "ok") {
    const results = response.results;
    const answers: (StepAnswer | null)[] = op.request.op === "multi"
      ? Array.from({ length: steps }, (_, i) => multiAnswer(results?.[i]))
      : [singleAnswer(response)];
    return { kind: "ok", answers };
  }
  const failed = failedStep(response);
  if (failed === null || !modelErrors.has(failed.err)) return null;
  return { kind: "error", failIndex: failed.index, err: failed.err };
}

function singleAnswer(response: ResponseMessage): StepAnswer {
  return {
    ...(response.path !== undefined ? { path: response.path } : {}),
    ...(response.stat ? { stat: response.stat } : {}),
  };
}

function multiAnswer(result: MultiResult | undefined): StepAnswer | null {
  if (!result || result.op === "error") return null;
  if (result.op === "create") return { path: result.path, stat: result.stat };
  if (result.op === "setData") return { stat: result.stat };
  return null;
}

/** Which step of a failed write failed, and with what (index -1: not said). */
function failedStep(response: ResponseMessage): { index: number; err: string } | null {
  if (response.err === undefined) return null;
  const results = response.results;
  if (!results) return { index: 0, err: response.err };
  const index = results.findIndex((r) =>
    r.op === "error" && r.err !== "RolledBack" && r.err !== "RuntimeInconsistency"
  );
  if (index < 0) return { index: -1, err: response.err };
  return { index, err: (results[index] as Extract<MultiResult, { op: "error" }>).err };
}

function toStep(op: MultiOp, interner: Interner): Step {
  const path = interner.path(op.path);
  switch (op.op) {
    case "create":
      return {
        op: "create",
        path,
        data: interner.data(op.data),
        dataLength: op.data.byteLength,
        ephemeral: op.mode === "ephemeral" || op.mode === "ephemeralSequential",
        sequential: op.mode === "persistentSequential" || op.mode === "ephemeralSequential",
      };
    case "setData":
      return {
        op: "setData",
        path,
        data: interner.data(op.data),
        dataLength: op.data.byteLength,
        version: op.version,
      };
    case "delete":
    case "check":
      return { op: op.op, path, version: op.version };
  }
}

/** The request of a step, back as text paths (for keys and reports). */
function stepsOf(op: LinOp): MultiOp[] {
  const request = op.source?.request;
  if (!request) return [];
  if (request.op === "multi") return request.ops;
  if (request.op === "setACL") return [{ op: "check", path: request.path, version: -1 }];
  return [request as MultiOp];
}

// ---------------------------------------------------------------------------------------------
// Sessions.

/** "Session S ends" for every session with an ephemeral create among the judged ops. */
function sessionEnds(history: History, ops: LinOp[]): LinOp[] {
  const ephemeral = new Set<number>();
  const firstSeen = new Map<number, number>();
  const see = (session: number, at: number) =>
    firstSeen.set(session, Math.min(at, firstSeen.get(session) ?? Infinity));
  for (const op of history.ops) see(op.sessionId, op.invoked);
  for (const op of ops) {
    if (stepsOf(op).some((s) => s.op === "create" && s.mode.startsWith("ephemeral"))) {
      ephemeral.add(op.session);
    }
  }
  const learned = new Map<number, number>();
  const learn = (session: number, at: number) =>
    learned.set(session, Math.min(at, learned.get(session) ?? Infinity));
  for (const event of history.sessions) {
    see(event.sessionId, event.at);
    if (event.kind === "closed" || event.kind === "expired") learn(event.sessionId, event.at);
  }
  for (const op of history.ops) {
    if (op.request.op === "close" && op.outcome === "ok") learn(op.sessionId, op.completed!);
  }
  return [...ephemeral].sort((a, b) => a - b).map((session) => {
    const completed = learned.get(session) ?? Infinity;
    return {
      index: -1,
      source: null,
      session,
      invoked: firstSeen.get(session)!,
      completed,
      required: completed !== Infinity,
      readOnly: false,
      hint: Infinity,
      body: { kind: "sessionEnd", session },
      keys: [],
    };
  });
}

/**
 * A learned session end took its zxid before every op sent after the client learned of it, so
 * its hint is just under the least of their hints.
 */
function hintSessionEnds(ops: LinOp[]): void {
  const hinted = ops.filter((op) => op.index >= 0 && op.required);
  for (const end of ops) {
    if (end.body.kind !== "sessionEnd" || !end.required) continue;
    let least = Infinity;
    for (const op of hinted) if (op.invoked > end.completed) least = Math.min(least, op.hint);
    end.hint = least - 0.1;
  }
}

// ---------------------------------------------------------------------------------------------
// The witness: the order the servers committed, tried before any search.

/**
 * One step of the witness: an op that goes here, or a committed txn that one of `candidates` (ops
 * of unknown outcome whose request it matches, in invocation order) performed.
 */
type WitnessSlot = { op: number } | { candidates: number[] };

/** The ok writes by the zxid of their txn (the zxid their response names). */
function claimedTxns(ops: LinOp[]): Map<number, LinOp> {
  const claims = new Map<number, LinOp>();
  for (const op of ops) {
    const response = op.source?.response;
    if (op.required && !op.readOnly && response) claims.set(response.zxid, op);
  }
  return claims;
}

/**
 * The committed order as a candidate linearization of `component`: each committed txn in zxid
 * order, as the ok write that claims it, the session end it is, or one of the unknown writes
 * whose request it matches (which one is left to `Search.verify`, which tries them against the
 * model); reads and decided errors just after the zxid they answered at. The candidate is only a
 * guess: `Search.verify` judges it by the search's own rules, so a wrong guess costs a search,
 * never a verdict.
 */
function witnessSlots(
  history: History,
  component: LinOp[],
  claims: Map<number, LinOp>,
): WitnessSlot[] {
  const index = new Map(component.map((op, i) => [op, i]));
  const unknown = new Map<number, number[]>();
  const ends = new Map<number, number>();
  const placed: { at: number; invoked: number; slot: WitnessSlot }[] = [];
  component.forEach((op, i) => {
    if (op.body.kind === "sessionEnd") ends.set(op.session, i);
    else if (!op.required) unknown.set(op.session, [...unknown.get(op.session) ?? [], i]);
    else if (op.readOnly) {
      placed.push({ at: op.source!.response!.zxid + 0.5, invoked: op.invoked, slot: { op: i } });
    }
  });
  for (const record of history.committed) {
    const claimed = claims.get(record.zxid);
    const txn = record.txn;
    let slot: WitnessSlot | null = null;
    if (claimed) {
      const i = index.get(claimed);
      if (i !== undefined) slot = { op: i };
    } else if (txn.type === "closeSession") {
      const i = ends.get(txn.sessionId);
      if (i !== undefined) slot = { op: i };
    } else {
      const candidates = (unknown.get(record.sessionId) ?? []).filter((i) =>
        txnMismatch(component[i].source!.request, txn, record.sessionId) === null
      );
      if (candidates.length > 0) slot = { candidates };
    }
    if (slot) placed.push({ at: record.zxid, invoked: -Infinity, slot });
  }
  placed.sort((a, b) => a.at - b.at || a.invoked - b.invoked);
  return placed.map((p) => p.slot);
}

// ---------------------------------------------------------------------------------------------
// Keys and components (P-compositionality).

/** What the whole history says about paths, for keys and for static parents. */
interface PathFacts {
  /** Paths whose children some judged op observes (getChildren, delete, sequential create). */
  childrenObserved: Set<string>;
  /** Judged creates: the path asked for, its mode bits, and the path an ok one made. */
  creates: { op: LinOp; path: string; sequential: boolean; ephemeral: boolean; made: string }[];
  /** Paths some judged op may delete. */
  deleted: Set<string>;
}

function pathFacts(ops: LinOp[]): PathFacts {
  const facts: PathFacts = { childrenObserved: new Set(), creates: [], deleted: new Set() };
  for (const op of ops) {
    if (op.body.kind === "read" && op.body.read === "getChildren") {
      facts.childrenObserved.add(readPath(op));
    }
    const answers = op.body.kind === "write" && op.body.expect.kind === "ok"
      ? op.body.expect.answers
      : [];
    stepsOf(op).forEach((step, i) => {
      if (step.op === "delete") {
        facts.deleted.add(step.path);
        facts.childrenObserved.add(step.path);
      }
      if (step.op !== "create") return;
      const sequential = step.mode.endsWith("Sequential");
      if (sequential) facts.childrenObserved.add(parentPath(step.path));
      facts.creates.push({
        op,
        path: step.path,
        sequential,
        ephemeral: step.mode.startsWith("ephemeral"),
        made: answers[i]?.path ?? (sequential ? "" : step.path),
      });
    });
  }
  return facts;
}

function readPath(op: LinOp): string {
  return (op.source!.request as { path: string }).path;
}

/** True when a create of `create` may make `path`. */
function mayMake(create: PathFacts["creates"][number], path: string): boolean {
  if (!create.sequential) return create.path === path;
  const base = create.path;
  return path.startsWith(base) && parentPath(path) === parentPath(base) &&
    isSequenceSuffix(path.slice(base.length));
}

/** True when `parent` surely exists (as a persistent node) for all of `op`'s window. */
function staticParent(parent: string, op: LinOp, facts: PathFacts): boolean {
  if (parent === "/" || initialPaths.includes(parent)) return true;
  const makers = facts.creates.filter((c) => mayMake(c, parent));
  if (makers.length === 0) return true; // never exists
  if (facts.deleted.has(parent) || makers.some((c) => c.ephemeral)) return false;
  return makers.some((c) =>
    c.made === parent && c.op.required && c.op.body.kind === "write" &&
    c.op.body.expect.kind === "ok" && c.op.completed < op.invoked
  );
}

function assignKeys(ops: LinOp[], facts: PathFacts): void {
  const known = new Set<string>();
  for (const op of ops) {
    if (op.body.kind === "read") known.add(readPath(op));
    for (const step of stepsOf(op)) known.add(step.path);
  }
  for (const c of facts.creates) if (c.made) known.add(c.made);
  const createKeys = new Map<string, string[]>();
  const keysOfCreate = (c: PathFacts["creates"][number]): string[] => {
    const parent = parentPath(c.path);
    const keys = c.sequential ? [...known].filter((p) => mayMake(c, p)) : [c.path];
    if (facts.childrenObserved.has(parent) || !staticParent(parent, c.op, facts)) {
      keys.push(parent);
    }
    return keys;
  };
  for (const c of facts.creates) {
    const keys = keysOfCreate(c);
    c.op.keys.push(...keys);
    if (c.ephemeral) {
      const list = createKeys.get(String(c.op.session)) ?? [];
      list.push(...keys);
      createKeys.set(String(c.op.session), list);
    }
  }
  for (const op of ops) {
    if (op.body.kind === "read") op.keys.push(readPath(op));
    if (op.body.kind === "sessionEnd") op.keys.push(...createKeys.get(String(op.session)) ?? []);
    for (const step of stepsOf(op)) {
      if (step.op === "create") continue;
      op.keys.push(step.path);
      const parent = parentPath(step.path);
      if (step.op === "delete" && facts.childrenObserved.has(parent)) op.keys.push(parent);
    }
  }
}

/** Groups ops that share a key (union-find), each group in invocation order. */
function components(ops: LinOp[]): LinOp[][] {
  const parent = ops.map((_, i) => i);
  const find = (i: number): number => {
    while (parent[i] !== i) i = parent[i] = parent[parent[i]];
    return i;
  };
  const owner = new Map<string, number>();
  ops.forEach((op, i) => {
    for (const key of op.keys) {
      const other = owner.get(key);
      if (other === undefined) owner.set(key, i);
      else parent[find(other)] = find(i);
    }
  });
  const groups = new Map<number, LinOp[]>();
  ops.forEach((op, i) => {
    const root = find(i);
    const group = groups.get(root) ?? [];
    group.push(op);
    groups.set(root, group);
  });
  return [...groups.values()].map((g) => g.sort((a, b) => a.invoked - b.invoked));
}

function componentScope(
  component: LinOp[],
  interner: Interner,
  facts: PathFacts,
  knownPaths: number,
): Scope {
  const local = new Set<number>();
  for (const op of component) for (const key of op.keys) local.add(interner.path(key));
  const staticNodes = new Map<number, ModelNode | null>();
  const persistent: ModelNode = {
    data: -1,
    dataLength: 0,
    version: 0,
    aversion: 0,
    owner: 0,
    cversion: 0,
    numChildren: 0,
  };
  return {
    // Paths unknown before the search are sequential nodes this component's creates made.
    local: (id) => id >= knownPaths || local.has(id),
    staticNode: (id) => {
      let node = staticNodes.get(id);
      if (node === undefined) {
        const path = interner.paths[id];
        const exists = initialPaths.includes(path) || facts.creates.some((c) => mayMake(c, path));
        staticNodes.set(id, node = exists ? persistent : null);
      }
      return node;
    },
    tracksChildren: (id) =>
      (id >= knownPaths || local.has(id)) && facts.childrenObserved.has(interner.paths[id]),
  };
}

// ---------------------------------------------------------------------------------------------
// The search.

/** One level of the depth-first search: the candidates of a configuration. */
interface Frame {
  candidates: number[];
  next: number;
  /** The candidate taken from this configuration (-1: none now), and the undo mark before it. */
  taken: number;
  mark: number;
  /** First not-yet-taken required op, in `required` order. */
  lowest: number;
}

/** How a search runs: `lazy` tries optional ops only where they unblock one; `exact` memo keys. */
interface SearchMode {
  lazy: boolean;
  exact: boolean;
}

/** Stuck ops the search tries to unblock, at most, per configuration (the lowest hints). */
const stuckTriedMax = 6;

type SearchResult =
  | { kind: "linearizable" }
  | { kind: "stuck" | "budget"; prefix: number[]; states: number };

class Search {
  readonly model: TreeModel;
  /** Required ops by invocation, then optional ones by invocation. */
  readonly required: number[] = [];
  readonly optional: number[] = [];
  readonly taken: Uint8Array;
  /** `taken` as bits, for exact memo keys. */
  readonly bits: Uint16Array;
  requiredTaken = 0;
  setHashA = 0;
  setHashB = 0;
  /** Per op: the session-end op of its session in this component, or -1. */
  readonly endOf: Int32Array;
  /** Per session-end op: required ops of its session, in all and taken. */
  readonly sessionRequired = new Map<number, { total: number; taken: number }>();
  #seenHashed = new Set<number>();
  #seenExact = new Set<string>();
  #best: number[] = [];
  #bestDepth = -1;

  constructor(
    readonly ops: LinOp[],
    interner: Interner,
    scope: Scope,
    readonly statesMax: number,
    readonly mode: SearchMode,
  ) {
    this.model = new TreeModel(interner, scope);
    this.taken = new Uint8Array(ops.length);
    this.bits = new Uint16Array(Math.ceil(ops.length / 16));
    this.endOf = new Int32Array(ops.length).fill(-1);
    const ends = new Map<number, number>();
    ops.forEach((op, i) => {
      (op.required ? this.required : this.optional).push(i);
      if (op.body.kind === "sessionEnd") ends.set(op.session, i);
    });
    ops.forEach((op, i) => {
      const end = ends.get(op.session);
      if (end === undefined) return;
      this.endOf[i] = end;
      const count = this.sessionRequired.get(end) ?? { total: 0, taken: 0 };
      if (op.required && i !== end) count.total++;
      this.sessionRequired.set(end, count);
    });
  }

  run(): SearchResult {
    if (this.#done()) return { kind: "linearizable" };
    this.#remember();
    const stack: Frame[] = [this.#frame(0)];
    while (stack.length > 0) {
      const top = stack[stack.length - 1];
      if (top.taken >= 0) this.#untake(top);
      if (top.next >= top.candidates.length) {
        stack.pop();
        continue;
      }
      const op = top.candidates[top.next++];
      const mark = this.model.mark();
      if (this.#try(op) !== null) continue;
      top.taken = op;
      top.mark = mark;
      this.#take(op);
      if (this.#done()) return { kind: "linearizable" };
      if (!this.#remember()) continue;
      if (this.requiredTaken > this.#bestDepth) {
        this.#bestDepth = this.requiredTaken;
        this.#best = stack.map((f) => f.taken);
      }
      if (this.#states() > this.statesMax) {
        return { kind: "budget", prefix: this.#best, states: this.#states() };
      }
      stack.push(this.#frame(top.lowest));
    }
    return { kind: "stuck", prefix: this.#best, states: this.#states() };
  }

  /** Why `op` cannot take effect next (null: it did, and the model holds its effect). */
  #try(op: number): string | null {
    const body = this.ops[op].body;
    const end = this.endOf[op];
    if (end >= 0 && end !== op && this.taken[end]) return "its session has ended";
    if (body.kind === "sessionEnd") {
      const count = this.sessionRequired.get(op)!;
      if (count.taken < count.total) return "the session still has ops to take effect";
    }
    return replay(this.model, body);
  }

  #take(op: number): void {
    this.taken[op] = 1;
    this.bits[op >> 4] ^= 1 << (op & 15);
    this.setHashA ^= opHash(op, 0x1b873593);
    this.setHashB ^= opHash(op, 0x5bd1e995);
    if (!this.ops[op].required) return;
    this.requiredTaken++;
    const end = this.endOf[op];
    if (end >= 0 && end !== op) this.sessionRequired.get(end)!.taken++;
  }

  #untake(frame: Frame): void {
    const op = frame.taken;
    frame.taken = -1;
    this.model.rollback(frame.mark);
    this.taken[op] = 0;
    this.bits[op >> 4] ^= 1 << (op & 15);
    this.setHashA ^= opHash(op, 0x1b873593);
    this.setHashB ^= opHash(op, 0x5bd1e995);
    if (!this.ops[op].required) return;
    this.requiredTaken--;
    const end = this.endOf[op];
    if (end >= 0 && end !== op) this.sessionRequired.get(end)!.taken--;
  }

  #done(): boolean {
    return this.requiredTaken === this.required.length;
  }

  #states(): number {
    return this.mode.exact ? this.#seenExact.size : this.#seenHashed.size;
  }

  /** Records the current configuration; false when it was seen before. */
  #remember(): boolean {
    if (this.mode.exact) {
      let key = this.model.exactKey() + "|";
      for (let i = 0; i < this.bits.length; i += 4096) {
        key += String.fromCharCode(...this.bits.subarray(i, i + 4096));
      }
      if (this.#seenExact.has(key)) return false;
      this.#seenExact.add(key);
      return true;
    }
    // 53 bits of two 32-bit hashes: a collision can only hide a linearization, never invent
    // one, and a failure is confirmed by an exact search (see searchComponent).
    const a = (this.setHashA ^ this.model.hashA) >>> 0;
    const b = (this.setHashB ^ this.model.hashB) & 0x1fffff;
    const key = a * 0x200000 + b;
    if (this.#seenHashed.has(key)) return false;
    this.#seenHashed.add(key);
    return true;
  }

  /**
   * The window rule: the ops invoked before the earliest completion of a required op not taken
   * (`first`, the op that completes then: nothing invoked later can come before it).
   */
  frontier(lowestFrom: number): {
    lowest: number;
    first: number;
    required: number[];
    optional: number[];
  } {
    let lowest = lowestFrom;
    while (lowest < this.required.length && this.taken[this.required[lowest]]) lowest++;
    let horizon = Infinity;
    let first = -1;
    let end = lowest;
    for (; end < this.required.length; end++) {
      const op = this.ops[this.required[end]];
      if (op.invoked >= horizon) break;
      if (!this.taken[this.required[end]] && op.completed < horizon) {
        horizon = op.completed;
        first = this.required[end];
      }
    }
    const required: number[] = [];
    for (let i = lowest; i < end; i++) {
      const op = this.required[i];
      if (!this.taken[op] && this.ops[op].invoked < horizon) required.push(op);
    }
    const optional: number[] = [];
    for (const op of this.optional) {
      if (this.ops[op].invoked >= horizon) break;
      if (!this.taken[op]) optional.push(op);
    }
    return { lowest, first, required, optional };
  }

  /**
   * The candidates of the current configuration, best first. A read-only required op that can
   * take effect now is taken alone: taking it later instead never helps (it changes nothing,
   * and every op it could wait for completes after it was invoked). Writes that can take effect
   * go in hint order; an optional op or session end that lets a stuck op take effect goes just
   * before that op's hint. The rest come last, or (in a lazy search) not at all, except the
   * session end that bounds the window.
   */
  #frame(lowestFrom: number): Frame {
    const { lowest, first, required, optional } = this.frontier(lowestFrom);
    const frame = (candidates: number[]): Frame => ({
      candidates,
      next: 0,
      taken: -1,
      mark: 0,
      lowest,
    });
    const stuck: number[] = [];
    for (const op of required) {
      if (!this.ops[op].readOnly) continue;
      if (this.#passes(op)) return frame([op]);
      stuck.push(op);
    }
    const rank = new Map<number, number>();
    for (const op of required) {
      if (this.ops[op].readOnly || this.ops[op].index < 0) continue;
      if (this.#passes(op)) rank.set(op, this.ops[op].hint);
      else stuck.push(op);
    }
    const pool = [...required.filter((op) => this.ops[op].index < 0), ...optional];
    const speculative = pool.filter((op) => this.#passes(op));
    const byHint = (x: number, y: number) => this.ops[x].hint - this.ops[y].hint || x - y;
    const blocked = stuck.sort(byHint).slice(0, stuckTriedMax);
    for (const op of speculative) {
      const unblocked = blocked.find((s) => this.#helps(op, s));
      if (unblocked !== undefined) rank.set(op, this.ops[unblocked].hint - 0.25);
    }
    // The session end that bounds the window ranks by its hint: before what the client sent
    // after it learned of the end.
    if (speculative.includes(first) && !rank.has(first)) rank.set(first, this.ops[first].hint);
    if (rank.size === 0 && stuck.includes(first)) {
      // Nothing can move and the op that bounds the window is stuck: try two ops before it.
      const opener = speculative.find((op) => this.#helpsAfter(op, pool, first));
      if (opener !== undefined) rank.set(opener, this.ops[first].hint - 0.25);
    }
    const ranked = [...rank.keys()].sort((x, y) => rank.get(x)! - rank.get(y)! || x - y);
    const rest = speculative.filter((op) => !rank.has(op));
    return frame(this.mode.lazy ? ranked : [...ranked, ...rest]);
  }

  #passes(op: number): boolean {
    const mark = this.model.mark();
    const ok = this.#try(op) === null;
    this.model.rollback(mark);
    return ok;
  }

  /** True when `stuck` can take effect after `op` does. */
  #helps(op: number, stuck: number): boolean {
    const mark = this.model.mark();
    const saved = this.taken[op];
    this.taken[op] = 1;
    const ok = this.#try(op) === null && this.#passes(stuck);
    this.taken[op] = saved;
    this.model.rollback(mark);
    return ok;
  }

  /** True when, after `op`, some other op of `pool` lets `stuck` take effect. */
  #helpsAfter(op: number, pool: number[], stuck: number): boolean {
    const mark = this.model.mark();
    const saved = this.taken[op];
    this.taken[op] = 1;
    const ok = this.#try(op) === null &&
      pool.some((other) => other !== op && this.#helps(other, stuck));
    this.taken[op] = saved;
    this.model.rollback(mark);
    return ok;
  }

  /**
   * True when `slots` give a linearization of this component: each slot's op (for a committed txn
   * of unknown writes, the first candidate the model accepts) takes effect in turn by the model's
   * and the session ends' rules, every required op is taken, and no op comes after one that was
   * invoked after it completed. Unknown writes left out never took effect, which they may.
   */
  verify(slots: readonly WitnessSlot[]): boolean {
    const order: number[] = [];
    for (const slot of slots) {
      const choices = "op" in slot ? [slot.op] : slot.candidates;
      const op = choices.find((i) => !this.taken[i] && this.#passes(i));
      if (op === undefined) {
        if ("op" in slot) return false;
        continue;
      }
      this.#try(op);
      this.#take(op);
      order.push(op);
    }
    if (!this.#done()) return false;
    let earliestCompletion = Infinity;
    for (let i = order.length - 1; i >= 0; i--) {
      const op = this.ops[order[i]];
      if (earliestCompletion < op.invoked) return false;
      earliestCompletion = Math.min(earliestCompletion, op.completed);
    }
    return true;
  }

  /** Replays `prefix` from the start (for explanations); false if it does not replay. */
  replayPrefix(prefix: number[]): boolean {
    for (const op of prefix) {
      if (op < 0) continue;
      if (this.#try(op) !== null) return false;
      this.#take(op);
    }
    return true;
  }

  /** Why `op` cannot come next in the current configuration (null: it can). */
  reason(op: number): string | null {
    const mark = this.model.mark();
    const why = this.#try(op);
    this.model.rollback(mark);
    return why;
  }
}

function opHash(op: number, seed: number): number {
  let h = Math.imul(op + 1, 0xcc9e2d51) ^ seed;
  h ^= h >>> 15;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

function searchComponent(
  component: LinOp[],
  interner: Interner,
  scope: Scope,
  statesMax: number,
): Violation | null {
  // First "just in time": optional ops and session ends only where they unblock an op. That
  // finds the order of nearly every good history at once; the complete search follows if not.
  const search = (mode: SearchMode) =>
    new Search(component, interner, scope, statesMax, mode).run();
  if (search({ lazy: true, exact: false }).kind === "linearizable") return null;
  const full = search({ lazy: false, exact: false });
  if (full.kind === "linearizable") return null;
  if (full.kind === "stuck") {
    // Confirm with exact memo keys: a hash collision must never fail a good history.
    const exact = search({ lazy: false, exact: true });
    if (exact.kind === "linearizable") return null;
    return explain(component, interner, scope, exact);
  }
  return explain(component, interner, scope, full);
}

// ---------------------------------------------------------------------------------------------
// Explanations.

function explain(
  component: LinOp[],
  interner: Interner,
  scope: Scope,
  result: Exclude<SearchResult, { kind: "linearizable" }>,
): Violation {
  const search = new Search(component, interner, scope, 0, { lazy: false, exact: true });
  search.replayPrefix(result.prefix);
  const frontier = search.frontier(0).required;
  // Session ends waiting for their session's ops say nothing; show them only if alone.
  const ops = frontier.filter((op) => component[op].index >= 0);
  const required = ops.length > 0 ? ops : frontier;
  const orderable = component.filter((op) => op.required).length;
  const taken = result.prefix.filter((op) => op >= 0 && component[op].required).length;
  const paths = [...new Set(component.flatMap((op) => op.keys))].sort();
  const shownPaths = paths.slice(0, 4).join(", ") +
    (paths.length > 4 ? ` (+${paths.length - 4})` : "");
  const head = result.kind === "budget"
    ? `linearizability search budget exceeded: ${result.states} configurations of ${component.length} ops on ${shownPaths} without a verdict (raise maxStates)`
    : `no linearization of ${component.length} ops on ${shownPaths}: at most ${taken} of ${orderable} ok/error ops can be ordered; none of these can come next`;
  const lines = [head];
  for (const op of required.slice(0, explainLinesMax - 4)) {
    const why = search.reason(op);
    lines.push(`  ${describe(component[op])}: ${why ?? "can come next, but nothing can follow"}`);
  }
  if (required.length > explainLinesMax - 4) {
    lines.push(`  ... and ${required.length - (explainLinesMax - 4)} more`);
  }
  const last = result.prefix.filter((op) => op >= 0).slice(-3);
  if (last.length > 0) {
    lines.push(`  after: ${last.map((op) => describe(component[op])).join("; ")}`);
  }
  const indices = [...required, ...last].map((op) => component[op].index).filter((i) => i >= 0);
  return {
    check: "linearizable",
    message: lines.join("\n"),
    ops: [...new Set(indices)].sort((a, b) => a - b),
  };
}

/** One op, compactly: index, client, session, request, outcome, window, answer. */
function describe(op: LinOp): string {
  const session = `s0x${op.session.toString(16)}`;
  const window = `[${op.invoked}, ${op.completed === Infinity ? "∞" : op.completed}]`;
  if (!op.source) return `${session} ends ${window}`;
  const source = op.source;
  return `#${source.index} c${source.client} ${session} ${
    describeRequest(source)
  } ${source.outcome} ${window}${describeResponse(source.response)}`;
}

function describeRequest(op: HistoryOp): string {
  const request = op.request;
  switch (request.op) {
    case "multi":
      return `multi(${request.ops.map(describeStep).join("; ")})`;
    case "create":
    case "delete":
    case "setData":
    case "check":
      return describeStep(request);
    case "setACL":
      return `setACL ${request.path} v=${request.version}`;
    default:
      return `${request.op} ${"path" in request ? request.path : ""}`.trim();
  }
}

function describeStep(step: MultiOp): string {
  switch (step.op) {
    case "create":
      return `create ${step.path} ${step.mode} ${describeData(step.data)}`;
    case "setData":
      return `setData ${step.path} v=${step.version} ${describeData(step.data)}`;
    case "delete":
    case "check":
      return `${step.op} ${step.path} v=${step.version}`;
  }
}

function describeData(data: Uint8Array): string {
  const text = new TextDecoder().decode(data.subarray(0, 16));
  const printable = /^[\x20-\x7e]*$/.test(text);
  const shown = printable ? JSON.stringify(text) : `<${data.byteLength} bytes>`;
  return data.byteLength > 16 && printable ? shown + "…" : shown;
}

function describeStat(stat: Stat): string {
  return `v${stat.version}` +
    (stat.ephemeralOwner ? ` eph 0x${stat.ephemeralOwner.toString(16)}` : "") +
    ` kids ${stat.numChildren} cv${stat.cversion}`;
}

function describeResponse(response: ResponseMessage | null): string {
  if (!response) return "";
  if (response.err !== undefined) return ` -> ${response.err}`;
  const parts: string[] = [];
  if (response.path !== undefined) parts.push(response.path);
  if (response.data) parts.push(describeData(response.data));
  if (response.stat !== undefined) parts.push(response.stat ? describeStat(response.stat) : "null");
  if (response.children) parts.push(`[${[...response.children].sort().join(", ")}]`);
  if (response.results) {
    parts.push(
      `results ${response.results.map((r) => r.op === "create" ? r.path : r.op).join(",")}`,
    );
  }
  return parts.length > 0 ? ` -> ${parts.join(" ")}` : "";
}
