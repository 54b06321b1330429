/**
 * Starts, inspects, disrupts and stops the coordination systems a benchmark compares, all on
 * 127.0.0.1: Apache ZooKeeper (Debian's `zookeeper` 3.8, standalone or three nodes), etcd
 * (Debian's `etcd-server`, three nodes) and Corral (a compiled `corral` binary, standalone or three
 * nodes). Each runs with its default settings apart from ports, data dirs and, for ZooKeeper and
 * Corral, every four-letter word allowed; fsync stays on everywhere.
 *
 * Every server is spawned directly (no shell in between, so a node's `pid` is the server's own and
 * /proc/PID shows its CPU and memory) in a process group of its own, so a Ctrl-C in the caller's
 * terminal reaches only the caller, which should then call {@linkcode stopAllSystems}. Every
 * file of a system (configs, data dirs, logs) lives under the work dir the caller gives, which
 * must be on a real disk. A server that dies by itself never throws in the caller: the node just
 * stops answering. When the process exits, servers still running get SIGKILL as a last resort.
 *
 * "Answers" means a client request answered right now: for ZooKeeper and Corral a new
 * ZooKeeper-protocol session and a getData("/") (the session is then closed), for etcd a 200 to
 * `POST /v3/kv/range` (a linearizable read). The leader comes from `srvr` (ZooKeeper, Corral) or
 * from `POST /v3/maintenance/status` (etcd).
 *
 * @example
 * ```ts ignore
 * import { startZooKeeper, stopAllSystems } from "./_systems.ts";
 * const zk = await startZooKeeper(".tmp/bench/zk", 3);
 * const leader = await zk.leader();
 * zk.signal(leader, "SIGKILL");
 * await zk.restart(leader);
 * await stopAllSystems();
 * ```
 * @module
 */
import { type ChildProcess, execFile, execFileSync, spawn } from "node:child_process";
import {
  accessSync,
  appendFileSync,
  closeSync,
  constants,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { createConnection } from "node:net";
import { delimiter, join, resolve } from "node:path";
import process from "node:process";
import { binaryPath } from "../tests/e2e/_binary.ts";
import { freePorts, sleep } from "../tests/e2e/_ensemble_binary.ts";
import { ZkBenchSession } from "../src/bench/zk_session.ts";
import { defaultAdapter } from "../src/net/mod.ts";

// ---- the API -------------------------------------------------------------------------------

/** Which coordination system a {@linkcode System} is. */
export type SystemKind = "zookeeper" | "etcd" | "corral";

/** One server of a {@linkcode System}. */
export interface ServerNode {
  /** 0-based position in {@linkcode System.nodes}. */
  readonly index: number;
  /** The pid of the server process (a new one after {@linkcode System.restart}). */
  pid: number;
  /** The ZooKeeper-protocol port (ZooKeeper, Corral) or the etcd client port. */
  readonly clientPort: number;
  /** Corral's CBOR port; null for the others. */
  readonly cborPort: number | null;
  /** The server's data directory. */
  readonly dataDir: string;
}

/** A running system of one or more servers on 127.0.0.1. */
export interface System {
  readonly kind: SystemKind;
  /** E.g. "ZooKeeper 3.8.0, 3 nodes", with the version the software reports. */
  readonly label: string;
  readonly nodes: readonly ServerNode[];
  /** ms from spawning all nodes to the first request answered by any node (measured by start*). */
  readonly startupMs: number;
  /** Index of the current leader (0 for standalone); polls (≤ 30 s, then throws). */
  leader(): Promise<number>;
  /** True when node `index` answers a client request right now (a read; bounded ≤ 1 s). */
  answers(index: number): Promise<boolean>;
  /** Sends a signal to node `index`'s process (nothing when it is not running). */
  signal(index: number, signal: StopSignal): void;
  /**
   * Starts node `index` again (after a SIGKILL) on the same data dir and ports; resolves once it
   * answers (≤ 60 s).
   */
  restart(index: number): Promise<void>;
  /** Resolves once every node answers and a leader is known (≤ timeoutMs, then throws). */
  waitAllAnswer(timeoutMs: number): Promise<void>;
  /**
   * Kills every process of this system (SIGCONT first in case it is stopped, SIGTERM, then
   * SIGKILL after 5 s) and deletes its work dir unless `keep`.
   */
  stop(keep?: boolean): Promise<void>;
}

/** The signals {@linkcode System.signal} sends. */
export type StopSignal = "SIGKILL" | "SIGSTOP" | "SIGCONT" | "SIGTERM";

// ---- settings ------------------------------------------------------------------------------

/** Debian's ZooKeeper jar; its manifest's Class-Path names every dependency jar. */
const zkJar = "/usr/share/java/zookeeper.jar";
/** Debian's etcd server. */
const etcdBinary = "/usr/bin/etcd";
/** The heap zkServer.sh gives ZooKeeper by default (ZK_SERVER_HEAP=1000). */
export const zkHeapMb = 1000;
const zkHeap = `-Xmx${zkHeapMb}m`;
/** Longest one probe (a request, a four-letter word, a status) may take. */
const probeMsMax = 1_000;
/** Longest {@linkcode System.leader} polls. */
const leaderMsMax = 30_000;
/** Longest {@linkcode System.restart} waits for the node to answer. */
const restartMsMax = 60_000;
/** Longest a start waits for every node to answer and a leader to be known. */
const startMsMax = 60_000;
/** How long a stopping server gets after SIGTERM before SIGKILL. */
const termGraceMs = 5_000;
/** Attempts of a start whose server exited early (a free port taken meanwhile, say). */
const startAttempts = 3;
/** Pause between two probes of the same thing. */
const pollMs = 10;
/**
 * While a start is timed, the pause between two bare connects to a port that refused the last
 * one (which costs the server nothing), so that the time is not rounded up by `pollMs`.
 */
const refusedPollMs = 2;
/** Session timeout a probe asks for (servers raise it to their minimum, 2 ticks). */
const probeSessionMs = 4_000;

// ---- server processes ----------------------------------------------------------------------

/** How to run one server: the program, its arguments, where it runs and logs. */
interface LaunchSpec {
  command: string;
  args: string[];
  cwd: string;
  logPath: string;
  env: Record<string, string>;
}

/** Every server process this module started that has not exited yet. */
const liveProcesses = new Set<ServerProcess>();

/** A detached server process whose stdout and stderr are appended to its log file. */
class ServerProcess {
  readonly pid: number;
  /** Resolves when the process has exited (or failed to spawn). */
  readonly exited: Promise<void>;
  #exited = false;
  #how = "";

  constructor(spec: LaunchSpec) {
    appendFileSync(
      spec.logPath,
      `# ---- ${new Date().toISOString()}: ${spec.command} ${spec.args.join(" ")}\n`,
    );
    const child = spawnLogged(spec);
    this.exited = new Promise((resolve) => {
      child.once("exit", (code, signal) => this.#onExit(`code ${code}, signal ${signal}`, resolve));
      child.once("error", (error) => this.#onExit(`spawn error: ${error.message}`, resolve));
    });
    if (child.pid === undefined) throw new Error(`could not start ${spec.command}`);
    this.pid = child.pid;
    liveProcesses.add(this);
  }

  /** True while the process runs (stopped or not). */
  get running(): boolean {
    return !this.#exited;
  }

  /** How the process ended ("" while it runs). */
  get how(): string {
    return this.#how;
  }

  #onExit(how: string, resolve: () => void): void {
    this.#exited = true;
    this.#how = how;
    liveProcesses.delete(this);
    resolve();
  }

  /** Sends `signal` unless the process has exited. */
  send(signal: NodeJS.Signals): void {
    if (this.#exited) return;
    try {
      process.kill(this.pid, signal);
    } catch {
      // Exited in the meantime.
    }
  }

  /** True once the process has exited, waiting at most `ms`. */
  async waitExit(ms: number): Promise<boolean> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<void>((resolve) => timer = setTimeout(resolve, ms));
    await Promise.race([this.exited, late]);
    clearTimeout(timer);
    return this.#exited;
  }

  /** SIGCONT and SIGTERM, then SIGKILL after {@linkcode termGraceMs}; waits for the exit. */
  async stop(): Promise<void> {
    this.send("SIGCONT");
    this.send("SIGTERM");
    if (await this.waitExit(termGraceMs)) return;
    this.send("SIGKILL");
    await this.waitExit(termGraceMs);
  }
}

/** Spawns `spec` in its own process group, stdout and stderr appended to its log file. */
function spawnLogged(spec: LaunchSpec): ChildProcess {
  const log = openSync(spec.logPath, "a");
  try {
    return spawn(spec.command, spec.args, {
      cwd: spec.cwd,
      env: spec.env,
      detached: true,
      stdio: ["ignore", log, log],
    });
  } finally {
    closeSync(log);
  }
}

/** SIGKILLs whatever still runs; the last resort when the caller exits without stopping. */
function killLeftovers(): void {
  for (const server of [...liveProcesses]) {
    server.send("SIGCONT");
    server.send("SIGKILL");
  }
}

process.on("exit", killLeftovers);

/** The caller's environment, without the variables whose names start with `dropPrefix`. */
function environment(dropPrefix?: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value === undefined || (dropPrefix && key.startsWith(dropPrefix))) continue;
    env[key] = value;
  }
  return env;
}

/** The last `lines` lines of `path` ("" when it cannot be read). */
function tail(path: string, lines = 8): string {
  try {
    return readFileSync(path, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "";
  }
}

// ---- probes --------------------------------------------------------------------------------

/**
 * True when the ZooKeeper-protocol server on `port` opens a session and answers getData("/")
 * within `ms`. The session is closed (closeSession, bounded by `ms` too) and the socket with it.
 */
async function zkAnswers(port: number, ms: number): Promise<boolean> {
  const deadline = performance.now() + ms;
  let session: ZkBenchSession | null = null;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<null>((resolve) => timer = setTimeout(() => resolve(null), ms));
  try {
    session = await ZkBenchSession.open(await defaultAdapter(), "127.0.0.1", port, {
      sessionTimeoutMs: probeSessionMs,
      connectTimeoutMs: ms,
    });
    const reply = await Promise.race([
      session.call({ op: "getData", path: "/", watch: false }),
      timeout,
    ]);
    return reply !== null && reply.err === 0;
  } catch {
    return false;
  } finally {
    if (session !== null) {
      const open = session;
      const left = Math.max(1, deadline - performance.now());
      await Promise.race([open.close(), new Promise((resolve) => setTimeout(resolve, left))]);
      open.drop();
    }
    clearTimeout(timer);
  }
}

/**
 * True when a TCP connection to `port` is accepted within `ms` (it is closed at once, nothing
 * sent); false when it is refused or times out.
 */
function portAccepts(port: number, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: "127.0.0.1", port });
    const done = (accepted: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(accepted);
    };
    const timer = setTimeout(() => done(false), ms);
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
  });
}

/** The answer to four-letter word `word` on `port`, or null when none came within `ms`. */
export function fourLetterWord(port: number, word: string, ms: number): Promise<string | null> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: "127.0.0.1", port });
    let text = "";
    let settled = false;
    const finish = (answer: string | null) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(answer);
    };
    const timer = setTimeout(() => finish(null), ms);
    socket.setEncoding("utf8");
    socket.on("connect", () => socket.write(word));
    socket.on("data", (chunk: string) => text += chunk);
    socket.on("end", () => finish(text === "" ? null : text));
    socket.on("error", () => finish(null));
    socket.on("close", () => finish(text === "" ? null : text));
  });
}

/** The `Mode:` of `srvr` on `port` (leader, follower, standalone, ...), or null. */
async function srvrMode(port: number, ms: number): Promise<string | null> {
  const answer = await fourLetterWord(port, "srvr", ms);
  return answer === null ? null : /^Mode: (\S+)/m.exec(answer)?.[1] ?? null;
}

/** An HTTP client that keeps no idle connection: every probe has a socket of its own. */
let httpClient: Deno.HttpClient | null = null;

/** The JSON answer to `POST http://127.0.0.1:port{path}` with `body`, or null unless a 200. */
async function etcdPost(port: number, path: string, body: unknown, ms: number): Promise<unknown> {
  httpClient ??= Deno.createHttpClient({ poolMaxIdlePerHost: 0 });
  try {
    const response = await fetch(`http://127.0.0.1:${port}${path}`, {
      method: "POST",
      body: JSON.stringify(body),
      headers: { "content-type": "application/json" },
      client: httpClient,
      signal: AbortSignal.timeout(ms),
    });
    const text = await response.text();
    return response.status === 200 ? JSON.parse(text) : null;
  } catch {
    return null;
  }
}

/** True when etcd on `port` answers a linearizable range read of "/" within `ms`. */
async function etcdAnswers(port: number, ms: number): Promise<boolean> {
  return await etcdPost(port, "/v3/kv/range", { key: btoa("/") }, ms) !== null;
}

/** Who etcd on `port` is and whom it follows (uint64s as decimal strings), or null. */
async function etcdStatus(
  port: number,
  ms: number,
): Promise<{ memberId: string; leader: string } | null> {
  const status = await etcdPost(port, "/v3/maintenance/status", {}, ms) as {
    header?: { member_id?: string };
    leader?: string;
  } | null;
  const memberId = status?.header?.member_id;
  return memberId === undefined ? null : { memberId, leader: status?.leader ?? "0" };
}

// ---- nodes and how each system is probed ---------------------------------------------------

/** One node of a running system: its fixed ports and files, and its current process. */
class NodeState implements ServerNode {
  pid = 0;
  process: ServerProcess | null = null;

  constructor(
    readonly index: number,
    readonly clientPort: number,
    readonly cborPort: number | null,
    readonly dataDir: string,
    readonly spec: LaunchSpec,
  ) {}

  /** True while a process of this node runs (stopped or not). */
  get running(): boolean {
    return this.process?.running ?? false;
  }

  /** Spawns a new process of this node. */
  launch(): void {
    this.process = new ServerProcess(this.spec);
    this.pid = this.process.pid;
  }

  /** How the last process ended and the end of the log, for error messages. */
  report(): string {
    const how = this.process?.how || "running";
    return `node ${this.index} (${how}); ${this.spec.logPath}:\n${tail(this.spec.logPath)}`;
  }
}

/** How one kind of system is asked whether a node answers and who leads. */
interface Prober {
  /** True when `node` answers a read within `ms`. */
  answers(node: NodeState, ms: number): Promise<boolean>;
  /** The leader's index now, or null while none is known. */
  leaderNow(nodes: readonly NodeState[]): Promise<number | null>;
}

/** More than half of `count`. */
function majority(count: number): number {
  return Math.floor(count / 2) + 1;
}

/** ZooKeeper and Corral: a session and getData("/"); the leader from `srvr`. */
class ZkProtocolProber implements Prober {
  answers(node: NodeState, ms: number): Promise<boolean> {
    return zkAnswers(node.clientPort, ms);
  }

  /**
   * A standalone node says "standalone"; of an ensemble, exactly one node must say "leader" and
   * a majority "leader" or "follower" (a leader resumed after SIGSTOP may still think it leads).
   */
  async leaderNow(nodes: readonly NodeState[]): Promise<number | null> {
    const modes = await Promise.all(
      nodes.map((n) => n.running ? srvrMode(n.clientPort, probeMsMax) : null),
    );
    if (nodes.length === 1) return modes[0] === "standalone" || modes[0] === "leader" ? 0 : null;
    const leaders = modes.flatMap((mode, i) => mode === "leader" ? [i] : []);
    const members = modes.filter((mode) => mode === "leader" || mode === "follower").length;
    return leaders.length === 1 && members >= majority(nodes.length) ? leaders[0] : null;
  }
}

/** etcd: a range read; the leader is the member a majority of the nodes name in their status. */
class EtcdProber implements Prober {
  /** Each node's member id (stable across restarts on the same data dir), once seen. */
  readonly #memberIds: (string | null)[] = [];

  answers(node: NodeState, ms: number): Promise<boolean> {
    return etcdAnswers(node.clientPort, ms);
  }

  async leaderNow(nodes: readonly NodeState[]): Promise<number | null> {
    const statuses = await Promise.all(
      nodes.map((n) => n.running ? etcdStatus(n.clientPort, probeMsMax) : null),
    );
    const votes = new Map<string, number>();
    statuses.forEach((status, i) => {
      if (status === null) return;
      this.#memberIds[i] = status.memberId;
      if (status.leader !== "0") votes.set(status.leader, (votes.get(status.leader) ?? 0) + 1);
    });
    for (const [leader, count] of votes) {
      const index = this.#memberIds.indexOf(leader);
      if (count >= majority(nodes.length) && index >= 0) return index;
    }
    return null;
  }
}

// ---- a running system ----------------------------------------------------------------------

/** Systems started and not stopped yet, for {@linkcode stopAllSystems}. */
const activeSystems = new Set<RunningSystem>();

/** Thrown when a server exited while its system was starting (a port taken, say). */
class EarlyExitError extends Error {}

/** The {@linkcode System} every start function returns. */
class RunningSystem implements System {
  startupMs = NaN;
  #stopping: Promise<void> | null = null;
  /** True during {@linkcode boot}: a node exiting then fails the start. */
  #booting = false;

  constructor(
    readonly kind: SystemKind,
    readonly label: string,
    readonly nodes: readonly NodeState[],
    readonly workDir: string,
    readonly prober: Prober,
  ) {
    activeSystems.add(this);
  }

  /** Node `index`, or a RangeError. */
  #node(index: number): NodeState {
    const node = this.nodes[index];
    if (node === undefined) throw new RangeError(`${this.label} has no node ${index}`);
    return node;
  }

  /** Spawns every node, measures {@linkcode startupMs}, then waits until all answer. */
  async boot(): Promise<void> {
    this.#booting = true;
    const spawnedMs = performance.now();
    for (const node of this.nodes) node.launch();
    const deadline = spawnedMs + startMsMax;
    const probes: Promise<boolean>[] = [];
    try {
      const answeredMs = await this.#firstAnswer(deadline, probes);
      this.startupMs = answeredMs - spawnedMs;
      await this.waitAllAnswer(deadline - performance.now());
    } finally {
      // Probes still waiting on a server that accepted them before it could answer end within
      // probeMsMax; none is left behind.
      await Promise.all(probes);
    }
    this.#booting = false;
  }

  /**
   * When the first node answered; throws at `deadline` or when a node exits. Until a node's port
   * takes connections, bare connects try it every `refusedPollMs`; then probes go out every
   * `pollMs`, overlapping: a server may accept a connection before it can answer and then never
   * answer it (ZooKeeper does), so the next probe does not wait for that one to time out. The
   * first answer is then timed to within those pauses. `probes` gets every probe sent.
   */
  async #firstAnswer(deadline: number, probes: Promise<boolean>[]): Promise<number> {
    let answeredMs: number | null = null;
    const going = () => {
      if (this.stopRequested) throw new Error(`${this.label} was stopped while starting`);
      this.#throwIfExited();
      return answeredMs === null && performance.now() < deadline;
    };
    const poll = async (node: NodeState) => {
      while (going() && !await portAccepts(node.clientPort, probeMsMax)) {
        await sleep(refusedPollMs);
      }
      while (going()) {
        const probe = this.prober.answers(node, Math.min(probeMsMax, deadline - performance.now()));
        probes.push(probe);
        void probe.then((ok) => {
          if (ok) answeredMs ??= performance.now();
        });
        const failed = await Promise.race([
          probe.then((ok) => !ok),
          sleep(pollMs).then(() => false),
        ]);
        if (failed) await sleep(pollMs);
      }
    };
    await Promise.all(this.nodes.map(poll));
    if (answeredMs === null) {
      throw new Error(`${this.label}: no node answered within ${startMsMax} ms\n${this.#report()}`);
    }
    return answeredMs;
  }

  /** Throws an {@linkcode EarlyExitError} when a node's process has exited. */
  #throwIfExited(): void {
    const gone = this.nodes.filter((n) => !n.running);
    if (gone.length === 0) return;
    throw new EarlyExitError(
      `${this.label}: a server exited while starting\n${gone.map((n) => n.report()).join("\n")}`,
    );
  }

  /** Every node's state and log tail. */
  #report(): string {
    return this.nodes.map((n) => n.report()).join("\n");
  }

  async leader(): Promise<number> {
    const deadline = performance.now() + leaderMsMax;
    while (performance.now() < deadline) {
      const leader = await this.prober.leaderNow(this.nodes);
      if (leader !== null) return leader;
      await sleep(50);
    }
    throw new Error(`${this.label}: no leader known within ${leaderMsMax} ms`);
  }

  answers(index: number): Promise<boolean> {
    const node = this.#node(index);
    return node.running ? this.prober.answers(node, probeMsMax) : Promise.resolve(false);
  }

  signal(index: number, signal: StopSignal): void {
    this.#node(index).process?.send(signal);
  }

  async restart(index: number): Promise<void> {
    const node = this.#node(index);
    if (node.process !== null && !await node.process.waitExit(5_000)) {
      throw new Error(`${this.label}: node ${index} still runs (pid ${node.pid}); kill it first`);
    }
    node.launch();
    const deadline = performance.now() + restartMsMax;
    while (performance.now() < deadline) {
      if (!node.running) throw new Error(`${this.label}: restart failed: ${node.report()}`);
      const left = Math.min(probeMsMax, deadline - performance.now());
      if (await this.prober.answers(node, left)) return;
      await sleep(pollMs);
    }
    throw new Error(`${this.label}: node ${index} did not answer ${restartMsMax} ms after restart`);
  }

  async waitAllAnswer(timeoutMs: number): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      if (this.#stopping !== null) throw new Error(`${this.label} is stopped`);
      if (await this.#allAnswerNow(deadline) && await this.prober.leaderNow(this.nodes) !== null) {
        return;
      }
      if (performance.now() >= deadline) break;
      if (this.#booting) this.#throwIfExited();
      await sleep(50);
    }
    throw new Error(
      `${this.label}: not every node answered with a leader known within ${timeoutMs} ms\n` +
        this.#report(),
    );
  }

  /** True when every node answers now (each probe bounded by `deadline`). */
  async #allAnswerNow(deadline: number): Promise<boolean> {
    const ms = Math.max(1, Math.min(probeMsMax, deadline - performance.now()));
    const answers = await Promise.all(
      this.nodes.map((n) => n.running ? this.prober.answers(n, ms) : false),
    );
    return answers.every(Boolean);
  }

  /** True once {@linkcode stop} was called (by the caller or {@linkcode stopAllSystems}). */
  get stopRequested(): boolean {
    return this.#stopping !== null;
  }

  stop(keep = false): Promise<void> {
    this.#stopping ??= this.#halt(keep);
    return this.#stopping;
  }

  /** Stops every process, then deletes the work dir unless `keep`. */
  async #halt(keep: boolean): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.process?.stop()));
    activeSystems.delete(this);
    if (!keep) rmSync(this.workDir, { recursive: true, force: true });
  }
}

// ---- starting ------------------------------------------------------------------------------

/** One node as a start function lays it out. */
interface NodePlan {
  clientPort: number;
  cborPort: number | null;
  dataDir: string;
  spec: LaunchSpec;
}

/** What {@linkcode launch} needs to know about a kind of system. */
interface SystemPlan {
  kind: SystemKind;
  label: string;
  count: number;
  /** Ports each node needs (client, peer, ...). */
  portsPerNode: number;
  /** Writes node `index`'s files in `dir` for the given ports of every node; how to run it. */
  prepare(index: number, dir: string, ports: number[][]): NodePlan;
  prober(): Prober;
}

/** Creates `workDir` (which must be missing or empty) and refuses tmpfs; its absolute path. */
function prepareWorkDir(workDir: string): string {
  const dir = resolve(workDir);
  mkdirSync(dir, { recursive: true });
  if (readdirSync(dir).length > 0) throw new Error(`work dir ${dir} is not empty`);
  const type = execFileSync("stat", ["-f", "-c", "%T", dir], { encoding: "utf8" }).trim();
  if (type === "tmpfs" || type === "ramfs") {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`work dir ${dir} is on ${type}; the servers' fsyncs need a real disk`);
  }
  return dir;
}

/** Removes everything inside `dir`. */
function emptyDir(dir: string): void {
  for (const name of readdirSync(dir)) rmSync(join(dir, name), { recursive: true, force: true });
}

/** Splits `ports` into `count` groups of `size`. */
function groups(ports: number[], count: number, size: number): number[][] {
  return Array.from({ length: count }, (_, i) => ports.slice(i * size, (i + 1) * size));
}

/**
 * Starts the system `plan` describes in `workDir`: fresh ports, every node spawned, resolved
 * once every node answers and a leader is known. A server that exits meanwhile (a port the
 * kernel handed out was taken, say) makes it try again on new ports, up to 3 times.
 */
async function launch(workDir: string, plan: SystemPlan): Promise<System> {
  const dir = prepareWorkDir(workDir);
  for (let attempt = 1;; attempt++) {
    const ports = groups(
      await freePorts(plan.count * plan.portsPerNode),
      plan.count,
      plan.portsPerNode,
    );
    const nodes = Array.from({ length: plan.count }, (_, i) => {
      const node = plan.prepare(i, dir, ports);
      return new NodeState(i, node.clientPort, node.cborPort, node.dataDir, node.spec);
    });
    const system = new RunningSystem(plan.kind, plan.label, nodes, dir, plan.prober());
    try {
      await system.boot();
      return system;
    } catch (error) {
      // Stopped from outside (stopAllSystems on Ctrl-C, say): no new attempt then.
      const retry = !system.stopRequested && error instanceof EarlyExitError;
      await system.stop(true);
      if (retry && attempt < startAttempts) {
        emptyDir(dir);
        continue;
      }
      rmSync(dir, { recursive: true, force: true });
      throw error;
    }
  }
}

/** "1 node" or "3 nodes". */
function nodesText(count: number): string {
  return count === 1 ? "1 node" : `${count} nodes`;
}

/** The node's folder `dir/nodeN` (N 1-based), created. */
function nodeDir(dir: string, index: number): string {
  const path = join(dir, `node${index + 1}`);
  mkdirSync(path, { recursive: true });
  return path;
}

/**
 * The folder of node `index` and its data dir, created, with ZooKeeper's `myid` file in the data
 * dir when there is more than one node (ZooKeeper and Corral read it from there).
 */
function zkStyleDirs(dir: string, index: number, nodes: number): { home: string; dataDir: string } {
  const home = nodeDir(dir, index);
  const dataDir = join(home, "data");
  mkdirSync(dataDir, { recursive: true });
  if (nodes > 1) writeFileSync(join(dataDir, "myid"), `${index + 1}\n`);
  return { home, dataDir };
}

/** `server.N=127.0.0.1:P1:P2` for every node, from ports `[client, peer, election, ...]`. */
function memberLines(ports: number[][], peerAt: number): string[] {
  if (ports.length === 1) return [];
  return ports.map((p, i) => `server.${i + 1}=127.0.0.1:${p[peerAt]}:${p[peerAt + 1]}`);
}

/** Writes `lines` to `path`, one a line. */
function writeLines(path: string, lines: string[]): void {
  writeFileSync(path, `${lines.join("\n")}\n`);
}

/**
 * What a test of the systems may change from their defaults. `forceSync: false` writes the txn
 * log without syncing it (ZooKeeper's and Corral's `forceSync=no`), to measure what the disk costs.
 */
export interface StartOptions {
  forceSync?: boolean;
}

/** `forceSync=yes` or `=no`, a key ZooKeeper and Corral share. */
function forceSyncLine(options: StartOptions): string {
  return `forceSync=${options.forceSync === false ? "no" : "yes"}`;
}

/** A ZooKeeper node's zoo.cfg lines: zkServer.sh-like defaults, fsync on, 4lw all allowed. */
function zooCfg(
  dataDir: string,
  clientPort: number,
  members: string[],
  options: StartOptions,
): string[] {
  return [
    "tickTime=2000",
    "initLimit=10",
    "syncLimit=5",
    forceSyncLine(options),
    `dataDir=${dataDir}`,
    `clientPort=${clientPort}`,
    "clientPortAddress=127.0.0.1",
    "4lw.commands.whitelist=*",
    "admin.enableServer=false",
    "maxClientCnxns=0",
    ...members,
  ];
}

/**
 * Starts ZooKeeper (Debian's jar, heap 1000 MB as zkServer.sh gives it) standalone or as three
 * nodes in `workDir`; resolves once every node answers and a leader is known.
 */
export async function startZooKeeper(
  workDir: string,
  nodes: 1 | 3,
  options: StartOptions = {},
): Promise<System> {
  if (!existsSync(zkJar)) throw new Error(`${zkJar} is missing: call installMissing() first`);
  const version = await zookeeperVersion();
  return await launch(workDir, {
    kind: "zookeeper",
    label: `ZooKeeper ${version}, ${nodesText(nodes)}`,
    count: nodes,
    portsPerNode: 3,
    prober: () => new ZkProtocolProber(),
    prepare(index, dir, ports) {
      const { home, dataDir } = zkStyleDirs(dir, index, nodes);
      const config = join(home, "zoo.cfg");
      writeLines(config, zooCfg(dataDir, ports[index][0], memberLines(ports, 1), options));
      // No SLF4J binding on the class path: ZooKeeper logs nothing (as zk_server.sh runs it).
      const args = [zkHeap, "-cp", zkJar, "org.apache.zookeeper.server.quorum.QuorumPeerMain"];
      return {
        clientPort: ports[index][0],
        cborPort: null,
        dataDir,
        spec: {
          command: "java",
          args: [...args, config],
          cwd: home,
          logPath: join(home, "server.log"),
          env: environment(),
        },
      };
    },
  });
}

/** etcd's command line for node `index` of a cluster on `ports` ([client, peer] per node). */
function etcdArgs(index: number, dataDir: string, ports: number[][], token: string): string[] {
  const url = (port: number) => `http://127.0.0.1:${port}`;
  const cluster = ports.map((p, i) => `node${i + 1}=${url(p[1])}`).join(",");
  const [client, peer] = ports[index];
  return [
    `--name=node${index + 1}`,
    `--data-dir=${dataDir}`,
    `--listen-client-urls=${url(client)}`,
    `--advertise-client-urls=${url(client)}`,
    `--listen-peer-urls=${url(peer)}`,
    `--initial-advertise-peer-urls=${url(peer)}`,
    `--initial-cluster=${cluster}`,
    "--initial-cluster-state=new",
    `--initial-cluster-token=${token}`,
  ];
}

/**
 * Starts a three-node etcd cluster (default settings: fsync on, 100 ms heartbeat, 1 s election
 * timeout) in `workDir`; resolves once every node answers and a leader is known.
 */
export async function startEtcd(workDir: string, nodes: 3): Promise<System> {
  if (!existsSync(etcdBinary)) throw new Error(`${etcdBinary} is missing: call installMissing()`);
  const version = await etcdVersion();
  // Unique per start, so that no member of another cluster is ever taken for one of this.
  const token = `bench-${crypto.randomUUID()}`;
  return await launch(workDir, {
    kind: "etcd",
    label: `etcd ${version}, ${nodesText(nodes)}`,
    count: nodes,
    portsPerNode: 2,
    prober: () => new EtcdProber(),
    prepare(index, dir, ports) {
      const home = nodeDir(dir, index);
      // etcd creates its data dir itself, with the 0700 mode it insists on.
      const dataDir = join(home, "data");
      return {
        clientPort: ports[index][0],
        cborPort: null,
        dataDir,
        spec: {
          command: etcdBinary,
          args: etcdArgs(index, dataDir, ports, `${token}-${ports[0][1]}`),
          cwd: home,
          logPath: join(home, "etcd.log"),
          // ETCD_* variables would configure the servers behind the command line's back.
          env: environment("ETCD_"),
        },
      };
    },
  });
}

/**
 * Starts Corral (`binary serve --config FILE`) standalone or as three nodes in `workDir`, with
 * tickTime 2000 and every other setting at its default but for `options`; resolves once every
 * node answers and a leader is known.
 */
export async function startCorral(
  workDir: string,
  nodes: 1 | 3,
  binary: string,
  options: StartOptions = {},
): Promise<System> {
  const program = resolve(binary);
  accessSync(program, constants.X_OK);
  const version = await corralVersion(program);
  return await launch(workDir, {
    kind: "corral",
    label: `Corral ${version}, ${nodesText(nodes)}`,
    count: nodes,
    portsPerNode: 4,
    prober: () => new ZkProtocolProber(),
    prepare(index, dir, ports) {
      const { home, dataDir } = zkStyleDirs(dir, index, nodes);
      const [cbor, client] = ports[index];
      const config = join(home, "corral.cfg");
      writeLines(config, [
        "tickTime=2000",
        `dataDir=${dataDir}`,
        `cborClientPort=${cbor}`,
        `clientPort=${client}`,
        "clientPortAddress=127.0.0.1",
        "4lw.commands.whitelist=*",
        // As for ZooKeeper above: the load generator opens up to 128 sessions from 127.0.0.1.
        "maxClientCnxns=0",
        forceSyncLine(options),
        ...memberLines(ports, 2),
      ]);
      return {
        clientPort: client,
        cborPort: cbor,
        dataDir,
        spec: {
          command: program,
          args: ["serve", "--config", config],
          cwd: home,
          logPath: join(home, "server.log"),
          env: environment(),
        },
      };
    },
  });
}

/** Stops every system this module started and has not stopped yet (for exit/signal handlers). */
export async function stopAllSystems(): Promise<void> {
  await Promise.all([...activeSystems].map((s) => s.stop()));
  await Promise.all([...liveProcesses].map((p) => p.stop()));
}

// ---- installing and versions ---------------------------------------------------------------

/** Output of a command that ran to success within `ms`, or null. */
function output(command: string, args: string[], ms = 30_000): Promise<string | null> {
  return new Promise((resolve) => {
    execFile(command, args, { timeout: ms, encoding: "utf8" }, (error, stdout, stderr) => {
      resolve(error ? null : `${stdout}${stderr}`);
    });
  });
}

/** Runs a command to success within `ms`, or throws with its output. */
function run(
  command: string,
  args: string[],
  env: Record<string, string>,
  ms: number,
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const options = { timeout: ms, encoding: "utf8" as const, env, maxBuffer: 64 << 20 };
    execFile(command, args, options, (error, stdout, stderr) => {
      if (!error) return resolve();
      const said = `${stdout}${stderr}`.trimEnd().split("\n").slice(-10).join("\n");
      reject(new Error(`${command} ${args.join(" ")} failed (${error.message}):\n${said}`));
    });
  });
}

/** True when `name` is an executable on PATH. */
function onPath(name: string): boolean {
  return (process.env.PATH ?? "").split(delimiter).some((dir) => {
    try {
      accessSync(join(dir, name), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** The Debian packages missing for ZooKeeper, Java and etcd. */
function missingPackages(kinds: readonly SystemKind[]): string[] {
  const missing: string[] = [];
  if (kinds.includes("zookeeper")) {
    if (!existsSync(zkJar)) missing.push("zookeeper");
    else if (!onPath("java")) missing.push("default-jre-headless");
  }
  if (kinds.includes("etcd") && !existsSync(etcdBinary)) missing.push("etcd-server");
  return missing;
}

/** Runs `apt-get ARGS` as root, or through `sudo -n` when this process is not root. */
function aptGet(args: string[]): Promise<void> {
  const env = { ...environment(), DEBIAN_FRONTEND: "noninteractive" };
  const ms = 900_000;
  if (process.getuid?.() === 0) return run("apt-get", args, env, ms);
  return run("sudo", ["-n", "env", "DEBIAN_FRONTEND=noninteractive", "apt-get", ...args], env, ms);
}

/**
 * apt-get installs `zookeeper` and/or `etcd-server` when missing (as root, or via sudo -n when
 * not root); throws with a clear message if that fails. `kinds` says which systems are needed
 * (default both). `log` hears which packages are installed before apt-get starts, since it may
 * take minutes. (On a machine with systemd, Debian's etcd-server package also starts a system
 * etcd on the default ports; this module does not use it.)
 */
export async function installMissing(
  log: (line: string) => void = () => {},
  kinds: readonly SystemKind[] = ["zookeeper", "etcd"],
): Promise<void> {
  const packages = missingPackages(kinds);
  if (packages.length === 0) return;
  log(`installing ${packages.join(", ")} with apt-get`);
  const install = ["install", "-y", "--no-install-recommends", ...packages];
  try {
    await aptGet(install).catch(async () => {
      await aptGet(["update"]);
      await aptGet(install);
    });
  } catch (error) {
    throw new Error(
      `could not install ${packages.join(", ")} (needs root or password-less sudo); ` +
        `run: sudo apt-get install ${packages.join(" ")}\n${(error as Error).message}`,
    );
  }
  const still = missingPackages(kinds);
  if (still.length > 0) throw new Error(`still missing after apt-get: ${still.join(", ")}`);
}

/** Version lookups, each run once. */
const versionCache = new Map<string, Promise<string | null>>();

/** `pattern`'s first group in the output of `command args`, cached under `key`; null if none. */
function versionOf(
  key: string,
  command: string,
  args: string[],
  pattern: RegExp,
): Promise<string | null> {
  let found = versionCache.get(key);
  if (found === undefined) {
    found = output(command, args).then((text) => text === null ? null : pattern.exec(text)?.[1])
      .then((version) => version ?? null);
    versionCache.set(key, found);
  }
  return found;
}

/** The version of the ZooKeeper jar, as the jar itself reports it. */
async function zookeeperVersion(): Promise<string> {
  const args = ["-cp", zkJar, "org.apache.zookeeper.version.VersionInfoMain"];
  return await versionOf("zookeeper", "java", args, /version (\d+\.\d+\.\d+)/) ?? "?";
}

/** The version `etcd --version` reports. */
async function etcdVersion(): Promise<string> {
  return await versionOf("etcd", etcdBinary, ["--version"], /etcd Version: (\S+)/) ?? "?";
}

/** The version `binary --version` reports ("corral 0.1.0"). */
async function corralVersion(binary: string): Promise<string> {
  return await versionOf(`corral ${binary}`, binary, ["--version"], /corral (\S+)/) ?? "?";
}

/**
 * Versions of the installed software, e.g. { zookeeper: "3.8.0", etcd: "3.4.23", java: "17.0.15",
 * corral: "0.1.0" }; what is not installed (or not built, for dist/corral) is left out.
 */
export async function versions(): Promise<Record<string, string>> {
  const found: [string, Promise<string | null>][] = [
    ["zookeeper", existsSync(zkJar) ? zookeeperVersion() : Promise.resolve(null)],
    ["etcd", existsSync(etcdBinary) ? etcdVersion() : Promise.resolve(null)],
    ["java", versionOf("java", "java", ["-version"], /version "([^"]+)"/)],
    ["corral", existsSync(binaryPath) ? corralVersion(binaryPath) : Promise.resolve(null)],
  ];
  const result: Record<string, string> = {};
  for (const [name, version] of found) {
    const value = await version;
    if (value !== null && value !== "?") result[name] = value;
  }
  return result;
}
