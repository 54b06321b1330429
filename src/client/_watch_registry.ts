/**
 * The client's watch tables, as ZooKeeper's client keeps them (REFERENCE §4): data watches
 * (getData, and exists on a node that exists), exist watches (exists on a missing node) and
 * child watches (getChildren), each mapping a path to the functions to call once. Private to
 * the client folder.
 * @module
 */
import type { WatchEventType } from "../tree/types.ts";

/**
 * Which client table a watch lives in.
 *
 * @example
 * ```ts
 * import type { ClientWatchKind } from "./_watch_registry.ts";
 * const kind: ClientWatchKind = "exist";
 * ```
 */
export type ClientWatchKind = "data" | "exist" | "child";

/**
 * Paths with pending watches, per table: what `setWatches` re-sends after a reconnect.
 *
 * @example
 * ```ts
 * import type { PendingWatchPaths } from "./_watch_registry.ts";
 * const paths: PendingWatchPaths = { data: ["/a"], exist: [], child: ["/"] };
 * ```
 */
export interface PendingWatchPaths {
  data: string[];
  exist: string[];
  child: string[];
}

/**
 * One-shot watch tables keyed by path (server paths, chroot included). A function registered
 * twice for the same path and kind is one registration; an event calls each function once even
 * when it sits in several of the tables the event fires.
 *
 * @example
 * ```ts
 * import { WatchRegistry } from "./_watch_registry.ts";
 * const registry = new WatchRegistry<() => void>();
 * const fn = () => {};
 * registry.add("data", "/a", fn);
 * registry.take("NodeDataChanged", "/a"); // [fn]
 * registry.take("NodeDataChanged", "/a"); // [] — one-shot
 * ```
 */
export class WatchRegistry<W> {
  readonly #tables: Record<ClientWatchKind, Map<string, Set<W>>> = {
    data: new Map(),
    exist: new Map(),
    child: new Map(),
  };

  /** Registers `watcher` for `kind` events on `path`. */
  add(kind: ClientWatchKind, path: string, watcher: W): void {
    const table = this.#tables[kind];
    let watchers = table.get(path);
    if (!watchers) table.set(path, watchers = new Set());
    watchers.add(watcher);
  }

  /**
   * Removes and returns the watchers an event fires, each once: NodeCreated and NodeDataChanged
   * fire data and exist watches; NodeChildrenChanged fires child watches; NodeDeleted fires all.
   */
  take(type: WatchEventType, path: string): W[] {
    const kinds: ClientWatchKind[] = type === "NodeChildrenChanged"
      ? ["child"]
      : type === "NodeDeleted"
      ? ["data", "exist", "child"]
      : ["data", "exist"];
    const fired = new Set<W>();
    for (const kind of kinds) {
      const watchers = this.#tables[kind].get(path);
      if (!watchers) continue;
      this.#tables[kind].delete(path);
      for (const watcher of watchers) fired.add(watcher);
    }
    return [...fired];
  }

  /** Paths with at least one watch, per table, sorted. */
  paths(): PendingWatchPaths {
    const keys = (kind: ClientWatchKind) => [...this.#tables[kind].keys()].sort();
    return { data: keys("data"), exist: keys("exist"), child: keys("child") };
  }

  /** Number of (path, kind) registrations. */
  get size(): number {
    return this.#tables.data.size + this.#tables.exist.size + this.#tables.child.size;
  }

  /** Forgets every watch (the session ended). */
  clear(): void {
    for (const table of Object.values(this.#tables)) table.clear();
  }
}
