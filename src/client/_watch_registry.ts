/**
 * The client's watch tables, as ZooKeeper's client keeps them (REFERENCE §4): data watches
 * (getData, and exists on a node that exists), exist watches (exists on a missing node) and
 * child watches (getChildren), each mapping a path to the functions to call once; and
 * ZooKeeper 3.6's persistent watches (addWatch), whose functions stay registered after they are
 * called. Private to the client folder.
 * @module
 */
import { parentOf } from "../tree/path.ts";
import type { WatchEventType } from "../tree/types.ts";
import { type WatcherType, watcherTypes } from "../wire/messages.ts";

/**
 * Which client table a watch lives in. `persistent` and `persistentRecursive` hold the watches
 * of addWatch; the others are one-shot.
 *
 * @example
 * ```ts
 * import type { ClientWatchKind } from "./_watch_registry.ts";
 * const kind: ClientWatchKind = "persistentRecursive";
 * ```
 */
export type ClientWatchKind = "data" | "exist" | "child" | "persistent" | "persistentRecursive";

const clientWatchKinds: readonly ClientWatchKind[] = [
  "data",
  "exist",
  "child",
  "persistent",
  "persistentRecursive",
];

/** The server-side watch types a removeWatches or checkWatches of "any" stands for. */
const specificWatcherTypes = watcherTypes.filter(
  (type): type is Exclude<WatcherType, "any"> => type !== "any",
);

/**
 * Paths with watches, per table: what `setWatches` re-sends after a reconnect.
 *
 * @example
 * ```ts
 * import type { PendingWatchPaths } from "./_watch_registry.ts";
 * const paths: PendingWatchPaths = {
 *   data: ["/a"],
 *   exist: [],
 *   child: ["/"],
 *   persistent: [],
 *   persistentRecursive: ["/app"],
 * };
 * ```
 */
export type PendingWatchPaths = Record<ClientWatchKind, string[]>;

/**
 * The client tables a removeWatches or checkWatches of `type` covers. The server keeps getData
 * and exists watches in one table, so `data` means both the data and the exist table here.
 *
 * @example
 * ```ts
 * import { watchKindsOf } from "./_watch_registry.ts";
 * watchKindsOf("data"); // ["data", "exist"]
 * ```
 */
export function watchKindsOf(type: WatcherType): ClientWatchKind[] {
  switch (type) {
    case "data":
      return ["data", "exist"];
    case "children":
      return ["child"];
    case "persistent":
      return ["persistent"];
    case "persistentRecursive":
      return ["persistentRecursive"];
    case "any":
      return [...clientWatchKinds];
  }
}

/**
 * The watch types `type` stands for on the server: itself, or all four for `any`.
 *
 * @example
 * ```ts
 * import { specificTypesOf } from "./_watch_registry.ts";
 * specificTypesOf("any").length; // 4
 * ```
 */
export function specificTypesOf(type: WatcherType): Exclude<WatcherType, "any">[] {
  return type === "any" ? [...specificWatcherTypes] : [type];
}

/**
 * Watch tables keyed by path (server paths, chroot included). A function registered twice for
 * the same path and kind is one registration; an event calls each function once even when it
 * sits in several of the tables the event fires.
 *
 * @example
 * ```ts
 * import { WatchRegistry } from "./_watch_registry.ts";
 * const registry = new WatchRegistry<() => void>();
 * const once = () => {};
 * const always = () => {};
 * registry.add("data", "/a", once);
 * registry.add("persistentRecursive", "/", always);
 * registry.fire("NodeDataChanged", "/a"); // [once, always]
 * registry.fire("NodeDataChanged", "/a"); // [always] — the data watch was one-shot
 * ```
 */
export class WatchRegistry<W> {
  readonly #tables: Record<ClientWatchKind, Map<string, Set<W>>> = {
    data: new Map(),
    exist: new Map(),
    child: new Map(),
    persistent: new Map(),
    persistentRecursive: new Map(),
  };

  /** Registers `watcher` for `kind` events on `path`. */
  add(kind: ClientWatchKind, path: string, watcher: W): void {
    const table = this.#tables[kind];
    let watchers = table.get(path);
    if (!watchers) table.set(path, watchers = new Set());
    watchers.add(watcher);
  }

  /**
   * Returns the watchers an event fires, each once, and forgets the one-shot ones among them.
   * One-shot, as the server fires them: NodeCreated and NodeDataChanged fire data and exist
   * watches; NodeChildrenChanged fires child watches; NodeDeleted fires all three. Persistent
   * watches on `path` fire for every type; persistent recursive watches on `path` or on any of
   * its ancestors fire for every type but NodeChildrenChanged. None of those is forgotten.
   */
  fire(type: WatchEventType, path: string): W[] {
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
    for (const watcher of this.#tables.persistent.get(path) ?? []) fired.add(watcher);
    const recursive = this.#tables.persistentRecursive;
    if (type !== "NodeChildrenChanged" && recursive.size > 0) {
      for (let at = path;; at = parentOf(at)) {
        for (const watcher of recursive.get(at) ?? []) fired.add(watcher);
        if (at === "/") break;
      }
    }
    return [...fired];
  }

  /** True when one of `kinds` holds `watcher` (or, without one, any watcher) on `path`. */
  has(kinds: readonly ClientWatchKind[], path: string, watcher?: W): boolean {
    return kinds.some((kind) => {
      const watchers = this.#tables[kind].get(path);
      return watchers !== undefined && (watcher === undefined || watchers.has(watcher));
    });
  }

  /** True when one of `kinds` holds a watcher other than `watcher` on `path`. */
  hasOther(kinds: readonly ClientWatchKind[], path: string, watcher: W): boolean {
    return kinds.some((kind) => {
      const watchers = this.#tables[kind].get(path);
      return watchers !== undefined && (watchers.size > 1 || !watchers.has(watcher));
    });
  }

  /** Forgets `watcher` (or, without one, every watcher) in `kinds` on `path`. */
  remove(kinds: readonly ClientWatchKind[], path: string, watcher?: W): void {
    for (const kind of kinds) {
      const watchers = this.#tables[kind].get(path);
      if (!watchers) continue;
      if (watcher !== undefined) watchers.delete(watcher);
      if (watcher === undefined || watchers.size === 0) this.#tables[kind].delete(path);
    }
  }

  /** Paths with at least one watch, per table, sorted. */
  paths(): PendingWatchPaths {
    const keys = (kind: ClientWatchKind) => [...this.#tables[kind].keys()].sort();
    return {
      data: keys("data"),
      exist: keys("exist"),
      child: keys("child"),
      persistent: keys("persistent"),
      persistentRecursive: keys("persistentRecursive"),
    };
  }

  /** Number of (path, kind) registrations. */
  get size(): number {
    let total = 0;
    for (const table of Object.values(this.#tables)) total += table.size;
    return total;
  }

  /** Forgets every watch (the session ended). */
  clear(): void {
    for (const table of Object.values(this.#tables)) table.clear();
  }
}
