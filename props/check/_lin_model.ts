/**
 * The sequential model the linearizability checker replays ops against: a znode tree reduced to
 * what a client can observe (data, version, aversion, ephemeral owner, and the children of the
 * nodes whose children the history observes). Written from REFERENCE §1-§2, independently of
 * `src/tree` and `src/replica`; only their types are shared.
 *
 * The state is a map from path id to an interned node id, changed only through
 * {@linkcode TreeModel.set}, which keeps an undo log (the search backtracks by rolling back) and
 * two incremental hashes of the whole state (the search memoises configurations by them).
 * @module
 */
import type { Stat } from "../../src/tree/types.ts";

/** What the model knows of one znode. Interned: equal nodes share one id. */
export interface ModelNode {
  /** Interned data bytes (see {@linkcode Interner.data}). */
  data: number;
  dataLength: number;
  version: number;
  aversion: number;
  /** Owning session of an ephemeral, 0 otherwise. */
  owner: number;
  /** Meaningful only for a node whose children the component tracks. */
  cversion: number;
  /** Meaningful only for a node whose children the component tracks. */
  numChildren: number;
}

/** Paths, data and nodes as small integers, shared by every component of one check. */
export class Interner {
  readonly paths: string[] = [];
  /** Parent path id of each path id; -1 for "/". */
  readonly parents: number[] = [];
  readonly nodes: ModelNode[] = [];
  #pathIds = new Map<string, number>();
  #dataIds = new Map<string, number>();
  #dataKeys: string[] = [];
  #nodeIds = new Map<string, number>();
  #decoder = new TextDecoder("latin1");

  /** The id of `path` (and, recursively, of its ancestors). */
  path(path: string): number {
    const known = this.#pathIds.get(path);
    if (known !== undefined) return known;
    const parent = path === "/" ? -1 : this.path(parentPath(path));
    const id = this.paths.length;
    this.paths.push(path);
    this.parents.push(parent);
    this.#pathIds.set(path, id);
    return id;
  }

  /** The id of `path` if it was interned, else -1. */
  knownPath(path: string): number {
    return this.#pathIds.get(path) ?? -1;
  }

  /** The id of some bytes: equal bytes, equal ids. */
  data(bytes: Uint8Array): number {
    // windows-1252 decoding maps distinct bytes to distinct characters, so the key is exact.
    const key = this.#decoder.decode(bytes);
    let id = this.#dataIds.get(key);
    if (id === undefined) {
      this.#dataIds.set(key, id = this.#dataKeys.length);
      this.#dataKeys.push(key);
    }
    return id;
  }

  /** Up to 16 characters of interned data, quoted, for reports. */
  dataText(id: number): string {
    const key = this.#dataKeys[id] ?? "";
    return JSON.stringify(key.slice(0, 16)) + (key.length > 16 ? "…" : "");
  }

  /** The id of a node value. */
  node(node: ModelNode): number {
    const key =
      `${node.data},${node.dataLength},${node.version},${node.aversion},${node.owner},${node.cversion},${node.numChildren}`;
    let id = this.#nodeIds.get(key);
    if (id === undefined) {
      this.#nodeIds.set(key, id = this.nodes.length);
      this.nodes.push(Object.freeze({ ...node }));
    }
    return id;
  }
}

/** `/a/b` -> `/a`; `/a` -> `/`. */
export function parentPath(path: string): string {
  const i = path.lastIndexOf("/");
  return i <= 0 ? "/" : path.slice(0, i);
}

/**
 * ZooKeeper's `%010d` of the parent's count of children ever created (a signed 32-bit counter;
 * ZooKeeper reports cversion as 2 * created - numChildren, so the count is recovered from both).
 */
export function sequenceName(counter: number): string {
  const value = counter | 0;
  return value < 0 ? "-" + String(-value).padStart(9, "0") : String(value).padStart(10, "0");
}

/** True when `suffix` is a sequence number as {@linkcode sequenceName} writes it. */
export function isSequenceSuffix(suffix: string): boolean {
  return /^(\d{10}|-\d{9})$/.test(suffix);
}

/** Paths the system owns: a client write to them fails with BadArguments. */
export function isReserved(path: string): boolean {
  return path === "/zookeeper" || path.startsWith("/zookeeper/");
}

/** Nodes every tree starts with: "/" and the system nodes (REFERENCE §1). */
export const initialPaths: readonly string[] = [
  "/",
  "/zookeeper",
  "/zookeeper/config",
  "/zookeeper/quota",
];

/** One write step: a single op, or one op of a multi. Paths are interned ids. */
export type Step =
  | {
    op: "create";
    path: number;
    data: number;
    dataLength: number;
    ephemeral: boolean;
    sequential: boolean;
  }
  | { op: "delete"; path: number; version: number }
  | { op: "setData"; path: number; data: number; dataLength: number; version: number }
  | { op: "setACL"; path: number; version: number }
  | { op: "check"; path: number; version: number };

/** What an ok write's step answered: the created path and the stat, when the response has them. */
export interface StepAnswer {
  path?: string;
  stat?: Stat;
}

/** What the history says became of a write. */
export type WriteExpect =
  | { kind: "ok"; answers: (StepAnswer | null)[] }
  /** `failIndex` -1: a failed multi that did not say which op failed. */
  | { kind: "error"; failIndex: number; err: string }
  | { kind: "unknown" };

/** What a synced read answered. */
export type ReadExpect =
  | { kind: "error"; err: string }
  | { kind: "ok"; data?: number; stat?: Stat | null; children?: string[] };

/** An op as the model replays it. */
export type ModelOp =
  | { kind: "write"; session: number; steps: Step[]; expect: WriteExpect }
  | {
    kind: "read";
    read: "getData" | "exists" | "getChildren";
    path: number;
    expect: ReadExpect;
  }
  | { kind: "sessionEnd"; session: number };

/** What one component may look at beyond its own paths. */
export interface Scope {
  /** True when the component's state holds `pathId` (else its value is static). */
  local(pathId: number): boolean;
  /** The node at a path outside the component (it cannot change there), or null. */
  staticNode(pathId: number): ModelNode | null;
  /** True when every change of the children of `pathId` is in this component. */
  tracksChildren(pathId: number): boolean;
}

function mix(a: number, b: number, seed: number): number {
  let h = Math.imul(a ^ seed, 0x9e3779b1) ^ Math.imul(b + 0x7f4a7c15, 0x85ebca6b);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h;
}

const emptyData = new Uint8Array(0);

/** The znode tree of one component, with undo and incremental hashing. */
export class TreeModel {
  /** Two independent 32-bit hashes of the state. */
  hashA = 0;
  hashB = 0;
  #nodes = new Map<number, number>();
  /** Pairs (path id, previous node id or -1). */
  #undo: number[] = [];
  #created = -1;

  constructor(readonly interner: Interner, readonly scope: Scope) {
    const empty = interner.data(emptyData);
    for (const path of initialPaths) {
      const id = interner.path(path);
      const numChildren = initialPaths.filter((p) => p !== path && parentPath(p) === path).length;
      // Children present from the start were never created: cversion = 2 * created - numChildren.
      const aversion = path === "/zookeeper/config" ? -1 : 0;
      this.set(
        id,
        interner.node({
          ...freshNode(empty, 0, 0),
          numChildren,
          cversion: -numChildren || 0,
          aversion,
        }),
      );
    }
    this.#undo.length = 0;
  }

  /** A position in the undo log to roll back to. */
  mark(): number {
    return this.#undo.length;
  }

  /** Undoes every change made since `mark`. */
  rollback(mark: number): void {
    while (this.#undo.length > mark) {
      const previous = this.#undo.pop()!;
      const path = this.#undo.pop()!;
      this.#put(path, previous);
    }
  }

  /** The node at `pathId`, or null when it does not exist. */
  view(pathId: number): ModelNode | null {
    if (!this.scope.local(pathId)) return this.scope.staticNode(pathId);
    const id = this.#nodes.get(pathId);
    return id === undefined ? null : this.interner.nodes[id];
  }

  /** Sets `pathId` to a node id (-1: missing), recording the undo. */
  set(pathId: number, nodeId: number): void {
    this.#undo.push(pathId, this.#nodes.get(pathId) ?? -1);
    this.#put(pathId, nodeId);
  }

  /** The exact state, for a memo key that cannot collide. */
  exactKey(): string {
    return [...this.#nodes].sort((x, y) => x[0] - y[0]).map(([p, n]) => `${p}:${n}`).join(",");
  }

  /** Names of the children of `pathId` (meaningful when its children are tracked). */
  childNames(pathId: number): string[] {
    const names: string[] = [];
    for (const path of this.#nodes.keys()) {
      if (this.interner.parents[path] === pathId) {
        const full = this.interner.paths[path];
        names.push(full.slice(full.lastIndexOf("/") + 1));
      }
    }
    return names.sort();
  }

  /** Paths of the ephemerals `session` owns. */
  ephemeralsOf(session: number): number[] {
    const owned: number[] = [];
    for (const [path, node] of this.#nodes) {
      if (this.interner.nodes[node].owner === session) owned.push(path);
    }
    return owned;
  }

  /** Path id the last successful create step made. */
  get created(): number {
    return this.#created;
  }

  /** Applies one step; returns the error it fails with (changing nothing) or null. */
  applyStep(step: Step, session: number): string | null {
    switch (step.op) {
      case "create":
        return this.#create(step, session);
      case "delete":
        return this.#delete(step.path, step.version);
      case "setData": {
        const node = this.#writable(step.path);
        if (typeof node === "string") return node;
        if (step.version !== -1 && step.version !== node.version) return "BadVersion";
        const next = { ...node, data: step.data, dataLength: step.dataLength };
        this.set(step.path, this.interner.node({ ...next, version: node.version + 1 }));
        return null;
      }
      case "setACL": {
        const node = this.#writable(step.path);
        if (typeof node === "string") return node;
        if (step.version !== -1 && step.version !== node.aversion) return "BadVersion";
        this.set(step.path, this.interner.node({ ...node, aversion: node.aversion + 1 }));
        return null;
      }
      case "check": {
        const node = this.view(step.path);
        if (!node) return "NoNode";
        return step.version !== -1 && step.version !== node.version ? "BadVersion" : null;
      }
    }
  }

  /** Removes every ephemeral of `session` (its closeSession). */
  endSession(session: number): void {
    for (const path of this.ephemeralsOf(session)) this.#remove(path);
  }

  #writable(pathId: number): ModelNode | string {
    if (isReserved(this.interner.paths[pathId])) return "BadArguments";
    return this.view(pathId) ?? "NoNode";
  }

  #create(step: Extract<Step, { op: "create" }>, session: number): string | null {
    const path = this.interner.paths[step.path];
    if (path === "/") return "NodeExists";
    if (isReserved(path)) return "BadArguments";
    const parentId = this.interner.parents[step.path];
    const parent = this.view(parentId);
    if (!parent) return "NoNode";
    if (parent.owner !== 0) return "NoChildrenForEphemerals";
    const target = step.sequential
      ? this.interner.path(
        path + sequenceName(Math.floor((parent.cversion + parent.numChildren) / 2)),
      )
      : step.path;
    if (this.view(target)) return "NodeExists";
    this.#adjustParent(parentId, +1);
    const owner = step.ephemeral ? session : 0;
    this.set(target, this.interner.node(freshNode(step.data, step.dataLength, owner)));
    this.#created = target;
    return null;
  }

  #delete(pathId: number, version: number): string | null {
    const path = this.interner.paths[pathId];
    if (path === "/" || isReserved(path)) return "BadArguments";
    const node = this.view(pathId);
    if (!node) return "NoNode";
    if (version !== -1 && version !== node.version) return "BadVersion";
    // A delete observes the children of its path, so the component always tracks them.
    if (node.numChildren > 0) return "NotEmpty";
    this.#remove(pathId);
    return null;
  }

  #remove(pathId: number): void {
    this.#adjustParent(this.interner.parents[pathId], -1);
    this.set(pathId, -1);
  }

  #adjustParent(parentId: number, delta: number): void {
    if (!this.scope.tracksChildren(parentId)) return;
    const parent = this.view(parentId)!;
    this.set(
      parentId,
      this.interner.node({
        ...parent,
        cversion: parent.cversion + 1,
        numChildren: parent.numChildren + delta,
      }),
    );
  }

  #put(pathId: number, nodeId: number): void {
    const previous = this.#nodes.get(pathId);
    if (previous !== undefined) {
      this.hashA ^= mix(pathId, previous, 0x3c6ef372);
      this.hashB ^= mix(pathId, previous, 0x6a09e667);
    }
    if (nodeId < 0) {
      this.#nodes.delete(pathId);
      return;
    }
    this.#nodes.set(pathId, nodeId);
    this.hashA ^= mix(pathId, nodeId, 0x3c6ef372);
    this.hashB ^= mix(pathId, nodeId, 0x6a09e667);
  }
}

/** A node as a create makes it. */
export function freshNode(data: number, dataLength: number, owner: number): ModelNode {
  return { data, dataLength, version: 0, aversion: 0, owner, cversion: 0, numChildren: 0 };
}

/** Why `stat` is not what the model has for `node` (null when it agrees). */
export function statMismatch(node: ModelNode, stat: Stat, children: boolean): string | null {
  const fields: (keyof ModelNode & keyof Stat)[] = ["version", "aversion", "dataLength"];
  if (children) fields.push("numChildren", "cversion");
  for (const field of fields) {
    if (stat[field] !== node[field]) return `${field} ${stat[field]}, model ${node[field]}`;
  }
  if (stat.ephemeralOwner !== node.owner) {
    return `ephemeralOwner 0x${stat.ephemeralOwner.toString(16)}, model 0x${
      node.owner.toString(16)
    }`;
  }
  return null;
}

/**
 * Replays `op` on `model`. Returns null when the op can take effect here as the history says
 * (the model then holds its effect), else why not (the model is unchanged). An unknown write
 * that would fail or change nothing returns a reason too: linearizing it here is pointless.
 */
export function replay(model: TreeModel, op: ModelOp): string | null {
  switch (op.kind) {
    case "write":
      return replayWrite(model, op);
    case "read":
      return replayRead(model, op);
    case "sessionEnd":
      model.endSession(op.session);
      return null;
  }
}

function replayWrite(model: TreeModel, op: Extract<ModelOp, { kind: "write" }>): string | null {
  const mark = model.mark();
  const expect = op.expect;
  for (let i = 0; i < op.steps.length; i++) {
    const err = model.applyStep(op.steps[i], op.session);
    const failing = expect.kind === "error" && (expect.failIndex === i || expect.failIndex < 0);
    if (err === null) {
      const wrong = expect.kind === "ok"
        ? answerMismatch(model, op.steps[i], expect.answers[i])
        : expect.kind === "error" && expect.failIndex === i
        ? "would succeed"
        : null;
      if (wrong === null) continue;
      model.rollback(mark);
      return stepPrefix(op, i) + wrong;
    }
    model.rollback(mark);
    if (expect.kind === "unknown") return `no effect here (would fail with ${err})`;
    if (!failing) return stepPrefix(op, i) + `would fail with ${err}`;
    return err === expect.err
      ? null
      : stepPrefix(op, i) + `would fail with ${err}, not ${expect.err}`;
  }
  if (expect.kind === "error") {
    model.rollback(mark);
    return "would succeed";
  }
  if (expect.kind === "unknown" && model.mark() === mark) return "no effect here";
  return null;
}

function stepPrefix(op: Extract<ModelOp, { kind: "write" }>, i: number): string {
  return op.steps.length === 1 && op.expect.kind !== "error" ? "" : `op ${i} `;
}

function answerMismatch(model: TreeModel, step: Step, answer: StepAnswer | null): string | null {
  if (answer === null || step.op === "delete" || step.op === "check") return null;
  const pathId = step.op === "create" ? model.created : step.path;
  const path = model.interner.paths[pathId];
  if (answer.path !== undefined && answer.path !== path) {
    return `created ${answer.path}, model ${path}`;
  }
  if (!answer.stat) return null;
  const children = step.op === "create" || model.scope.tracksChildren(pathId);
  const wrong = statMismatch(model.view(pathId)!, answer.stat, children);
  return wrong === null ? null : `answered ${wrong}`;
}

function replayRead(model: TreeModel, op: Extract<ModelOp, { kind: "read" }>): string | null {
  const node = model.view(op.path);
  const expect = op.expect;
  if (expect.kind === "error") {
    if (expect.err !== "NoNode" || op.read === "exists") return `${op.read} never fails so`;
    return node ? "node exists here" : null;
  }
  if (op.read === "exists" && expect.stat === null) return node ? "node exists here" : null;
  if (!node) return "node is missing here";
  if (expect.data !== undefined && expect.data !== node.data) {
    return `data here is ${model.interner.dataText(node.data)} (v${node.version})`;
  }
  if (expect.stat) {
    const wrong = statMismatch(node, expect.stat, model.scope.tracksChildren(op.path));
    if (wrong !== null) return `saw ${wrong}`;
  }
  if (expect.children) {
    const names = model.childNames(op.path);
    if (names.join("/") !== [...expect.children].sort().join("/")) {
      return `children here are [${names.join(", ")}]`;
    }
  }
  return null;
}
