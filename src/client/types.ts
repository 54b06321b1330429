/**
 * The public vocabulary of the client: watch events and watchers, session states, options of
 * {@linkcode connect} and of each operation, results, and the {@linkcode op} builders of multi.
 * @module
 */
import { snapshotReadBytesMax } from "../constants.ts";
import type { Acl, CreateMode, Stat, WatchEventType } from "../tree/types.ts";
import type { NetAdapter } from "../net/types.ts";
import type { MultiResult, WatcherType as WireWatcherType } from "../wire/messages.ts";

/**
 * A watch notification as the client delivers it: what happened, and where (chroot stripped).
 *
 * @example
 * ```ts
 * import type { WatchEvent } from "./types.ts";
 * const event: WatchEvent = { type: "NodeDataChanged", path: "/config" };
 * ```
 */
export interface WatchEvent {
  /** What changed. */
  type: WatchEventType;
  /** The znode it happened to (chroot stripped). */
  path: string;
}

/**
 * A function called when the change it watches happens: once for a watch left by a read, every
 * time for a persistent watch ({@linkcode Client.addWatch}).
 *
 * @example
 * ```ts
 * import type { Watcher } from "./types.ts";
 * const watcher: Watcher = (event) => console.log(event.type, event.path);
 * ```
 */
export type Watcher = (event: WatchEvent) => void;

/**
 * `true` watches with the default watcher of {@linkcode ConnectOptions}; a function watches with itself.
 *
 * @example
 * ```ts
 * import type { WatchOption } from "./types.ts";
 * const useDefault: WatchOption = true;
 * const own: WatchOption = (event) => console.log(event.path);
 * ```
 */
export type WatchOption = boolean | Watcher;

/**
 * What `client.on("state", fn)` reports (REFERENCE §3).
 *
 * @example
 * ```ts
 * import type { SessionEvent } from "./types.ts";
 * const onState = (event: SessionEvent) => {
 *   if (event === "Expired") console.log("the session is gone: build a new client");
 * };
 * ```
 */
export type SessionEvent = "SyncConnected" | "Disconnected" | "Expired" | "AuthFailed" | "Closed";

/**
 * The state of a {@linkcode Client}. `AuthFailed` is an event only: the session stays usable.
 *
 * @example
 * ```ts
 * import type { ClientState } from "./types.ts";
 * const usable = (state: ClientState) => state === "SyncConnected" || state === "Disconnected";
 * ```
 */
export type ClientState = "SyncConnected" | "Disconnected" | "Expired" | "Closed";

/**
 * Data given to create/setData: bytes, or a string sent as UTF-8.
 *
 * @example
 * ```ts
 * import type { Data } from "./types.ts";
 * const text: Data = "v1";
 * const bytes: Data = new Uint8Array([1, 2, 3]);
 * ```
 */
export type Data = Uint8Array | string;

/**
 * Credentials to authenticate with; today only the `digest` scheme with `"user:password"`.
 *
 * @example
 * ```ts
 * import type { AuthInfo } from "./types.ts";
 * const auth: AuthInfo = { scheme: "digest", auth: "bob:secret" };
 * ```
 */
export interface AuthInfo {
  /** Auth scheme, e.g. `digest`. */
  scheme: string;
  /** Scheme-specific credentials, e.g. `user:password`. */
  auth: Data;
}

/**
 * Options of {@linkcode connect}.
 *
 * @example
 * ```ts
 * import type { ConnectOptions } from "./types.ts";
 * const options: ConnectOptions = {
 *   sessionTimeoutMs: 6_000,
 *   watcher: (event) => console.log(event),
 *   auth: [{ scheme: "digest", auth: "bob:secret" }],
 * };
 * ```
 */
export interface ConnectOptions {
  /** Requested session timeout; the server clamps it to [2, 20] ticks. Default 10000. */
  sessionTimeoutMs?: number;
  /** How long {@linkcode connect} keeps trying the host list before it rejects. Default 10000. */
  connectTimeoutMs?: number;
  /** Called for watches registered with `watch: true`. */
  watcher?: Watcher;
  /** TCP implementation. Default: the running runtime's (`defaultAdapter()`). */
  adapter?: NetAdapter;
  /** Credentials added right after the session opens (and again after every reconnect). */
  auth?: AuthInfo[];
  /** First delay between reconnect attempts; doubles per failure. Default 10. */
  retryDelayMsMin?: number;
  /** Largest delay between reconnect attempts. Default 1000. */
  retryDelayMsMax?: number;
}

/**
 * Options of {@linkcode Client.create}.
 *
 * @example
 * ```ts
 * import type { CreateOptions } from "./types.ts";
 * import { openAcl } from "../tree/types.ts";
 * const options: CreateOptions = { mode: "ephemeralSequential", acl: openAcl };
 * const lease: CreateOptions = { mode: "persistentWithTtl", ttlMs: 60_000 };
 * ```
 */
export interface CreateOptions {
  /**
   * Default `persistent`. A `container` is removed by the server once it has had children and
   * has none left; a `persistentWithTtl` or `persistentSequentialWithTtl` node once it has no
   * children and has not changed for `ttlMs` (the server must allow TTL nodes, else the create
   * rejects with an {@linkcode UnimplementedError}). Their `Stat.ephemeralOwner` is -1 for a
   * container and `-(1 + ttlMs)` for a TTL node.
   */
  mode?: CreateMode;
  /** Default {@linkcode openAcl} (world:anyone, all permissions). */
  acl?: readonly Acl[];
  /** Milliseconds, in [1, 2^40): required by the TTL modes, not allowed with the others. */
  ttlMs?: number;
}

/**
 * Options of conditional updates: `version` -1 (the default) matches any version.
 *
 * @example
 * ```ts
 * import type { VersionOptions } from "./types.ts";
 * const onlyIfUnchanged: VersionOptions = { version: 3 };
 * ```
 */
export interface VersionOptions {
  /** Expected version; -1 or absent means any. */
  version?: number;
}

/**
 * Options of reads that can leave a watch.
 *
 * @example
 * ```ts
 * import type { WatchOptions } from "./types.ts";
 * const options: WatchOptions = { watch: (event) => console.log(event.type) };
 * ```
 */
export interface WatchOptions {
  /** Watch the znode: `true` for the default watcher, or a function of its own. */
  watch?: WatchOption;
}

/**
 * Data and stat of a node.
 *
 * @example
 * ```ts
 * import type { NodeData } from "./types.ts";
 * const show = ({ data, stat }: NodeData) => console.log(new TextDecoder().decode(data), stat.version);
 * ```
 */
export interface NodeData {
  /** The znode's data. */
  data: Uint8Array;
  /** The znode's stat. */
  stat: Stat;
}

/**
 * Children names (unsorted, as the server lists them) and the parent's stat.
 *
 * @example
 * ```ts
 * import type { ChildrenWithStat } from "./types.ts";
 * const count = ({ children, stat }: ChildrenWithStat) => children.length === stat.numChildren;
 * ```
 */
export interface ChildrenWithStat {
  /** Child names, sorted. */
  children: string[];
  /** The parent's stat. */
  stat: Stat;
}

/**
 * ACL and stat of a node.
 *
 * @example
 * ```ts
 * import type { NodeAcl } from "./types.ts";
 * const aversion = ({ stat }: NodeAcl) => stat.aversion;
 * ```
 */
export interface NodeAcl {
  /** The znode's ACL. */
  acl: Acl[];
  /** The znode's stat. */
  stat: Stat;
}

/**
 * One op of {@linkcode Client.multi}; build them with {@linkcode op}.
 *
 * @example
 * ```ts
 * import { type Op, op } from "./types.ts";
 * const ops: Op[] = [op.check("/a", 1), { op: "delete", path: "/a/b" }];
 * ```
 */
export type Op =
  | { op: "check"; path: string; version: number }
  | {
    op: "create";
    path: string;
    data?: Data;
    acl?: readonly Acl[];
    mode?: CreateMode;
    /** See {@linkcode CreateOptions.ttlMs}. */
    ttlMs?: number;
  }
  | { op: "setData"; path: string; data: Data; version?: number }
  | { op: "delete"; path: string; version?: number };

/**
 * Outcome of one op of a multi: the op's result, or (in a failed multi) an error.
 *
 * @example
 * ```ts
 * import type { OpResult } from "./types.ts";
 * const createdPath = (result: OpResult) => result.op === "create" ? result.path : null;
 * ```
 */
export type OpResult = MultiResult;

/**
 * Builders for {@linkcode Client.multi} ops.
 *
 * @example
 * ```ts ignore
 * import { connect, op } from "./types.ts";
 * const client = await connect("127.0.0.1:2281");
 * await client.multi([op.check("/config", 3), op.create("/config/v4", "x"), op.delete("/config/v1")]);
 * await client.close();
 * ```
 */
export const op = {
  /** Succeeds only when `path` is at `version` (-1: exists at all). */
  check(path: string, version: number): Op {
    return { op: "check", path, version };
  },
  /** Creates `path`; see {@linkcode Client.create}. */
  create(path: string, data?: Data, options: CreateOptions = {}): Op {
    return {
      op: "create",
      path,
      data,
      acl: options.acl,
      mode: options.mode,
      ttlMs: options.ttlMs,
    };
  },
  /** Replaces the data of `path`; see {@linkcode Client.setData}. */
  setData(path: string, data: Data, options: VersionOptions = {}): Op {
    return { op: "setData", path, data, version: options.version };
  },
  /** Deletes `path`; see {@linkcode Client.delete}. */
  delete(path: string, options: VersionOptions = {}): Op {
    return { op: "delete", path, version: options.version };
  },
} as const;

/**
 * Options of {@linkcode Client.addWatch}.
 *
 * @example
 * ```ts
 * import type { AddWatchOptions } from "./types.ts";
 * const wholeSubtree: AddWatchOptions = { recursive: true };
 * ```
 */
export interface AddWatchOptions {
  /**
   * `false` (the default): a persistent watch on the node alone, told of its creation, data
   * changes and deletion and of every change of its child list. `true`: a persistent recursive
   * watch, told of the creation, data change and deletion of the node and of every node below
   * it, and never of NodeChildrenChanged.
   */
  recursive?: boolean;
}

/**
 * Which watches {@linkcode Client.removeWatches} and {@linkcode Client.checkWatches} mean:
 * `children` (left by getChildren), `data` (left by getData and exists), `persistent` and
 * `persistentRecursive` (left by addWatch), or `any` of them (ZooKeeper's WatcherType).
 *
 * @example
 * ```ts
 * import type { WatcherType } from "./types.ts";
 * const type: WatcherType = "persistentRecursive";
 * ```
 */
export type WatcherType = WireWatcherType;

/**
 * Options of {@linkcode Client.removeWatches}.
 *
 * @example
 * ```ts
 * import type { RemoveWatchesOptions, Watcher } from "./types.ts";
 * const mine: Watcher = (event) => console.log(event.path);
 * const options: RemoveWatchesOptions = { listener: mine };
 * ```
 */
export interface RemoveWatchesOptions {
  /**
   * Remove only this function's watches of the type; the server's watch is removed too when no
   * other function of this client still needs it. Absent: every watch of the type on the path.
   */
  listener?: Watcher;
}

// One read of Client.multiRead, its result (an error object in its slot when that read failed),
// and an identity from Client.whoAmI: the wire types themselves (documented in wire/messages.ts).
export type { ClientInfo, ReadOp, ReadResult } from "../wire/messages.ts";

/**
 * An online backup in progress, from {@linkcode Client.saveSnapshot}: what the snapshot the
 * server captured holds, and its encoded bytes (exactly a snapshot file), read as `chunks` is
 * iterated.
 *
 * @example
 * ```ts ignore
 * import type { SnapshotDownload } from "./types.ts";
 * async function save(download: SnapshotDownload, file: Deno.FsFile): Promise<void> {
 *   for await (const chunk of download.chunks) await file.write(chunk);
 *   console.log(`zxid 0x${download.zxid.toString(16)}: ${download.nodeCount} znodes`);
 * }
 * ```
 */
export interface SnapshotDownload {
  /** The zxid of the last txn the snapshot holds. */
  zxid: number;
  /** Znodes in the snapshot. */
  nodeCount: number;
  /** Sessions in the snapshot. */
  sessionCount: number;
  /** Size of the encoded snapshot; `chunks` yields exactly this many bytes in all. */
  bytes: number;
  /** The bytes in order, at most {@linkcode snapshotChunkBytes} per chunk. Iterate once. */
  chunks: AsyncIterable<Uint8Array>;
}

/** Most bytes one chunk of a {@linkcode SnapshotDownload} holds (one `snapshotRead`): 1 MiB. */
export const snapshotChunkBytes: number = snapshotReadBytesMax;

/**
 * Options of the test-only {@linkcode Client._testDropConnection}.
 *
 * @example
 * ```ts
 * import type { TestDropOptions } from "./types.ts";
 * const options: TestDropOptions = { reconnectAfter: new Promise((resolve) => setTimeout(resolve, 100)) };
 * ```
 */
export interface TestDropOptions {
  /** The client does not try to reconnect before this settles. */
  reconnectAfter?: Promise<unknown>;
}
