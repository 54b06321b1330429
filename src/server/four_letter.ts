/**
 * ZooKeeper's four-letter words on the ZooKeeper client port: a client sends four ASCII letters
 * instead of a frame, gets plain text back, and the server closes the connection. The answers
 * keep ZooKeeper's shapes (line names, `key=value` and tab-separated `mntr` lines) so monitoring
 * scripts written for ZooKeeper parse them. Which words run is an allow-list
 * (`4lw.commands.whitelist`), by default only `srvr`, as in ZooKeeper 3.5.3 and later.
 *
 * This module only formats; the host gathers the {@linkcode ServerFacts}.
 * @module
 */

/** Every four-letter word Corral answers. */
export const fourLetterWords: readonly string[] = [
  "ruok",
  "srvr",
  "stat",
  "mntr",
  "conf",
  "cons",
  "wchs",
  "wchc",
  "wchp",
  "dump",
  "envi",
  "dirs",
  "isro",
];

/** The allow-list when none is configured (ZooKeeper's default). */
export const fourLetterWordsDefault: readonly string[] = ["srvr"];

/**
 * Parses `4lw.commands.whitelist`: comma-separated words, or `*` for all. Throws a clear error
 * for a word Corral does not know.
 */
export function parseFourLetterAllowList(text: string): string[] {
  const words = text.split(",").map((w) => w.trim()).filter((w) => w !== "");
  if (words.includes("*")) return [...fourLetterWords];
  for (const word of words) {
    if (!fourLetterWords.includes(word)) {
      throw new Error(
        `unknown four-letter word "${word}" (known: ${fourLetterWords.join(", ")}, or *)`,
      );
    }
  }
  return words;
}

/** Counters of one client connection. */
export interface ConnectionFacts {
  address: string;
  port: number;
  /** Requests waiting for an answer. */
  queued: number;
  received: number;
  sent: number;
  /** 0 before the handshake completes. */
  sessionId: number;
  timeoutMs: number;
  lastOp: string;
  lastZxid: number;
  establishedMs: number;
  lastResponseMs: number;
  latency: LatencyFacts;
  protocol: "zookeeper" | "cbor";
}

/** Request latencies in ms (zero when nothing was answered yet). */
export interface LatencyFacts {
  min: number;
  max: number;
  total: number;
  count: number;
}

/** What the host knows about itself, for the answers. */
export interface ServerFacts {
  version: string;
  /** ZooKeeper's server state: standalone, leader, follower, observer; or "not serving". */
  mode: string;
  zxid: number;
  nodeCount: number;
  /** Bytes of data and path names in the tree (approximate). */
  dataBytes: number;
  received: number;
  sent: number;
  outstanding: number;
  latency: LatencyFacts;
  connections: ConnectionFacts[];
  /** Watches: session -> paths, per table. */
  watches: Map<number, string[]>;
  /** Sessions with their timeouts, and their ephemerals. */
  sessions: { id: number; timeoutMs: number; ephemerals: string[] }[];
  /** `key=value` settings, in order, as `conf` prints them. */
  config: [string, string | number][];
  /** `key=value` environment, as `envi` prints it. */
  environment: [string, string][];
  dataDirBytes: number;
  dataLogDirBytes: number;
  /** Syncs of the txn log slower than the warning threshold (0 without a log). */
  slowSyncs: number;
  /** Leader only: followers known and in sync. */
  followers?: { count: number; synced: number };
  openFileDescriptors?: number;
  maxFileDescriptors?: number;
}

const hex = (n: number) => `0x${n.toString(16)}`;

function latencyText(l: LatencyFacts): string {
  const avg = l.count === 0 ? 0 : l.total / l.count;
  return `${l.min}/${avg.toFixed(4)}/${l.max}`;
}

function connectionLine(c: ConnectionFacts, full: boolean): string {
  const head = ` /${c.address}:${c.port}[1](queued=${c.queued},recved=${c.received},sent=${c.sent}`;
  if (!full) return `${head})`;
  const avg = c.latency.count === 0 ? 0 : c.latency.total / c.latency.count;
  return `${head},sid=${
    hex(c.sessionId)
  },lop=${c.lastOp},est=${c.establishedMs},to=${c.timeoutMs}` +
    `,lzxid=${hex(c.lastZxid)},lresp=${c.lastResponseMs},llat=0,minlat=${c.latency.min}` +
    `,avglat=${avg.toFixed(4)},maxlat=${c.latency.max})`;
}

function summary(f: ServerFacts): string[] {
  return [
    `Latency min/avg/max: ${latencyText(f.latency)}`,
    `Received: ${f.received}`,
    `Sent: ${f.sent}`,
    `Connections: ${f.connections.length}`,
    `Outstanding: ${f.outstanding}`,
    `Zxid: ${hex(f.zxid)}`,
    `Mode: ${f.mode}`,
    `Node count: ${f.nodeCount}`,
  ];
}

const lines = (list: string[]) => list.map((l) => `${l}\n`).join("");

/**
 * The text a four-letter word answers with: the refusal ZooKeeper gives when `word` is not on
 * `allowed`, and an explanation when it is unknown.
 */
export function answerFourLetterWord(
  word: string,
  allowed: readonly string[],
  facts: () => ServerFacts,
): string {
  if (!fourLetterWords.includes(word)) return `${word} is not a known four-letter word.\n`;
  if (!allowed.includes(word)) {
    return `${word} is not executed because it is not in the whitelist.\n`;
  }
  if (word === "ruok") return "imok";
  const f = facts();
  const serving = f.mode !== "not serving";
  if (!serving && word !== "conf" && word !== "envi" && word !== "isro") {
    return "This ZooKeeper instance is not currently serving requests\n";
  }
  switch (word) {
    case "srvr":
      return lines([`Zookeeper version: ${f.version}`, ...summary(f)]);
    case "stat":
      return lines([
        `Zookeeper version: ${f.version}`,
        "Clients:",
        ...f.connections.map((c) => connectionLine(c, false)),
        "",
        ...summary(f),
      ]);
    case "mntr":
      return mntr(f);
    case "conf":
      return lines(f.config.map(([k, v]) => `${k}=${v}`));
    case "cons":
      return lines([...f.connections.map((c) => connectionLine(c, true)), ""]);
    case "wchs": {
      const paths = new Set([...f.watches.values()].flat());
      const total = [...f.watches.values()].reduce((n, p) => n + p.length, 0);
      return lines([
        `${f.watches.size} connections watching ${paths.size} paths`,
        `Total watches:${total}`,
      ]);
    }
    case "wchc":
      return lines(
        [...f.watches].sort(([a], [b]) => a - b).flatMap(([session, paths]) => [
          hex(session),
          ...paths.map((p) => `\t${p}`),
        ]).concat(""),
      );
    case "wchp": {
      const byPath = new Map<string, number[]>();
      for (const [session, paths] of f.watches) {
        for (const path of paths) byPath.set(path, [...byPath.get(path) ?? [], session]);
      }
      return lines(
        [...byPath].sort(([a], [b]) => a < b ? -1 : 1).flatMap(([path, sessions]) => [
          path,
          ...sessions.sort((a, b) => a - b).map((s) => `\t${hex(s)}`),
        ]),
      );
    }
    case "dump": {
      const withEphemerals = f.sessions.filter((s) => s.ephemerals.length > 0);
      return lines([
        "SessionTracker dump:",
        `Global Sessions(${f.sessions.length}):`,
        ...f.sessions.map((s) => `${hex(s.id)}\t${s.timeoutMs}ms`),
        "ephemeral nodes dump:",
        `Sessions with Ephemerals (${withEphemerals.length}):`,
        ...withEphemerals.flatMap((s) => [`${hex(s.id)}:`, ...s.ephemerals.map((p) => `\t${p}`)]),
        "Connections dump:",
        `Connections Sets (1)/(${f.connections.length}):`,
        ...f.connections.filter((c) => c.sessionId !== 0).map((c) => hex(c.sessionId)),
      ]);
    }
    case "envi":
      return lines(["Environment:", ...f.environment.map(([k, v]) => `${k}=${v}`)]);
    case "dirs":
      return lines([`datadir_size: ${f.dataDirBytes}`, `logdir_size: ${f.dataLogDirBytes}`]);
    case "isro":
      return serving ? "rw" : "null";
  }
  return "";
}

function mntr(f: ServerFacts): string {
  const avg = f.latency.count === 0 ? 0 : f.latency.total / f.latency.count;
  const ephemerals = f.sessions.reduce((n, s) => n + s.ephemerals.length, 0);
  const watches = [...f.watches.values()].reduce((n, p) => n + p.length, 0);
  const rows: [string, string | number][] = [
    ["zk_version", f.version],
    ["zk_server_state", f.mode],
    ["zk_avg_latency", Number(avg.toFixed(4))],
    ["zk_max_latency", f.latency.max],
    ["zk_min_latency", f.latency.min],
    ["zk_packets_received", f.received],
    ["zk_packets_sent", f.sent],
    ["zk_num_alive_connections", f.connections.length],
    ["zk_outstanding_requests", f.outstanding],
    ["zk_znode_count", f.nodeCount],
    ["zk_watch_count", watches],
    ["zk_ephemerals_count", ephemerals],
    ["zk_approximate_data_size", f.dataBytes],
    ["zk_global_sessions", f.sessions.length],
    ["zk_local_sessions", 0],
    ["zk_fsync_threshold_exceed_count", f.slowSyncs],
  ];
  if (f.openFileDescriptors !== undefined) {
    rows.push(["zk_open_file_descriptor_count", f.openFileDescriptors]);
  }
  if (f.maxFileDescriptors !== undefined) {
    rows.push(["zk_max_file_descriptor_count", f.maxFileDescriptors]);
  }
  if (f.followers) {
    rows.push(["zk_followers", f.followers.count]);
    rows.push(["zk_synced_followers", f.followers.synced]);
    rows.push(["zk_pending_syncs", 0]);
  }
  return rows.map(([k, v]) => `${k}\t${v}\n`).join("");
}
