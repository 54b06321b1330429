/**
 * Events into and actions out of the pure {@linkcode Replica}. The shell (real sockets, files,
 * clock) and the simulator are the only two hosts; both speak exactly these types.
 * @module
 */
import type { ClientRequest, ConnectRequest, ServerMessage } from "../wire/messages.ts";
import type { TxnRecord } from "../tree/txn.ts";
import type { ErrorCode } from "../tree/types.ts";
import type { AuthId } from "../tree/acl.ts";

/**
 * The replica's part in an ensemble. `standalone` orders and makes durable by itself; a `leader`
 * orders, its host replicates (ZAB) and reports `commit`; a `follower` or `observer` forwards
 * writes, sessions and syncs to the leader and applies what the leader commits; `down` serves no
 * one (the server is electing or syncing).
 */
export type ReplicaRole = "standalone" | "leader" | "follower" | "observer" | "down";

/** What a follower hands to the leader. */
export type ForwardedRequest =
  /** A client asked this follower for a new session; the follower chose its id and password. */
  | { op: "createSession"; sessionId: number; timeoutMs: number; password: Uint8Array }
  /** A write, a close or a sync of a session connected to the follower. */
  | { op: "request"; sessionId: number; authIds: AuthId[]; request: ClientRequest };

/**
 * The leader's answer to a forwarded request, sent over the same FIFO link as its proposals, so
 * it reaches the follower before the commit of the txn it names.
 */
export type ForwardReply =
  /** The request became the txn `zxid`: answer it when that txn commits. */
  | { kind: "ordered"; sessionId: number; xid: number; zxid: number }
  /**
   * The request failed (or was refused, for a new session): send `message` in its turn, and
   * with `upTo` not before that txn is applied (the ordered txns that explain the error).
   */
  | { kind: "answer"; sessionId: number; xid: number; message: ServerMessage; upTo?: number }
  /** A sync: answer it once every txn up to `zxid` is applied here. */
  | { kind: "sync"; sessionId: number; xid: number; zxid: number };

/** Something that happened outside the replica. `nowMs` is the host's wall clock. */
export type ReplicaEvent =
  | {
    type: "connect";
    connId: number;
    nowMs: number;
    remoteAddress: string;
    request: ConnectRequest;
    /** Fresh random bytes from the host, used for a new session's password. */
    entropy: Uint8Array;
  }
  | { type: "request"; connId: number; nowMs: number; request: ClientRequest }
  /** A frame that failed validation but carried an xid: answered with an error, in order. */
  | { type: "invalid"; connId: number; nowMs: number; xid: number; err: ErrorCode; message: string }
  | { type: "disconnect"; connId: number }
  /** One tick of `tickMs` passed. */
  | { type: "tick"; nowMs: number }
  /** Every record up to and including `zxid` is on stable storage. */
  | { type: "durable"; zxid: number }
  /** Storage could not make the records from `zxid` on durable; they must fail, not apply. */
  | { type: "storageFailed"; zxid: number; message: string }
  /** The host finished a {@linkcode HostCall}: `body` is the response's fields (or err + message). */
  | { type: "hostReply"; connId: number; xid: number; body: Record<string, unknown> }
  /** The server's role changed (ensemble); `epoch` is the one a new leader orders zxids in. */
  | { type: "role"; role: ReplicaRole; epoch: number; nowMs: number }
  /** Ensemble: these records are committed, in zxid order; apply them. */
  | { type: "commit"; records: readonly TxnRecord[] }
  /** Leader: a follower forwarded this. */
  | { type: "forwarded"; from: number; nowMs: number; forward: ForwardedRequest }
  /** Follower: the leader answered a forwarded request. */
  | { type: "reply"; reply: ForwardReply }
  /** Leader: a follower saw these sessions active since its last report. */
  | { type: "touch"; sessionIds: readonly number[] };

/** Work the replica asks the host to do for a request, because it needs I/O (online backup). */
export type HostCall =
  | { op: "snapshot" }
  | { op: "snapshotRead"; offset: number; length: number };

/** Something the host must do, in the order given. */
export type ReplicaAction =
  | { type: "send"; connId: number; message: ServerMessage }
  /** Close the connection after flushing what was sent; the host then reports `disconnect`. */
  | { type: "close"; connId: number; reason: string }
  /**
   * Append and sync these records, then report `durable` with the last zxid (standalone); a
   * leader's host proposes them to the ensemble instead and reports `commit`.
   */
  | { type: "persist"; records: TxnRecord[] }
  /** Follower: send this to the leader. */
  | { type: "forward"; forward: ForwardedRequest }
  /** Leader: send this to follower `to`. */
  | { type: "reply"; to: number; reply: ForwardReply }
  /** Follower: tell the leader these sessions were active (sent once per tick). */
  | { type: "touch"; sessionIds: number[] }
  /** Do `call` for the request `xid` of `connId`, then report a `hostReply` (even for errors). */
  | { type: "hostCall"; connId: number; xid: number; call: HostCall }
  | {
    type: "log";
    level: "debug" | "info" | "warn" | "error";
    message: string;
    fields?: Record<string, unknown>;
  };

/** Tunables of a replica; limits default to those in src/constants.ts. */
export interface ReplicaOptions {
  /** This server's id (`myid`). */
  serverId: number;
  /** Length of a tick in ms; session timeouts are clamped to [2, 20] ticks. */
  tickMs: number;
  /** First session id to hand out; the host derives it from serverId and its start time. */
  sessionIdBase: number;
  /** Epoch of the zxids this replica orders (0 in standalone mode). */
  epoch?: number;
  /** Largest znode value. */
  dataBytesMax?: number;
  /** Largest frame (announced to clients). */
  frameBytesMax?: number;
  /** Most unanswered requests per connection. */
  pendingRequestsMax?: number;
  /** Most watch registrations per session. */
  watchesPerSessionMax?: number;
  /** `super:base64digest`: a digest identity that bypasses every ACL. */
  superDigest?: string | null;
  /** True to allow TTL nodes (ZooKeeper's `extendedTypesEnabled`; default false). */
  ttlEnabled?: boolean;
  /** How often the leader looks for containers and TTL nodes to remove (default 1000 ms). */
  extendedCheckIntervalMs?: number;
}
