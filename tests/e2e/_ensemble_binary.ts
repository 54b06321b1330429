/**
 * A process harness for end-to-end tests (and scripts) of an ensemble of compiled `corral`
 * binaries: N `corral serve --config nodeN.cfg` processes on 127.0.0.1 (3 voters, optionally
 * observers after them), free client, peer and election ports per node, each node's data dir in
 * one temp folder. Each node's stderr (JSON lines) is collected as it comes, kept per process
 * generation, and appended to `DIR/nodeN.log`, so callers can ask which node serves as leader
 * (the latest `"msg":"role"` line of each node), wait for conditions with bounded timeouts, and
 * kill -9, SIGSTOP, SIGCONT, SIGTERM or restart a node on its data dir. {@linkcode close} (or
 * `await using`) kills every process the harness started, even when the caller threw.
 *
 * Also a small write load ({@linkcode WriteLoad}) that records every write's invocation and
 * acknowledgement times and outcome, and {@linkcode readChildren}, which reads back through one
 * server only.
 * @module
 */
import { appendFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { type Client, connect, type ConnectOptions } from "../../src/client/mod.ts";
import { ConnectionLossError, NodeExistsError, SessionExpiredError } from "../../src/client/mod.ts";
import { type BinaryHome, copyBinary, ensureBinary, spawnIsolated } from "./_binary.ts";
import { within } from "../durability/_crash.ts";

/** A promise that resolves after `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `condition` every 10 ms until it holds; throws after `ms`, naming `what` and `detail()`. */
export async function waitUntil(
  condition: () => boolean,
  what: string,
  ms: number,
  detail: () => string = () => "",
): Promise<void> {
  const deadline = performance.now() + ms;
  while (!condition()) {
    if (performance.now() > deadline) {
      const more = detail();
      throw new Error(`timed out after ${ms} ms waiting for ${what}${more ? `\n${more}` : ""}`);
    }
    await sleep(10);
  }
}

export { within } from "../durability/_crash.ts";

/**
 * Creates `path` through `client`, retrying while the connection is lost (an ensemble failing
 * over); NodeExists after a retry means the lost attempt took effect.
 */
export async function ensurePath(client: Client, path: string, attempts = 30): Promise<void> {
  for (let attempt = 1;; attempt++) {
    try {
      await within(client.create(path, ""), 15_000, `create ${path}`);
      return;
    } catch (error) {
      const name = (error as Error).name;
      if (name === "NodeExistsError" && attempt > 1) return;
      if (name !== "ConnectionLossError" || attempt >= attempts) throw error;
      await sleep(100);
    }
  }
}

/** Picks `count` distinct free TCP ports on 127.0.0.1. */
export async function freePorts(count: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < count) {
    const port = await new Promise<number>((resolve, reject) => {
      const server = createServer();
      server.once("error", reject);
      server.listen(0, "127.0.0.1", () => {
        const address = server.address();
        const port = typeof address === "object" && address ? address.port : 0;
        server.close(() => resolve(port));
      });
    });
    ports.add(port);
  }
  return [...ports];
}

/** One JSON log line of a node, with when the harness received it. */
export interface NodeLogEntry {
  /** Which start of the node wrote it (1 for the first process, 2 after one restart, ...). */
  generation: number;
  /** `performance.now()` when the harness read the line. */
  receivedAt: number;
  /** The line's own `ts` as epoch ms (the node's clock), or NaN without one. */
  wallMs: number;
  /** The parsed line (`level`, `msg` and the line's fields). */
  entry: { level?: string; msg: string } & Record<string, unknown>;
}

/** A `"msg":"role"` line: the ZAB state of a node from that moment on. */
export interface RoleLine {
  state: string;
  phase: string;
  leader: number | null;
  epoch: number;
  serving: boolean;
  generation: number;
  receivedAt: number;
  wallMs: number;
}

function roleOf(line: NodeLogEntry): RoleLine {
  const e = line.entry;
  return {
    state: String(e.state),
    phase: String(e.phase),
    leader: typeof e.leader === "number" ? e.leader : null,
    epoch: typeof e.epoch === "number" ? e.epoch : -1,
    serving: e.serving === true,
    generation: line.generation,
    receivedAt: line.receivedAt,
    wallMs: line.wallMs,
  };
}

/** One member of a {@linkcode BinaryEnsemble} and its current process, if any. */
export class EnsembleNode {
  readonly id: number;
  readonly observer: boolean;
  readonly clientPort: number;
  readonly peerPort: number;
  readonly electionPort: number;
  readonly dataDir: string;
  readonly configPath: string;
  /** Every line the node's processes wrote to stderr, appended across restarts. */
  readonly logPath: string;
  readonly #binary: string;
  #child: Deno.ChildProcess | null = null;
  #reading: Promise<void> = Promise.resolve();
  #status: Deno.CommandStatus | null = null;
  #exited: Promise<Deno.CommandStatus> | null = null;
  #lines: NodeLogEntry[] = [];
  #partial = "";
  #generation = 0;
  #paused = false;
  /** A signal that ends the process was sent (by the harness) to the current process. */
  #stopSent = false;

  constructor(
    init: {
      id: number;
      observer: boolean;
      clientPort: number;
      peerPort: number;
      electionPort: number;
      dir: string;
      binary: string;
    },
  ) {
    this.id = init.id;
    this.observer = init.observer;
    this.clientPort = init.clientPort;
    this.peerPort = init.peerPort;
    this.electionPort = init.electionPort;
    this.dataDir = join(init.dir, `node${init.id}`);
    this.configPath = join(init.dir, `node${init.id}.cfg`);
    this.logPath = join(init.dir, `node${init.id}.log`);
    this.#binary = init.binary;
  }

  /** `127.0.0.1:clientPort`. */
  get address(): string {
    return `127.0.0.1:${this.clientPort}`;
  }

  /** Which start of the node runs now (0 before the first). */
  get generation(): number {
    return this.#generation;
  }

  /** The pid of the current process, or null when none runs. */
  get pid(): number | null {
    return this.running ? this.#child!.pid : null;
  }

  /** True while a process of this node runs (paused or not). */
  get running(): boolean {
    return this.#child !== null && this.#status === null;
  }

  /** True between {@linkcode pause} and {@linkcode resume}. */
  get paused(): boolean {
    return this.running && this.#paused;
  }

  /** How the last process ended, or null while one runs (or none started). */
  get exitStatus(): Deno.CommandStatus | null {
    return this.#status;
  }

  /**
   * True when the current process exited without the harness asking (no SIGKILL, SIGTERM or
   * SIGINT sent to it): the server stopped by itself, e.g. on a broken invariant.
   */
  get exitedByItself(): boolean {
    return this.#status !== null && !this.#stopSent;
  }

  /** Why the process stopped by itself: its exit and its error lines, with the log's path. */
  exitReport(): string {
    const errors = this.lines(this.#generation)
      .filter((l) => l.entry.level === "error")
      .map((l) => JSON.stringify(l.entry));
    return `node ${this.id} (start ${this.#generation}) exited by itself with code ` +
      `${this.#status?.code} (signal ${this.#status?.signal ?? "none"}); log ${this.logPath}` +
      (errors.length > 0 ? `; its error lines:\n${errors.join("\n")}` : "") +
      `\nthe end of its log:\n${this.tail(15)}`;
  }

  /** Every JSON line so far (all generations, or just `generation`). */
  lines(generation?: number): NodeLogEntry[] {
    return generation === undefined
      ? [...this.#lines]
      : this.#lines.filter((l) => l.generation === generation);
  }

  /** Lines of the current process whose `msg` is `msg`. */
  entries(msg: string, generation = this.#generation): NodeLogEntry[] {
    return this.#lines.filter((l) => l.generation === generation && l.entry.msg === msg);
  }

  /** Every role line of the current process (or of `generation`), oldest first. */
  roles(generation = this.#generation): RoleLine[] {
    return this.entries("role", generation).map(roleOf);
  }

  /** The latest role line of the current process, or null before its first. */
  get role(): RoleLine | null {
    for (let i = this.#lines.length - 1; i >= 0; i--) {
      const line = this.#lines[i];
      if (line.generation !== this.#generation) break;
      if (line.entry.msg === "role") return roleOf(line);
    }
    return null;
  }

  /** True when the node runs, is not paused, and its latest role line says it serves. */
  get serving(): boolean {
    return this.running && !this.#paused && this.role?.serving === true;
  }

  /** The last `count` lines the node wrote (raw, all generations), for failure messages. */
  tail(count = 30): string {
    let text = "";
    try {
      text = readFileSync(this.logPath, "utf8");
    } catch {
      return "(no log yet)";
    }
    return text.trimEnd().split("\n").slice(-count).join("\n");
  }

  /** Spawns the node on its config and data dir; resolves once it logs "listening". */
  async start(startMsMax = 30_000): Promise<void> {
    if (this.running) throw new Error(`node ${this.id} is already running`);
    this.#generation++;
    this.#paused = false;
    this.#stopSent = false;
    this.#status = null;
    this.#partial = "";
    const generation = this.#generation;
    appendFileSync(
      this.logPath,
      `# ---- node ${this.id}, start ${generation}, ${new Date().toISOString()}\n`,
    );
    // CORRAL_LOG_LEVEL=debug makes the nodes' logs say more (for a failover under study).
    const args = ["serve", "--config", this.configPath, "--log-level", logLevel()];
    const child = spawnIsolated(this.#binary, args);
    this.#child = child;
    const decoder = new TextDecoder();
    this.#reading = child.stderr.pipeTo(
      new WritableStream({
        write: (chunk) => this.#onText(decoder.decode(chunk, { stream: true }), generation),
        close: () => {
          if (this.#partial !== "") this.#onText("\n", generation);
        },
      }),
    ).catch(() => {});
    this.#exited = child.status.then((status) => {
      if (this.#child === child) this.#status = status;
      return status;
    });
    await waitUntil(
      () => this.entries("listening", generation).length > 0 || this.exitStatus !== null,
      `node ${this.id} to log "listening"`,
      startMsMax,
      () => this.tail(),
    ).catch(async (error) => {
      this.kill("SIGKILL");
      await this.exit();
      throw error;
    });
    const status = this.exitStatus;
    if (status !== null) {
      await this.#reading;
      throw new Error(
        `node ${this.id} exited with code ${status.code} before listening; ` +
          `its log ${this.logPath}:\n${this.tail()}`,
      );
    }
  }

  #onText(text: string, generation: number): void {
    const receivedAt = performance.now();
    const all = this.#partial + text;
    const parts = all.split("\n");
    this.#partial = parts.pop() ?? "";
    if (parts.length === 0) return;
    appendFileSync(this.logPath, parts.map((p) => `${p}\n`).join(""));
    for (const raw of parts) {
      try {
        const entry = JSON.parse(raw);
        if (typeof entry?.msg !== "string") continue;
        const wallMs = typeof entry.ts === "string" ? Date.parse(entry.ts) : NaN;
        this.#lines.push({ generation, receivedAt, wallMs, entry });
      } catch {
        // Not a JSON line (a runtime's crash report, say): the log file still has it.
      }
    }
  }

  /** Sends `signal` to the current process (no-op when none runs). */
  kill(signal: Deno.Signal): void {
    if (!this.running) return;
    if (signal === "SIGKILL" || signal === "SIGTERM" || signal === "SIGINT") this.#stopSent = true;
    try {
      this.#child!.kill(signal);
    } catch {
      // Already gone.
    }
    if (signal === "SIGSTOP") this.#paused = true;
    if (signal === "SIGCONT") this.#paused = false;
  }

  /** SIGSTOP, then waits (at most 2 s) until the kernel reports the process stopped. */
  async pause(): Promise<void> {
    const pid = this.pid;
    if (pid === null) throw new Error(`node ${this.id} is not running`);
    this.kill("SIGSTOP");
    await waitUntil(() => processState(pid) === "T", `node ${this.id} to stop (SIGSTOP)`, 2_000);
  }

  /** SIGCONT. */
  resume(): void {
    this.kill("SIGCONT");
  }

  /** Waits for the current process to exit (SIGKILL after `ms`) and for all its output. */
  async exit(ms = 15_000): Promise<Deno.CommandStatus | null> {
    if (this.#child === null || this.#exited === null) return null;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<void>((resolve) =>
      timer = setTimeout(() => {
        this.kill("SIGCONT");
        this.kill("SIGKILL");
        resolve();
      }, ms)
    );
    const status = await Promise.race([this.#exited, late.then(() => this.#exited!)]);
    clearTimeout(timer);
    await this.#reading;
    this.#paused = false;
    return status;
  }
}

/** The state letter of /proc/PID/stat (R, S, T, Z, ...), or null when it cannot be read. */
export function processState(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[0] ?? null;
  } catch {
    return null;
  }
}

/** How to start a {@linkcode BinaryEnsemble}. */
export interface BinaryEnsembleOptions {
  /** Voting members, ids 1..voters. Default 3. */
  voters?: number;
  /** Observers after the voters (`server.N=...:observer`). Default 0. */
  observers?: number;
  /** `tickTime` of every node; default none written (the server's default, 2000 ms). */
  tickTime?: number;
  /** More zoo.cfg lines for every node, e.g. `{ syncLimit: 5 }`. Default none. */
  config?: Record<string, string | number>;
  /** A copy of the binary to run; default: build when stale and copy dist/corral. */
  home?: BinaryHome;
  /** Longest wait for one node's "listening" line. Default 30 s. */
  startMsMax?: number;
  /** Parent of the temp folder. Default the system temp dir. */
  tempRoot?: string;
  /** Ids of nodes not to start now; start them later with {@linkcode BinaryEnsemble.restart}. */
  deferred?: number[];
  /** Prefix of the temp folder's name. Default `corral-ensemble-bin-`. */
  tempPrefix?: string;
  /**
   * How each node reaches the others (default: their own ports). Called once the nodes have
   * their ports, before any config is written: a test can put proxies on the peer links.
   */
  route?: (nodes: readonly EnsembleNode[]) => Promise<PeerRoute>;
}

/** The peer and election ports node `from` dials to reach node `to`. */
export type PeerRoute = (
  from: EnsembleNode,
  to: EnsembleNode,
) => { peerPort: number; electionPort: number };

/**
 * A running ensemble of compiled `corral` binaries on 127.0.0.1.
 *
 * @example
 * ```ts ignore
 * import { BinaryEnsemble } from "./_ensemble_binary.ts";
 * await using ensemble = await BinaryEnsemble.start();
 * const leader = await ensemble.waitForLeader();
 * ensemble.node(leader).kill("SIGKILL");
 * const next = await ensemble.waitForLeader({ exclude: [leader] });
 * ```
 */
export class BinaryEnsemble {
  /** The temp folder holding configs, data dirs and logs. */
  readonly dir: string;
  readonly nodes: EnsembleNode[];
  readonly #home: BinaryHome;
  readonly #ownHome: boolean;
  readonly #clients = new Set<Client>();
  #closed = false;
  /** A wait of the harness failed: {@linkcode close} keeps the logs then. */
  #waitFailed = false;

  private constructor(dir: string, nodes: EnsembleNode[], home: BinaryHome, ownHome: boolean) {
    this.dir = dir;
    this.nodes = nodes;
    this.#home = home;
    this.#ownHome = ownHome;
  }

  /** Writes the configs and starts every node; on any failure stops what it started. */
  static async start(options: BinaryEnsembleOptions = {}): Promise<BinaryEnsemble> {
    const voters = options.voters ?? 3;
    const observers = options.observers ?? 0;
    const count = voters + observers;
    let home = options.home;
    if (!home) {
      await ensureBinary();
      home = copyBinary();
    }
    const dir = Deno.makeTempDirSync({
      prefix: options.tempPrefix ?? "corral-ensemble-bin-",
      ...(options.tempRoot ? { dir: options.tempRoot } : {}),
    });
    let route: PeerRoute = (_from, to) => to;
    let nodes: EnsembleNode[];
    try {
      const ports = await freePorts(3 * count);
      nodes = Array.from({ length: count }, (_, i) =>
        new EnsembleNode({
          id: i + 1,
          observer: i >= voters,
          clientPort: ports[3 * i],
          peerPort: ports[3 * i + 1],
          electionPort: ports[3 * i + 2],
          dir,
          binary: home.binary,
        }));
      if (options.route) route = await options.route(nodes);
    } catch (error) {
      rmSync(dir, { recursive: true, force: true });
      if (options.home === undefined) home.remove();
      throw error;
    }
    // A node's own line has its real ports (it listens there); the others' lines say how it
    // reaches them. Members identify each other by the handshake, not by port.
    const members = (node: EnsembleNode) =>
      nodes.map((n) => {
        const { peerPort, electionPort } = n === node ? n : route(node, n);
        return `server.${n.id}=127.0.0.1:${peerPort}:${electionPort}${
          n.observer ? ":observer" : ""
        }`;
      });
    for (const node of nodes) {
      mkdirSync(node.dataDir, { recursive: true });
      writeFileSync(join(node.dataDir, "myid"), `${node.id}\n`);
      const lines = [
        `# node ${node.id} of a test ensemble; its id is in node${node.id}/myid`,
        ...(options.tickTime !== undefined ? [`tickTime=${options.tickTime}`] : []),
        `dataDir=${node.dataDir}`,
        `cborClientPort=${node.clientPort}`,
        // Tests run side by side: the ZooKeeper port only where a test asks for one.
        ...(options.config?.clientPort === undefined ? ["clientPort=0"] : []),
        "clientPortAddress=127.0.0.1",
        ...Object.entries(options.config ?? {}).map(([k, v]) => `${k}=${v}`),
        ...members(node),
      ];
      writeFileSync(node.configPath, `${lines.join("\n")}\n`);
    }
    const ensemble = new BinaryEnsemble(dir, nodes, home, options.home === undefined);
    try {
      const now = nodes.filter((n) => !(options.deferred ?? []).includes(n.id));
      await Promise.all(now.map((n) => n.start(options.startMsMax)));
    } catch (error) {
      await ensemble.close();
      throw error;
    }
    return ensemble;
  }

  /** The node with id `id`. */
  node(id: number): EnsembleNode {
    const node = this.nodes.find((n) => n.id === id);
    if (!node) throw new RangeError(`no node ${id}`);
    return node;
  }

  /** Ids of every node (or of the voters only). */
  ids(votersOnly = false): number[] {
    return this.nodes.filter((n) => !votersOnly || !n.observer).map((n) => n.id);
  }

  /** `127.0.0.1:p1,127.0.0.1:p2,...` for the given node ids (default all). */
  connectString(ids: number[] = this.ids()): string {
    return ids.map((id) => this.node(id).address).join(",");
  }

  /**
   * The id of the node that serves as leader now: running, not paused, its latest role line
   * LEADING and serving; when two claim it (a resumed old leader has not noticed yet), the one
   * of the higher epoch. Null when none does.
   */
  leader(exclude: number[] = []): number | null {
    let best: EnsembleNode | null = null;
    for (const node of this.nodes) {
      if (exclude.includes(node.id) || !node.serving || node.role?.state !== "LEADING") continue;
      if (best === null || node.role.epoch > best.role!.epoch) best = node;
    }
    return best?.id ?? null;
  }

  /**
   * Throws, naming the node, its exit and its error lines, when a node's process exited by
   * itself (the harness did not kill it): every wait of the harness checks this, so a crashed
   * server fails the wait at once instead of at its timeout.
   */
  checkAlive(ids: number[] = this.ids()): void {
    const gone = this.nodes.filter((n) => ids.includes(n.id) && n.exitedByItself);
    if (gone.length > 0) throw new Error(gone.map((n) => n.exitReport()).join("\n"));
  }

  /** Waits (at most `ms`) for a serving leader not in `exclude`; resolves with its id. */
  async waitForLeader(options: { exclude?: number[]; ms?: number } = {}): Promise<number> {
    const exclude = options.exclude ?? [];
    await this.#wait(
      () => (this.checkAlive(this.ids().filter((id) => !exclude.includes(id))),
        this.leader(exclude) !== null),
      `a serving leader${exclude.length ? ` other than ${exclude.join(", ")}` : ""}`,
      options.ms ?? 15_000,
    );
    return this.leader(exclude)!;
  }

  /**
   * True when every running node serves, exactly one leads, and every other one follows (or
   * observes) that leader in its epoch.
   */
  allServing(ids: number[] = this.ids()): boolean {
    const nodes = ids.map((id) => this.node(id));
    if (!nodes.every((n) => n.serving)) return false;
    const leaders = nodes.filter((n) => n.role!.state === "LEADING");
    if (leaders.length !== 1) return false;
    const { id, role } = leaders[0];
    return nodes.every((n) => n.role!.leader === id && n.role!.epoch === role!.epoch);
  }

  /** Waits (at most `ms`) until {@linkcode allServing} holds for `ids`; resolves with the leader. */
  async waitAllServing(ms = 15_000, ids: number[] = this.ids()): Promise<number> {
    await this.#wait(
      () => (this.checkAlive(ids), this.allServing(ids)),
      `nodes ${ids.join(", ")} to serve under one leader`,
      ms,
    );
    return ids.find((id) => this.node(id).role!.state === "LEADING")!;
  }

  /** {@linkcode waitUntil} with the nodes' state in the error; a failure keeps the logs. */
  async #wait(condition: () => boolean, what: string, ms: number): Promise<void> {
    try {
      await waitUntil(condition, what, ms, () => this.describe());
    } catch (error) {
      this.#waitFailed = true;
      throw error;
    }
  }

  /** SIGKILL of node `id`; resolves once it has exited. */
  async crash(id: number): Promise<void> {
    const node = this.node(id);
    node.kill("SIGKILL");
    await node.exit();
  }

  /** SIGTERM of node `id`; resolves with its exit status (SIGKILL after `ms`). */
  async terminate(id: number, ms = 15_000): Promise<Deno.CommandStatus | null> {
    const node = this.node(id);
    if (node.paused) node.resume();
    node.kill("SIGTERM");
    return await node.exit(ms);
  }

  /** Starts node `id` (again) on its data dir; it must not be running. */
  async restart(id: number): Promise<void> {
    await this.node(id).start();
  }

  /**
   * Opens a client to the given nodes (default all); {@linkcode close} closes it if the caller
   * has not.
   */
  async client(ids: number[] = this.ids(), options: ConnectOptions = {}): Promise<Client> {
    const client = await connect(this.connectString(ids), options);
    this.#clients.add(client);
    return client;
  }

  /** Closes a client opened by {@linkcode client} (bounded: at most `ms`). */
  async closeClient(client: Client, ms = 10_000): Promise<void> {
    this.#clients.delete(client);
    await within(client.close(), ms, "a client to close").catch(() => {});
  }

  /** One line per node: pid, paused, generation and latest role, for failure messages. */
  describe(): string {
    return this.nodes.map((n) => {
      const r = n.role;
      const role = r
        ? `${r.state}/${r.phase} leader ${r.leader} epoch ${r.epoch} serving ${r.serving}`
        : "no role yet";
      const proc = n.running ? `pid ${n.pid}${n.paused ? " (paused)" : ""}` : "not running";
      return `node ${n.id}: ${proc}, start ${n.generation}, ${role}, log ${n.logPath}`;
    }).join("\n");
  }

  /**
   * Kills every process the harness started (SIGKILL; a paused one too) and every client it
   * opened, then deletes the temp folder, unless `keep` says otherwise. By default the folder
   * (configs, data dirs, `nodeN.log`) is kept, and its path printed on stderr, when a wait of the
   * harness failed or a node exited by itself. Idempotent.
   */
  async close(options: { keep?: boolean } = {}): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all([...this.#clients].map((c) => this.closeClient(c, 5_000)));
    for (const node of this.nodes) node.kill("SIGKILL");
    await Promise.all(this.nodes.map((n) => n.exit()));
    const keep = options.keep ??
      (this.#waitFailed || this.nodes.some((n) => n.exitedByItself));
    if (!keep) rmSync(this.dir, { recursive: true, force: true });
    else if (options.keep === undefined) console.error(`ensemble logs kept in ${this.dir}`);
    if (this.#ownHome) this.#home.remove();
  }

  /** For `await using`: {@linkcode close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

// ---- write load ----------------------------------------------------------------------------

/** One attempt to send a write (a retry after ConnectionLoss is a new attempt). */
export interface WriteAttempt {
  /** `performance.now()` when the request was issued. */
  invokedAt: number;
  /** When its answer came, or null for none. */
  answeredAt: number | null;
  /** ok: created; exists: NodeExists (an earlier attempt took effect); lost: ConnectionLoss. */
  result: "ok" | "exists" | "lost" | "expired" | "error";
  /** The error's message, for `error` and `expired`. */
  error?: string;
}

/** One write of a {@linkcode WriteLoad}: a create of a unique path. */
export interface WriteRecord {
  client: number;
  seq: number;
  path: string;
  data: string;
  /** `performance.now()` when the first attempt was issued. */
  invokedAt: number;
  attempts: WriteAttempt[];
  /**
   * acknowledged: an attempt was answered ok; confirmed: a retry was answered NodeExists (an
   * earlier attempt took effect); unknown: no attempt was answered either way (outcome unknown);
   * failed: answered with another error (it did not take effect).
   */
  outcome: "acknowledged" | "confirmed" | "unknown" | "failed" | "pending";
  /** When the acknowledgement (or confirmation) came. */
  ackedAt: number | null;
}

/** How to run a {@linkcode WriteLoad}. */
export interface WriteLoadOptions {
  /** Connect string every writer uses (e.g. all nodes). */
  connectString: string;
  /** Writer sessions. */
  clients: number;
  /** The parent of the next write's path, asked at each write (it must exist). */
  parent: () => string;
  /** Client options (session timeout, ...). */
  clientOptions?: ConnectOptions;
  /** Most attempts of one write before it is given up as unknown. Default 200. */
  attemptsMax?: number;
  /** Pause between a ConnectionLoss and the retry, ms. Default 0 (the client waits to reconnect). */
  retryDelayMs?: number;
  /**
   * When a writer's session expires: open a new one and go on (true), or stop that writer
   * (false, the default). Either way the expiry is counted in {@linkcode WriteLoad.expired} and
   * noted in {@linkcode WriteLoad.problems}.
   */
  reopenOnExpiry?: boolean;
}

/**
 * Writers that each create nodes sequentially (`PARENT/c<k>-<seq>`, data `c<k>-<seq>`) through
 * their own session, recording every write. A create that fails with ConnectionLoss is retried
 * (the outcome was unknown); NodeExists on a retry means an earlier attempt took effect.
 */
export class WriteLoad {
  readonly records: WriteRecord[] = [];
  readonly clients: Client[] = [];
  /** Problems that are not a lost connection: an expired session, an unexpected error. */
  readonly problems: string[] = [];
  /** Session state events per writer (all its sessions): [performance.now(), event]. */
  readonly events: [number, string][][] = [];
  /** Sessions that expired. */
  expired = 0;
  readonly #options: WriteLoadOptions;
  #running: Promise<void>[] = [];
  #stopping = false;

  private constructor(options: WriteLoadOptions) {
    this.#options = options;
  }

  /** Connects every writer (bounded by the connect timeout) and starts writing. */
  static async start(options: WriteLoadOptions): Promise<WriteLoad> {
    const load = new WriteLoad(options);
    try {
      for (let k = 0; k < options.clients; k++) {
        load.events.push([]);
        load.clients.push(await load.#open(k));
      }
    } catch (error) {
      await load.stop();
      throw error;
    }
    load.#running = load.clients.map((_, k) => load.#write(k));
    return load;
  }

  async #open(k: number): Promise<Client> {
    const client = await connect(this.#options.connectString, this.#options.clientOptions ?? {});
    client.on("state", (event) => this.events[k].push([performance.now(), event]));
    return client;
  }

  /** Writes acknowledged or confirmed so far. */
  get acknowledged(): WriteRecord[] {
    return this.records.filter((r) => r.outcome === "acknowledged" || r.outcome === "confirmed");
  }

  async #write(k: number): Promise<void> {
    const attemptsMax = this.#options.attemptsMax ?? 200;
    for (let seq = 1; !this.#stopping; seq++) {
      const name = `c${k}-${seq}`;
      const path = `${this.#options.parent()}/${name}`;
      const record: WriteRecord = {
        client: k,
        seq,
        path,
        data: name,
        invokedAt: performance.now(),
        attempts: [],
        outcome: "pending",
        ackedAt: null,
      };
      this.records.push(record);
      while (record.outcome === "pending") {
        const attempt: WriteAttempt = {
          invokedAt: performance.now(),
          answeredAt: null,
          result: "lost",
        };
        record.attempts.push(attempt);
        try {
          await this.clients[k].create(path, name);
          attempt.answeredAt = performance.now();
          attempt.result = "ok";
          record.outcome = "acknowledged";
          record.ackedAt = attempt.answeredAt;
        } catch (error) {
          attempt.answeredAt = performance.now();
          if (error instanceof NodeExistsError && record.attempts.length > 1) {
            attempt.result = "exists";
            record.outcome = "confirmed";
            record.ackedAt = attempt.answeredAt;
          } else if (error instanceof ConnectionLossError) {
            attempt.result = "lost";
            if (this.#stopping || record.attempts.length >= attemptsMax) record.outcome = "unknown";
            else if (this.#options.retryDelayMs) await sleep(this.#options.retryDelayMs);
          } else if (error instanceof SessionExpiredError) {
            attempt.result = "expired";
            attempt.error = String(error);
            record.outcome = "unknown";
            if (this.#stopping) return;
            this.expired++;
            this.problems.push(`writer ${k}: session expired at ${path}: ${error.message}`);
            if (!this.#options.reopenOnExpiry) return;
            try {
              const old = this.clients[k];
              this.clients[k] = await this.#open(k);
              await within(old.close(), 10_000, "an expired session to close").catch(() => {});
            } catch (reopen) {
              this.problems.push(`writer ${k}: could not open a new session: ${reopen}`);
              return;
            }
          } else {
            attempt.result = "error";
            attempt.error = String(error);
            record.outcome = "failed";
            this.problems.push(`writer ${k}: ${path}: ${error}`);
          }
        }
      }
    }
  }

  /** Stops issuing writes; waits (at most `ms`) for the writers and closes their sessions. */
  async stop(ms = 20_000): Promise<void> {
    this.#stopping = true;
    await within(Promise.all(this.#running), ms, "the writers to stop").catch((error) =>
      this.problems.push(String(error))
    );
    await Promise.all(
      this.clients.map((c) => within(c.close(), 10_000, "a writer to close").catch(() => {})),
    );
  }
}

/**
 * Reads back through node `id` alone: a client connected only to it, `sync`, then the names of
 * the children of every `parents` entry, as full paths.
 */
export async function readChildren(
  ensemble: BinaryEnsemble,
  id: number,
  parents: string[],
  options: ConnectOptions = {},
): Promise<Set<string>> {
  const client = await ensemble.client([id], options);
  try {
    const found = new Set<string>();
    for (const parent of parents) {
      await within(client.sync(parent), 30_000, `sync through node ${id}`);
      const children = await within(
        client.getChildren(parent),
        30_000,
        `getChildren ${parent} on node ${id}`,
      );
      for (const child of children) found.add(`${parent}/${child}`);
    }
    return found;
  } finally {
    await ensemble.closeClient(client);
  }
}

function logLevel(): string {
  return Deno.env.get("CORRAL_LOG_LEVEL") ?? "info";
}
