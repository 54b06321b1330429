/**
 * A digest of a whole znode tree: two replicas that applied the same txns hold trees with equal
 * digests, and any difference in a node's path, data, ACL or stat (a txn skipped, applied twice or
 * applied differently) changes it. The simulator compares replicas with it (tests/sim/), and it
 * is cheap enough to compute after every change of a small tree.
 *
 * The digest is independent of the order of {@linkcode DataTree.exportNodes} (which follows
 * insertion order, and so may differ between a tree built by applying txns and one restored from
 * a snapshot): each node is hashed on its own, and the node hashes are added up lane by lane.
 * @module
 */
import type { DataTree, NodeImage } from "./data_tree.ts";

/**
 * A 64-bit running hash in two 32-bit lanes (FNV-1a style multiply-xor, finalised like murmur3's
 * fmix32). Not cryptographic: it detects accidental divergence, not an adversary.
 */
class Hasher {
  #h1 = 0x811c9dc5;
  #h2 = 0x9e3779b9;

  /** Mixes one 32-bit word in. */
  word(v: number): void {
    this.#h1 = Math.imul(this.#h1 ^ (v >>> 0), 0x01000193);
    this.#h2 = Math.imul(this.#h2 ^ (v >>> 0), 0x5bd1e995) ^ (this.#h2 >>> 15);
  }

  /** Mixes a number in: a safe integer exactly (two words), anything else by its text. */
  number(n: number): void {
    if (Number.isSafeInteger(n)) {
      const negative = n < 0;
      const magnitude = Math.abs(n);
      this.word(negative ? 1 : 0);
      this.word(magnitude % 2 ** 32);
      this.word(Math.floor(magnitude / 2 ** 32));
    } else {
      this.word(2);
      this.string(String(n));
    }
  }

  /** Mixes a string in, length first (so concatenations do not collide). */
  string(s: string): void {
    this.word(s.length);
    for (let i = 0; i < s.length; i++) this.word(s.charCodeAt(i));
  }

  /** Mixes bytes in, length first. */
  bytes(b: Uint8Array): void {
    this.word(b.byteLength);
    let i = 0;
    for (; i + 4 <= b.byteLength; i += 4) {
      this.word(b[i] | (b[i + 1] << 8) | (b[i + 2] << 16) | (b[i + 3] << 24));
    }
    let tail = 0;
    for (let shift = 0; i < b.byteLength; i++, shift += 8) tail |= b[i] << shift;
    this.word(tail);
  }

  /** The two lanes, finalised. */
  lanes(): [number, number] {
    return [fmix32(this.#h1 ^ 0x27d4eb2f), fmix32(this.#h2 ^ 0x165667b1)];
  }
}

function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The hash of one node: its path, data, ACL (in order) and every stat field. */
function nodeHash(node: NodeImage): [number, number] {
  const h = new Hasher();
  h.string(node.path);
  h.bytes(node.data);
  if (node.dataNull) h.word(0x6e756c6c); // "null": null data differs from empty data
  h.word(node.acl.length);
  for (const entry of node.acl) {
    h.number(entry.perms);
    h.string(entry.scheme);
    h.string(entry.id);
  }
  const s = node.stat;
  for (
    const v of [
      s.czxid,
      s.mzxid,
      s.pzxid,
      s.ctime,
      s.mtime,
      s.version,
      s.cversion,
      s.aversion,
      s.ephemeralOwner,
      s.dataLength,
      s.numChildren,
    ]
  ) h.number(v);
  return h.lanes();
}

/**
 * The digest of a set of nodes, whatever their order: 16 hex digits.
 *
 * @example
 * ```ts
 * import { DataTree } from "./data_tree.ts";
 * import { nodesDigest } from "./digest.ts";
 * const tree = new DataTree();
 * nodesDigest(tree.exportNodes()); // the digest of an empty tree
 * ```
 */
export function nodesDigest(nodes: Iterable<NodeImage>): string {
  let a = 0;
  let b = 0;
  let count = 0;
  for (const node of nodes) {
    const [x, y] = nodeHash(node);
    a = (a + x) >>> 0;
    b = (b + y) >>> 0;
    count++;
  }
  const h = new Hasher();
  h.word(count);
  h.word(a);
  h.word(b);
  const [h1, h2] = h.lanes();
  return h2.toString(16).padStart(8, "0") + h1.toString(16).padStart(8, "0");
}

/**
 * A deterministic digest of every node of `tree` (path, data, ACL and stat), as 16 hex digits.
 * Equal trees give equal digests, whatever order their nodes were inserted in; the tree's
 * `lastZxid` is not part of it (compare it separately).
 *
 * @example
 * ```ts
 * import { DataTree } from "./data_tree.ts";
 * import { treeDigest } from "./digest.ts";
 * const a = new DataTree();
 * const b = new DataTree();
 * console.log(treeDigest(a) === treeDigest(b)); // true
 * ```
 */
export function treeDigest(tree: DataTree): string {
  return nodesDigest(tree.exportNodes());
}
