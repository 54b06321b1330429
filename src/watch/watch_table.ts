/**
 * Watch tables (REFERENCE §4), as ZooKeeper's server keeps them: one-shot watches in a data
 * table (set by getData and exists) and a child table (set by getChildren), each mapping a path
 * to the sessions watching it, and ZooKeeper 3.6's persistent watches (addWatch): a `persistent`
 * watch sees every change of its own node and of its child list and stays; a `recursive` one sees
 * creates, deletes and data changes of its node and of every node below it, and stays too.
 * A trigger removes the one-shot watches it fires; a watcher is told of one change once.
 * @module
 */
import { parentOf } from "../tree/path.ts";
import type { WatchEventType } from "../tree/types.ts";

/**
 * Server-side watch tables: exists and getData both register in `data`; getChildren in `child`;
 * addWatch in `persistent` or `recursive`.
 */
export type WatchTableKind = "data" | "child" | "persistent" | "recursive";

/** Every table, in the order diagnostics list them. */
export const watchTableKinds: readonly WatchTableKind[] = [
  "data",
  "child",
  "persistent",
  "recursive",
];

type PerKind<T> = Record<WatchTableKind, T>;

function perKind<T>(make: () => T): PerKind<T> {
  return { data: make(), child: make(), persistent: make(), recursive: make() };
}

/**
 * Watch registrations of every connected session.
 *
 * @example
 * ```ts
 * import { WatchTable } from "./watch_table.ts";
 * const watches = new WatchTable();
 * watches.add("data", "/a", 7);
 * watches.trigger("NodeDataChanged", "/a"); // [7]
 * watches.trigger("NodeDataChanged", "/a"); // [] — one-shot
 * watches.add("recursive", "/a", 7);
 * watches.trigger("NodeCreated", "/a/b/c"); // [7], and again for the next change
 * ```
 */
export class WatchTable {
  #byPath = perKind(() => new Map<string, Set<number>>());
  #bySession = new Map<number, PerKind<Set<string>>>();

  /** Number of registrations `watcher` holds. */
  countFor(watcher: number): number {
    const mine = this.#bySession.get(watcher);
    if (!mine) return 0;
    let total = 0;
    for (const kind of watchTableKinds) total += mine[kind].size;
    return total;
  }

  /** Total registrations. */
  get size(): number {
    let total = 0;
    for (const watcher of this.#bySession.keys()) total += this.countFor(watcher);
    return total;
  }

  /** Registers `watcher` on `path`; a second identical registration is the same watch. */
  add(kind: WatchTableKind, path: string, watcher: number): void {
    let watchers = this.#byPath[kind].get(path);
    if (!watchers) this.#byPath[kind].set(path, watchers = new Set());
    watchers.add(watcher);
    let mine = this.#bySession.get(watcher);
    if (!mine) this.#bySession.set(watcher, mine = perKind(() => new Set()));
    mine[kind].add(path);
  }

  /** True when `watcher` has a `kind` watch on `path`. */
  has(kind: WatchTableKind, path: string, watcher: number): boolean {
    return this.#byPath[kind].get(path)?.has(watcher) ?? false;
  }

  /** Removes one registration; false when there was none. */
  remove(kind: WatchTableKind, path: string, watcher: number): boolean {
    const watchers = this.#byPath[kind].get(path);
    if (!watchers?.delete(watcher)) return false;
    if (watchers.size === 0) this.#byPath[kind].delete(path);
    const mine = this.#bySession.get(watcher)!;
    mine[kind].delete(path);
    if (this.countFor(watcher) === 0) this.#bySession.delete(watcher);
    return true;
  }

  /**
   * Fires `type` on `path`: returns each watcher to notify, once, and forgets the one-shot watches
   * fired. NodeCreated and NodeDataChanged fire data watches; NodeChildrenChanged fires child
   * watches; NodeDeleted fires both. Persistent watches on `path` fire for every type; recursive
   * watches on `path` or any ancestor fire for every type but NodeChildrenChanged. A watcher that
   * matches only through a recursive watch on an ancestor is told only if `mayRead` says it may
   * read the changed node (ZooKeeper's fix for CVE-2024-23944: a recursive watch must not reveal
   * the names of nodes its session cannot read).
   */
  trigger(
    type: WatchEventType,
    path: string,
    mayRead: (watcher: number) => boolean = () => true,
  ): number[] {
    const fired = new Set<number>();
    if (type !== "NodeChildrenChanged") this.#take("data", path, fired);
    if (type === "NodeChildrenChanged" || type === "NodeDeleted") this.#take("child", path, fired);
    for (const watcher of this.#byPath.persistent.get(path) ?? []) fired.add(watcher);
    const recursive = this.#byPath.recursive;
    if (type !== "NodeChildrenChanged" && recursive.size > 0) {
      for (const watcher of recursive.get(path) ?? []) fired.add(watcher);
      for (let at = path; at !== "/";) {
        at = parentOf(at);
        for (const watcher of recursive.get(at) ?? []) {
          if (!fired.has(watcher) && mayRead(watcher)) fired.add(watcher);
        }
      }
    }
    return [...fired];
  }

  /** Forgets every watch of `watcher` (its connection closed or its session ended). */
  removeWatcher(watcher: number): void {
    const mine = this.#bySession.get(watcher);
    if (!mine) return;
    for (const kind of watchTableKinds) {
      for (const path of mine[kind]) {
        const watchers = this.#byPath[kind].get(path);
        watchers?.delete(watcher);
        if (watchers?.size === 0) this.#byPath[kind].delete(path);
      }
    }
    this.#bySession.delete(watcher);
  }

  /** Paths `watcher` watches, per table, sorted (for diagnostics). */
  pathsOf(watcher: number): PerKind<string[]> {
    const mine = this.#bySession.get(watcher);
    const paths = perKind<string[]>(() => []);
    for (const kind of watchTableKinds) paths[kind] = [...(mine?.[kind] ?? [])].sort();
    return paths;
  }

  /** Sessions with at least one watch. */
  watchers(): number[] {
    return [...this.#bySession.keys()];
  }

  #take(kind: "data" | "child", path: string, fired: Set<number>): void {
    const watchers = this.#byPath[kind].get(path);
    if (!watchers) return;
    this.#byPath[kind].delete(path);
    for (const watcher of watchers) {
      fired.add(watcher);
      const mine = this.#bySession.get(watcher)!;
      mine[kind].delete(path);
      if (this.countFor(watcher) === 0) this.#bySession.delete(watcher);
    }
  }
}
