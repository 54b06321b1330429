/**
 * Events into and actions out of the pure {@linkcode Replica}. The shell (real sockets, files,
 * clock) and the simulator are the only two hosts; both speak exactly these types.
 * @module
 */
import type { ClientRequest, ConnectRequest, ServerMessage } from "../wire/messages.ts";
import type { TxnRecord } from "../tree/txn.ts";
import type { ErrorCode } from "../tree/types.ts";

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
  | { type: "hostReply"; connId: number; xid: number; body: Record<string, unknown> };

/** Work the replica asks the host to do for a request, because it needs I/O (online backup). */
export type HostCall =
  | { op: "snapshot" }
  | { op: "snapshotRead"; offset: number; length: number };

/** Something the host must do, in the order given. */
export type ReplicaAction =
  | { type: "send"; connId: number; message: ServerMessage }
  /** Close the connection after flushing what was sent; the host then reports `disconnect`. */
  | { type: "close"; connId: number; reason: string }
  /** Append and sync these records, then report `durable` with the last zxid. */
  | { type: "persist"; records: TxnRecord[] }
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
}
