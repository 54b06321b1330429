/**
 * The standalone server shell: wires a {@linkcode Replica} to TCP (through a runtime adapter), a
 * txn store, the clock and the log. Everything that decides anything is in the replica; this file
 * only moves bytes, turns frames into events and carries out actions.
 * @module
 */
import * as limits from "../constants.ts";
import { Replica } from "../replica/replica.ts";
import type { HostCall, ReplicaAction, ReplicaEvent } from "../replica/types.ts";
import { EnsembleNode, type NodeAction, type NodeEvent } from "../ensemble/node.ts";
import { encodeSnapshot, FileStore } from "../storage/file_store.ts";
import { MemoryStore } from "../storage/memory_store.ts";
import type { DurableStore, Recovered, SnapshotInfo, TxnStore } from "../storage/types.ts";
import { encodeFrame, encodeKeyedFrame, FrameDecoder } from "../wire/frame.ts";
import * as fs from "node:fs";
import * as os from "node:os";
import process from "node:process";
import { FrameReader } from "../zk/records.ts";
import {
  answerFourLetterWord,
  fourLetterWordsDefault,
  type LatencyFacts,
  type ServerFacts,
} from "./four_letter.ts";
import { ZkConnection } from "./zk_connection.ts";
import { parseConnect, parseRequest, type ServerMessage } from "../wire/messages.ts";
import type { Listener, NetAdapter, Socket, SocketHandlers } from "../net/types.ts";
import { defaultAdapter } from "../net/mod.ts";
import { type Logger, silentLogger } from "./log.ts";
import type { EnsembleOptions } from "./ensemble_types.ts";
import { EnsembleShell, ensembleTicks } from "./ensemble.ts";
import { idleCheckMsDefault, IdleCollector, runtimeCollector } from "./idle_collector.ts";

/** Where an ensemble member is: ZAB state and phase, its leader, epoch and zxids. */
export interface EnsembleStatus {
  state: string;
  phase: string;
  leader: number | null;
  epoch: number;
  lastZxid: number;
  committedZxid: number;
}

/** How to run a server; every field has a default. */
export interface BaseServerOptions {
  /** CBOR client port; 0 picks a free one. Default {@linkcode limits.cborClientPortDefault}. */
  port?: number;
  /**
   * ZooKeeper-protocol client port (ZooKeeper's `clientPort`); 0 picks a free one, null serves
   * none. Default null (the CLI defaults it to 2181).
   */
  zkPort?: number | null;
  /** Allow TTL nodes (ZooKeeper's `extendedTypesEnabled`). Default false. */
  ttlEnabled?: boolean;
  /**
   * Four-letter words answered on the ZooKeeper port (`4lw.commands.whitelist`). Default
   * {@linkcode fourLetterWordsDefault} (only `srvr`, as ZooKeeper).
   */
  fourLetterWords?: readonly string[];
  /** The version four-letter words report. Default "dev". */
  version?: string;
  /** Address to bind. Default `0.0.0.0` (all interfaces), as ZooKeeper does. */
  hostname?: string;
  /** Tick length in ms. Default 2000. */
  tickMs?: number;
  /** This server's id (`myid`). Default 1. */
  serverId?: number;
  /** Most connections from one address (0 = no limit). Default 60. */
  maxClientCnxns?: number;
  /** `super:base64digest` identity that bypasses ACLs. Default none. */
  superDigest?: string | null;
  /** Largest znode value. Default 1 MiB. */
  dataBytesMax?: number;
  /** Largest client frame. Default 4 MiB. */
  frameBytesMax?: number;
  /** TCP implementation. Default: the current runtime's. */
  adapter?: NetAdapter;
  /** Where logs go. Default: nowhere. */
  logger?: Logger;
  /** Data directory for snapshots and epochs (and logs unless `dataLogDir`). */
  dataDir?: string;
  /** Separate txn-log directory (ZooKeeper's dataLogDir). */
  dataLogDir?: string;
  /**
   * ZooKeeper's snapCount: a snapshot is taken after a number of txns drawn anew each time from
   * `[ceil(snapCount / 2), snapCount]` (see {@linkcode snapshotThreshold}). Default 100,000.
   */
  snapCount?: number;
  /** Snapshots kept, with the logs they need (ZooKeeper's autopurge.snapRetainCount). Default 3. */
  snapRetainCount?: number;
  /**
   * A sync of the txn log slower than this, in ms, is logged as a warning and counted in `mntr`'s
   * `zk_fsync_threshold_exceed_count` (ZooKeeper's fsync.warningthresholdms). Default 1000.
   */
  fsyncWarningMs?: number;
  /**
   * False to acknowledge writes once the txn log is written, without syncing it (ZooKeeper's
   * `forceSync=no`): faster, but a power loss can lose acknowledged writes. Default true.
   */
  forceSync?: boolean;
  /** Run as a member of this ensemble (`serverId` must be one of its members). Default: standalone. */
  ensemble?: EnsembleOptions;
}

/** {@linkcode BaseServerOptions} plus the store to use (tests and the simulator inject one). */
export interface ServerOptions extends BaseServerOptions {
  /**
   * Where txns are made durable. Default: a {@linkcode FileStore} in `dataDir` when one is given,
   * else in memory (state lives as long as the process).
   */
  store?: TxnStore;
  /** Where the snapshot point's randomness comes from, `[0, 1)`. Default `Math.random`. */
  random?: () => number;
}

/**
 * The number of txns after which a server takes its next snapshot: drawn from
 * `[ceil(snapCount / 2), snapCount]` with `random` (which returns a number in `[0, 1)`). ZooKeeper
 * does the same, so that the members of an ensemble, which apply the same txns, do not all stop to
 * snapshot at the same zxid: with a fixed count, every member encoded its snapshot in the same
 * moment and the whole ensemble slowed down together.
 */
export function snapshotThreshold(snapCount: number, random: () => number): number {
  if (!Number.isFinite(snapCount)) return Infinity; // no snapshots
  const low = Math.ceil(snapCount / 2);
  const span = snapCount - low + 1;
  return low + Math.min(span - 1, Math.floor(random() * span));
}

/** A running server. */
export interface CorralServer {
  /** The bound CBOR client port. */
  readonly port: number;
  /** The bound ZooKeeper-protocol port; null when it is not served. */
  readonly zkPort: number | null;
  /** The replica (read-only views for admin tools and tests). */
  readonly replica: Replica;
  /** The txn store (for stats and tests). */
  readonly store: TxnStore;
  /** What recovery did at start (empty for an in-memory store). */
  readonly recoveryNotes: readonly string[];
  /** The ensemble member's state, phase, leader and epoch; null in standalone mode. */
  readonly ensembleStatus: EnsembleStatus | null;
  /** Resolves once the server has stopped, by `close()` or because it could not go on. */
  readonly stopped: Promise<void>;
  /**
   * Takes a snapshot now (also done every `snapCount / 2` to `snapCount` txns, see
   * {@linkcode snapshotThreshold}); resolves when it is durable.
   */
  snapshot(): Promise<SnapshotInfo | null>;
  /** Stops accepting, closes every connection, stops the clock and the store. Idempotent. */
  close(): Promise<void>;
}

interface ConnState {
  socket: Socket;
  /** Counters for the four-letter words. */
  stats: ConnStats;
  decoder: FrameDecoder;
  /** For a ZooKeeper-protocol connection: its translator and framing. */
  zk: { connection: ZkConnection; frames: FrameReader } | null;
  handshaken: boolean;
  /** A CBOR connection whose client speaks version 2 or later: known keys go as integers. */
  keyed: boolean;
  /** Closes a connection that never sends its connect frame. */
  handshakeTimer: ReturnType<typeof setTimeout> | null;
  /** The encoded snapshot of an online backup in progress on this connection. */
  backup: Uint8Array | null;
}

/** What `cons`, `stat` and `mntr` report of one connection. */
interface ConnStats {
  protocol: "zookeeper" | "cbor";
  received: number;
  sent: number;
  lastOp: string;
  lastZxid: number;
  sessionId: number;
  timeoutMs: number;
  establishedMs: number;
  lastResponseMs: number;
  latency: LatencyFacts;
  /** When each unanswered request (by the replica's xid) arrived. */
  pendingSince: Map<number, number>;
}

function newLatency(): LatencyFacts {
  return { min: 0, max: 0, total: 0, count: 0 };
}

function recordLatency(latency: LatencyFacts, ms: number): void {
  latency.min = latency.count === 0 ? ms : Math.min(latency.min, ms);
  latency.max = Math.max(latency.max, ms);
  latency.total += ms;
  latency.count++;
}

/**
 * Starts a standalone server.
 *
 * @example
 * ```ts
 * import { startServer } from "./server.ts";
 * const server = await startServer({ port: 0, hostname: "127.0.0.1" });
 * console.log("listening on", server.port);
 * await server.close();
 * ```
 */
export async function startServer(options: ServerOptions = {}): Promise<CorralServer> {
  const logger = options.logger ?? silentLogger;
  const store = options.store ?? (options.dataDir !== undefined
    ? await FileStore.open({
      dataDir: options.dataDir,
      dataLogDir: options.dataLogDir,
      snapRetainCount: options.snapRetainCount,
      syncWarningMs: options.fsyncWarningMs,
      forceSync: options.forceSync,
      log: (level, message, fields) => logger.log(level, message, fields),
    })
    : new MemoryStore());
  if (options.ensemble && !isDurable(store)) {
    throw new Error("an ensemble member keeps a txn log: give it a data directory");
  }
  const host = new ServerHost(options, store);
  try {
    await host.recover();
    const adapter = options.adapter ?? await defaultAdapter();
    await host.listen(adapter, options.hostname ?? "0.0.0.0");
    if (options.ensemble) await host.joinEnsemble(options.ensemble, adapter);
  } catch (error) {
    await host.close();
    throw error;
  }
  return host;
}

function isDurable(store: TxnStore): store is DurableStore {
  return "recover" in store && "saveSnapshot" in store;
}

class ServerHost implements CorralServer {
  readonly replica: Replica;
  readonly #logger: Logger;
  readonly store: TxnStore;
  recoveryNotes: string[] = [];
  readonly #snapCount: number;
  readonly #random: () => number;
  /** Txns after which the next snapshot is due: {@linkcode snapshotThreshold}, drawn per snapshot. */
  #snapThreshold: number;
  #txnsSinceSnapshot = 0;
  #snapshotting: Promise<SnapshotInfo | null> | null = null;
  readonly #conns = new Map<number, ConnState>();
  readonly #perAddress = new Map<string, number>();
  readonly #maxClientCnxns: number;
  readonly #frameBytesMax: number;
  readonly #tickMs: number;
  readonly #port: number;
  readonly #zkPortAsked: number | null;
  readonly #options: ServerOptions;
  readonly #fourLetterWords: readonly string[];
  /** Totals over connections already closed (open ones keep their own). */
  readonly #closedTotals = { received: 0, sent: 0, latency: newLatency() };
  #listener: Listener | null = null;
  #zkListener: Listener | null = null;
  #timer: ReturnType<typeof setInterval> | null = null;
  /** Gives memory back once the server turns quiet after a burst (see idle_collector.ts). */
  readonly #idle = new IdleCollector(runtimeCollector);
  #idleTimer: ReturnType<typeof setInterval> | null = null;
  #nextConnId = 1;
  #closed = false;
  #recovered: Recovered = {
    snapshot: null,
    records: [],
    epochs: { acceptedEpoch: 0, currentEpoch: 0 },
    notes: [],
  };
  #node: EnsembleNode | null = null;
  #shell: EnsembleShell | null = null;
  #stepping = false;
  readonly #pendingEvents: (ReplicaEvent | NodeEvent)[] = [];
  readonly #serverId: number;
  #resolveStopped!: () => void;
  readonly stopped = new Promise<void>((resolve) => this.#resolveStopped = resolve);

  constructor(options: ServerOptions, store: TxnStore) {
    const serverId = options.serverId ?? 1;
    if (!Number.isInteger(serverId) || serverId < 0 || serverId > 255) {
      throw new RangeError(`serverId must be an integer in [0, 255], not ${serverId}`);
    }
    this.#tickMs = options.tickMs ?? limits.tickMsDefault;
    this.#frameBytesMax = options.frameBytesMax ?? limits.frameBytesMax;
    this.#maxClientCnxns = options.maxClientCnxns ?? limits.maxClientCnxnsDefault;
    this.#logger = options.logger ?? silentLogger;
    this.store = store;
    this.#snapCount = options.snapCount ?? 100_000;
    this.#random = options.random ?? Math.random;
    this.#snapThreshold = snapshotThreshold(this.#snapCount, this.#random);
    this.#port = options.port ?? limits.cborClientPortDefault;
    this.#zkPortAsked = options.zkPort ?? null;
    this.#options = options;
    this.#fourLetterWords = options.fourLetterWords ?? fourLetterWordsDefault;
    this.#serverId = serverId;
    this.replica = new Replica({
      serverId,
      tickMs: this.#tickMs,
      // Session ids: server id in the top byte, then start time, so ids differ across restarts.
      sessionIdBase: serverId * 2 ** 45 + (Date.now() % 2 ** 25) * 2 ** 20,
      dataBytesMax: options.dataBytesMax,
      frameBytesMax: this.#frameBytesMax,
      superDigest: options.superDigest ?? null,
      ttlEnabled: options.ttlEnabled ?? false,
    });
    this.store.onDurable((zxid) =>
      this.#step(this.#node ? { type: "logged", zxid } : { type: "durable", zxid })
    );
    this.store.onFailure((zxid, error) => {
      if (this.#node) {
        // A member that cannot log cannot vote for anything: leave, loudly.
        return this.#fatal(`the txn log failed at zxid ${zxid}: ${error.message}`);
      }
      this.#step({ type: "storageFailed", zxid, message: error.message });
    });
  }

  /** Loads what the store recovered into the replica, before serving anyone. */
  async recover(): Promise<void> {
    if (!isDurable(this.store)) return;
    const started = Date.now();
    const recovered = await this.store.recover();
    this.replica.restore(recovered.snapshot, recovered.records);
    this.#recovered = recovered;
    // Every data dir carries its epochs from the first start on (standalone: both 0); the
    // ensemble's discovery phase reads and advances them.
    await this.store.writeEpochs(recovered.epochs);
    this.recoveryNotes = recovered.notes;
    this.#txnsSinceSnapshot = recovered.records.length;
    this.#logger.log("info", "recovered", {
      snapshotZxid: recovered.snapshot?.zxid ?? null,
      replayed: recovered.records.length,
      lastZxid: this.replica.tree.lastZxid,
      nodes: this.replica.tree.nodeCount,
      sessions: this.replica.sessions.size,
      ms: Date.now() - started,
    });
  }

  /** Starts this server's part in an ensemble: it serves clients once it has a leader. */
  async joinEnsemble(options: EnsembleOptions, adapter: NetAdapter): Promise<void> {
    const { initLimitTicks, syncLimitTicks } = ensembleTicks(options);
    const recovered = this.#recovered;
    this.#node = new EnsembleNode({
      myId: this.#serverId,
      membership: {
        voters: options.members.filter((m) => !m.observer).map((m) => m.id),
        observers: options.members.filter((m) => m.observer).map((m) => m.id),
      },
      replica: this.replica,
      epochs: recovered.epochs,
      snapshotZxid: recovered.snapshot?.zxid ?? 0,
      records: recovered.records,
      initLimitTicks,
      syncLimitTicks,
      nowMs: Date.now,
    });
    this.#recovered = { ...recovered, records: [] }; // the peer holds the history now
    this.#shell = new EnsembleShell({
      myId: this.#serverId,
      options,
      adapter,
      store: this.store as DurableStore,
      logger: this.#logger,
      step: (event) => this.#step(event),
      fatal: (reason) => this.#fatal(reason),
    });
    await this.#shell.start();
    this.#run(() => this.#node!.start(), undefined);
  }

  get ensembleStatus(): EnsembleStatus | null {
    if (!this.#node) return null;
    const s = this.#node.status;
    return {
      state: s.state,
      phase: s.phase,
      leader: s.leader,
      epoch: s.epochs.currentEpoch,
      lastZxid: s.lastZxid,
      committedZxid: s.committedZxid,
    };
  }

  #collectIfIdle(): void {
    const startMs = performance.now();
    const done = this.#idle.check();
    if (done !== null) {
      this.#logger.log(
        "debug",
        done === "collect"
          ? "quiet after a burst: collected garbage"
          : "idle: dropped compiled code",
        {
          ms: Math.round(performance.now() - startMs),
        },
      );
    }
  }

  #fatal(reason: string): void {
    if (this.#closed) return;
    this.#logger.log("error", "stopping: the server cannot go on", { reason });
    void this.close();
  }

  /** Counts applied txns; takes a snapshot when one is due (not while syncing a new leader). */
  #countApplied(count: number): void {
    this.#idle.note(count);
    this.#txnsSinceSnapshot += count;
    if (
      this.#txnsSinceSnapshot >= this.#snapThreshold && this.#snapshotting === null &&
      this.replica.role !== "down"
    ) {
      void this.snapshot();
    }
  }

  snapshot(): Promise<SnapshotInfo | null> {
    if (!isDurable(this.store) || this.#closed) return Promise.resolve(null);
    if (this.#snapshotting !== null) return this.#snapshotting;
    const store = this.store;
    const started = Date.now();
    const image = this.replica.captureImage();
    this.#txnsSinceSnapshot = 0;
    this.#snapThreshold = snapshotThreshold(this.#snapCount, this.#random);
    this.#logger.log("info", "snapshot started", {
      zxid: image.zxid,
      nodes: image.nodes.length,
      captureMs: Date.now() - started,
    });
    this.#snapshotting = store.saveSnapshot(image).then(
      (info) => info,
      (error) => {
        this.#logger.log("warn", "snapshot failed; the txn log still holds everything", {
          error: String(error),
        });
        return null;
      },
    ).finally(() => this.#snapshotting = null);
    return this.#snapshotting;
  }

  get port(): number {
    return this.#listener?.port ?? this.#port;
  }

  get zkPort(): number | null {
    return this.#zkListener?.port ?? this.#zkPortAsked;
  }

  async listen(adapter: NetAdapter, hostname: string): Promise<void> {
    this.#listener = await adapter.listen(
      { hostname, port: this.#port },
      (socket) => this.#accept(socket, false),
    );
    if (this.#zkPortAsked !== null) {
      this.#zkListener = await adapter.listen(
        { hostname, port: this.#zkPortAsked },
        (socket) => this.#accept(socket, true),
      );
    }
    this.#timer = setInterval(() => this.#step({ type: "tick", nowMs: Date.now() }), this.#tickMs);
    this.#idleTimer = setInterval(() => this.#collectIfIdle(), idleCheckMsDefault);
    this.#logger.log("info", "listening", {
      hostname,
      port: this.port,
      zkPort: this.zkPort,
      runtime: adapter.name,
      tickMs: this.#tickMs,
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer !== null) clearInterval(this.#timer);
    if (this.#idleTimer !== null) clearInterval(this.#idleTimer);
    await this.#shell?.close();
    await this.#listener?.close();
    await this.#zkListener?.close();
    for (const conn of this.#conns.values()) {
      this.#clearHandshakeTimer(conn);
      conn.socket.close();
    }
    await this.#snapshotting;
    await this.store.close();
    this.#logger.log("info", "stopped", {});
    this.#resolveStopped();
  }

  #accept(socket: Socket, zk: boolean): SocketHandlers {
    const connId = this.#nextConnId++;
    const address = socket.remoteAddress;
    const count = (this.#perAddress.get(address) ?? 0) + 1;
    this.#perAddress.set(address, count);
    const now = Date.now();
    const conn: ConnState = {
      socket,
      stats: {
        protocol: zk ? "zookeeper" : "cbor",
        received: 0,
        sent: 0,
        lastOp: "NA",
        lastZxid: 0,
        sessionId: 0,
        timeoutMs: 0,
        establishedMs: now,
        lastResponseMs: 0,
        latency: newLatency(),
        pendingSince: new Map(),
      },
      // Reads frames with integer keys (version 2) and with text keys (version 1) alike.
      decoder: new FrameDecoder(this.#frameBytesMax, true),
      zk: zk
        ? { connection: new ZkConnection(), frames: new FrameReader(this.#frameBytesMax) }
        : null,
      handshaken: false,
      keyed: false,
      handshakeTimer: null,
      backup: null,
    };
    this.#conns.set(connId, conn);
    // A silent connection must not hold a slot forever: allow it the longest session timeout.
    const handshakeMs = limits.sessionTimeoutTicksMax * this.#tickMs;
    conn.handshakeTimer = setTimeout(() => {
      conn.handshakeTimer = null;
      if (!conn.handshaken) {
        this.#protocolError(connId, `no connect frame within ${handshakeMs} ms`);
      }
    }, handshakeMs);
    if (this.#closed || (this.#maxClientCnxns > 0 && count > this.#maxClientCnxns)) {
      const message =
        `too many connections from ${address} (maxClientCnxns=${this.#maxClientCnxns})`;
      this.#logger.log("warn", "connection refused", { connId, address, reason: message });
      this.#write(connId, { t: "refused", err: "Throttled", message });
      socket.close();
    }
    return {
      data: (chunk) => this.#onData(connId, chunk),
      close: (error) => this.#onClose(connId, address, error),
    };
  }

  #onData(connId: number, chunk: Uint8Array): void {
    const conn = this.#conns.get(connId);
    if (!conn) return;
    if (conn.zk) return this.#onZkData(connId, conn, conn.zk, chunk);
    for (const frame of conn.decoder.push(chunk)) {
      if (!this.#conns.has(connId)) return;
      if (!frame.ok) return this.#protocolError(connId, frame.reason);
      if (!conn.handshaken) {
        const parsed = parseConnect(frame.message);
        if (!parsed.ok) return this.#protocolError(connId, parsed.message, parsed.err);
        conn.handshaken = true;
        conn.keyed = parsed.value.proto >= 2;
        this.#clearHandshakeTimer(conn);
        const entropy = crypto.getRandomValues(new Uint8Array(limits.sessionPasswordBytes));
        this.#step({
          type: "connect",
          connId,
          nowMs: Date.now(),
          remoteAddress: conn.socket.remoteAddress,
          request: parsed.value,
          entropy,
        });
        continue;
      }
      const parsed = parseRequest(frame.message);
      if (parsed.ok) {
        this.#request(conn, { type: "request", connId, nowMs: Date.now(), request: parsed.value });
      } else if (parsed.xid !== null) {
        this.#request(conn, {
          type: "invalid",
          connId,
          nowMs: Date.now(),
          xid: parsed.xid,
          err: parsed.err,
          message: parsed.message,
        });
      } else {
        return this.#protocolError(connId, parsed.message, parsed.err);
      }
    }
  }

  /** Bytes on a ZooKeeper-protocol connection: a four-letter word, the connect, or requests. */
  #onZkData(
    connId: number,
    conn: ConnState,
    zk: NonNullable<ConnState["zk"]>,
    chunk: Uint8Array,
  ): void {
    if (!conn.handshaken && zk.frames.bufferedBytes === 0 && isFourLetterWord(chunk)) {
      const word = new TextDecoder().decode(chunk.subarray(0, 4));
      conn.socket.write(new TextEncoder().encode(this.#fourLetterWord(word)));
      this.#forget(connId);
      conn.socket.close();
      return;
    }
    for (const frame of zk.frames.push(chunk)) {
      if (!this.#conns.has(connId)) return;
      if (!frame.ok) return this.#protocolError(connId, frame.reason);
      const nowMs = Date.now();
      if (!conn.handshaken) {
        const parsed = zk.connection.connect(frame.payload);
        if (!parsed.ok) return this.#protocolError(connId, parsed.message, parsed.err);
        conn.handshaken = true;
        this.#clearHandshakeTimer(conn);
        const entropy = crypto.getRandomValues(new Uint8Array(limits.sessionPasswordBytes));
        const remoteAddress = conn.socket.remoteAddress;
        this.#step({
          type: "connect",
          connId,
          nowMs,
          remoteAddress,
          request: parsed.request,
          entropy,
        });
        continue;
      }
      const inbound = zk.connection.request(frame.payload);
      if (inbound.kind === "close") return this.#protocolError(connId, inbound.reason);
      this.#request(
        conn,
        inbound.kind === "request"
          ? { type: "request", connId, nowMs, request: inbound.request }
          : {
            type: "invalid",
            connId,
            nowMs,
            xid: inbound.xid,
            err: inbound.err,
            message: inbound.message,
          },
      );
    }
  }

  /** Adds a closing connection's counters to the server's totals. */
  #retire(conn: ConnState): void {
    const totals = this.#closedTotals;
    totals.received += conn.stats.received;
    totals.sent += conn.stats.sent;
    const l = conn.stats.latency;
    if (l.count === 0) return;
    totals.latency.min = totals.latency.count === 0 ? l.min : Math.min(totals.latency.min, l.min);
    totals.latency.max = Math.max(totals.latency.max, l.max);
    totals.latency.total += l.total;
    totals.latency.count += l.count;
  }

  /** Counts a request of `conn` (for the four-letter words) and hands it to the replica. */
  #request(conn: ConnState, event: Extract<ReplicaEvent, { type: "request" | "invalid" }>): void {
    const stats = conn.stats;
    stats.received++;
    this.#idle.note();
    const xid = event.type === "request" ? event.request.xid : event.xid;
    stats.lastOp = event.type === "request" ? event.request.op : "invalid";
    stats.pendingSince.set(xid, event.nowMs);
    this.#step(event);
  }

  /** Counts a message sent to `conn`: answers end a request's latency. */
  #countSent(conn: ConnState, message: ServerMessage): void {
    const stats = conn.stats;
    stats.sent++;
    if (message.t === "connected") {
      stats.sessionId = message.sessionId;
      stats.timeoutMs = message.timeoutMs;
      stats.lastZxid = message.zxid;
    } else if (message.t === "res") {
      const since = stats.pendingSince.get(message.xid);
      if (since === undefined) return;
      stats.pendingSince.delete(message.xid);
      const now = Date.now();
      recordLatency(stats.latency, now - since);
      stats.lastResponseMs = now;
      stats.lastZxid = message.zxid;
    }
  }

  /** The answer to a four-letter word (ZooKeeper's monitoring commands on the client port). */
  #fourLetterWord(word: string): string {
    return answerFourLetterWord(word, this.#fourLetterWords, () => this.#facts());
  }

  /** What this server knows of itself, for the four-letter words. */
  #facts(): ServerFacts {
    const replica = this.replica;
    const conns = [...this.#conns.values()];
    const totals = { ...this.#closedTotals, latency: { ...this.#closedTotals.latency } };
    for (const { stats } of conns) {
      totals.received += stats.received;
      totals.sent += stats.sent;
      if (stats.latency.count > 0) {
        const l = totals.latency;
        l.min = l.count === 0 ? stats.latency.min : Math.min(l.min, stats.latency.min);
        l.max = Math.max(l.max, stats.latency.max);
        l.total += stats.latency.total;
        l.count += stats.latency.count;
      }
    }
    const watches = new Map<number, string[]>();
    for (const session of replica.watches.watchers()) {
      const paths = replica.watches.pathsOf(session);
      watches.set(session, [
        ...new Set([...paths.data, ...paths.child, ...paths.persistent, ...paths.recursive]),
      ]);
    }
    let dataBytes = 0;
    for (const node of replica.tree.exportNodes()) {
      dataBytes += node.path.length + node.data.byteLength;
    }
    const role = replica.role;
    const options = this.#options;
    const tickMs = this.#tickMs;
    return {
      version: options.version ?? "dev",
      mode: role === "down" ? "not serving" : role,
      zxid: replica.tree.lastZxid,
      nodeCount: replica.tree.nodeCount,
      dataBytes,
      received: totals.received,
      sent: totals.sent,
      outstanding: conns.reduce((n, c) => n + c.stats.pendingSince.size, 0),
      latency: totals.latency,
      connections: conns.map(({ socket, stats }) => ({
        address: socket.remoteAddress,
        port: socket.remotePort,
        queued: stats.pendingSince.size,
        received: stats.received,
        sent: stats.sent,
        sessionId: stats.sessionId,
        timeoutMs: stats.timeoutMs,
        lastOp: stats.lastOp,
        lastZxid: stats.lastZxid,
        establishedMs: stats.establishedMs,
        lastResponseMs: stats.lastResponseMs,
        latency: stats.latency,
        protocol: stats.protocol,
      })),
      watches,
      sessions: replica.sessions.all().map((s) => ({
        id: s.id,
        timeoutMs: s.timeoutMs,
        ephemerals: replica.tree.ephemeralsOf(s.id),
      })),
      config: [
        ["clientPort", this.zkPort ?? 0],
        ["cborClientPort", this.port],
        ["dataDir", options.dataDir ?? "(in memory)"],
        ["dataLogDir", options.dataLogDir ?? options.dataDir ?? "(in memory)"],
        ["tickTime", tickMs],
        ["maxClientCnxns", this.#maxClientCnxns],
        ["minSessionTimeout", limits.sessionTimeoutTicksMin * tickMs],
        ["maxSessionTimeout", limits.sessionTimeoutTicksMax * tickMs],
        ["serverId", this.#serverId],
        ...(options.ensemble
          ? [
            ["initLimitMs", options.ensemble.initLimitMs],
            ["syncLimitMs", options.ensemble.syncLimitMs],
            ...options.ensemble.members.map((m): [string, string] => [
              `server.${m.id}`,
              `${m.host}:${m.peerPort}:${m.electionPort}${m.observer ? ":observer" : ""}`,
            ]),
          ] as [string, string | number][]
          : []),
      ],
      environment: environmentFacts(options.version ?? "dev"),
      dataDirBytes: directoryBytes(options.dataDir),
      dataLogDirBytes: directoryBytes(options.dataLogDir ?? options.dataDir),
      slowSyncs: this.store instanceof FileStore ? this.store.stats.slowSyncs : 0,
      ...fileDescriptorFacts(),
    };
  }

  /** A frame we cannot answer: say why, close, and log it. Other connections are untouched. */
  #protocolError(
    connId: number,
    reason: string,
    err: ServerMessage & { t: "error" } extends { err: infer E } ? E : never = "MarshallingError",
  ): void {
    const conn = this.#conns.get(connId);
    if (!conn) return;
    this.#logger.log("warn", "closing connection after a protocol error", {
      connId,
      address: conn.socket.remoteAddress,
      reason,
    });
    this.#write(connId, { t: "error", err, message: reason });
    this.#forget(connId);
    conn.socket.close();
  }

  #onClose(connId: number, address: string, error?: Error): void {
    const remaining = (this.#perAddress.get(address) ?? 1) - 1;
    if (remaining <= 0) this.#perAddress.delete(address);
    else this.#perAddress.set(address, remaining);
    if (error) this.#logger.log("debug", "connection error", { connId, error: error.message });
    this.#forget(connId);
  }

  #clearHandshakeTimer(conn: ConnState): void {
    if (conn.handshakeTimer !== null) clearTimeout(conn.handshakeTimer);
    conn.handshakeTimer = null;
  }

  #forget(connId: number): void {
    const conn = this.#conns.get(connId);
    if (!conn) return;
    this.#clearHandshakeTimer(conn);
    this.#retire(conn);
    this.#conns.delete(connId);
    this.#step({ type: "disconnect", connId });
  }

  /**
   * Feeds the replica (or, in an ensemble, the member) one event and carries out its actions.
   * Never re-entrant: an event raised while actions run (a link going down in a send, say) waits
   * its turn, so answers leave in the order they were decided.
   */
  #step(event: ReplicaEvent | NodeEvent): void {
    this.#pendingEvents.push(event);
    if (this.#stepping) return;
    this.#stepping = true;
    try {
      while (this.#pendingEvents.length > 0) {
        const next = this.#pendingEvents.shift()!;
        if (this.#closed && next.type !== "disconnect") continue;
        this.#run(this.#stepCore, next);
      }
    } finally {
      this.#stepping = false;
    }
  }

  /** One event into the core (the member in an ensemble, else the replica); bound once. */
  readonly #stepCore = (event: ReplicaEvent | NodeEvent): (ReplicaAction | NodeAction)[] =>
    this.#node ? this.#node.step(event as NodeEvent) : this.replica.step(event as ReplicaEvent);

  /** Runs `step(input)` on the core, carries out its actions and counts what it applied. */
  #run<T>(step: (input: T) => (ReplicaAction | NodeAction)[], input: T): void {
    const applied = this.replica.appliedCount;
    let actions: (ReplicaAction | NodeAction)[];
    try {
      actions = step(input);
    } catch (e) {
      // A broken invariant: stop loudly rather than serve from a state we no longer trust.
      this.#pendingEvents.length = 0;
      this.#fatal(`invariant violated: ${e instanceof Error ? e.stack ?? e.message : e}`);
      return;
    }
    for (const action of actions) this.#carryOut(action);
    if (this.replica.appliedCount !== applied) {
      this.#countApplied(this.replica.appliedCount - applied);
    }
  }

  #carryOut(action: ReplicaAction | NodeAction): void {
    switch (action.type) {
      case "send":
        return this.#write(action.connId, action.message);
      case "close": {
        const conn = this.#conns.get(action.connId);
        if (conn) {
          this.#clearHandshakeTimer(conn);
          this.#retire(conn);
        }
        this.#conns.delete(action.connId);
        conn?.socket.close();
        this.#logger.log("debug", "connection closed by server", {
          connId: action.connId,
          reason: action.reason,
        });
        return;
      }
      case "persist":
        return this.store.append(action.records);
      case "peerSend":
      case "persistEpochs":
      case "appendLog":
      case "truncate":
      case "installSnapshot":
        return this.#shell?.carryOut(action);
      case "forward":
      case "reply":
      case "touch":
        // Only a standalone replica emits these unrouted, and it never does.
        return;
      case "log":
        return this.#logger.log(action.level, action.message, action.fields);
      case "hostCall":
        return void this.#hostCall(action.connId, action.xid, action.call);
    }
  }

  /** Does the I/O of an online backup request, then answers through the replica, in order. */
  async #hostCall(connId: number, xid: number, call: HostCall): Promise<void> {
    const conn = this.#conns.get(connId);
    if (!conn) return;
    let body: Record<string, unknown>;
    try {
      if (call.op === "snapshot") {
        // Captured synchronously, right after every earlier request of the connection was
        // answered: a consistent image. Encoding yields to the event loop as it goes.
        const image = this.replica.captureImage();
        conn.backup = await encodeSnapshot(image);
        body = {
          zxid: image.zxid,
          bytes: conn.backup.byteLength,
          nodeCount: image.nodes.length,
          sessionCount: image.sessions.length,
        };
        this.#logger.log("info", "online backup captured", {
          connId,
          zxid: image.zxid,
          bytes: conn.backup.byteLength,
        });
      } else if (conn.backup === null) {
        body = {
          err: "BadArguments",
          message: "no snapshot was taken on this connection (send op snapshot first)",
        };
      } else {
        body = { data: conn.backup.slice(call.offset, call.offset + call.length) };
      }
    } catch (error) {
      body = { err: "SystemError", message: `backup failed: ${(error as Error).message}` };
    }
    this.#step({ type: "hostReply", connId, xid, body });
  }

  #write(connId: number, message: ServerMessage): void {
    const conn = this.#conns.get(connId);
    if (!conn) return;
    if (conn.zk) {
      this.#countSent(conn, message);
      const bytes = conn.zk.connection.encode(message);
      if (bytes) conn.socket.writeOwned(bytes);
      if (conn.zk.connection.closeAfterSend) {
        this.#forget(connId);
        conn.socket.close();
        return;
      }
    } else {
      this.#countSent(conn, message);
      conn.socket.writeOwned(conn.keyed ? encodeKeyedFrame(message) : encodeFrame(message));
    }
    if (conn.socket.pendingWriteBytes > limits.connectionOutboxBytesMax) {
      this.#logger.log("warn", "closing a connection that does not read its responses", { connId });
      this.#forget(connId);
      conn.socket.close();
    }
  }
}

/** True when `chunk` starts with four lowercase letters: a four-letter word, not a frame. */
function isFourLetterWord(chunk: Uint8Array): boolean {
  if (chunk.byteLength < 4) return false;
  for (let i = 0; i < 4; i++) if (chunk[i] < 0x61 || chunk[i] > 0x7a) return false;
  return true;
}

/** `envi`: what ZooKeeper lists, in this runtime's terms. */
function environmentFacts(version: string): [string, string][] {
  const runtime = "Deno" in globalThis
    ? `deno ${(globalThis as unknown as { Deno: { version: { deno: string } } }).Deno.version.deno}`
    : "Bun" in globalThis
    ? `bun ${(globalThis as unknown as { Bun: { version: string } }).Bun.version}`
    : `node ${process.version}`;
  return [
    ["zookeeper.version", `corral ${version}`],
    ["host.name", os.hostname()],
    ["runtime", runtime],
    ["os.name", os.type()],
    ["os.arch", os.arch()],
    ["os.version", os.release()],
    ["user.name", safe(() => os.userInfo().username)],
    ["user.home", os.homedir()],
    ["user.dir", process.cwd()],
    ["os.memory.free", `${Math.round(os.freemem() / 2 ** 20)}MB`],
    ["os.memory.total", `${Math.round(os.totalmem() / 2 ** 20)}MB`],
  ];
}

function safe(read: () => string): string {
  try {
    return read();
  } catch {
    return "unknown";
  }
}

/** Bytes of the files directly in `dir` (0 without one), for `dirs`. */
function directoryBytes(dir: string | undefined): number {
  if (dir === undefined) return 0;
  try {
    let total = 0;
    for (const name of fs.readdirSync(dir)) {
      const stat = fs.statSync(`${dir}/${name}`);
      if (stat.isFile()) total += stat.size;
    }
    return total;
  } catch {
    return 0;
  }
}

/** Open and allowed file descriptors, where the system tells (Linux's /proc). */
function fileDescriptorFacts(): { openFileDescriptors?: number; maxFileDescriptors?: number } {
  try {
    const open = fs.readdirSync("/proc/self/fd").length;
    const limits = fs.readFileSync("/proc/self/limits", "utf8");
    const max = /Max open files\s+(\d+)/.exec(limits);
    return { openFileDescriptors: open, ...(max ? { maxFileDescriptors: Number(max[1]) } : {}) };
  } catch {
    return {};
  }
}
