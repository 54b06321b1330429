/**
 * What clients observed in one run, in one shape for every source: the simulator (virtual time,
 * `tests/sim/_ensemble_sim.ts`) and real processes on loopback (`tests/e2e/_nemesis.ts`). The
 * checkers in this folder judge a {@linkcode History}; none of them looks at the servers' state.
 *
 * Time is an *observer's clock*: every invocation, completion, watch delivery and session change
 * gets a position on one counter that only grows (`invoked`, `completed`, `at`), so "A finished
 * before B started" is exactly `A.completed < B.invoked`, with no ties. Milliseconds are kept
 * beside them for people reading a report.
 *
 * `committed` is the write order the ensemble agreed on, read from the servers after the run (a
 * replica's applied txns in the simulator; a member's txn log on disk for real processes). The
 * linearizability checker takes it only as a guess to verify (a wrong one costs a search, never a
 * verdict); the read, FIFO and watch checkers compare what clients saw with it, and check it
 * against the clients' writes.
 * @module
 */
import type { TxnRecord } from "../../src/tree/txn.ts";
import type { WatchEventType } from "../../src/tree/types.ts";
import type { ClientRequest, ResponseMessage } from "../../src/wire/messages.ts";

/**
 * What became of a request: `ok` or `error` once answered (an error response means the request
 * took no effect); `unknown` when the connection died before an answer (it may or may not have
 * taken effect); `pending` when the run ended with it in flight (as unknown).
 */
export type Outcome = "ok" | "error" | "unknown" | "pending";

/** One request a client sent, and what became of it. */
export interface HistoryOp {
  /** Unique in the history; the order of invocation. */
  index: number;
  /** The client (one per client process: a client that crashes and restarts gets a new id). */
  client: number;
  /** The session the request was sent in. */
  sessionId: number;
  /** The client's connection number (grows for each new connection of that client). */
  connection: number;
  /** The server the connection went to (for reports). */
  server: number;
  /** The request's xid: grows with every request the client sends, across connections. */
  xid: number;
  /** The request as sent: op and arguments. Pings are not recorded. */
  request: ClientRequest;
  /** Observer-clock position of the send. */
  invoked: number;
  /** Observer-clock position of the response's arrival; null without a response. */
  completed: number | null;
  invokedMs: number;
  completedMs: number | null;
  outcome: Outcome;
  /** The response, when one came (its `zxid`: the txn's for a write, else the server's last). */
  response: ResponseMessage | null;
}

/** A watch notification as the client received it. */
export interface HistoryEvent {
  client: number;
  sessionId: number;
  connection: number;
  server: number;
  type: WatchEventType;
  path: string;
  /** The zxid the server put on the notification (the change that fired it). */
  zxid: number;
  /** Observer-clock position of the delivery. */
  at: number;
  atMs: number;
}

/** A change of a client's session, as the client saw it. */
export interface HistorySession {
  client: number;
  sessionId: number;
  connection: number;
  server: number;
  /**
   * `created`: the handshake made a new session; `resumed`: it continued this one on a new
   * connection; `expired`: the server said the session expired; `closed`: the client's close was
   * answered.
   */
  kind: "created" | "resumed" | "expired" | "closed";
  at: number;
  atMs: number;
}

/** Everything the checkers judge. */
export interface History {
  ops: HistoryOp[];
  events: HistoryEvent[];
  sessions: HistorySession[];
  /**
   * The committed txns in zxid order, from the very first one (the tree before it is the empty
   * tree every server starts with: "/", "/zookeeper" and "/zookeeper/quota"). Includes
   * createSession and closeSession (which removes the session's ephemerals).
   */
  committed: TxnRecord[];
}

/** Which checker found a violation. */
export type CheckName = "linearizable" | "reads" | "fifo" | "watches";

/** One thing clients saw that the guarantees forbid. */
export interface Violation {
  check: CheckName;
  /** What is wrong, in one or a few lines a person can follow. */
  message: string;
  /** The `index` of every op involved (the smallest set that shows it, when known). */
  ops: number[];
}

/** What one checker did. */
export interface CheckResult {
  violations: Violation[];
  /** Ops (and events, for watches) the checker judged. */
  checked: number;
}
