/**
 * An independent model of the tree, built by replaying a history's committed txns (REFERENCE §1,
 * §4): the read, FIFO and watch checkers compare what clients saw with it. It deliberately shares
 * no code with `src/tree` (types only), so a bug there cannot hide itself here.
 *
 * One sweep in zxid order answers every {@linkcode StateQuery} ("what was `path` after every txn up
 * to `zxid`?") when the sweep passes that zxid, instead of copying the tree per zxid. The replay
 * also validates the committed sequence itself: zxids must grow and every txn must apply to the
 * tree before it; what does not is a violation of check "reads".
 * @module
 */
import type { Txn, TxnRecord } from "../../src/tree/txn.ts";
import type { Acl, Stat, WatchEventType } from "../../src/tree/types.ts";
import type { Violation } from "./history.ts";

/** A node as the model holds it after some zxid; `children` sorted. */
export interface NodeView {
  data: Uint8Array;
  acl: readonly Acl[];
  stat: Stat;
  children: string[];
}

/** "What was `path` once every committed txn with a zxid <= `zxid` had applied?" */
export interface StateQuery {
  zxid: number;
  path: string;
}

/** A change that fires watches: `type` on `path` (REFERENCE §4). */
export interface Trigger {
  type: WatchEventType;
  path: string;
}

/** One committed record that applied, with the watch triggers it caused, in order. */
export interface AppliedRecord {
  record: TxnRecord;
  triggers: Trigger[];
}

/** What {@linkcode replayCommitted} found. */
export interface CommittedReplay {
  /** Problems of the committed sequence itself (check "reads"). */
  violations: Violation[];
  /** The records that applied, in zxid order (a record out of zxid order is left out). */
  applied: AppliedRecord[];
  byZxid: Map<number, AppliedRecord>;
  /** The last committed zxid (0 when nothing was committed). */
  lastZxid: number;
  /** sessionId -> zxid of the closeSession that ended it. */
  sessionEnds: Map<number, number>;
  /** One answer per query, in the order given: the node, or null when it did not exist. */
  answers: (NodeView | null)[];
}

interface ModelNode {
  data: Uint8Array;
  acl: readonly Acl[];
  stat: Stat;
  children: Set<string>;
}

/** Paths that exist before the first txn: the root and the system nodes, as the server has them. */
export const initialPaths: readonly string[] = [
  "/",
  "/zookeeper",
  "/zookeeper/config",
  "/zookeeper/quota",
];

/** zxids in reports, as ZooKeeper prints them. */
export function hex(zxid: number): string {
  return `0x${zxid.toString(16)}`;
}

/** Parent of a non-root path. */
export function parentOf(path: string): string {
  const i = path.lastIndexOf("/");
  return i <= 0 ? "/" : path.slice(0, i);
}

function baseName(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1);
}

/** A Stat with every field 0. */
export function zeroStat(): Stat {
  return {
    czxid: 0,
    mzxid: 0,
    pzxid: 0,
    ctime: 0,
    mtime: 0,
    version: 0,
    cversion: 0,
    aversion: 0,
    ephemeralOwner: 0,
    dataLength: 0,
    numChildren: 0,
  };
}

/** Why a txn could not apply; thrown inside the model, turned into a violation by the replay. */
class CannotApply extends Error {}

/** The tree the replay mutates. */
class ModelTree {
  readonly nodes = new Map<string, ModelNode>();
  /** Live sessions and the ephemerals each owns. */
  readonly sessions = new Map<number, Set<string>>();

  constructor() {
    const open: Acl[] = [{ perms: 31, scheme: "world", id: "anyone" }];
    for (const path of initialPaths) {
      const config = path === "/zookeeper/config";
      this.nodes.set(path, {
        data: new Uint8Array(0),
        acl: config ? [{ perms: 1, scheme: "world", id: "anyone" }] : open,
        stat: { ...zeroStat(), aversion: config ? -1 : 0 },
        children: new Set(),
      });
      if (path !== "/") this.#link(path);
    }
    // Children present from the start were never created: cversion = 2 * created - numChildren.
    for (const node of this.nodes.values()) node.stat.cversion = -node.children.size || 0;
  }

  view(path: string): NodeView | null {
    const node = this.nodes.get(path);
    if (!node) return null;
    return {
      data: node.data,
      acl: node.acl,
      stat: { ...node.stat },
      children: [...node.children].sort(),
    };
  }

  apply(txn: Txn, record: TxnRecord, triggers: Trigger[]): void {
    switch (txn.type) {
      case "create":
        return this.#create(txn, record, triggers);
      case "delete":
        return this.#delete(txn.path, record.zxid, triggers);
      case "setData": {
        const node = this.#mustGet(txn.path, "setData");
        if (txn.version !== node.stat.version + 1) {
          throw new CannotApply(
            `setData of ${txn.path} says version ${txn.version}, but it was at ${node.stat.version}`,
          );
        }
        node.data = txn.data;
        Object.assign(node.stat, {
          version: node.stat.version + 1,
          mzxid: record.zxid,
          mtime: record.timeMs,
          dataLength: txn.data.byteLength,
        });
        triggers.push({ type: "NodeDataChanged", path: txn.path });
        return;
      }
      case "setACL": {
        const node = this.#mustGet(txn.path, "setACL");
        if (txn.aversion !== node.stat.aversion + 1) {
          throw new CannotApply(
            `setACL of ${txn.path} says aversion ${txn.aversion}, but it was at ${node.stat.aversion}`,
          );
        }
        node.acl = txn.acl;
        node.stat.aversion++;
        return;
      }
      case "check": {
        const node = this.#mustGet(txn.path, "check");
        if (txn.version !== -1 && txn.version !== node.stat.version) {
          throw new CannotApply(
            `check of ${txn.path} at version ${txn.version} committed, but it was at ${node.stat.version}`,
          );
        }
        return;
      }
      case "multi":
        for (const sub of txn.txns) {
          if (sub.type === "multi" || sub.type === "createSession" || sub.type === "closeSession") {
            throw new CannotApply(`a multi holds a ${sub.type}`);
          }
          this.apply(sub, record, triggers);
        }
        return;
      case "createSession":
        if (this.sessions.has(txn.sessionId)) {
          throw new CannotApply(`createSession of ${hex(txn.sessionId)}, which is already open`);
        }
        this.sessions.set(txn.sessionId, new Set());
        return;
      case "closeSession": {
        const owned = this.sessions.get(txn.sessionId);
        if (!owned) {
          throw new CannotApply(`closeSession of ${hex(txn.sessionId)}, which is not open`);
        }
        // In path order, as the server deletes them.
        for (const path of [...owned].sort()) this.#delete(path, record.zxid, triggers);
        this.sessions.delete(txn.sessionId);
        return;
      }
    }
  }

  #create(txn: Extract<Txn, { type: "create" }>, record: TxnRecord, triggers: Trigger[]): void {
    const parentPath = parentOf(txn.path);
    const parent = this.nodes.get(parentPath);
    if (txn.path === "/" || !parent) {
      throw new CannotApply(`create of ${txn.path}, whose parent does not exist`);
    }
    if (this.nodes.has(txn.path)) throw new CannotApply(`create of ${txn.path}, which exists`);
    if (parent.stat.ephemeralOwner !== 0) {
      throw new CannotApply(`create of ${txn.path} under the ephemeral ${parentPath}`);
    }
    if (txn.parentCversion !== parent.stat.cversion + 1) {
      throw new CannotApply(
        `create of ${txn.path} says parent cversion ${txn.parentCversion}, ` +
          `but ${parentPath} was at ${parent.stat.cversion}`,
      );
    }
    const owned = txn.ephemeralOwner === 0 ? null : this.sessions.get(txn.ephemeralOwner);
    if (owned === undefined) {
      throw new CannotApply(
        `create of ephemeral ${txn.path} owned by ${hex(txn.ephemeralOwner)}, which is not open`,
      );
    }
    const stat: Stat = {
      ...zeroStat(),
      czxid: record.zxid,
      mzxid: record.zxid,
      pzxid: record.zxid,
      ctime: record.timeMs,
      mtime: record.timeMs,
      ephemeralOwner: txn.ephemeralOwner,
      dataLength: txn.data.byteLength,
    };
    this.nodes.set(txn.path, { data: txn.data, acl: txn.acl, stat, children: new Set() });
    this.#link(txn.path);
    parent.stat.cversion++;
    parent.stat.pzxid = record.zxid;
    owned?.add(txn.path);
    triggers.push({ type: "NodeCreated", path: txn.path });
    triggers.push({ type: "NodeChildrenChanged", path: parentPath });
  }

  #delete(path: string, zxid: number, triggers: Trigger[]): void {
    const node = this.#mustGet(path, "delete");
    if (initialPaths.includes(path)) throw new CannotApply(`delete of the system node ${path}`);
    if (node.children.size > 0) {
      throw new CannotApply(`delete of ${path}, which has ${node.children.size} children`);
    }
    const parentPath = parentOf(path);
    const parent = this.nodes.get(parentPath)!;
    this.nodes.delete(path);
    parent.children.delete(baseName(path));
    parent.stat.numChildren = parent.children.size;
    parent.stat.cversion++;
    parent.stat.pzxid = zxid;
    this.sessions.get(node.stat.ephemeralOwner)?.delete(path);
    triggers.push({ type: "NodeDeleted", path });
    triggers.push({ type: "NodeChildrenChanged", path: parentPath });
  }

  #link(path: string): void {
    const parent = this.nodes.get(parentOf(path))!;
    parent.children.add(baseName(path));
    parent.stat.numChildren = parent.children.size;
  }

  #mustGet(path: string, what: string): ModelNode {
    const node = this.nodes.get(path);
    if (!node) throw new CannotApply(`${what} of ${path}, which does not exist`);
    return node;
  }
}

/**
 * Replays `committed` in order and answers `queries` on the way (REFERENCE §1). A record whose
 * zxid does not grow is reported and skipped; a txn that cannot apply is reported and left out
 * (in a multi, with the sub-txns after it), and the replay goes on, so one bad txn does not hide
 * later problems.
 *
 * @example
 * ```ts
 * import { replayCommitted } from "./committed.ts";
 * const replay = replayCommitted([], [{ zxid: 0, path: "/" }]);
 * replay.answers[0]?.children; // ["zookeeper"]
 * ```
 */
export function replayCommitted(
  committed: readonly TxnRecord[],
  queries: readonly StateQuery[] = [],
): CommittedReplay {
  const tree = new ModelTree();
  const out: CommittedReplay = {
    violations: [],
    applied: [],
    byZxid: new Map(),
    lastZxid: 0,
    sessionEnds: new Map(),
    answers: new Array(queries.length).fill(null),
  };
  const order = queries.map((_, i) => i).sort((a, b) => queries[a].zxid - queries[b].zxid);
  let next = 0;
  const answerUpTo = (zxid: number) => {
    while (next < order.length && (queries[order[next]].zxid < zxid || zxid === Infinity)) {
      const i = order[next++];
      out.answers[i] = tree.view(queries[i].path);
    }
  };
  for (const record of committed) {
    if (record.zxid <= out.lastZxid) {
      out.violations.push({
        check: "reads",
        message: `committed txn ${hex(record.zxid)} (${record.txn.type}) comes after ` +
          `${hex(out.lastZxid)}: zxids must grow`,
        ops: [],
      });
      continue;
    }
    answerUpTo(record.zxid);
    const applied: AppliedRecord = { record, triggers: [] };
    try {
      tree.apply(record.txn, record, applied.triggers);
    } catch (e) {
      if (!(e instanceof CannotApply)) throw e;
      out.violations.push({
        check: "reads",
        message: `committed txn ${hex(record.zxid)} cannot apply: ${e.message}`,
        ops: [],
      });
    }
    if (record.txn.type === "closeSession") out.sessionEnds.set(record.txn.sessionId, record.zxid);
    out.applied.push(applied);
    out.byZxid.set(record.zxid, applied);
    out.lastZxid = record.zxid;
  }
  answerUpTo(Infinity);
  return out;
}

/** The watch tables a trigger type can fire (REFERENCE §4). */
export type WatchTableName = "data" | "child";

/** True when a `type` event fires watches of `table`. */
export function fires(type: WatchEventType, table: WatchTableName): boolean {
  if (type === "NodeDeleted") return true;
  return table === "child" ? type === "NodeChildrenChanged" : type !== "NodeChildrenChanged";
}

/** A trigger placed in the committed order. */
export interface PlacedTrigger extends Trigger {
  zxid: number;
}

/**
 * The triggers of a replay by path and table, for "which committed change fires a watch set at
 * zxid R first?", plus each path's existence over time.
 */
export class TriggerIndex {
  #byKey = new Map<string, PlacedTrigger[]>();
  /** path -> [zxid, exists after it] in zxid order (the last change within a record wins). */
  #existence = new Map<string, [number, boolean][]>();

  constructor(replay: CommittedReplay) {
    for (const { record, triggers } of replay.applied) {
      for (const trigger of triggers) {
        const placed = { ...trigger, zxid: record.zxid };
        for (const table of ["data", "child"] as const) {
          if (!fires(trigger.type, table)) continue;
          const key = `${table} ${trigger.path}`;
          let list = this.#byKey.get(key);
          if (!list) this.#byKey.set(key, list = []);
          list.push(placed);
        }
        if (trigger.type === "NodeCreated" || trigger.type === "NodeDeleted") {
          let list = this.#existence.get(trigger.path);
          if (!list) this.#existence.set(trigger.path, list = []);
          const exists = trigger.type === "NodeCreated";
          if (list.at(-1)?.[0] === record.zxid) list[list.length - 1][1] = exists;
          else list.push([record.zxid, exists]);
        }
      }
    }
  }

  /** The first trigger of `table` on `path` with `after < zxid < before`, or null. */
  firstAfter(
    table: WatchTableName,
    path: string,
    after: number,
    before = Infinity,
  ): PlacedTrigger | null {
    const list = this.#byKey.get(`${table} ${path}`);
    if (!list) return null;
    const i = upperBound(list, after, (t) => t.zxid);
    return i < list.length && list[i].zxid < before ? list[i] : null;
  }

  /** True when `path` existed once every txn up to `zxid` had applied. */
  existsAt(path: string, zxid: number): boolean {
    const list = this.#existence.get(path);
    const initially = initialPaths.includes(path);
    if (!list) return initially;
    const i = upperBound(list, zxid, (e) => e[0]);
    return i === 0 ? initially : list[i - 1][1];
  }
}

/** Index of the first item whose key is greater than `value` (items sorted by key). */
function upperBound<T>(items: readonly T[], value: number, key: (item: T) => number): number {
  let lo = 0;
  let hi = items.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (key(items[mid]) <= value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
