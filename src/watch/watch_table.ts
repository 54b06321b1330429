/**
 * One-shot watch tables (REFERENCE §4), as ZooKeeper's server keeps them: a data table (watches
 * set by getData and exists) and a child table (watches set by getChildren), each mapping a path
 * to the sessions watching it. A trigger removes what it fires.
 * @module
 */
import type { WatchEventType } from "../tree/types.ts";

/** Server-side watch tables: exists and getData both register in the data table. */
export type WatchTableKind = "data" | "child";

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
 * ```
 */
export class WatchTable {
  #byPath = { data: new Map<string, Set<number>>(), child: new Map<string, Set<number>>() };
  #bySession = new Map<number, { data: Set<string>; child: Set<string> }>();

  /** Number of registrations `watcher` holds. */
  countFor(watcher: number): number {
    const mine = this.#bySession.get(watcher);
    return mine ? mine.data.size + mine.child.size : 0;
  }

  /** Total registrations. */
  get size(): number {
    let total = 0;
    for (const mine of this.#bySession.values()) total += mine.data.size + mine.child.size;
    return total;
  }

  /** Registers `watcher` on `path`; a second identical registration is the same watch. */
  add(kind: WatchTableKind, path: string, watcher: number): void {
    let watchers = this.#byPath[kind].get(path);
    if (!watchers) this.#byPath[kind].set(path, watchers = new Set());
    watchers.add(watcher);
    let mine = this.#bySession.get(watcher);
    if (!mine) this.#bySession.set(watcher, mine = { data: new Set(), child: new Set() });
    mine[kind].add(path);
  }

  /** True when `watcher` has a `kind` watch on `path`. */
  has(kind: WatchTableKind, path: string, watcher: number): boolean {
    return this.#byPath[kind].get(path)?.has(watcher) ?? false;
  }

  /**
   * Fires `type` on `path`: returns each watcher to notify once, and forgets the watches fired.
   * NodeCreated and NodeDataChanged fire data watches; NodeChildrenChanged fires child watches;
   * NodeDeleted fires both (a watcher in both tables is told once).
   */
  trigger(type: WatchEventType, path: string): number[] {
    const fired = new Set<number>();
    if (type !== "NodeChildrenChanged") this.#take("data", path, fired);
    if (type === "NodeChildrenChanged" || type === "NodeDeleted") this.#take("child", path, fired);
    return [...fired];
  }

  /** Forgets every watch of `watcher` (its connection closed or its session ended). */
  removeWatcher(watcher: number): void {
    const mine = this.#bySession.get(watcher);
    if (!mine) return;
    for (const kind of ["data", "child"] as const) {
      for (const path of mine[kind]) {
        const watchers = this.#byPath[kind].get(path);
        watchers?.delete(watcher);
        if (watchers?.size === 0) this.#byPath[kind].delete(path);
      }
    }
    this.#bySession.delete(watcher);
  }

  /** Paths `watcher` watches, per table (for diagnostics). */
  pathsOf(watcher: number): { data: string[]; child: string[] } {
    const mine = this.#bySession.get(watcher);
    return { data: [...(mine?.data ?? [])].sort(), child: [...(mine?.child ?? [])].sort() };
  }

  #take(kind: WatchTableKind, path: string, fired: Set<number>): void {
    const watchers = this.#byPath[kind].get(path);
    if (!watchers) return;
    this.#byPath[kind].delete(path);
    for (const watcher of watchers) {
      fired.add(watcher);
      const mine = this.#bySession.get(watcher)!;
      mine[kind].delete(path);
      if (mine.data.size + mine.child.size === 0) this.#bySession.delete(watcher);
    }
  }
}
