/**
 * The part of the client library the command line uses, and how it opens a session: with a
 * bounded wait, so a command against a server that is not there fails instead of hanging.
 * Commands see only {@linkcode CliClient}, which keeps the commands testable and the library's
 * surface in one place.
 * @module
 */
import {
  type Acl,
  type Client,
  connect,
  type CreateMode,
  parseConnectString,
  type Stat,
} from "../client/mod.ts";
import type { EventLike } from "./format.ts";

/** Called once when a watch fires. */
export type WatchFn = (event: EventLike) => void;

/** How a znode is created. */
export type CliCreateMode = CreateMode;

/** The operations the commands need. */
export interface CliClient {
  create(
    path: string,
    data: Uint8Array,
    options: { mode: CliCreateMode; acl?: Acl[] },
  ): Promise<string>;
  getData(path: string, options: { watch?: WatchFn }): Promise<{ data: Uint8Array; stat: Stat }>;
  setData(path: string, data: Uint8Array, options: { version?: number }): Promise<Stat>;
  delete(path: string, options: { version?: number }): Promise<void>;
  exists(path: string, options: { watch?: WatchFn }): Promise<Stat | null>;
  getChildren(
    path: string,
    options: { watch?: WatchFn },
  ): Promise<{ children: string[]; stat: Stat }>;
  getACL(path: string): Promise<{ acl: Acl[]; stat: Stat }>;
  setACL(path: string, acl: Acl[], options: { version?: number }): Promise<Stat>;
  sync(path: string): Promise<void>;
  addAuth(scheme: string, auth: string): Promise<void>;
  close(): Promise<void>;
}

/** How to open a session. */
export interface SessionOptions {
  /** Requested session timeout. */
  sessionTimeoutMs: number;
  /** Longest wait for the first connection. */
  connectTimeoutMs: number;
  /** Told about session state changes after the first connection (Disconnected, Expired, ...). */
  onState?: (state: string) => void;
}

/** The first `host:port` of a connect string, for prompts and messages. */
export function firstServer(connectString: string): string {
  try {
    const { hosts } = parseConnectString(connectString);
    const host = hosts[0].hostname.includes(":") ? `[${hosts[0].hostname}]` : hosts[0].hostname;
    return `${host}:${hosts[0].port}`;
  } catch {
    return connectString;
  }
}

/** The session could not be opened in time. */
export class ConnectTimeoutError extends Error {
  override name = "ConnectTimeoutError";
  /** Same shape as the library's errors, so the command line reports it the same way. */
  readonly code = "ConnectionLoss";
}

/** The library's client seen through {@linkcode CliClient}. */
function adapt(client: Client): CliClient {
  return {
    create: (path, data, options) => client.create(path, data, options),
    getData: (path, options) => client.getData(path, options),
    setData: (path, data, options) => client.setData(path, data, options),
    delete: (path, options) => client.delete(path, options),
    exists: (path, options) => client.exists(path, options),
    getChildren: (path, options) => client.getChildren(path, { ...options, stat: true }),
    getACL: (path) => client.getACL(path),
    setACL: (path, acl, options) => client.setACL(path, acl, options),
    sync: (path) => client.sync(path),
    addAuth: (scheme, auth) => client.addAuth(scheme, auth),
    close: () => client.close(),
  };
}

/** Extra time given to the library's own connect timeout before this module gives up. */
const connectGraceMs = 1_000;

/**
 * Connects to `connectString` and returns the session, or rejects: with the library's error
 * (bad connect string, no server answered within `connectTimeoutMs`), or with a
 * {@linkcode ConnectTimeoutError} should the library not answer in time itself. A connection
 * that completes after that is closed at once.
 */
export async function openSession(
  connectString: string,
  options: SessionOptions,
): Promise<CliClient> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let timedOut = false;
  const pending = connect(connectString, {
    sessionTimeoutMs: options.sessionTimeoutMs,
    connectTimeoutMs: options.connectTimeoutMs,
  });
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      timedOut = true;
      reject(
        new ConnectTimeoutError(
          `could not connect to ${connectString} within ${options.connectTimeoutMs} ms`,
        ),
      );
    }, options.connectTimeoutMs + connectGraceMs);
  });
  try {
    const client = await Promise.race([pending, timeout]);
    const onState = options.onState;
    if (onState) client.on("state", (state) => onState(state));
    return adapt(client);
  } finally {
    clearTimeout(timer);
    if (timedOut) pending.then((late) => late.close(), () => {});
  }
}
