/**
 * The Corral client: one session over one TCP connection at a time, reconnecting across the
 * host list while the session lives (REFERENCE §3), with promise-based operations answered in
 * send order (§6), one-shot and persistent watches kept in client-side tables and re-registered
 * after a reconnect (§4), and chroot support (§5).
 * Runs on Deno, Bun and Node through the `src/net` adapters.
 * @module
 */
import { authBytesMax, multiOpsMax, protocolVersion } from "../constants.ts";
import { defaultAdapter } from "../net/mod.ts";
import type { NetAdapter } from "../net/types.ts";
import { validatePath, withChroot, withoutChroot } from "../tree/path.ts";
import type { Acl, ErrorCode, Stat } from "../tree/types.ts";
import { createModes, openAcl, sequentialModes } from "../tree/types.ts";
import { encodeKeyedFrame, frameHeaderBytes } from "../wire/frame.ts";
import type {
  ConnectRequest,
  MultiOp,
  MultiResult,
  ReadResult,
  RequestOp,
  ResponseMessage,
  ServerLimits,
  ServerMessage,
} from "../wire/messages.ts";
import {
  type ConnectedMessage,
  Connection,
  formatAddress,
  type HandshakeOutcome,
} from "./_connection.ts";
import { specificTypesOf, watchKindsOf, WatchRegistry } from "./_watch_registry.ts";
import {
  type Cancellable,
  checkAcl,
  checkTtl,
  checkVersion,
  checkWatcherType,
  chunkWatches,
  delay,
  equalBytes,
  Fifo,
  positiveInt,
  shuffled,
} from "./_util.ts";
import type {
  AddWatchOptions,
  AuthInfo,
  ChildrenWithStat,
  ClientInfo,
  ClientState,
  ConnectOptions,
  CreateOptions,
  Data,
  NodeAcl,
  NodeData,
  Op,
  OpResult,
  ReadOp,
  RemoveWatchesOptions,
  SessionEvent,
  SnapshotDownload,
  TestDropOptions,
  VersionOptions,
  Watcher,
  WatcherType,
  WatchOption,
  WatchOptions,
} from "./types.ts";
import { snapshotChunkBytes } from "./types.ts";
import { type ConnectString, parseConnectString, type ServerAddress } from "./connect_string.ts";
import {
  BadArgumentsError,
  ConnectionLossError,
  type CorralError,
  errorFor,
  MultiError,
  NoWatcherError,
  ProtocolViolationError,
  SessionExpiredError,
} from "./errors.ts";

const sessionTimeoutMsDefault = 10_000;
const connectTimeoutMsDefault = 10_000;
const retryDelayMsMinDefault = 10;
const retryDelayMsMaxDefault = 1_000;
/** Shortest time one connection attempt (dial + handshake) is given. */
const attemptTimeoutMsMin = 1_000;
/**
 * Time given to an attempt right after an answer from any server: a handshake on a LAN takes
 * milliseconds, and a paused server (SIGSTOP) accepts the TCP connection but never answers, so
 * waiting the full attempt time there would hold up a failover. Each silent attempt doubles it,
 * up to the full time, so a slow network still gets through.
 */
const attemptTimeoutMsFirst = 250;
/** Retry delay after a server that is electing a leader refused: it serves again shortly. */
const notServingRetryMs = 50;
/** Largest xid; the next one wraps to 1. */
const xidMax = 0x7fffffff;

/** A request the client has accepted and not yet answered. */
interface Pending {
  xid: number;
  op: RequestOp;
  frame: Uint8Array;
  queuedAtMs: number;
  /** Gets the response, or a synthesised error response when none will come. */
  settle(outcome: Outcome): void;
}

/** A response, or an error that stands for the response that will not come. */
type Outcome = Pick<ResponseMessage, "err" | "message"> & Partial<ResponseMessage>;

/** What {@linkcode Client.#call} needs to build one request. */
interface CallPlan<T> {
  body: Record<string, unknown> & { op: RequestOp };
  /** The caller's path, for error messages. */
  path?: string;
  /** Turns a successful response into the result (runs before any later message is handled). */
  decode(response: Outcome): T;
  /** Turns an error response into the error to reject with. Default: {@linkcode errorFor}. */
  fail?(response: Outcome & { err: ErrorCode }): CorralError;
}

const encoder = new TextEncoder();
const emptyBytes = new Uint8Array(0);

function now(): number {
  return performance.now();
}

/**
 * Opens a session with one of the servers of `connectString` (`"h1:p1,h2:p2/chroot"`) and
 * resolves once it is established (and the `auth` credentials are accepted). Rejects with a
 * {@linkcode ConnectionLossError} when no server answers within `connectTimeoutMs`, with a
 * {@linkcode BadArgumentsError} for a bad connect string or option.
 *
 * @example
 * ```ts ignore
 * import { connect } from "./client.ts";
 * const client = await connect("127.0.0.1:2281/app", { sessionTimeoutMs: 6000 });
 * await client.create("/config", "v1");
 * const { data } = await client.getData("/config", { watch: (e) => console.log(e.type) });
 * await client.close();
 * ```
 */
export function connect(connectString: string, options: ConnectOptions = {}): Promise<Client> {
  return Client.connect(connectString, options);
}

/** The facts of a `snapshot` response, checked: the server must send all of them. */
function snapshotHeader(response: Outcome): Omit<SnapshotDownload, "chunks"> {
  const fields = response as Outcome & Record<string, unknown>;
  const facts = {
    zxid: fields.zxid,
    nodeCount: fields.nodeCount,
    sessionCount: fields.sessionCount,
    bytes: fields.bytes,
  };
  for (const [name, value] of Object.entries(facts)) {
    if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) {
      throw new ProtocolViolationError(`The snapshot response has no valid "${name}"`);
    }
  }
  return facts as Omit<SnapshotDownload, "chunks">;
}

/**
 * A session with a Corral ensemble. Obtain one with {@linkcode connect}; many operations may be
 * in flight at once and they take effect and are answered in the order they were called.
 *
 * @example
 * ```ts ignore
 * import { connect } from "./client.ts";
 * const client = await connect("127.0.0.1:2281");
 * client.on("state", (state) => console.log("session is", state));
 * await client.create("/lock-", "", { mode: "ephemeralSequential" });
 * await client.close();
 * ```
 */
export class Client {
  readonly #hosts: ServerAddress[];
  readonly #chroot: string;
  readonly #adapter: NetAdapter;
  readonly #requestedTimeoutMs: number;
  readonly #connectTimeoutMs: number;
  readonly #retryDelayMsMin: number;
  readonly #retryDelayMsMax: number;
  readonly #defaultWatcher: Watcher;
  #hostIndex = 0;
  /** Connection attempts in a row that got no answer at all. */
  #silentAttempts = 0;
  #state: ClientState = "Disconnected";
  #closing = false;
  #closePromise: Promise<void> | null = null;
  #sessionId = 0;
  #password: Uint8Array = emptyBytes;
  #timeoutMs: number;
  #lastZxid = 0;
  #limits: ServerLimits = { frameBytesMax: 0, dataBytesMax: 0, pendingRequestsMax: 1 };
  #conn: Connection | null = null;
  /** Internal requests (re-auth, setWatches, pings, close) that go before {@linkcode #queue}. */
  #urgent = new Fifo<Pending>();
  #queue = new Fifo<Pending>();
  #inflight = new Fifo<Pending>();
  #xid = 0;
  #watches = new WatchRegistry<Watcher>();
  #auth: { scheme: string; auth: Uint8Array }[] = [];
  #listeners = new Set<(event: SessionEvent) => void>();
  #timer: ReturnType<typeof setInterval> | undefined;
  #lastSentMs = 0;
  #lastHeardMs = 0;
  #disconnectedAtMs = 0;
  #reconnecting: Promise<void> | null = null;
  #reconnectGate: Promise<unknown> | null = null;
  #wake: (() => void) | null = null;
  #closingConnections = new Set<Promise<void>>();
  /** Connections established so far: a backup belongs to the one it was captured on. */
  #connectionCount = 0;
  /** Backups started so far: the server keeps one per connection, so only the latest is read. */
  #backupCount = 0;

  private constructor(target: ConnectString, adapter: NetAdapter, options: ConnectOptions) {
    this.#hosts = shuffled(target.hosts);
    this.#chroot = target.chroot;
    this.#adapter = adapter;
    this.#requestedTimeoutMs = positiveInt(
      options.sessionTimeoutMs,
      sessionTimeoutMsDefault,
      "sessionTimeoutMs",
    );
    this.#connectTimeoutMs = positiveInt(
      options.connectTimeoutMs,
      connectTimeoutMsDefault,
      "connectTimeoutMs",
    );
    this.#retryDelayMsMin = positiveInt(
      options.retryDelayMsMin,
      retryDelayMsMinDefault,
      "retryDelayMsMin",
    );
    this.#retryDelayMsMax = Math.max(
      this.#retryDelayMsMin,
      positiveInt(options.retryDelayMsMax, retryDelayMsMaxDefault, "retryDelayMsMax"),
    );
    if (options.watcher !== undefined && typeof options.watcher !== "function") {
      throw new BadArgumentsError("Option watcher must be a function");
    }
    const watcher = options.watcher;
    this.#defaultWatcher = (event) => watcher?.(event);
    this.#timeoutMs = this.#requestedTimeoutMs;
  }

  /** See {@linkcode connect}. */
  static async connect(connectString: string, options: ConnectOptions = {}): Promise<Client> {
    const target = parseConnectString(connectString);
    const client = new Client(target, options.adapter ?? await defaultAdapter(), options);
    await client.#start(options.auth ?? []);
    return client;
  }

  // ---- public state -------------------------------------------------------------------------

  /** The session id (0 before the session opened). */
  get sessionId(): number {
    return this.#sessionId;
  }

  /** A copy of the session password. */
  get sessionPassword(): Uint8Array {
    return this.#password.slice();
  }

  /** The session timeout the server granted. */
  get sessionTimeoutMs(): number {
    return this.#timeoutMs;
  }

  /** Where the session stands. */
  get state(): ClientState {
    return this.#state;
  }

  /** The highest zxid this client has seen in a response (events do not move it, as in ZooKeeper). */
  get lastZxid(): number {
    return this.#lastZxid;
  }

  /** The limits the server announced in the handshake. */
  get limits(): ServerLimits {
    return { ...this.#limits };
  }

  /** The chroot of the connect string (`""` for none). */
  get chroot(): string {
    return this.#chroot;
  }

  /**
   * Subscribes to session state events: `SyncConnected`, `Disconnected`, `Expired`,
   * `AuthFailed` (an addAuth was refused) and `Closed`.
   */
  on(type: "state", listener: (event: SessionEvent) => void): void {
    if (type !== "state") throw new BadArgumentsError(`Unknown event type ${JSON.stringify(type)}`);
    this.#listeners.add(listener);
  }

  /** Unsubscribes a listener added with {@linkcode Client.on}. */
  off(type: "state", listener: (event: SessionEvent) => void): void {
    if (type === "state") this.#listeners.delete(listener);
  }

  // ---- operations ---------------------------------------------------------------------------

  /**
   * Creates a node and resolves with its path (which, for a sequential mode, ends with the
   * 10-digit sequence number the server appended).
   *
   * Besides the persistent and ephemeral modes, `mode` may be `container` (the server removes
   * the node once it has had children and has none left) or `persistentWithTtl` /
   * `persistentSequentialWithTtl` with `ttlMs` (the server removes the node once it has no
   * children and has not changed for `ttlMs`). TTL nodes must be enabled on the server
   * (`ttlEnabled`, ZooKeeper's `extendedTypesEnabled`); otherwise the create rejects with an
   * {@linkcode UnimplementedError}. The server removes such nodes on its own schedule (about once
   * a second), not at the exact moment they become due.
   *
   * @example
   * ```ts ignore
   * import { connect } from "./client.ts";
   * const client = await connect("127.0.0.1:2281");
   * await client.create("/locks", "", { mode: "container" });
   * await client.create("/locks/lock-", "", { mode: "ephemeralSequential" });
   * await client.create("/lease", "", { mode: "persistentWithTtl", ttlMs: 60_000 });
   * console.log((await client.exists("/lease"))!.ephemeralOwner); // -60001
   * await client.close();
   * ```
   */
  create(path: string, data?: Data, options: CreateOptions = {}): Promise<string> {
    return this.#call(() => ({
      body: this.#wireCreate(path, data, options),
      path,
      decode: (response) => this.#clientPath(response.path!),
    }));
  }

  /** Deletes a node; `version` (default -1, any) must match its data version. */
  delete(path: string, options: VersionOptions = {}): Promise<void> {
    return this.#call(() => ({
      body: { op: "delete", path: this.#serverPath(path), version: checkVersion(options.version) },
      path,
      decode: () => undefined,
    }));
  }

  /** Stat of a node, or null when it does not exist; `watch` waits for its creation, change or deletion. */
  exists(path: string, options: WatchOptions = {}): Promise<Stat | null> {
    return this.#call(() => {
      const serverPath = this.#serverPath(path);
      const watcher = this.#watcherOf(options.watch);
      return {
        body: { op: "exists", path: serverPath, watch: watcher !== null },
        path,
        decode: (response) => {
          const stat = response.stat ?? null;
          if (watcher) this.#watches.add(stat ? "data" : "exist", serverPath, watcher);
          return stat;
        },
      };
    });
  }

  /** Data and stat of a node; `watch` waits for its next data change or deletion. */
  getData(path: string, options: WatchOptions = {}): Promise<NodeData> {
    return this.#call(() => {
      const serverPath = this.#serverPath(path);
      const watcher = this.#watcherOf(options.watch);
      return {
        body: { op: "getData", path: serverPath, watch: watcher !== null },
        path,
        decode: (response) => {
          if (watcher) this.#watches.add("data", serverPath, watcher);
          // A copy: the decoded bytes are a view into a whole network chunk, kept alive otherwise.
          return {
            data: response.data ? response.data.slice() : new Uint8Array(0),
            stat: response.stat!,
          };
        },
      };
    });
  }

  /** Replaces the data of a node; `version` (default -1, any) must match. Resolves with the new stat. */
  setData(path: string, data: Data, options: VersionOptions = {}): Promise<Stat> {
    return this.#call(() => ({
      body: {
        op: "setData",
        path: this.#serverPath(path),
        data: this.#bytes(data, path),
        version: checkVersion(options.version),
      },
      path,
      decode: (response) => response.stat!,
    }));
  }

  /** Names of the children of a node; `watch` waits for the list to change or the node to go. */
  getChildren(path: string, options?: WatchOptions & { stat?: false }): Promise<string[]>;
  /** Names of the children of a node and its stat. */
  getChildren(path: string, options: WatchOptions & { stat: true }): Promise<ChildrenWithStat>;
  getChildren(
    path: string,
    options: WatchOptions & { stat?: boolean } = {},
  ): Promise<string[] | ChildrenWithStat> {
    return this.#call(() => {
      const serverPath = this.#serverPath(path);
      const watcher = this.#watcherOf(options.watch);
      return {
        body: { op: "getChildren", path: serverPath, watch: watcher !== null },
        path,
        decode: (response): string[] | ChildrenWithStat => {
          if (watcher) this.#watches.add("child", serverPath, watcher);
          const children = response.children ?? [];
          return options.stat ? { children, stat: response.stat! } : children;
        },
      };
    });
  }

  /**
   * The number of nodes below `path`, at every depth (needs READ on `path`). Rejects with a
   * {@linkcode NoNodeError} when `path` does not exist.
   *
   * @example
   * ```ts ignore
   * import { connect } from "./client.ts";
   * const client = await connect("127.0.0.1:2281");
   * await client.create("/a");
   * await client.create("/a/b");
   * await client.create("/a/b/c");
   * console.log(await client.getAllChildrenNumber("/a")); // 2
   * await client.close();
   * ```
   */
  getAllChildrenNumber(path: string): Promise<number> {
    return this.#call(() => ({
      body: { op: "getAllChildrenNumber", path: this.#serverPath(path) },
      path,
      decode: (response) => {
        const count = response.count;
        if (typeof count !== "number" || !Number.isSafeInteger(count) || count < 0) {
          throw new ProtocolViolationError(`getAllChildrenNumber of ${path} returned no count`);
        }
        return count;
      },
    }));
  }

  /**
   * Paths of this session's ephemeral nodes that start with `prefix` (a plain string prefix,
   * so `"/app/lock-"` matches `/app/lock-0000000001`), sorted; with a chroot, `prefix` and the
   * paths are below it and nodes outside it are left out.
   *
   * @example
   * ```ts ignore
   * import { connect } from "./client.ts";
   * const client = await connect("127.0.0.1:2281");
   * await client.create("/worker-1", "", { mode: "ephemeral" });
   * console.log(await client.getEphemerals("/worker-")); // ["/worker-1"]
   * await client.close();
   * ```
   */
  getEphemerals(prefix = "/"): Promise<string[]> {
    return this.#call(() => {
      if (typeof prefix !== "string" || !prefix.startsWith("/")) {
        throw new BadArgumentsError(
          `A prefix must be a string that starts with /, not ${JSON.stringify(prefix)}`,
        );
      }
      return {
        body: { op: "getEphemerals", prefix: withChroot(this.#chroot, prefix) },
        decode: (response) =>
          (response.ephemerals ?? []).flatMap((serverPath) => {
            const path = withoutChroot(this.#chroot, serverPath);
            return path === null ? [] : [path];
          }),
      };
    });
  }

  /** ACL and stat of a node (needs READ or ADMIN). */
  getACL(path: string): Promise<NodeAcl> {
    return this.#call(() => ({
      body: { op: "getACL", path: this.#serverPath(path) },
      path,
      decode: (response) => ({ acl: response.acl ?? [], stat: response.stat! }),
    }));
  }

  /** Replaces the ACL of a node (needs ADMIN); `version` (default -1) must match its aversion. */
  setACL(path: string, acl: readonly Acl[], options: VersionOptions = {}): Promise<Stat> {
    return this.#call(() => ({
      body: {
        op: "setACL",
        path: this.#serverPath(path),
        acl: checkAcl(acl),
        version: checkVersion(options.version),
      },
      path,
      decode: (response) => response.stat!,
    }));
  }

  /** Resolves once the server this client talks to has applied every write committed before. */
  sync(path: string): Promise<void> {
    return this.#call(() => ({
      body: { op: "sync", path: this.#serverPath(path) },
      path,
      decode: () => undefined,
    }));
  }

  /**
   * Leaves a persistent watch on `path` (which need not exist) that calls `listener` for every
   * change and stays registered until it is removed with {@linkcode Client.removeWatches} or
   * the session ends. By default it is told of the node's creation, data changes and deletion
   * and of every change of its child list; with `recursive: true` it is told of the creation,
   * data change and deletion of the node and of every node below it (event paths name the node
   * that changed), and never of NodeChildrenChanged.
   *
   * After a reconnect the client registers the watch again (in `setWatches`); as in ZooKeeper,
   * changes made while it was disconnected are not reported: read again on `SyncConnected` if
   * they matter.
   *
   * @example
   * ```ts ignore
   * import { connect } from "./client.ts";
   * const client = await connect("127.0.0.1:2281");
   * const onChange = (event: { type: string; path: string }) => console.log(event.type, event.path);
   * await client.addWatch("/config", onChange, { recursive: true });
   * await client.create("/config");
   * await client.create("/config/db", "x"); // NodeCreated /config, then NodeCreated /config/db
   * await client.removeWatches("/config", "persistentRecursive", { listener: onChange });
   * await client.close();
   * ```
   */
  addWatch(path: string, listener: Watcher, options: AddWatchOptions = {}): Promise<void> {
    return this.#call(() => {
      const serverPath = this.#serverPath(path);
      if (typeof listener !== "function") {
        throw new BadArgumentsError("addWatch needs a listener function", path);
      }
      const recursive = options.recursive ?? false;
      if (typeof recursive !== "boolean") {
        throw new BadArgumentsError("Option recursive must be a boolean", path);
      }
      const mode = recursive ? "persistentRecursive" : "persistent";
      return {
        body: { op: "addWatch", path: serverPath, mode },
        path,
        decode: () => this.#watches.add(mode, serverPath, listener),
      };
    });
  }

  /**
   * Removes this session's watches of `type` on `path` on the server, then forgets the
   * functions registered for them here, as ZooKeeper's `removeAllWatches` does; with
   * `listener`, removes only that function's watches, as ZooKeeper's `removeWatches` does (the
   * server's watch is removed only when no other function of this client needs it, else it is
   * only checked). Types: `children`, `data` (getData and exists), `persistent`,
   * `persistentRecursive`, `any`.
   *
   * Rejects with a {@linkcode NoWatcherError} when there is no such watch: the server holds none
   * (a one-shot watch that already fired is gone), or `listener` is not registered for `type`
   * on `path` when this is called (so await the addWatch or read that registered it first).
   * Unlike ZooKeeper's client, the removed functions are not called with a
   * `DataWatchRemoved`/`ChildWatchRemoved`/`PersistentWatchRemoved` event: the
   * {@linkcode WatchEvent} type carries only the changes of the tree.
   *
   * @example
   * ```ts ignore
   * import { connect } from "./client.ts";
   * const client = await connect("127.0.0.1:2281");
   * await client.addWatch("/jobs", (event) => console.log(event.type));
   * await client.removeWatches("/jobs", "persistent");
   * await client.close();
   * ```
   */
  removeWatches(
    path: string,
    type: WatcherType,
    options: RemoveWatchesOptions = {},
  ): Promise<void> {
    return this.#call(() => {
      const serverPath = this.#serverPath(path);
      checkWatcherType(type);
      const listener = options.listener;
      if (listener === undefined) {
        const kinds = watchKindsOf(type);
        return {
          body: { op: "removeWatches", path: serverPath, type },
          path,
          decode: () => this.#watches.remove(kinds, serverPath),
        };
      }
      if (typeof listener !== "function") {
        throw new BadArgumentsError("Option listener must be a function", path);
      }
      // Name the one type the function holds when `any` covers several, so the server's other
      // watches of this client are not touched.
      const held = specificTypesOf(type).filter((one) =>
        this.#watches.has(watchKindsOf(one), serverPath, listener)
      );
      if (held.length === 0) {
        throw new NoWatcherError(`No ${type} watch on ${path} calls this listener`, path);
      }
      const narrowed = held.length === 1 ? held[0] : type;
      const kinds = watchKindsOf(narrowed);
      const shared = this.#watches.hasOther(kinds, serverPath, listener);
      return {
        body: { op: shared ? "checkWatches" : "removeWatches", path: serverPath, type: narrowed },
        path,
        decode: () => this.#watches.remove(kinds, serverPath, listener),
      };
    });
  }

  /**
   * Resolves when the server holds a watch of `type` for this session on `path`, rejects with
   * a {@linkcode NoWatcherError} when it does not; removes nothing.
   *
   * @example
   * ```ts ignore
   * import { connect, NoWatcherError } from "./mod.ts";
   * const client = await connect("127.0.0.1:2281");
   * await client.getData("/config", { watch: true });
   * await client.checkWatches("/config", "data"); // resolves
   * await client.checkWatches("/config", "children").catch((e) => e instanceof NoWatcherError);
   * await client.close();
   * ```
   */
  checkWatches(path: string, type: WatcherType): Promise<void> {
    return this.#call(() => ({
      body: { op: "checkWatches", path: this.#serverPath(path), type: checkWatcherType(type) },
      path,
      decode: () => undefined,
    }));
  }

  /**
   * Applies `ops` atomically: all of them or none. Resolves with one result per op; rejects
   * with a {@linkcode MultiError} naming the failing op when any op fails.
   */
  multi(ops: readonly Op[]): Promise<OpResult[]> {
    return this.#call(() => {
      if (!Array.isArray(ops)) throw new BadArgumentsError("multi() takes an array of ops");
      if (ops.length > multiOpsMax) {
        throw new BadArgumentsError(`A multi has at most ${multiOpsMax} ops, not ${ops.length}`);
      }
      const wireOps = ops.map((one, i) => this.#wireOp(one, i));
      return {
        body: { op: "multi", ops: wireOps },
        decode: (response) => (response.results ?? []).map((result) => this.#clientResult(result)),
        fail: (response) => this.#multiError(response, ops),
      };
    });
  }

  /**
   * Runs several reads in one request and resolves with one result per read, in order. Unlike
   * {@linkcode Client.multi} the reads are independent: a read that fails (a missing node, no
   * READ permission) gives `{op: "error", err, message}` in its slot and the others still
   * succeed, as in ZooKeeper's multi read. The whole call rejects only when the request itself
   * fails (bad arguments, connection loss). No watch is left.
   *
   * @example
   * ```ts ignore
   * import { connect } from "./client.ts";
   * const client = await connect("127.0.0.1:2281");
   * const [config, jobs] = await client.multiRead([
   *   { op: "getData", path: "/config" },
   *   { op: "getChildren", path: "/jobs" },
   * ]);
   * if (config.op === "getData") console.log(config.stat.version);
   * if (jobs.op === "error") console.log(jobs.err); // e.g. "NoNode"
   * await client.close();
   * ```
   */
  multiRead(ops: readonly ReadOp[]): Promise<ReadResult[]> {
    return this.#call(() => {
      if (!Array.isArray(ops)) throw new BadArgumentsError("multiRead() takes an array of reads");
      if (ops.length > multiOpsMax) {
        throw new BadArgumentsError(
          `A multiRead has at most ${multiOpsMax} reads, not ${ops.length}`,
        );
      }
      const wireOps = ops.map((one, i) => this.#wireReadOp(one, i));
      return {
        body: { op: "multiRead", ops: wireOps },
        decode: (response) => {
          const results = response.readResults;
          if (!Array.isArray(results) || results.length !== ops.length) {
            throw new ProtocolViolationError(
              `multiRead of ${ops.length} reads returned ${
                Array.isArray(results) ? results.length : "no"
              } results`,
            );
          }
          // Copies: the decoded bytes are views into a whole network chunk, kept alive otherwise.
          return results.map((result) =>
            result.op === "getData" ? { ...result, data: result.data.slice() } : result
          );
        },
      };
    });
  }

  /**
   * Adds credentials to the session (`"digest"`, `"user:password"`). Rejects with an
   * {@linkcode AuthFailedError} (and emits `AuthFailed`) when the server refuses them. Accepted
   * credentials are sent again after every reconnect.
   */
  addAuth(scheme: string, auth: Data): Promise<void> {
    return this.#call(() => {
      if (typeof scheme !== "string" || scheme === "") {
        throw new BadArgumentsError("addAuth needs a scheme");
      }
      const bytes = typeof auth === "string" ? encoder.encode(auth) : auth;
      if (!(bytes instanceof Uint8Array)) {
        throw new BadArgumentsError("addAuth needs auth bytes or a string");
      }
      if (bytes.byteLength > authBytesMax) {
        throw new BadArgumentsError(
          `Auth is ${bytes.byteLength} bytes, over the ${authBytesMax}-byte limit`,
        );
      }
      return {
        body: { op: "addAuth", scheme, auth: bytes },
        decode: () => {
          const known = this.#auth.some((a) => a.scheme === scheme && equalBytes(a.auth, bytes));
          if (!known) this.#auth.push({ scheme, auth: bytes.slice() });
        },
        fail: (response) => {
          if (response.err === "AuthFailed") this.#emit("AuthFailed");
          return errorFor(response.err, response.message ?? response.err);
        },
      };
    });
  }

  /**
   * The identities this connection authenticated as (ZooKeeper's `whoAmI`): `digest` with the
   * user name for each accepted {@linkcode Client.addAuth}, and those the server grants by
   * itself, such as `ip` with the client's address.
   *
   * @example
   * ```ts ignore
   * import { connect } from "./client.ts";
   * const client = await connect("127.0.0.1:2281", { auth: [{ scheme: "digest", auth: "bob:pw" }] });
   * console.log(await client.whoAmI()); // [..., { scheme: "digest", user: "bob" }]
   * await client.close();
   * ```
   */
  whoAmI(): Promise<ClientInfo[]> {
    return this.#call(() => ({
      body: { op: "whoAmI" },
      decode: (response) => response.clientInfo ?? [],
    }));
  }

  /**
   * Starts an online backup: once every request issued before it is answered, the server
   * captures a consistent snapshot and keeps its encoded bytes for this connection; iterate
   * `chunks` to read them (one read of {@linkcode snapshotChunkBytes} ahead). The bytes are
   * exactly a snapshot file: `decodeSnapshot` (src/storage) verifies them and
   * `corral snapshot restore` installs them in a data directory.
   *
   * Allowed to the super user (an `addAuth` of the server's superDigest identity), or, when the
   * server has no superDigest, to a client connecting from a loopback address; else rejects
   * with a {@linkcode NoAuthError}. The backup lives as long as the connection and until the
   * next `saveSnapshot()`: after a reconnect, reading rejects with a
   * {@linkcode ConnectionLossError}, after a newer backup with a {@linkcode BadArgumentsError};
   * start again then.
   *
   * @example
   * ```ts ignore
   * import { connect } from "./client.ts";
   * const client = await connect("127.0.0.1:2281");
   * const backup = await client.saveSnapshot();
   * const file = await Deno.open("corral.snap", { write: true, create: true, truncate: true });
   * for await (const chunk of backup.chunks) await file.write(chunk);
   * file.close();
   * console.log(`zxid 0x${backup.zxid.toString(16)}: ${backup.nodeCount} znodes`);
   * await client.close();
   * ```
   */
  async saveSnapshot(): Promise<SnapshotDownload> {
    const backup = ++this.#backupCount;
    const header = await this.#call(() => ({
      body: { op: "snapshot" },
      decode: (response) => ({ ...snapshotHeader(response), connection: this.#connectionCount }),
    }));
    const { connection, ...facts } = header;
    return { ...facts, chunks: this.#snapshotChunks(backup, connection, facts.bytes) };
  }

  /** The bytes of backup number `backup`, read in order with one read ahead. */
  async *#snapshotChunks(
    backup: number,
    connection: number,
    bytes: number,
  ): AsyncGenerator<Uint8Array, void, undefined> {
    const read = (offset: number) => {
      const length = Math.min(snapshotChunkBytes, bytes - offset);
      const chunk = this.#snapshotRead(backup, connection, offset, length);
      chunk.catch(() => {}); // A read ahead the caller never awaits must not be unhandled.
      return chunk;
    };
    let offset = 0;
    let next = bytes > 0 ? read(0) : null;
    // Every chunk holds at least one byte (checked by #snapshotRead), so this ends.
    while (next !== null) {
      const chunk = await next;
      offset += chunk.byteLength;
      next = offset < bytes ? read(offset) : null;
      yield chunk;
    }
  }

  /** Reads `length` bytes at `offset` of the backup; they must all come. */
  #snapshotRead(
    backup: number,
    connection: number,
    offset: number,
    length: number,
  ): Promise<Uint8Array> {
    const lost = () =>
      new ConnectionLossError(
        "The connection was lost during the backup, and the snapshot with it; start a new backup",
      );
    return this.#call(() => {
      if (backup !== this.#backupCount) {
        throw new BadArgumentsError("A newer saveSnapshot() replaced this backup on the server");
      }
      if (connection !== this.#connectionCount) throw lost();
      return {
        body: { op: "snapshotRead", offset, length },
        decode: (response) => {
          if (connection !== this.#connectionCount) throw lost();
          const data = response.data;
          if (!(data instanceof Uint8Array) || data.byteLength !== length) {
            throw new ProtocolViolationError(
              `snapshotRead at offset ${offset} returned ${
                data instanceof Uint8Array ? data.byteLength : "no"
              } bytes, expected ${length}`,
            );
          }
          // A copy: the decoded bytes are a view into a whole network chunk, kept alive otherwise.
          return data.slice();
        },
        fail: (response) =>
          connection !== this.#connectionCount
            ? lost()
            : errorFor(response.err, response.message ?? response.err),
      };
    });
  }

  /**
   * Ends the session: requests already issued are sent first, then the server deletes the
   * session's ephemerals and closes the connection. Afterwards every call rejects with a
   * {@linkcode SessionExpiredError}. Idempotent.
   */
  close(): Promise<void> {
    return this.#closePromise ??= this.#close();
  }

  /**
   * **Test-only.** Drops the current TCP connection as a network failure would, so tests can
   * exercise reconnection; the session lives on. With `reconnectAfter`, the client waits for
   * that promise before it tries to reconnect.
   */
  _testDropConnection(options: TestDropOptions = {}): void {
    if (!this.#conn) return;
    this.#reconnectGate = options.reconnectAfter ?? null;
    this.#connectionLost("dropped by _testDropConnection()");
  }

  // ---- request pipeline ---------------------------------------------------------------------

  /** Builds, validates and enqueues one request; the promise settles with its answer. */
  #call<T>(plan: () => CallPlan<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#checkOpen();
      const { body, path, decode, fail } = plan();
      this.#enqueue(body, this.#queue, (outcome) => {
        if (outcome.err === undefined) {
          try {
            resolve(decode(outcome));
          } catch (error) {
            reject(error);
          }
          return;
        }
        const failed = outcome as Outcome & { err: ErrorCode };
        reject(fail ? fail(failed) : errorFor(failed.err, failed.message ?? failed.err, path));
      });
    });
  }

  #checkOpen(): void {
    if (this.#state === "Expired") {
      throw new SessionExpiredError(`Session 0x${this.#sessionId.toString(16)} has expired`);
    }
    if (this.#closing || this.#state === "Closed") {
      throw new SessionExpiredError("The client is closed");
    }
  }

  #enqueue(body: CallPlan<unknown>["body"], queue: Fifo<Pending>, settle: Pending["settle"]): void {
    this.#xid = this.#xid >= xidMax ? 1 : this.#xid + 1;
    const xid = this.#xid;
    // Requests go out only once the server has accepted this client's protocol version (2), so
    // they use its integer keys; the connect itself has text keys, so any server can read it.
    const frame = encodeKeyedFrame({ ...body, xid });
    const frameBytes = frame.byteLength - frameHeaderBytes;
    if (this.#limits.frameBytesMax > 0 && frameBytes > this.#limits.frameBytesMax) {
      throw new BadArgumentsError(
        `The ${body.op} request is ${frameBytes} bytes, over the server's ${this.#limits.frameBytesMax}-byte frame limit`,
      );
    }
    queue.push({ xid, op: body.op, frame, queuedAtMs: now(), settle });
    this.#pump();
  }

  /** Sends queued requests while the connection is up and fewer than the limit are in flight. */
  #pump(): void {
    const conn = this.#conn;
    if (!conn || this.#state !== "SyncConnected") return;
    while (this.#inflight.length < this.#limits.pendingRequestsMax) {
      const next = this.#urgent.shift() ?? this.#queue.shift();
      if (!next) return;
      this.#inflight.push(next);
      conn.write(next.frame);
      this.#lastSentMs = now();
    }
  }

  #onMessage(message: ServerMessage): void {
    this.#lastHeardMs = now();
    switch (message.t) {
      case "res":
        return this.#onResponse(message);
      case "event":
        return this.#onEvent(message);
      case "error":
        if (message.err === "SessionExpired") return this.#expire(message.message);
        return this.#connectionLost(
          `the server ended the connection: ${message.err}: ${message.message}`,
        );
      default:
        return this.#connectionLost(`unexpected "${message.t}" frame after the handshake`);
    }
  }

  #onResponse(response: ResponseMessage): void {
    const head = this.#inflight.peek();
    if (!head || head.xid !== response.xid) {
      const expected = head ? `xid ${head.xid}` : "no response";
      return this.#connectionLost(
        `protocol error: got a response for xid ${response.xid}, expected ${expected}`,
      );
    }
    this.#inflight.shift();
    if (response.zxid > this.#lastZxid) this.#lastZxid = response.zxid;
    head.settle(response);
    this.#pump();
  }

  #onEvent(event: Extract<ServerMessage, { t: "event" }>): void {
    // The last zxid moves only with responses, as in ZooKeeper's client: it is what setWatches
    // asks the next server to compare with. Moved by an event, a reconnect in the middle of the
    // events one setWatches fires would skip the rest (found by the guarantees soak).
    const watchers = this.#watches.fire(event.type, event.path);
    const path = withoutChroot(this.#chroot, event.path);
    if (path === null) return;
    // Watchers run as microtasks queued now: after the continuations of responses that arrived
    // before this event (so `await getData(path, { watch })` resumes first) and before those of
    // responses that arrive after it (an event precedes any response reflecting its change).
    // A watcher that throws is the caller's bug; it surfaces as an uncaught error and does not
    // stop the other watchers or the session.
    for (const watcher of watchers) queueMicrotask(() => watcher({ type: event.type, path }));
  }

  // ---- connection lifecycle -----------------------------------------------------------------

  async #start(auth: AuthInfo[]): Promise<void> {
    const deadline = now() + this.#connectTimeoutMs;
    let failures = 0;
    let lastProblem = "no attempt made";
    let opened = false;
    while (!opened && now() < deadline) {
      const address = this.#nextHost();
      const outcome = await Connection.open(
        this.#adapter,
        address,
        this.#connectRequest(),
        Math.max(1, Math.min(deadline - now(), this.#attemptTimeoutMs())),
      );
      if (outcome.kind === "connected") {
        this.#onConnected(outcome.connection, outcome.message, false);
        opened = true;
        break;
      }
      // A server that is not serving now (its ensemble is electing) says ConnectionLoss: another
      // server, or the same one a moment later, may take the session.
      if (outcome.kind === "refused" && outcome.err !== "ConnectionLoss") {
        throw errorFor(
          outcome.err,
          `${formatAddress(address)} refused the session: ${outcome.message}`,
        );
      }
      lastProblem = outcome.message;
      failures++;
      const delay = Math.min(this.#afterAttempt(outcome, failures), deadline - now());
      if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
    }
    if (!opened) {
      throw new ConnectionLossError(
        `Could not open a session with ${this.#hosts.map(formatAddress).join(",")} within ` +
          `${this.#connectTimeoutMs} ms: ${lastProblem}`,
      );
    }
    try {
      await Promise.all(auth.map((a) => this.addAuth(a.scheme, a.auth)));
    } catch (error) {
      await this.close();
      throw error;
    }
  }

  #connectRequest(): ConnectRequest {
    return {
      op: "connect",
      proto: protocolVersion,
      timeoutMs: this.#requestedTimeoutMs,
      sessionId: this.#sessionId,
      password: this.#password,
      lastZxid: this.#lastZxid,
    };
  }

  #nextHost(): ServerAddress {
    const host = this.#hosts[this.#hostIndex];
    this.#hostIndex = (this.#hostIndex + 1) % this.#hosts.length;
    return host;
  }

  #attemptTimeoutMs(): number {
    const share = Math.floor((this.#timeoutMs * 2) / 3 / this.#hosts.length);
    const full = Math.min(this.#connectTimeoutMs, Math.max(attemptTimeoutMsMin, share));
    return Math.min(full, attemptTimeoutMsFirst * 2 ** Math.min(this.#silentAttempts, 16));
  }

  /** Notes whether an attempt got any answer; returns the delay before the next attempt. */
  #afterAttempt(outcome: HandshakeOutcome, failures: number): number {
    this.#silentAttempts = outcome.kind === "failed" && outcome.silent
      ? this.#silentAttempts + 1
      : 0;
    if (outcome.kind === "refused" && outcome.err === "ConnectionLoss") {
      return Math.min(this.#backoffMs(failures), notServingRetryMs);
    }
    return this.#backoffMs(failures);
  }

  #backoffMs(failures: number): number {
    const exponent = Math.min(Math.max(failures - 1, 0), 16);
    return Math.min(this.#retryDelayMsMax, this.#retryDelayMsMin * 2 ** exponent);
  }

  #onConnected(conn: Connection, message: ConnectedMessage, resumed: boolean): void {
    this.#conn = conn;
    this.#silentAttempts = 0;
    this.#connectionCount++;
    this.#sessionId = message.sessionId;
    this.#password = message.password.slice();
    this.#timeoutMs = message.timeoutMs;
    this.#limits = { ...message.limits };
    this.#lastHeardMs = this.#lastSentMs = now();
    // Re-authenticate, then re-register watches, before anything queued while disconnected.
    if (resumed) this.#queueRecovery();
    this.#state = "SyncConnected";
    this.#startTimer();
    conn.attach({
      message: (m) => {
        if (conn === this.#conn) this.#onMessage(m);
      },
      lost: (reason) => {
        if (conn === this.#conn) this.#connectionLost(reason);
      },
    });
    if (this.#conn !== conn) return;
    this.#emit("SyncConnected");
    this.#pump();
  }

  #queueRecovery(): void {
    for (const { scheme, auth } of this.#auth) {
      this.#enqueue({ op: "addAuth", scheme, auth }, this.#urgent, (outcome) => {
        if (outcome.err === "AuthFailed") this.#emit("AuthFailed");
      });
    }
    const toServer = this.#watches.paths();
    const relativeZxid = this.#lastZxid;
    for (const chunk of chunkWatches(toServer, this.#limits.frameBytesMax)) {
      this.#enqueue({ op: "setWatches", relativeZxid, ...chunk }, this.#urgent, () => {});
    }
  }

  /** The connection is gone: fail what was in flight, then reconnect unless closing. */
  #connectionLost(reason: string): void {
    const conn = this.#conn;
    if (!conn) return;
    this.#conn = null;
    this.#track(conn.close());
    const message = `Connection to ${formatAddress(conn.address)} lost: ${reason}`;
    this.#failAll(this.#inflight, "ConnectionLoss", message);
    if (this.#closing) {
      this.#failAll(this.#urgent, "ConnectionLoss", message);
      this.#failAll(this.#queue, "ConnectionLoss", message);
      return;
    }
    this.#state = "Disconnected";
    this.#disconnectedAtMs = now();
    // Pings and watch re-registrations belong to the old connection; a new one makes its own.
    for (const pending of this.#urgent.drain()) pending.settle({ err: "ConnectionLoss", message });
    this.#emit("Disconnected");
    if (this.#state === "Disconnected" && !this.#closing) this.#startReconnect();
  }

  /** Starts the reconnect loop unless one is running. */
  #startReconnect(): void {
    if (this.#reconnecting) return;
    this.#reconnecting = this.#reconnect().finally(() => this.#reconnecting = null);
  }

  /**
   * Tries the hosts round robin with a growing delay until the session is resumed, the server
   * says it expired, or the client closes. The loop re-checks the state after every resume, so
   * a connection that dies at once is retried by this same loop.
   */
  async #reconnect(): Promise<void> {
    const gate = this.#reconnectGate;
    this.#reconnectGate = null;
    if (gate) await this.#interruptible(gate);
    let failures = 0;
    let wait = this.#backoffMs(0);
    while (this.#state === "Disconnected" && !this.#closing) {
      await this.#interruptible(delay(wait));
      if (this.#state !== "Disconnected" || this.#closing) break;
      const address = this.#nextHost();
      const outcome = await Connection.open(
        this.#adapter,
        address,
        this.#connectRequest(),
        this.#attemptTimeoutMs(),
      );
      if (this.#state !== "Disconnected" || this.#closing) {
        if (outcome.kind === "connected") await outcome.connection.close();
        break;
      }
      if (outcome.kind === "connected" && outcome.message.sessionId === this.#sessionId) {
        this.#onConnected(outcome.connection, outcome.message, true);
        failures = 0;
        wait = this.#backoffMs(0);
        continue;
      }
      if (outcome.kind === "connected") {
        // A server must never swap sessions under a handle: treat it as a broken server.
        await outcome.connection.close();
      } else if (outcome.kind === "refused" && outcome.err === "SessionExpired") {
        this.#expire(outcome.message);
        break;
      }
      failures++;
      wait = this.#afterAttempt(outcome, failures);
    }
  }

  /** Waits for `promise`, or less if {@linkcode Client.#wake} is called (close, expiry). */
  async #interruptible(promise: Promise<unknown>): Promise<void> {
    let wake!: () => void;
    const woken = new Promise<void>((resolve) => wake = resolve);
    this.#wake = wake;
    try {
      await Promise.race([promise.then(() => {}, () => {}), woken]);
    } finally {
      if (this.#wake === wake) this.#wake = null;
      // Cancels the timer of a delay() that lost the race.
      (promise as Partial<Cancellable>).cancel?.();
    }
  }

  #expire(reason: string): void {
    if (this.#state === "Expired" || this.#state === "Closed") return;
    const conn = this.#conn;
    this.#conn = null;
    if (conn) this.#track(conn.close());
    this.#state = "Expired";
    const message = `Session 0x${this.#sessionId.toString(16)} has expired: ${reason}`;
    this.#failAll(this.#inflight, "SessionExpired", message);
    this.#failAll(this.#urgent, "SessionExpired", message);
    this.#failAll(this.#queue, "SessionExpired", message);
    this.#watches.clear();
    this.#stopTimer();
    this.#wake?.();
    this.#emit("Expired");
  }

  async #close(): Promise<void> {
    this.#closing = true;
    if (this.#state === "SyncConnected" && this.#conn) {
      const answered = new Promise<void>((resolve) => {
        this.#enqueue({ op: "close" }, this.#queue, () => resolve());
      });
      const timer = delay(Math.max(this.#timeoutMs, 1_000) * 2);
      await Promise.race([answered, timer]);
      timer.cancel();
    }
    this.#wake?.();
    await this.#reconnecting;
    if (this.#conn) {
      const conn = this.#conn;
      this.#conn = null;
      this.#track(conn.close());
    }
    const message = "The client closed before the request was answered";
    this.#failAll(this.#inflight, "ConnectionLoss", message);
    this.#failAll(this.#urgent, "ConnectionLoss", message);
    this.#failAll(this.#queue, "ConnectionLoss", message);
    this.#stopTimer();
    this.#watches.clear();
    await Promise.all([...this.#closingConnections]);
    this.#state = "Closed";
    this.#emit("Closed");
  }

  #track(closed: Promise<void>): void {
    this.#closingConnections.add(closed);
    void closed.then(() => this.#closingConnections.delete(closed));
  }

  #failAll(queue: Fifo<Pending>, err: ErrorCode, message: string): void {
    for (const pending of queue.drain()) pending.settle({ err, message });
  }

  // ---- timers -------------------------------------------------------------------------------

  #startTimer(): void {
    this.#stopTimer();
    const periodMs = Math.min(1_000, Math.max(10, Math.floor(this.#timeoutMs / 10)));
    this.#timer = setInterval(() => this.#onTimer(), periodMs);
  }

  #stopTimer(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Pings when idle, drops a silent connection, fails requests that waited too long. */
  #onTimer(): void {
    const t = now();
    if (this.#state === "SyncConnected" && this.#conn) {
      const silentMs = t - this.#lastHeardMs;
      if (silentMs >= (this.#timeoutMs * 2) / 3) {
        return this.#connectionLost(`nothing heard from the server for ${Math.round(silentMs)} ms`);
      }
      const idle = t - this.#lastSentMs >= this.#timeoutMs / 3;
      if (idle && !this.#closing && this.#inflight.length < this.#limits.pendingRequestsMax) {
        this.#enqueue({ op: "ping" }, this.#urgent, () => {});
      }
    } else if (this.#state === "Disconnected") {
      // Requests issued before or during the outage get one session timeout to be sent.
      for (;;) {
        const head = this.#queue.peek();
        if (!head || Math.max(head.queuedAtMs, this.#disconnectedAtMs) + this.#timeoutMs > t) break;
        this.#queue.shift();
        head.settle({
          err: "ConnectionLoss",
          message: `No connection to the servers for the session timeout (${this.#timeoutMs} ms)`,
        });
      }
    }
  }

  #emit(event: SessionEvent): void {
    for (const listener of [...this.#listeners]) {
      try {
        listener(event);
      } catch (error) {
        queueMicrotask(() => {
          throw error;
        });
      }
    }
  }

  // ---- translation between the caller's view and the wire ----------------------------------

  /**
   * Validates a caller's path and returns it with the chroot prefixed. A sequential create's
   * path is judged with its counter appended, as the server does (`/q/` is fine then).
   */
  #serverPath(path: string, sequential = false): string {
    if (typeof path !== "string") {
      throw new BadArgumentsError(`A path must be a string, not ${typeof path}`);
    }
    const problem = validatePath(path, sequential);
    if (problem !== null) {
      throw new BadArgumentsError(`Invalid path ${JSON.stringify(path)}: ${problem}`, path);
    }
    const full = withChroot(this.#chroot, path);
    const fullProblem = validatePath(full, sequential);
    if (fullProblem !== null) {
      throw new BadArgumentsError(
        `Invalid path ${JSON.stringify(path)} under the chroot: ${fullProblem}`,
        path,
      );
    }
    return full;
  }

  /** Strips the chroot from a path the server sent. */
  #clientPath(serverPath: string): string {
    return withoutChroot(this.#chroot, serverPath) ?? serverPath;
  }

  #bytes(data: Data | undefined, path: string): Uint8Array {
    if (data === undefined || data === null) return emptyBytes;
    const bytes = typeof data === "string" ? encoder.encode(data) : data;
    if (!(bytes instanceof Uint8Array)) {
      throw new BadArgumentsError("Data must be a Uint8Array or a string", path);
    }
    const max = this.#limits.dataBytesMax;
    if (max > 0 && bytes.byteLength > max) {
      throw new BadArgumentsError(
        `Data is ${bytes.byteLength} bytes, over the server's ${max}-byte limit`,
        path,
      );
    }
    return bytes;
  }

  #watcherOf(watch: WatchOption | undefined): Watcher | null {
    if (watch === undefined || watch === false) return null;
    if (watch === true) return this.#defaultWatcher;
    if (typeof watch === "function") return watch;
    throw new BadArgumentsError("Option watch must be a boolean or a function");
  }

  #wireCreate(
    path: string,
    data: Data | undefined,
    options: CreateOptions,
  ): CallPlan<unknown>["body"] {
    const mode = options.mode ?? "persistent";
    if (!createModes.includes(mode)) {
      throw new BadArgumentsError(
        `Unknown create mode ${JSON.stringify(mode)}; use one of ${createModes.join(", ")}`,
        path,
      );
    }
    const body = {
      op: "create" as const,
      path: this.#serverPath(path, sequentialModes.has(mode)),
      data: this.#bytes(data, path),
      acl: checkAcl(options.acl ?? openAcl),
      mode,
    };
    const ttlMs = checkTtl(mode, options.ttlMs, path);
    return ttlMs === undefined ? body : { ...body, ttlMs };
  }

  #wireReadOp(one: ReadOp, index: number): ReadOp {
    if (typeof one !== "object" || one === null) {
      throw new BadArgumentsError(`ops[${index}] must be a read object`);
    }
    if (one.op !== "getData" && one.op !== "getChildren") {
      throw new BadArgumentsError(`ops[${index}].op must be getData or getChildren`);
    }
    return { op: one.op, path: this.#serverPath(one.path) };
  }

  #wireOp(one: Op, index: number): MultiOp {
    if (typeof one !== "object" || one === null) {
      throw new BadArgumentsError(`ops[${index}] must be an op object`);
    }
    switch (one.op) {
      case "check":
        return {
          op: "check",
          path: this.#serverPath(one.path),
          version: checkVersion(one.version),
        };
      case "create":
        return this.#wireCreate(one.path, one.data, one) as MultiOp;
      case "setData":
        return {
          op: "setData",
          path: this.#serverPath(one.path),
          data: this.#bytes(one.data, one.path),
          version: checkVersion(one.version),
        };
      case "delete":
        return {
          op: "delete",
          path: this.#serverPath(one.path),
          version: checkVersion(one.version),
        };
      default:
        throw new BadArgumentsError(`ops[${index}].op must be check, create, setData or delete`);
    }
  }

  #clientResult(result: MultiResult): OpResult {
    return result.op === "create" ? { ...result, path: this.#clientPath(result.path) } : result;
  }

  #multiError(response: Outcome & { err: ErrorCode }, ops: readonly Op[]): CorralError {
    const message = response.message ?? response.err;
    if (!response.results) return errorFor(response.err, message);
    const results = response.results.map((result) => this.#clientResult(result));
    const failedIndex = results.findIndex((r) =>
      r.op === "error" && r.err !== "RolledBack" && r.err !== "RuntimeInconsistency"
    );
    return new MultiError(response.err, message, {
      results,
      failedIndex,
      path: ops[failedIndex]?.path,
    });
  }
}
