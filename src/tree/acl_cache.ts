/**
 * One shared, frozen copy of each distinct ACL the tree holds, counted by the nodes that hold it.
 * Most znodes carry one of a handful of ACLs (often OPEN_ACL_UNSAFE), so sharing saves an array
 * and its entries per znode; counting lets an ACL no node holds any more be dropped, so clients
 * setting many distinct ACLs cannot grow the cache past the nodes that use them. ZooKeeper keeps
 * its ACLs the same way (a reference-counted cache).
 * @module
 */
import type { Acl } from "./types.ts";

interface Entry {
  acl: readonly Acl[];
  holders: number;
}

/**
 * Interns ACLs by content.
 *
 * @example
 * ```ts
 * import { AclCache } from "./acl_cache.ts";
 * const cache = new AclCache();
 * const a = cache.hold([{ perms: 31, scheme: "world", id: "anyone" }]);
 * const b = cache.hold([{ perms: 31, scheme: "world", id: "anyone" }]);
 * a === b; // true
 * cache.release(a);
 * cache.release(b); // no holder left: dropped
 * ```
 */
export class AclCache {
  readonly #entries = new Map<string, Entry>();

  /** Number of distinct ACLs held. */
  get size(): number {
    return this.#entries.size;
  }

  /** The shared copy of `acl` (frozen, never to be mutated), counted as held once more. */
  hold(acl: readonly Acl[]): readonly Acl[] {
    const key = keyOf(acl);
    let entry = this.#entries.get(key);
    if (!entry) {
      const copy = Object.freeze(acl.map((a) => Object.freeze({ ...a })));
      this.#entries.set(key, entry = { acl: copy, holders: 0 });
    }
    entry.holders++;
    return entry.acl;
  }

  /** Counts one holder of `acl` (a copy {@linkcode AclCache.hold} returned) gone. */
  release(acl: readonly Acl[]): void {
    const key = keyOf(acl);
    const entry = this.#entries.get(key);
    if (!entry) return;
    if (--entry.holders === 0) this.#entries.delete(key);
  }
}

function keyOf(acl: readonly Acl[]): string {
  let key = "";
  for (const a of acl) key += `${a.perms}|${a.scheme}|${a.id}\n`;
  return key;
}
