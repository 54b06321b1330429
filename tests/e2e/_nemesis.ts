/**
 * Real-process nemesis runs judged by the history checkers (props/check/): three compiled
 * `dist/corral` servers on 127.0.0.1 whose peer links all pass through small TCP proxies in this
 * process, recording clients that speak the CBOR client protocol directly, and a seeded schedule
 * of faults (SIGKILL and restart, SIGSTOP and SIGCONT, partitions, one-way drops, black holes).
 * After the faults it heals everything, closes the sessions, stops the servers with SIGTERM,
 * reads the committed txns from their txn logs, and runs `checkHistory` over what the clients
 * saw.
 *
 * - **Proxies** ({@linkcode LinkProxy}): each server's config names its *own* real ports in its
 *   own `server.N` line (it listens there) and, for every other member, the port of a proxy that
 *   this server owns for that direction and channel. A member identifies a peer by the handshake
 *   frame (`{corral: "peer", from, to}`) and checks only that the connection comes from the
 *   configured host (127.0.0.1, which the proxy is), so every directed link `i -> j` (the
 *   connection `i` dials to send to `j`) runs through its own proxy, on both the peer and the
 *   election channel. A proxy passes bytes, drops (closes its connections and every new one), or
 *   black-holes (keeps connections open and discards every byte). A black-holed connection is
 *   closed when the link heals: a stream with a gap in it cannot carry frames again.
 * - **Clients** ({@linkcode RecordingClient}): one observer clock for all of them; every send,
 *   response, watch event and session change takes the next tick. Each keeps its session,
 *   password and last seen zxid, pipelines 1-4 random requests on keys `/k0`..`/k3`, treats 2/3
 *   of the session timeout without a byte from the server as a dead connection (as ZooKeeper's
 *   client), marks what was in flight `unknown`, resumes its session on another server and
 *   re-registers its watches with `setWatches` before anything else.
 * - **Nemesis** ({@linkcode runNemesis}): one fault at a time, each healed before the next, with
 *   pauses; the leader is found from the servers' `"msg":"role"` log lines.
 *
 * Every wait is bounded and every process, socket and proxy started here is stopped on every
 * path (also on failure).
 * @module
 */
import { Buffer } from "node:buffer";
import { cpSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { denoAdapter } from "../../src/net/mod.ts";
import type { Listener, NetAdapter, Socket, SocketHandlers } from "../../src/net/types.ts";
import { Rng } from "../../src/sim/rng.ts";
import { listFiles, zxidFollows } from "../../src/storage/file_store.ts";
import { scanLog } from "../../src/storage/log_scan.ts";
import { type TxnRecord, zxidCounter } from "../../src/tree/txn.ts";
import type { Acl } from "../../src/tree/types.ts";
import { encodeFrame, FrameDecoder } from "../../src/wire/frame.ts";
import type {
  ClientRequest,
  ConnectRequest,
  MultiOp,
  ResponseMessage,
  ServerMessage,
} from "../../src/wire/messages.ts";
import {
  checkHistory,
  type CheckName,
  describeViolations,
  type History,
  type HistoryEvent,
  type HistoryOp,
  type HistoryReport,
  type HistorySession,
  type Outcome,
} from "../../props/check/mod.ts";
import {
  BinaryEnsemble,
  EnsembleNode,
  type PeerRoute,
  sleep,
  waitUntil,
  within,
} from "./_ensemble_binary.ts";

// ---- limits and defaults ------------------------------------------------------------------------

/** snapCount of every server: no snapshot in a run, so the logs hold every txn from the first. */
const snapCountNoSnapshots = 100_000_000;
/** Largest number of bytes a proxy queues towards a socket before it gives up on the pipe. */
const proxyPendingBytesMax = 64 * 1024 * 1024;
/** Longest a proxy waits for its sockets to report closed. */
const proxyCloseMsMax = 3_000;
/** Default session timeout the clients ask for (the default tickTime grants 4 s to 40 s). */
const sessionTimeoutMsDefault = 6_000;
/** Most requests a client keeps in flight (the server allows 1000). */
const pipelineMaxDefault = 4;
/** Longest wait for every node to serve under one leader between faults and at the end. */
const allServingMsMax = 45_000;
/** Longest a client may take to finish its in-flight work and close its session at the end. */
const clientFinishMsMax = 20_000;
/** Most faults in one run, whatever its length. */
const faultsMax = 500;
/** The keys of the workload, at the root (the tree starts empty). */
const keys = ["/k0", "/k1", "/k2", "/k3"] as const;
const openAcl: Acl[] = [{ perms: 31, scheme: "world", id: "anyone" }];

// ---- proxies ------------------------------------------------------------------------------------

/** What a proxy does with a directed link's bytes. */
export type LinkMode = "pass" | "drop" | "blackhole";

/** The two channels between members: ZAB's peer port and the election port. */
export type Channel = "peer" | "election";

interface Pipe {
  down: Socket;
  up: Socket | null;
  /** Bytes from `down` that came before `up` connected. */
  early: Uint8Array[];
  blackholed: boolean;
  ended: boolean;
}

/**
 * A TCP proxy on one directed link of one channel: server `from` dials `port` to reach server
 * `to`, and the proxy dials `to`'s real port for each connection it accepts.
 */
export class LinkProxy {
  readonly from: number;
  readonly to: number;
  readonly channel: Channel;
  readonly #adapter: NetAdapter;
  readonly #targetPort: number;
  readonly #pipes = new Set<Pipe>();
  /** Sockets whose close handler has not run yet. */
  #openSockets = 0;
  #listener: Listener | null = null;
  #mode: LinkMode = "pass";
  #closed = false;
  /** Connections accepted over the proxy's life (for reports). */
  accepted = 0;

  private constructor(
    adapter: NetAdapter,
    from: number,
    to: number,
    channel: Channel,
    targetPort: number,
  ) {
    this.#adapter = adapter;
    this.from = from;
    this.to = to;
    this.channel = channel;
    this.#targetPort = targetPort;
  }

  /** Listens on a free port of 127.0.0.1. */
  static async start(
    init: { adapter: NetAdapter; from: number; to: number; channel: Channel; targetPort: number },
  ): Promise<LinkProxy> {
    const proxy = new LinkProxy(init.adapter, init.from, init.to, init.channel, init.targetPort);
    proxy.#listener = await init.adapter.listen(
      { hostname: "127.0.0.1", port: 0 },
      (socket) => proxy.#accept(socket),
    );
    return proxy;
  }

  /** The port `from` dials. */
  get port(): number {
    return this.#listener!.port;
  }

  get mode(): LinkMode {
    return this.#mode;
  }

  /** Connections open through the proxy now. */
  get pipes(): number {
    return this.#pipes.size;
  }

  /**
   * Changes the mode. `drop` closes every connection; `blackhole` keeps them open and discards
   * their bytes from now on; `pass` closes black-holed connections (their streams have a gap)
   * and forwards new ones.
   */
  setMode(mode: LinkMode): void {
    if (mode === this.#mode) return;
    this.#mode = mode;
    for (const pipe of [...this.#pipes]) {
      if (mode === "drop") this.#end(pipe);
      else if (mode === "blackhole") pipe.blackholed = true;
      else if (pipe.blackholed) this.#end(pipe);
    }
  }

  #accept(down: Socket): SocketHandlers {
    this.accepted++;
    this.#openSockets++;
    const pipe: Pipe = {
      down,
      up: null,
      early: [],
      blackholed: this.#mode === "blackhole",
      ended: false,
    };
    const handlers: SocketHandlers = {
      data: (chunk) => this.#fromDown(pipe, chunk),
      close: () => {
        this.#openSockets--;
        this.#end(pipe);
      },
    };
    if (this.#closed || this.#mode === "drop") {
      pipe.ended = true;
      // Not from inside the accept callback: the adapter has not finished setting the socket up.
      setTimeout(() => down.close(), 0);
      return handlers;
    }
    this.#pipes.add(pipe);
    if (!pipe.blackholed) this.#dialUp(pipe);
    return handlers;
  }

  #dialUp(pipe: Pipe): void {
    this.#adapter.connect({ hostname: "127.0.0.1", port: this.#targetPort }, (up) => {
      this.#openSockets++;
      pipe.up = up;
      if (pipe.ended) {
        setTimeout(() => up.close(), 0);
      } else {
        for (const chunk of pipe.early) up.write(chunk);
      }
      pipe.early = [];
      return {
        data: (chunk) => this.#fromUp(pipe, chunk),
        close: () => {
          this.#openSockets--;
          this.#end(pipe);
        },
      };
    }).catch(() => this.#end(pipe));
  }

  #fromDown(pipe: Pipe, chunk: Uint8Array): void {
    if (pipe.ended || pipe.blackholed) return;
    if (pipe.up === null) {
      pipe.early.push(chunk.slice());
      return;
    }
    if (pipe.up.pendingWriteBytes > proxyPendingBytesMax) return this.#end(pipe);
    // The adapter may reuse `chunk` once this returns, and write() keeps a reference: copy.
    pipe.up.write(chunk.slice());
  }

  #fromUp(pipe: Pipe, chunk: Uint8Array): void {
    if (pipe.ended || pipe.blackholed) return;
    if (pipe.down.pendingWriteBytes > proxyPendingBytesMax) return this.#end(pipe);
    pipe.down.write(chunk.slice());
  }

  #end(pipe: Pipe): void {
    if (pipe.ended) {
      this.#pipes.delete(pipe);
      return;
    }
    pipe.ended = true;
    this.#pipes.delete(pipe);
    pipe.early = [];
    pipe.down.close();
    pipe.up?.close();
  }

  /** Stops listening and closes every connection; waits (bounded) for the sockets to close. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#listener?.close();
    for (const pipe of [...this.#pipes]) this.#end(pipe);
    await waitUntil(() => this.#openSockets <= 0, "proxy sockets to close", proxyCloseMsMax)
      .catch(() => {});
  }
}

// ---- the proxied ensemble -----------------------------------------------------------------------

/** How to start a {@linkcode ProxiedEnsemble}. */
export interface ProxiedEnsembleOptions {
  /** More zoo.cfg lines for every node. Default none. */
  config?: Record<string, string | number>;
  /** Parent of the temp folder. Default the system temp dir. */
  tempRoot?: string;
  /** Longest wait for one node's "listening" line. Default 30 s. */
  startMsMax?: number;
}

/**
 * Three compiled `corral` servers on 127.0.0.1 (a {@linkcode BinaryEnsemble}) whose every
 * directed peer and election link goes through a {@linkcode LinkProxy}. Client ports are direct.
 */
export class ProxiedEnsemble {
  readonly #ensemble: BinaryEnsemble;
  readonly proxies: LinkProxy[];

  private constructor(ensemble: BinaryEnsemble, proxies: LinkProxy[]) {
    this.#ensemble = ensemble;
    this.proxies = proxies;
  }

  /** Starts a proxy per directed link and channel, then the three servers dialling through them. */
  static async start(options: ProxiedEnsembleOptions = {}): Promise<ProxiedEnsemble> {
    const proxies: LinkProxy[] = [];
    const route = async (nodes: readonly EnsembleNode[]): Promise<PeerRoute> => {
      for (const from of nodes) {
        for (const to of nodes) {
          if (from === to) continue;
          for (const channel of ["peer", "election"] as const) {
            const targetPort = channel === "peer" ? to.peerPort : to.electionPort;
            proxies.push(
              await LinkProxy.start({
                adapter: denoAdapter,
                from: from.id,
                to: to.id,
                channel,
                targetPort,
              }),
            );
          }
        }
      }
      const via = (from: EnsembleNode, to: EnsembleNode, channel: Channel) =>
        proxies.find((p) => p.from === from.id && p.to === to.id && p.channel === channel)!.port;
      return (from, to) => ({
        peerPort: via(from, to, "peer"),
        electionPort: via(from, to, "election"),
      });
    };
    try {
      const ensemble = await BinaryEnsemble.start({
        config: { snapCount: snapCountNoSnapshots, ...options.config },
        tempRoot: options.tempRoot,
        tempPrefix: "corral-nemesis-",
        startMsMax: options.startMsMax,
        route,
      });
      return new ProxiedEnsemble(ensemble, proxies);
    } catch (error) {
      await Promise.all(proxies.map((p) => p.close()));
      throw error;
    }
  }

  /** Configs, data dirs and `nodeN.log`. */
  get dir(): string {
    return this.#ensemble.dir;
  }

  get nodes(): EnsembleNode[] {
    return this.#ensemble.nodes;
  }

  node(id: number): EnsembleNode {
    return this.#ensemble.node(id);
  }

  ids(): number[] {
    return this.#ensemble.ids();
  }

  /** The proxy of the directed link `from -> to` on `channel`. */
  proxy(from: number, to: number, channel: Channel): LinkProxy {
    const proxy = this.proxies.find((p) => p.from === from && p.to === to && p.channel === channel);
    if (!proxy) throw new RangeError(`no proxy ${from} -> ${to} (${channel})`);
    return proxy;
  }

  /** Sets the directed link `from -> to` (both channels) to `mode`. */
  setLink(from: number, to: number, mode: LinkMode): void {
    this.proxy(from, to, "peer").setMode(mode);
    this.proxy(from, to, "election").setMode(mode);
  }

  /** Cuts `id` off from every other member, both directions. */
  isolate(id: number, mode: LinkMode = "drop"): void {
    for (const other of this.ids()) {
      if (other === id) continue;
      this.setLink(id, other, mode);
      this.setLink(other, id, mode);
    }
  }

  /** Every link passes again. */
  healLinks(): void {
    for (const proxy of this.proxies) proxy.setMode("pass");
  }

  /** Links not passing now, as text ("1->2 drop"), for reports. */
  faultyLinks(): string[] {
    const seen = new Set<string>();
    for (const p of this.proxies) {
      if (p.mode !== "pass") seen.add(`${p.from}->${p.to} ${p.mode}`);
    }
    return [...seen];
  }

  /** The serving leader now (see {@linkcode BinaryEnsemble.leader}); null when none serves. */
  leader(): number | null {
    return this.#ensemble.leader();
  }

  /** Nodes whose process exited without being asked to. */
  crashed(): EnsembleNode[] {
    return this.nodes.filter((n) => n.exitedByItself);
  }

  /** Waits (at most `ms`) until every node serves under one leader; false when it did not happen. */
  async waitAllServing(ms: number): Promise<boolean> {
    return await this.#ensemble.waitAllServing(ms).then(() => true, () => false);
  }

  /** One line per node: process and latest role, for reports. */
  describe(): string {
    return this.#ensemble.describe();
  }

  /** SIGTERM to every running node (SIGCONT first when paused); waits for every exit. */
  async terminateAll(ms = 15_000): Promise<void> {
    await Promise.all(this.ids().map((id) => this.#ensemble.terminate(id, ms)));
  }

  /**
   * Kills every process (SIGKILL, also a paused one), closes the proxies, and deletes the temp
   * folder unless `keep`. Idempotent.
   */
  async close(options: { keep?: boolean } = {}): Promise<void> {
    await this.#ensemble.close({ keep: options.keep ?? false });
    await Promise.all(this.proxies.map((p) => p.close()));
  }
}

// ---- the observer's clock and the recorder ------------------------------------------------------

/** One counter for every client: each observation takes the next number. */
export class ObserverClock {
  #next = 0;

  /** The next position, and the time in ms. */
  tick(): { at: number; ms: number } {
    return { at: ++this.#next, ms: performance.now() };
  }
}

/** Where every client writes what it saw. */
export class Recorder {
  readonly clock = new ObserverClock();
  readonly ops: HistoryOp[] = [];
  readonly events: HistoryEvent[] = [];
  readonly sessions: HistorySession[] = [];
  /** Things a client saw that the protocol forbids outright (they fail the run). */
  readonly protocolErrors: string[] = [];
}

// ---- recording clients --------------------------------------------------------------------------

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
/** A request without its xid. */
type RequestBody = DistributiveOmit<ClientRequest, "xid">;

/** A client-facing server: its id and client port. */
export interface ServerEndpoint {
  id: number;
  port: number;
}

interface Pending {
  xid: number;
  /** Null for a ping (not recorded). */
  op: HistoryOp | null;
}

interface Conn {
  no: number;
  server: number;
  socket: Socket | null;
  decoder: FrameDecoder;
  state: "dialing" | "handshake" | "live" | "ended";
  openedMs: number;
  lastSentMs: number;
  lastReceivedMs: number;
  /** The negotiated session timeout (the requested one until the handshake). */
  timeoutMs: number;
  pending: Pending[];
  /** Requests in flight this connection allows (drawn at connect). */
  pipeline: number;
  /** Why the handshake was refused, if it was. */
  refused: string | null;
}

/** What a client does: run the workload, finish in-flight work, close the session, stop. */
type Phase = "running" | "draining" | "closing" | "done";

/** How a {@linkcode RecordingClient} behaves. */
export interface RecordingClientOptions {
  id: number;
  servers: ServerEndpoint[];
  rng: Rng;
  recorder: Recorder;
  /** Session timeout asked for. Default 6 s. */
  sessionTimeoutMs?: number;
  /** Most requests in flight. Default 4. */
  pipelineMax?: number;
  /**
   * Mean pause between two new pieces of work, ms (drawn uniformly in [0, 2x]); 0 sends as fast
   * as the pipeline allows. Default 0. Fewer requests in flight keep the linearizability
   * search small on a loaded machine.
   */
  opGapMs?: number;
  adapter?: NetAdapter;
}

/**
 * A client that speaks the CBOR protocol itself and records every request, response, watch
 * event and session change into a {@linkcode Recorder}.
 */
export class RecordingClient {
  readonly id: number;
  readonly #o: Required<RecordingClientOptions>;
  readonly #rng: Rng;
  readonly #rec: Recorder;
  #session: { id: number; password: Uint8Array } | null = null;
  #lastZxid = 0;
  #xid = 0;
  #connNo = 0;
  #conn: Conn | null = null;
  #lastServer = -1;
  #phase: Phase = "running";
  #written = 0;
  /** No new work before this time (performance.now()), with `opGapMs`. */
  #nextWorkMs = 0;
  readonly #versions = new Map<string, number>();
  readonly #watches = {
    data: new Set<string>(),
    exist: new Set<string>(),
    child: new Set<string>(),
  };
  #loop: Promise<void> = Promise.resolve();
  #halt = false;
  /** Sockets whose close handler has not run yet. */
  #openSockets = 0;
  /** While true the client neither reads, sends nor reconnects (a stalled process). */
  #stalled = false;
  /** Why connections ended, counted (for reports). */
  readonly losses = new Map<string, number>();
  /** Distinct notes worth a look (at most a few), e.g. a server's error message. */
  readonly notes = new Set<string>();

  constructor(options: RecordingClientOptions) {
    this.#o = {
      ...options,
      sessionTimeoutMs: options.sessionTimeoutMs ?? sessionTimeoutMsDefault,
      pipelineMax: options.pipelineMax ?? pipelineMaxDefault,
      opGapMs: options.opGapMs ?? 0,
      adapter: options.adapter ?? denoAdapter,
    };
    this.id = options.id;
    this.#rng = options.rng;
    this.#rec = options.recorder;
  }

  /** The session timeout the client asks for. */
  get sessionTimeoutMs(): number {
    return this.#o.sessionTimeoutMs;
  }

  /** Starts the client's loop. */
  start(): void {
    this.#loop = this.#run().catch((error) => {
      this.#rec.protocolErrors.push(`client ${this.id} stopped on an error: ${error}`);
      this.#dropConn("client error");
    });
  }

  /**
   * Stops sending new work, lets what is in flight finish, closes the session (resuming it on
   * another server if the connection breaks meanwhile) and stops; at most `ms`. Whatever is
   * still in flight then stays `pending`.
   */
  async finish(ms = clientFinishMsMax): Promise<void> {
    if (this.#phase === "running") this.#phase = "draining";
    const done = await within(this.#loop, ms, `client ${this.id} to finish`).then(
      () => true,
      () => false,
    );
    if (!done) {
      this.#halt = true;
      await within(this.#loop, 5_000, `client ${this.id} to halt`).catch(() => {});
    }
    this.#dropConn("run ended", "pending");
    await waitUntil(() => this.#openSockets <= 0, "client sockets to close", 6_000)
      .catch(() => {});
  }

  /**
   * Stalls the client for `ms`, as a paused client process: it stops reading and sending (its
   * connection stays open). Longer than the session timeout, the session expires meanwhile.
   * Resolves with what the client had when the stall began.
   */
  async stall(ms: number): Promise<string> {
    const conn = this.#conn;
    const had = conn?.state === "live"
      ? `session ${this.#session?.id} on server ${conn.server}`
      : "no live connection";
    this.#stalled = true;
    conn?.socket?.pause();
    await sleep(ms);
    const now = performance.now();
    if (this.#conn === conn && conn !== null) {
      // Its silence was the client's own: count it from now on.
      conn.lastReceivedMs = now;
      conn.lastSentMs = now;
      conn.socket?.resume();
    }
    this.#stalled = false;
    return had;
  }

  async #run(): Promise<void> {
    while (this.#phase !== "done" && !this.#halt) {
      if (this.#stalled) {
        await sleep(10);
        continue;
      }
      const conn = this.#conn;
      if (conn === null) {
        await this.#open();
        continue;
      }
      this.#step(conn);
      await sleep(this.#rng.int(1, 12));
    }
  }

  // ---- connections ------------------------------------------------------------------------

  async #open(): Promise<void> {
    const servers = this.#o.servers;
    // Like a ZooKeeper client: another server than the one that just failed us.
    const others = servers.filter((s) => s.id !== this.#lastServer);
    const server = this.#rng.pick(others.length > 0 ? others : servers);
    this.#lastServer = server.id;
    const now = performance.now();
    const conn: Conn = {
      no: ++this.#connNo,
      server: server.id,
      socket: null,
      decoder: new FrameDecoder(64 * 1024 * 1024),
      state: "dialing",
      openedMs: now,
      lastSentMs: now,
      lastReceivedMs: now,
      timeoutMs: this.#o.sessionTimeoutMs,
      pending: [],
      pipeline: this.#rng.int(1, this.#o.pipelineMax),
      refused: null,
    };
    this.#conn = conn;
    const dialed = await within(
      this.#o.adapter.connect({ hostname: "127.0.0.1", port: server.port }, (socket) => {
        conn.socket = socket;
        this.#openSockets++;
        if (conn.state === "ended") setTimeout(() => socket.close(), 0);
        return {
          data: (chunk) => this.#onData(conn, chunk),
          close: () => {
            this.#openSockets--;
            this.#onClose(conn);
          },
        };
      }),
      2_000,
      "a connection",
    ).then(() => true, () => false);
    if (!dialed || conn.state === "ended") {
      if (this.#conn === conn) this.#dropConn("dial failed");
      await sleep(this.#rng.int(50, 200));
      return;
    }
    const request: ConnectRequest = {
      op: "connect",
      proto: 1,
      timeoutMs: this.#o.sessionTimeoutMs,
      sessionId: this.#session?.id ?? 0,
      password: this.#session?.password ?? new Uint8Array(0),
      lastZxid: this.#lastZxid,
    };
    conn.state = "handshake";
    conn.socket!.write(encodeFrame(request));
    // A paused server takes the connection (the kernel does) and never answers: bounded.
    const handshakeMs = Math.max(1_000, this.#o.sessionTimeoutMs / 3);
    await waitUntil(() => conn.state !== "handshake", "a handshake answer", handshakeMs)
      .catch(() => this.#abandon(conn, "no handshake answer"));
    // (The state changes in callbacks meanwhile: read it through a widening cast.)
    if ((conn.state as Conn["state"]) !== "live") await sleep(this.#rng.int(50, 250));
  }

  #onData(conn: Conn, chunk: Uint8Array): void {
    if (conn !== this.#conn || conn.state === "ended") return;
    for (const frame of conn.decoder.push(chunk)) {
      // A message may have ended the connection (or replaced it) while this chunk is handled.
      if (conn !== this.#conn || (conn.state as Conn["state"]) === "ended") return;
      const { at, ms } = this.#rec.clock.tick();
      conn.lastReceivedMs = ms;
      if (!frame.ok) {
        this.#protocolError(conn, `a bad frame from the server: ${frame.reason}`);
        return;
      }
      this.#onMessage(conn, frame.message as ServerMessage, at, ms);
    }
  }

  #onMessage(conn: Conn, message: ServerMessage, at: number, ms: number): void {
    switch (message.t) {
      case "connected":
        if (conn.state !== "handshake") return this.#protocolError(conn, "a second handshake");
        return this.#onConnected(conn, message, at, ms);
      case "refused":
        if (conn.state !== "handshake") return this.#protocolError(conn, "a late refusal");
        conn.refused = message.err;
        if (message.err === "SessionExpired") this.#expired(conn, at, ms);
        return this.#abandon(conn, `refused: ${message.err}`);
      case "error":
        if (message.err === "SessionExpired") this.#expired(conn, at, ms);
        else this.#note(`server ${conn.server} closed with ${message.err}: ${message.message}`);
        return this.#abandon(conn, `error: ${message.err}`);
      case "event":
        return this.#onEvent(conn, message, at, ms);
      case "res":
        return this.#onResponse(conn, message, at, ms);
      default:
        return this.#protocolError(conn, `an unknown message ${JSON.stringify(message)}`);
    }
  }

  #onConnected(
    conn: Conn,
    message: Extract<ServerMessage, { t: "connected" }>,
    at: number,
    ms: number,
  ): void {
    const resumed = this.#session !== null && this.#session.id === message.sessionId;
    if (this.#session !== null && !resumed) {
      return this.#protocolError(
        conn,
        `asked to resume session ${this.#session.id}, the server connected ${message.sessionId}`,
      );
    }
    if (message.serverId !== conn.server) {
      return this.#protocolError(conn, `server ${conn.server} says it is ${message.serverId}`);
    }
    this.#session = { id: message.sessionId, password: message.password };
    conn.state = "live";
    conn.timeoutMs = message.timeoutMs;
    conn.lastReceivedMs = ms;
    this.#sessionEvent(conn, resumed ? "resumed" : "created", at, ms);
    const w = this.#watches;
    if (resumed && w.data.size + w.exist.size + w.child.size > 0) {
      // Watches end with a connection: register them again before anything else.
      this.#send(conn, {
        op: "setWatches",
        relativeZxid: this.#lastZxid,
        dataWatches: [...w.data].sort(),
        existWatches: [...w.exist].sort(),
        childWatches: [...w.child].sort(),
      });
    }
  }

  #onEvent(conn: Conn, message: Extract<ServerMessage, { t: "event" }>, at: number, ms: number) {
    if (conn.state !== "live" || this.#session === null) {
      return this.#protocolError(conn, "a watch event before the session was connected");
    }
    this.#rec.events.push({
      client: this.id,
      sessionId: this.#session.id,
      connection: conn.no,
      server: conn.server,
      type: message.type,
      path: message.path,
      zxid: message.zxid,
      at,
      atMs: ms,
    });
    // The change that fired it was applied there: never resume on a server without it.
    this.#lastZxid = Math.max(this.#lastZxid, message.zxid);
    const w = this.#watches;
    switch (message.type) {
      case "NodeCreated":
      case "NodeDataChanged":
        w.data.delete(message.path);
        w.exist.delete(message.path);
        break;
      case "NodeChildrenChanged":
        w.child.delete(message.path);
        break;
      case "NodeDeleted":
        w.data.delete(message.path);
        w.exist.delete(message.path);
        w.child.delete(message.path);
        break;
    }
  }

  #onResponse(conn: Conn, message: ResponseMessage, at: number, ms: number): void {
    const head = conn.pending[0];
    if (conn.state !== "live" || head === undefined || head.xid !== message.xid) {
      return this.#protocolError(
        conn,
        `a response for xid ${message.xid} while ` +
          (head === undefined ? "nothing was in flight" : `xid ${head.xid} was first in line`),
      );
    }
    conn.pending.shift();
    this.#lastZxid = Math.max(this.#lastZxid, message.zxid);
    const op = head.op;
    if (op === null) return;
    op.completed = at;
    op.completedMs = ms;
    op.response = message;
    op.outcome = message.err === undefined ? "ok" : "error";
    if (op.outcome === "ok") this.#learn(conn, op.request, message, at, ms);
    else if (message.err === "SessionExpired") {
      this.#expired(conn, at, ms);
      this.#abandon(conn, "session expired");
    }
  }

  /** What an answered request teaches: versions, watches now set, a closed session. */
  #learn(conn: Conn, request: ClientRequest, message: ResponseMessage, at: number, ms: number) {
    if ("path" in request && message.stat) this.#versions.set(request.path, message.stat.version);
    const w = this.#watches;
    switch (request.op) {
      case "getData":
        if (request.watch) w.data.add(request.path);
        break;
      case "exists":
        if (request.watch) (message.stat ? w.data : w.exist).add(request.path);
        break;
      case "getChildren":
        if (request.watch) w.child.add(request.path);
        break;
      case "close":
        this.#sessionEvent(conn, "closed", at, ms);
        this.#session = null;
        this.#phase = "done";
        this.#dropConn("session closed");
        break;
    }
  }

  #onClose(conn: Conn): void {
    if (conn === this.#conn && conn.state !== "ended") this.#dropConn("closed by the server");
  }

  /** The session is gone for good (the server said so). */
  #expired(conn: Conn, at: number, ms: number): void {
    if (this.#session === null) return;
    this.#sessionEvent(conn, "expired", at, ms);
    this.#session = null;
    this.#watches.data.clear();
    this.#watches.exist.clear();
    this.#watches.child.clear();
    // A client that was finishing has nothing left to close.
    if (this.#phase !== "running") this.#phase = "done";
  }

  #sessionEvent(conn: Conn, kind: HistorySession["kind"], at: number, ms: number): void {
    this.#rec.sessions.push({
      client: this.id,
      sessionId: this.#session!.id,
      connection: conn.no,
      server: conn.server,
      kind,
      at,
      atMs: ms,
    });
  }

  #note(text: string): void {
    if (this.notes.size < 20) this.notes.add(text);
  }

  #protocolError(conn: Conn, what: string): void {
    this.#rec.protocolErrors.push(
      `client ${this.id}, connection ${conn.no} to server ${conn.server}: ${what}`,
    );
    this.#abandon(conn, "protocol error");
  }

  /** Gives up on `conn` if it is still the current one. */
  #abandon(conn: Conn, why: string): void {
    if (conn === this.#conn) this.#dropConn(why);
  }

  /** Ends the current connection; what was in flight becomes `outcome`. */
  #dropConn(why: string, outcome: Outcome = "unknown"): void {
    const conn = this.#conn;
    if (conn === null) return;
    this.#conn = null;
    conn.state = "ended";
    for (const p of conn.pending) {
      if (p.op !== null && p.op.outcome === "pending") p.op.outcome = outcome;
    }
    conn.pending = [];
    conn.socket?.close();
    const reason = why.startsWith("refused") || why.startsWith("error") ? why : why.split(":")[0];
    this.losses.set(reason, (this.losses.get(reason) ?? 0) + 1);
  }

  // ---- requests ---------------------------------------------------------------------------

  /** One turn of the loop on a connection: liveness, new work, pings. */
  #step(conn: Conn): void {
    if (conn.state !== "live") return;
    const now = performance.now();
    // As ZooKeeper's client: 2/3 of the session timeout without a byte means a dead connection.
    if (now - conn.lastReceivedMs > (conn.timeoutMs * 2) / 3) {
      return this.#abandon(conn, "silent for 2/3 of the session timeout");
    }
    const recorded = conn.pending.filter((p) => p.op !== null).length;
    if (this.#phase === "running") {
      let room = conn.pipeline - recorded;
      while (
        room > 0 && now >= this.#nextWorkMs && this.#rng.chance(0.5) && this.#conn === conn
      ) {
        room -= this.#sendRandom(conn);
        if (this.#o.opGapMs > 0) {
          this.#nextWorkMs = now + this.#rng.int(0, 2 * this.#o.opGapMs);
        }
      }
    } else if (this.#phase === "draining" && recorded === 0) {
      this.#phase = "closing";
      this.#send(conn, { op: "close" });
    } else if (this.#phase === "closing" && recorded === 0) {
      // The close was lost with a connection and this one resumed the session: close again.
      this.#send(conn, { op: "close" });
    }
    if (this.#conn === conn && now - conn.lastSentMs > conn.timeoutMs / 3) {
      this.#send(conn, { op: "ping" });
    }
  }

  #send(conn: Conn, body: RequestBody): void {
    const xid = ++this.#xid;
    const request = { ...body, xid } as ClientRequest;
    const { at, ms } = this.#rec.clock.tick();
    let op: HistoryOp | null = null;
    if (body.op !== "ping") {
      op = {
        index: this.#rec.ops.length,
        client: this.id,
        sessionId: this.#session!.id,
        connection: conn.no,
        server: conn.server,
        xid,
        request,
        invoked: at,
        completed: null,
        invokedMs: ms,
        completedMs: null,
        outcome: "pending",
        response: null,
      };
      this.#rec.ops.push(op);
    }
    conn.pending.push({ xid, op });
    conn.lastSentMs = ms;
    conn.socket!.write(encodeFrame(request));
  }

  #data(): Uint8Array {
    return new TextEncoder().encode(`c${this.id}-${++this.#written}`);
  }

  /** Sends one random piece of work; returns how many requests it sent. */
  #sendRandom(conn: Conn): number {
    const rng = this.#rng;
    const path = rng.pick(keys);
    const version = () => rng.chance(0.5) ? -1 : this.#versions.get(path) ?? rng.int(0, 2);
    const watch = rng.chance(0.4);
    const r = rng.float();
    let body: RequestBody;
    if (r < 0.16) {
      const mode = rng.chance(0.25) ? "ephemeral" : "persistent";
      body = { op: "create", path, data: this.#data(), acl: openAcl, mode };
    } else if (r < 0.36) {
      body = { op: "setData", path, data: this.#data(), version: version() };
    } else if (r < 0.45) {
      body = { op: "delete", path, version: version() };
    } else if (r < 0.59) {
      body = { op: "getData", path, watch };
    } else if (r < 0.67) {
      body = { op: "exists", path, watch };
    } else if (r < 0.74) {
      body = { op: "getChildren", path: rng.chance(0.8) ? "/" : path, watch };
    } else if (r < 0.82) {
      // sync, then a read of what it synced: the read sees everything committed before it.
      this.#send(conn, { op: "sync", path });
      this.#send(
        conn,
        rng.chance(0.5) ? { op: "getData", path, watch } : {
          op: "getChildren",
          path: "/",
          watch,
        },
      );
      return 2;
    } else {
      body = { op: "multi", ops: this.#randomMulti(path) };
    }
    this.#send(conn, body);
    return 1;
  }

  #randomMulti(path: string): MultiOp[] {
    const rng = this.#rng;
    const other = rng.pick(keys.filter((k) => k !== path));
    switch (rng.int(0, 2)) {
      case 0:
        return [
          { op: "check", path, version: this.#versions.get(path) ?? 0 },
          { op: "setData", path, data: this.#data(), version: -1 },
        ];
      case 1:
        return [
          { op: "create", path, data: this.#data(), acl: openAcl, mode: "persistent" },
          { op: "delete", path: other, version: -1 },
        ];
      default:
        return [
          { op: "setData", path, data: this.#data(), version: -1 },
          { op: "setData", path: other, data: this.#data(), version: -1 },
        ];
    }
  }
}

// ---- reading the committed txns -----------------------------------------------------------------

/** The txns one server's log holds. */
export interface ServerLog {
  node: number;
  records: TxnRecord[];
  /** Damage, or zxids that do not follow each other. */
  problems: string[];
}

/** Reads every txn record of the logs in `dataDir`, oldest first. */
export async function readServerLog(node: number, dataDir: string): Promise<ServerLog> {
  const files = await listFiles(dataDir, "log");
  const records: TxnRecord[] = [];
  const problems: string[] = [];
  for (const [i, file] of files.entries()) {
    const bytes = new Uint8Array(await Deno.readFile(join(dataDir, file.name)));
    const scan = scanLog(bytes, i === files.length - 1);
    if (scan.status.kind !== "ok") {
      problems.push(`node ${node}: ${file.name}: ${scan.status.kind}: ${scan.status.reason}`);
    }
    for (const { record } of scan.records) {
      const previous = records.at(-1);
      if (previous !== undefined && !zxidFollows(previous.zxid, record.zxid)) {
        problems.push(
          `node ${node}: ${file.name}: zxid ${hex(record.zxid)} after ${hex(previous.zxid)}`,
        );
      }
      records.push(record);
    }
  }
  return { node, records, problems };
}

/** The committed order agreed by the logs, and what does not agree. */
export interface CommittedOrder {
  committed: TxnRecord[];
  /**
   * Logs that disagree on a zxid, a zxid one log holds and another that covers it lacks (a txn
   * that should have been truncated), gaps, a start that is not an epoch's first txn.
   */
  problems: string[];
  /** The node whose log reaches the highest zxid: the committed order is its log. */
  longest: number;
  /** Txns taken from the other logs because the longest one starts later (after a SNAP). */
  borrowed: number;
}

/**
 * The committed order: the log that reaches the highest zxid, up to the highest zxid a quorum
 * (two of three) logged, which leaves out a tail only one server logged; the txns before its
 * first one (a SNAP leaves a log starting late) come from the others. Checked against every log:
 * a zxid must be the same txn wherever it is logged, and every log whose range covers it must
 * hold it. The result must run without gaps from an epoch's first txn.
 */
export function committedOrder(logs: ServerLog[]): CommittedOrder {
  const problems = logs.flatMap((l) => l.problems);
  const seen = new Map<number, { record: TxnRecord; text: string; nodes: number[] }>();
  for (const log of logs) {
    for (const record of log.records) {
      const text = canonical(record);
      const entry = seen.get(record.zxid);
      if (entry === undefined) {
        seen.set(record.zxid, { record, text, nodes: [log.node] });
      } else if (entry.text !== text) {
        problems.push(
          `nodes ${entry.nodes.join(",")} and ${log.node} logged different txns at zxid ` +
            `${hex(record.zxid)}: ${entry.text.slice(0, 300)} vs ${text.slice(0, 300)}`,
        );
      } else {
        entry.nodes.push(log.node);
      }
    }
  }
  for (const log of logs) {
    const first = log.records[0]?.zxid;
    const last = log.records.at(-1)?.zxid;
    if (first === undefined || last === undefined) continue;
    const held = new Set(log.records.map((r) => r.zxid));
    const missing = [...seen.keys()].filter((z) => z > first && z < last && !held.has(z));
    if (missing.length > 0) {
      problems.push(
        `node ${log.node}'s log (${hex(first)}..${hex(last)}) lacks ${missing.length} txn(s) ` +
          `other logs hold, first ${hex(Math.min(...missing))} (logged by node(s) ` +
          `${seen.get(Math.min(...missing))!.nodes.join(",")})`,
      );
    }
  }
  const quorum = Math.min(Math.floor(logs.length / 2) + 1, logs.length);
  let upTo = 0;
  for (const [zxid, entry] of seen) {
    if (entry.nodes.length >= quorum) upTo = Math.max(upTo, zxid);
  }
  let longest = logs[0]?.node ?? 0;
  let lastZxid = -1;
  for (const log of logs) {
    const zxid = log.records.at(-1)?.zxid ?? -1;
    if (zxid > lastZxid) [lastZxid, longest] = [zxid, log.node];
  }
  const own = logs.find((l) => l.node === longest)?.records ?? [];
  const start = own[0]?.zxid ?? Infinity;
  const before = [...seen.values()].map((e) => e.record).filter((r) => r.zxid < start);
  const committed = [...before, ...own]
    .filter((r) => r.zxid <= upTo)
    .sort((a, b) => a.zxid - b.zxid);
  if (committed.length > 0 && zxidCounter(committed[0].zxid) !== 1) {
    problems.push(`the logs start at zxid ${hex(committed[0].zxid)}, not an epoch's first txn`);
  }
  for (let i = 1; i < committed.length; i++) {
    if (!zxidFollows(committed[i - 1].zxid, committed[i].zxid)) {
      problems.push(
        `no log holds the txns between ${hex(committed[i - 1].zxid)} and ${hex(committed[i].zxid)}`,
      );
    }
  }
  return { committed, problems, longest, borrowed: before.filter((r) => r.zxid <= upTo).length };
}

function canonical(record: TxnRecord): string {
  return JSON.stringify(record, bytesReplacer);
}

function hex(zxid: number): string {
  return `0x${zxid.toString(16)}`;
}

// ---- history as JSON ------------------------------------------------------------------------------

function bytesReplacer(_key: string, value: unknown): unknown {
  return value instanceof Uint8Array ? { $base64: Buffer.from(value).toString("base64") } : value;
}

/** A history as JSON text; byte strings become `{"$base64": "..."}`. */
export function historyToJson(history: History): string {
  return JSON.stringify(history, bytesReplacer);
}

/** Reads back what {@linkcode historyToJson} wrote. */
export function historyFromJson(text: string): History {
  return JSON.parse(text, (_key, value) => {
    if (
      typeof value === "object" && value !== null && typeof value.$base64 === "string" &&
      Object.keys(value).length === 1
    ) {
      return new Uint8Array(Buffer.from(value.$base64, "base64"));
    }
    return value;
  });
}

// ---- the nemesis ----------------------------------------------------------------------------------

/** A kind of fault. */
export type FaultKind =
  | "kill"
  | "stop"
  | "isolate-leader"
  | "isolate-follower"
  | "one-way"
  | "blackhole"
  | "stall-client";

/** Every fault kind. */
export const faultKinds: readonly FaultKind[] = [
  "kill",
  "stop",
  "isolate-leader",
  "isolate-follower",
  "one-way",
  "blackhole",
  "stall-client",
];

/** How often each kind is drawn, relative to the others. */
const faultWeights: Record<FaultKind, number> = {
  "kill": 3,
  "stop": 3,
  "isolate-leader": 2,
  "isolate-follower": 1,
  "one-way": 2,
  "blackhole": 2,
  "stall-client": 1,
};

function pickFault(rng: Rng): FaultKind {
  const total = faultKinds.reduce((n, k) => n + faultWeights[k], 0);
  let draw = rng.int(1, total);
  for (const kind of faultKinds) {
    draw -= faultWeights[kind];
    if (draw <= 0) return kind;
  }
  return faultKinds[0];
}

/**
 * The family of a fault: a server killed, a server paused, the network cut, or a client
 * stalled past its session timeout.
 */
export function faultFamily(kind: FaultKind): "kill" | "stop" | "partition" | "client" {
  if (kind === "kill" || kind === "stop") return kind;
  return kind === "stall-client" ? "client" : "partition";
}

/** One fault injected. */
export interface FaultRecord {
  kind: FaultKind;
  /** What exactly, e.g. "SIGKILL node 2 (leader), restarted after 1200 ms". */
  detail: string;
  /** The leader when the fault began (null when none served). */
  leader: number | null;
  /** ms since the run started. */
  startMs: number;
  endMs: number;
}

/** How to run {@linkcode runNemesis}. */
export interface NemesisOptions {
  /** Drives the schedule and the workload. */
  seed: number;
  /** Recording clients. Default 5. */
  clients?: number;
  /** How long to keep injecting faults, ms. */
  faultMs: number;
  /** Fault kinds injected first, in this order (then random ones). Default none. */
  firstFaults?: FaultKind[];
  /** Session timeout the clients ask for. Default 6 s. */
  sessionTimeoutMs?: number;
  /** Most requests each client keeps in flight. Default 4. */
  pipelineMax?: number;
  /** Mean pause between a client's new pieces of work, ms. Default 0 (as fast as it can). */
  opGapMs?: number;
  /** Keep the temp folder (configs, data dirs, logs) even when the run passed. */
  keep?: boolean;
  /** Progress lines. Default none. */
  log?: (line: string) => void;
  /** Parent of the temp folder. */
  tempRoot?: string;
  /** Ends the faults early (the run then heals, finishes and checks as usual). */
  signal?: AbortSignal;
}

/** What one run saw and what the checkers said. */
export interface NemesisResult {
  seed: number;
  history: History;
  report: HistoryReport;
  faults: FaultRecord[];
  /**
   * What fails the run besides violations: a server that exited by itself, logs that disagree,
   * a client that saw the protocol broken, a crash of this harness.
   */
  failures: string[];
  /** What is worth a look but fails nothing: the ensemble slow to serve again, ... */
  warnings: string[];
  /** Each server's log: first and last zxid and txn count. */
  logs: { node: number; first: number | null; last: number | null; txns: number }[];
  /** Why client connections ended, counted over all clients. */
  connectionLosses: Record<string, number>;
  /** The node whose log reaches the highest zxid (the committed order is checked against all). */
  longestLog: number;
  /** The temp folder (deleted unless kept). */
  dir: string;
  kept: boolean;
  durationMs: number;
}

/** Ops by outcome. */
export function outcomeCounts(history: History): Record<Outcome, number> {
  const counts: Record<Outcome, number> = { ok: 0, error: 0, unknown: 0, pending: 0 };
  for (const op of history.ops) counts[op.outcome]++;
  return counts;
}

function countBy<T>(items: readonly T[], key: (item: T) => string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const item of items) counts[key(item)] = (counts[key(item)] ?? 0) + 1;
  return counts;
}

function formatCounts(counts: Record<string, number>): string {
  const entries = Object.entries(counts).filter(([, n]) => n > 0);
  return entries.length === 0 ? "none" : entries.map(([k, n]) => `${k} ${n}`).join(", ");
}

/** Faults by kind. */
export function faultCounts(faults: readonly FaultRecord[]): Record<string, number> {
  return countBy(faults, (f) => f.kind);
}

/** True when the run found nothing wrong. */
export function passed(result: NemesisResult): boolean {
  return result.report.violations.length === 0 && result.failures.length === 0;
}

/** A few lines a person can read: ops, events, sessions, faults, checkers, violations. */
export function describeRun(result: NemesisResult): string {
  const h = result.history;
  const checked = Object.entries(result.report.checked) as [CheckName, number][];
  const lines = [
    `seed ${result.seed}: ${h.ops.length} ops (${formatCounts(outcomeCounts(h))}), ` +
    `${h.events.length} watch events, ${h.committed.length} committed txns, ` +
    `${(result.durationMs / 1000).toFixed(1)} s`,
    `  ops by type: ${formatCounts(countBy(h.ops, (o) => o.request.op))}`,
    `  errors: ${
      formatCounts(
        countBy(h.ops.filter((o) => o.outcome === "error"), (o) => o.response?.err ?? "?"),
      )
    }`,
    `  sessions: ${formatCounts(countBy(h.sessions, (s) => s.kind))}`,
    `  connections ended: ${formatCounts(result.connectionLosses)}`,
    `  faults: ${formatCounts(faultCounts(result.faults))}`,
    `  logs: ${
      result.logs.map((l) =>
        `node ${l.node} ${l.txns} txns ${l.first === null ? "-" : hex(l.first)}..${
          l.last === null ? "-" : hex(l.last)
        }`
      ).join("; ")
    } (committed: node ${result.longestLog}'s log, checked against the others)`,
    `  checked: ${checked.map(([name, n]) => `${name} ${n}`).join(", ")}`,
    `  violations: ${result.report.violations.length}`,
  ];
  if (result.report.violations.length > 0) {
    lines.push(indent(describeViolations(result.report.violations, 10)));
  }
  for (const failure of result.failures) lines.push(`  FAILURE: ${failure}`);
  for (const warning of result.warnings) lines.push(`  warning: ${warning}`);
  return lines.join("\n");
}

function indent(text: string): string {
  return text.split("\n").map((l) => `    ${l}`).join("\n");
}

/**
 * One run: the proxied ensemble, the recording clients, `faultMs` of seeded faults, then heal,
 * finish, stop, read the logs and check the history. Throws only when the ensemble cannot
 * start; anything that goes wrong later is in the result's `failures`.
 */
export async function runNemesis(options: NemesisOptions): Promise<NemesisResult> {
  const log = options.log ?? (() => {});
  const started = performance.now();
  const rng = new Rng(options.seed);
  const faultRng = rng.fork();
  const ensemble = await ProxiedEnsemble.start({ tempRoot: options.tempRoot });
  const failures: string[] = [];
  const warnings: string[] = [];
  const faults: FaultRecord[] = [];
  const recorder = new Recorder();
  const clients: RecordingClient[] = [];
  let kept = false;
  try {
    log(`nemesis: seed ${options.seed}, servers in ${ensemble.dir}`);
    if (!await ensemble.waitAllServing(allServingMsMax)) {
      throw new Error(
        `the ensemble did not serve within ${allServingMsMax} ms\n` +
          ensemble.describe(),
      );
    }
    const servers = ensemble.nodes.map((n) => ({ id: n.id, port: n.clientPort }));
    for (let id = 1; id <= (options.clients ?? 5); id++) {
      const client = new RecordingClient({
        id,
        servers,
        rng: rng.fork(),
        recorder,
        sessionTimeoutMs: options.sessionTimeoutMs,
        pipelineMax: options.pipelineMax,
        opGapMs: options.opGapMs,
      });
      clients.push(client);
      client.start();
    }
    await sleep(1_000);
    const faultEnd = performance.now() + options.faultMs;
    const first = [...(options.firstFaults ?? [])];
    while (
      performance.now() < faultEnd && faults.length < faultsMax && !options.signal?.aborted
    ) {
      if (ensemble.crashed().length > 0) break;
      const kind = first.shift() ?? pickFault(faultRng);
      let fault: FaultRecord;
      try {
        fault = await injectFault(ensemble, clients, faultRng, kind, started);
      } catch (error) {
        // A server that does not come back (restart, SIGSTOP) is the servers' failure; the
        // history up to here is still judged.
        failures.push(`fault ${faults.length + 1} (${kind}) failed: ${error}`);
        break;
      }
      faults.push(fault);
      log(`  fault ${faults.length}: ${fault.detail}`);
      if (!await ensemble.waitAllServing(allServingMsMax)) {
        warnings.push(
          `not all serving ${allServingMsMax} ms after fault ${faults.length} ` +
            `(${fault.detail}):\n${ensemble.describe()}`,
        );
      }
      await sleep(faultRng.int(300, 2_000));
    }
    await endFaults(ensemble, warnings);
    await sleep(1_000);
    await Promise.all(clients.map((c) => c.finish()));
    warnings.push(...new Set(clients.flatMap((c) => [...c.notes])));
    await ensemble.terminateAll();
    for (const node of ensemble.crashed()) failures.push(node.exitReport());
    const logs = await Promise.all(ensemble.nodes.map((n) => readServerLog(n.id, n.dataDir)));
    const order = committedOrder(logs);
    failures.push(...order.problems.map((p) => `txn logs: ${p}`));
    failures.push(...recorder.protocolErrors);
    const history: History = {
      ops: recorder.ops,
      events: recorder.events,
      sessions: recorder.sessions,
      committed: order.committed,
    };
    const report = checkHistory(history);
    kept = options.keep === true || report.violations.length > 0 || failures.length > 0;
    return {
      seed: options.seed,
      history,
      report,
      faults,
      failures,
      warnings,
      logs: logs.map((l) => ({
        node: l.node,
        first: l.records[0]?.zxid ?? null,
        last: l.records.at(-1)?.zxid ?? null,
        txns: l.records.length,
      })),
      connectionLosses: mergeLosses(clients),
      longestLog: order.longest,
      dir: ensemble.dir,
      kept,
      durationMs: performance.now() - started,
    };
  } catch (error) {
    kept = true;
    throw error;
  } finally {
    // Stops whatever still runs (a client, a server) on every path, passing or not.
    await Promise.all(clients.map((c) => c.finish(1_000)));
    await ensemble.close({ keep: kept });
  }
}

function mergeLosses(clients: RecordingClient[]): Record<string, number> {
  const merged: Record<string, number> = {};
  for (const client of clients) {
    for (const [why, n] of client.losses) merged[why] = (merged[why] ?? 0) + n;
  }
  return merged;
}

/** The leader (or, with `p`, another running node): the usual victim of a fault. */
function victim(ensemble: ProxiedEnsemble, rng: Rng, leader: number | null): number {
  if (leader !== null && rng.chance(0.6)) return leader;
  return rng.pick(ensemble.ids());
}

/** Injects one fault of `kind`, holds it, and heals it. */
async function injectFault(
  ensemble: ProxiedEnsemble,
  clients: RecordingClient[],
  rng: Rng,
  kind: FaultKind,
  runStart: number,
): Promise<FaultRecord> {
  const leader = ensemble.leader();
  const startMs = performance.now() - runStart;
  const role = (id: number) => id === leader ? "leader" : "follower";
  let detail: string;
  switch (kind) {
    case "kill": {
      const id = victim(ensemble, rng, leader);
      const holdMs = rng.int(200, 3_000);
      const node = ensemble.node(id);
      node.kill("SIGKILL");
      await node.exit();
      await sleep(holdMs);
      await node.start();
      detail = `SIGKILL node ${id} (${role(id)}), restarted after ${holdMs} ms`;
      break;
    }
    case "stop": {
      const id = victim(ensemble, rng, leader);
      const holdMs = rng.int(500, 5_000);
      const node = ensemble.node(id);
      await node.pause();
      await sleep(holdMs);
      node.resume();
      detail = `SIGSTOP node ${id} (${role(id)}) for ${holdMs} ms`;
      break;
    }
    case "isolate-leader":
    case "isolate-follower": {
      const followers = ensemble.ids().filter((id) => id !== leader);
      const id = kind === "isolate-leader" && leader !== null ? leader : rng.pick(followers);
      const holdMs = rng.int(1_000, 5_000);
      ensemble.isolate(id, "drop");
      await sleep(holdMs);
      ensemble.healLinks();
      detail = `isolate node ${id} (${role(id)}) for ${holdMs} ms`;
      break;
    }
    case "one-way": {
      const [from, to] = directedPair(ensemble, rng, leader);
      const holdMs = rng.int(1_000, 5_000);
      ensemble.setLink(from, to, "drop");
      await sleep(holdMs);
      ensemble.healLinks();
      detail = `drop ${from} -> ${to} (${role(from)} to ${role(to)}) for ${holdMs} ms`;
      break;
    }
    case "blackhole": {
      const [from, to] = directedPair(ensemble, rng, leader);
      const both = rng.chance(0.5);
      const holdMs = rng.int(1_000, 5_000);
      ensemble.setLink(from, to, "blackhole");
      if (both) ensemble.setLink(to, from, "blackhole");
      await sleep(holdMs);
      ensemble.healLinks();
      detail = `black-hole ${from} ${both ? "<->" : "->"} ${to} (${role(from)}, ${role(to)}) ` +
        `for ${holdMs} ms`;
      break;
    }
    case "stall-client": {
      const client = rng.pick(clients);
      // Past the session timeout (and the leader's expiry tick): the session expires.
      const holdMs = client.sessionTimeoutMs + rng.int(1_000, 3_000);
      const had = await client.stall(holdMs);
      detail = `stall client ${client.id} (${had}) for ${holdMs} ms`;
      break;
    }
  }
  return { kind, detail, leader, startMs, endMs: performance.now() - runStart };
}

/** A directed link, from the leader half of the time. */
function directedPair(ensemble: ProxiedEnsemble, rng: Rng, leader: number | null): number[] {
  const ids = ensemble.ids();
  const from = leader !== null && rng.chance(0.5) ? leader : rng.pick(ids);
  const to = rng.pick(ids.filter((id) => id !== from));
  return rng.chance(0.5) ? [from, to] : [to, from];
}

/** Heals every link, resumes a paused node, restarts a stopped one; waits for all to serve. */
async function endFaults(ensemble: ProxiedEnsemble, warnings: string[]): Promise<void> {
  ensemble.healLinks();
  for (const node of ensemble.nodes) {
    if (node.paused) node.resume();
    if (!node.running && !node.exitedByItself) {
      await node.start().catch((e) => warnings.push(`node ${node.id} did not restart: ${e}`));
    }
  }
  if (!await ensemble.waitAllServing(allServingMsMax)) {
    warnings.push(`not all serving ${allServingMsMax} ms after the end:\n${ensemble.describe()}`);
  }
}

/**
 * Saves what a failed run needs for a diagnosis under `dir`: the history (JSON), the result's
 * summary, and each server's log and config (when the run's folder was kept).
 */
export function saveRun(result: NemesisResult, dir: string): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "history.json"), historyToJson(result.history));
  writeFileSync(
    join(dir, "summary.txt"),
    `${describeRun(result)}\n\nfaults:\n${
      result.faults.map((f) => `  +${Math.round(f.startMs)} ms: ${f.detail}`).join("\n")
    }\n`,
  );
  for (const id of [1, 2, 3]) {
    for (const name of [`node${id}.log`, `node${id}.cfg`]) {
      try {
        writeFileSync(join(dir, name), readFileSync(join(result.dir, name)));
      } catch {
        // The run's folder is gone (not kept): the history is what matters.
      }
    }
    try {
      cpSync(join(result.dir, `node${id}`), join(dir, `node${id}`), { recursive: true });
    } catch {
      // As above.
    }
  }
}
