/**
 * The znode tree: pure, in memory, changed only by applying txns in zxid order.
 * @module
 */
import { assert } from "../assert.ts";
import { AclCache } from "./acl_cache.ts";
import type { Txn, TxnRecord } from "./txn.ts";
import type { Acl, Stat, WatchEventType } from "./types.ts";
import {
  containerOwner,
  isEphemeralOwner,
  openAcl,
  readOnlyAcl,
  ttlOf,
  zeroStat,
} from "./types.ts";
import { baseName, childPath, parentOf } from "./path.ts";
import {
  formatQuotaUsage,
  parseQuotaUsage,
  quotaLimitsName,
  quotaStatsName,
  quotaStatsPath,
  quotaTarget,
} from "./quota.ts";

/**
 * One znode. Only the tree changes it, and only by replacing `data`, `acl` and `stat` with new
 * objects, never by mutating them: so a snapshot image can share them without copying, and stays
 * exact while the tree moves on.
 */
interface Znode {
  data: Uint8Array;
  /** ZooKeeper's null data (`data` is then empty): kept apart because getData tells it apart. */
  dataNull: boolean;
  /** The shared copy from the tree's {@linkcode AclCache}. */
  acl: readonly Acl[];
  stat: Readonly<Stat>;
  /** Child names; {@linkcode noChildren} until the first child, since most znodes are leaves. */
  children: Set<string>;
}

/**
 * The children of every leaf: one shared empty set, so a leaf costs no set of its own. Never
 * added to: the tree gives a node its own set with its first child, and shares this one again
 * once its last child goes.
 */
const noChildren: Set<string> = new Set();

/** The data of every empty znode: a Uint8Array of length 0 has nothing in it to change. */
const noBytes = new Uint8Array(0);

/** Values up to this size get the tree's own copy (see {@linkcode ownBytes}). */
const copiedValueBytesMax = 4096;

/**
 * The tree's own compact copy of a small value a txn brings. A value as it arrives is rarely one a
 * long-lived znode should keep: a follower's comes as a view into the network buffer its proposal
 * came in, and so does a leader's from a CBOR request (keeping the whole buffer alive), and a view
 * has an ArrayBuffer object behind it, about 190 bytes more per value on JavaScriptCore. A fresh
 * copy is a plain small typed array; nothing asks it for its `.buffer` later (src/wire/cbor.ts
 * writes small arrays from copies, snapshots from packed copies: `nodesToBodies`), so it stays one.
 * Larger values are kept as they came: the wrapper is little next to them, and copying each 1 MiB
 * value made 1 MiB writes 10-35 % slower (scripts/bench_scale --only values).
 */
function ownBytes(data: Uint8Array): Uint8Array {
  if (data.byteLength === 0) return noBytes;
  return data.byteLength <= copiedValueBytesMax ? data.slice() : data;
}

/** A change that may fire watches: `type` on `path` (REFERENCE §4). */
export interface Trigger {
  type: WatchEventType;
  path: string;
  /**
   * The ACL of the node that changed (as it was, for a delete): who may learn of it through a
   * recursive watch on an ancestor. Absent for NodeChildrenChanged, which those never see.
   */
  acl?: readonly Acl[];
}

/**
 * What applying one (non-multi) txn produced, for the response. A stat is the node's own, not a
 * copy: the tree never edits a stat (see {@linkcode DataTree.stat}).
 */
export type TxnResult =
  | { type: "create"; path: string; stat: Readonly<Stat> }
  | { type: "setData"; stat: Readonly<Stat> }
  | { type: "setACL"; stat: Readonly<Stat> }
  | { type: "delete" }
  | { type: "check" }
  | { type: "createSession" }
  | { type: "closeSession"; deleted: string[] };

/** What applying one record produced: per-txn results (several for a multi) and triggers. */
export interface ApplyResult {
  results: TxnResult[];
  triggers: Trigger[];
}

/** One znode as it appears in a snapshot. Its parts are shared with the tree: never mutate them. */
export interface NodeImage {
  path: string;
  data: Uint8Array;
  /** Present when the node holds ZooKeeper's null data (`data` is then empty). */
  dataNull?: true;
  acl: readonly Acl[];
  stat: Readonly<Stat>;
}

/** Paths the system owns; clients cannot change them (REFERENCE §1). */
export const reservedPaths: readonly string[] = [
  "/zookeeper",
  "/zookeeper/config",
  "/zookeeper/quota",
];

/**
 * True when a client write must not touch `path`: /zookeeper and everything under it, except the
 * nodes below /zookeeper/quota, which ZooKeeper's clients write to set quotas.
 */
export function isReservedPath(path: string): boolean {
  return path === "/zookeeper" ||
    (path.startsWith("/zookeeper/") && !path.startsWith("/zookeeper/quota/"));
}

/**
 * The replicated state of Corral's namespace.
 *
 * @example
 * ```ts
 * import { DataTree } from "./data_tree.ts";
 * const tree = new DataTree();
 * tree.apply({ zxid: 1, timeMs: 0, sessionId: 0, txn: {
 *   type: "create", path: "/a", data: new Uint8Array(), acl: [], ephemeralOwner: 0, parentCversion: 1,
 * } });
 * tree.stat("/a")?.czxid; // 1
 * ```
 */
export class DataTree {
  #nodes = new Map<string, Znode>();
  #ephemerals = new Map<number, Set<string>>();
  /** Paths of containers and TTL nodes (the nodes the server may remove by itself). */
  #extended = new Set<string>();
  /** Paths with a quota (a limits node under /zookeeper/quota): their stats node is kept up. */
  #quotas = new Set<string>();
  readonly #acls = new AclCache();
  #lastZxid = 0;

  constructor() {
    this.#nodes.set("/", {
      data: new Uint8Array(0),
      dataNull: false,
      acl: this.#acls.hold(openAcl),
      stat: zeroStat(),
      children: noChildren,
    });
    for (const path of reservedPaths) {
      // As in ZooKeeper: the config node (the ensemble's dynamic configuration, empty here) may
      // be read by anyone and changed by no client, and reports ACL version -1.
      const config = path === "/zookeeper/config";
      this.#insert(
        path,
        new Uint8Array(0),
        config ? readOnlyAcl : openAcl,
        config ? { ...zeroStat(), aversion: -1 } : zeroStat(),
      );
    }
    // The system nodes were never created under their parents: ZooKeeper reports cversion as
    // 2 * creates - numChildren, so "/" starts at -1 and /zookeeper at -2 (see childrenCreated).
    for (const node of this.#nodes.values()) {
      node.stat = { ...node.stat, cversion: -node.children.size || 0 };
    }
  }

  /** zxid of the last applied record. */
  get lastZxid(): number {
    return this.#lastZxid;
  }

  /** Number of znodes, root and system nodes included. */
  get nodeCount(): number {
    return this.#nodes.size;
  }

  /** True when `path` exists. */
  has(path: string): boolean {
    return this.#nodes.has(path);
  }

  /**
   * The stat of `path`, or null. Not a copy: the tree gives a node a new stat object on every
   * change and never edits one, so a stat handed out stays as it was read (reads answer with it
   * without copying).
   */
  stat(path: string): Readonly<Stat> | null {
    return this.#nodes.get(path)?.stat ?? null;
  }

  /**
   * The data and stat of `path` (both shared, do not mutate; see {@linkcode DataTree.stat}), or
   * null; `dataNull` when the node holds ZooKeeper's null data.
   */
  getData(path: string): { data: Uint8Array; stat: Readonly<Stat>; dataNull?: true } | null {
    const node = this.#nodes.get(path);
    if (!node) return null;
    return node.dataNull
      ? { data: node.data, stat: node.stat, dataNull: true }
      : { data: node.data, stat: node.stat };
  }

  /** Sorted child names (a new array) and the stat (shared: see {@linkcode DataTree.stat}). */
  getChildren(path: string): { children: string[]; stat: Readonly<Stat> } | null {
    const node = this.#nodes.get(path);
    return node ? { children: [...node.children].sort(), stat: node.stat } : null;
  }

  /** A copy of the ACL and stat of `path`, or null. */
  getAcl(path: string): { acl: Acl[]; stat: Stat } | null {
    const node = this.#nodes.get(path);
    return node ? { acl: node.acl.map((a) => ({ ...a })), stat: { ...node.stat } } : null;
  }

  /** The ACL of `path` without copying (for permission checks), or null. */
  aclOf(path: string): readonly Acl[] | null {
    return this.#nodes.get(path)?.acl ?? null;
  }

  /** Sorted paths of the ephemerals `sessionId` owns. */
  ephemeralsOf(sessionId: number): string[] {
    return [...(this.#ephemerals.get(sessionId) ?? [])].sort();
  }

  /**
   * Containers and TTL nodes due for removal at `nowMs`, as ZooKeeper's container manager picks
   * them: a container with no children that has had some (cversion > 0); a TTL node with no
   * children whose last change is more than its TTL ago.
   */
  extendedDue(nowMs: number): string[] {
    const due: string[] = [];
    for (const path of this.#extended) {
      const { stat } = this.#nodes.get(path)!;
      if (stat.numChildren > 0) continue;
      const ttl = ttlOf(stat.ephemeralOwner);
      const expired = ttl > 0 ? nowMs - stat.mtime > ttl : stat.cversion > 0;
      if (expired) due.push(path);
    }
    return due.sort();
  }

  /** Number of nodes below `path`, at every depth (0 when it does not exist). */
  descendantCount(path: string): number {
    const node = this.#nodes.get(path);
    if (!node) return 0;
    let count = 0;
    const stack = [path];
    while (stack.length > 0) {
      const at = stack.pop()!;
      for (const name of this.#nodes.get(at)!.children) {
        count++;
        stack.push(childPath(at, name));
      }
    }
    return count;
  }

  /** Session ids that own at least one ephemeral. */
  ephemeralOwners(): number[] {
    return [...this.#ephemerals.keys()];
  }

  /**
   * A point-in-time image of every node, parents before children. Cheap: data, ACL and stat are
   * shared, since the tree only ever replaces them. The order is the map's insertion order, which
   * puts parents first: a node is inserted only while its parent exists, and a parent cannot be
   * deleted (and so re-inserted later) while it has children.
   */
  exportNodes(): NodeImage[] {
    const images: NodeImage[] = [];
    for (const [path, node] of this.#nodes) {
      images.push(
        node.dataNull
          ? { path, data: node.data, acl: node.acl, stat: node.stat, dataNull: true }
          : { path, data: node.data, acl: node.acl, stat: node.stat },
      );
    }
    return images;
  }

  /**
   * Rebuilds a tree from {@linkcode DataTree.exportNodes} output (parents before children) whose
   * last applied txn is `lastZxid`. Throws when the image is inconsistent (a missing parent, a
   * numChildren that does not match), since recovering from it would serve a wrong tree.
   */
  static fromNodes(images: readonly NodeImage[], lastZxid: number): DataTree {
    const tree = new DataTree();
    for (const node of tree.#nodes.values()) tree.#acls.release(node.acl);
    tree.#nodes.clear();
    tree.#ephemerals.clear();
    tree.#extended.clear();
    assert(images.length > 0 && images[0].path === "/", "a snapshot starts with /");
    for (const image of images) {
      const node: Znode = {
        // Kept as restored, a view into the decoded snapshot: copying made rebuilding a million
        // nodes a third slower (scripts/bench_restart), and the chunks the views keep alive hold
        // little else.
        data: image.data,
        dataNull: image.dataNull === true,
        acl: tree.#acls.hold(image.acl),
        stat: image.stat,
        children: noChildren,
      };
      if (image.path !== "/") {
        const parent = tree.#nodes.get(parentOf(image.path));
        if (!parent) assert(false, `snapshot node ${image.path} comes after its parent`);
        tree.#addChild(parent, baseName(image.path));
      }
      if (tree.#nodes.has(image.path)) assert(false, `snapshot holds ${image.path} once`);
      tree.#nodes.set(image.path, node);
      tree.#track(image.path, image.stat.ephemeralOwner);
      const quota = quotaTarget(image.path, quotaLimitsName);
      if (quota !== null) tree.#quotas.add(quota);
    }
    for (const [path, node] of tree.#nodes) {
      if (node.children.size !== node.stat.numChildren) {
        assert(false, `numChildren of ${path} matches its children`);
      }
    }
    tree.#lastZxid = lastZxid;
    return tree;
  }

  /** Every path, parents before children (for snapshots and digests). */
  *paths(): Iterable<string> {
    const stack = ["/"];
    while (stack.length > 0) {
      const path = stack.pop()!;
      yield path;
      const node = this.#nodes.get(path)!;
      for (const name of [...node.children].sort().reverse()) stack.push(childPath(path, name));
    }
  }

  /**
   * Applies one record. The txn was prepared against this tree plus the changes ordered before
   * it, so it cannot fail: a failure here is a broken invariant, not bad input.
   */
  apply(record: TxnRecord): ApplyResult {
    assert(record.zxid > this.#lastZxid, `zxid ${record.zxid} after ${this.#lastZxid} must grow`);
    const out: ApplyResult = { results: [], triggers: [] };
    if (record.txn.type === "multi") {
      for (const txn of record.txn.txns) this.#applyOne(txn, record, out);
    } else {
      this.#applyOne(record.txn, record, out);
    }
    this.#lastZxid = record.zxid;
    return out;
  }

  #applyOne(txn: Txn, record: TxnRecord, out: ApplyResult): void {
    switch (txn.type) {
      case "create":
        return this.#create(txn, record, out);
      case "delete":
        return this.#delete(txn.path, record.zxid, out);
      case "setData": {
        const node = this.#mustGet(txn.path);
        this.#countQuota(txn.path, 0, txn.data.byteLength - node.data.byteLength);
        node.data = ownBytes(txn.data);
        node.dataNull = txn.dataNull === true;
        node.stat = {
          ...node.stat,
          version: txn.version,
          mzxid: record.zxid,
          mtime: record.timeMs,
          dataLength: txn.data.byteLength,
        };
        out.results.push({ type: "setData", stat: node.stat });
        out.triggers.push({ type: "NodeDataChanged", path: txn.path, acl: node.acl });
        return;
      }
      case "setACL": {
        const node = this.#mustGet(txn.path);
        this.#acls.release(node.acl);
        node.acl = this.#acls.hold(txn.acl);
        node.stat = { ...node.stat, aversion: txn.aversion };
        out.results.push({ type: "setACL", stat: node.stat });
        return;
      }
      case "check":
        out.results.push({ type: "check" });
        return;
      case "createSession":
        out.results.push({ type: "createSession" });
        return;
      case "closeSession": {
        const deleted = this.ephemeralsOf(txn.sessionId);
        for (const path of deleted) this.#delete(path, record.zxid, null, out.triggers);
        out.results.push({ type: "closeSession", deleted });
        return;
      }
      case "multi":
        assert(false, "a multi cannot nest another multi");
    }
  }

  #create(txn: Extract<Txn, { type: "create" }>, record: TxnRecord, out: ApplyResult): void {
    const parentPath = parentOf(txn.path);
    const parent = this.#mustGet(parentPath);
    assert(!this.#nodes.has(txn.path), `create of existing ${txn.path}`);
    assert(!isEphemeralOwner(parent.stat.ephemeralOwner), `create under ephemeral ${parentPath}`);
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
    this.#insert(txn.path, ownBytes(txn.data), txn.acl, stat, txn.dataNull === true);
    parent.stat = { ...parent.stat, cversion: txn.parentCversion, pzxid: record.zxid };
    this.#track(txn.path, txn.ephemeralOwner);
    this.#quotaCreated(txn.path);
    this.#countQuota(txn.path, 1, txn.data.byteLength);
    out.results.push({ type: "create", path: txn.path, stat });
    out.triggers.push({ type: "NodeCreated", path: txn.path, acl: txn.acl });
    out.triggers.push({ type: "NodeChildrenChanged", path: parentPath });
  }

  #insert(path: string, data: Uint8Array, acl: readonly Acl[], stat: Stat, dataNull = false): void {
    const parent = this.#mustGet(parentOf(path));
    const held = this.#acls.hold(acl);
    this.#nodes.set(path, { data, dataNull, acl: held, stat, children: noChildren });
    this.#addChild(parent, baseName(path));
    parent.stat = { ...parent.stat, numChildren: parent.children.size };
  }

  #addChild(parent: Znode, name: string): void {
    if (parent.children === noChildren) parent.children = new Set();
    parent.children.add(name);
  }

  #delete(path: string, zxid: number, out: ApplyResult | null, triggers = out!.triggers): void {
    const node = this.#mustGet(path);
    assert(node.children.size === 0, `delete of non-empty ${path}`);
    const parentPath = parentOf(path);
    const parent = this.#mustGet(parentPath);
    this.#nodes.delete(path);
    this.#acls.release(node.acl);
    parent.children.delete(baseName(path));
    if (parent.children.size === 0) parent.children = noChildren;
    parent.stat = {
      ...parent.stat,
      numChildren: parent.children.size,
      cversion: parent.stat.cversion + 1,
      pzxid: zxid,
    };
    const owner = node.stat.ephemeralOwner;
    if (isEphemeralOwner(owner)) {
      const owned = this.#ephemerals.get(owner);
      owned?.delete(path);
      if (owned?.size === 0) this.#ephemerals.delete(owner);
    } else if (owner <= containerOwner) {
      this.#extended.delete(path);
    }
    const quota = quotaTarget(path, quotaLimitsName);
    if (quota !== null) this.#quotas.delete(quota);
    this.#countQuota(path, -1, -node.data.byteLength);
    out?.results.push({ type: "delete" });
    triggers.push({ type: "NodeDeleted", path, acl: node.acl });
    triggers.push({ type: "NodeChildrenChanged", path: parentPath });
  }

  /** A new limits node starts a quota; a new stats node is filled with the subtree's usage. */
  #quotaCreated(path: string): void {
    const limited = quotaTarget(path, quotaLimitsName);
    if (limited !== null) this.#quotas.add(limited);
    const measured = quotaTarget(path, quotaStatsName);
    if (measured === null || !this.#nodes.has(measured)) return;
    let count = 0;
    let bytes = 0;
    const stack = [measured];
    while (stack.length > 0) {
      const at = stack.pop()!;
      const node = this.#nodes.get(at)!;
      count++;
      bytes += node.data.byteLength;
      for (const name of node.children) stack.push(childPath(at, name));
    }
    this.#setStats(path, formatQuotaUsage({ count, bytes }));
  }

  /** Adds to the usage of the innermost quota that covers `path`, if any. */
  #countQuota(path: string, count: number, bytes: number): void {
    if (this.#quotas.size === 0) return;
    for (let at = path;; at = parentOf(at)) {
      if (this.#quotas.has(at)) {
        const stats = this.#nodes.get(quotaStatsPath(at));
        if (!stats) return;
        const usage = parseQuotaUsage(new TextDecoder().decode(stats.data));
        usage.count += count;
        usage.bytes += bytes;
        return this.#setStats(quotaStatsPath(at), formatQuotaUsage(usage));
      }
      if (at === "/") return;
    }
  }

  /** Replaces a stats node's data as ZooKeeper does: no version change, no txn, no watch. */
  #setStats(path: string, text: string): void {
    const node = this.#nodes.get(path)!;
    node.data = new TextEncoder().encode(text);
    node.dataNull = false;
    node.stat = { ...node.stat, dataLength: node.data.byteLength };
  }

  /** Indexes a new node by its owner: a session's ephemerals, or the extended nodes. */
  #track(path: string, owner: number): void {
    if (isEphemeralOwner(owner)) {
      let owned = this.#ephemerals.get(owner);
      if (!owned) this.#ephemerals.set(owner, owned = new Set());
      owned.add(path);
    } else if (owner <= containerOwner) {
      this.#extended.add(path);
    }
  }

  #mustGet(path: string): Znode {
    const node = this.#nodes.get(path);
    assert(node !== undefined, `txn refers to missing node ${path}`);
    return node;
  }
}
