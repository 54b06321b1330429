/**
 * The systems a benchmark can drive, behind one small interface: a ZooKeeper-protocol server
 * (Apache ZooKeeper, or Corral's ZooKeeper port) through {@linkcode ZkBenchSession}, Corral's own
 * CBOR protocol through the TypeScript client, and etcd 3.4 through its JSON gateway (`/v3/kv/*`)
 * over HTTP/1.1 keep-alive. Every session works on keys of its own under {@linkcode benchRoot}:
 * one node of its own for writes and reads, and one shared parent for creates.
 * @module
 */
import { connect } from "../client/mod.ts";
import type { Client } from "../client/mod.ts";
import type { NetAdapter } from "../net/types.ts";
import { openAcl } from "../tree/types.ts";
import { CreateFlag, KeeperCode } from "../zk/codes.ts";
import type { ZkRequest } from "../zk/records.ts";
import { ZkBenchSession, ZkConnectionLost, zkErrorName } from "./zk_session.ts";

/** The protocols a benchmark speaks. */
export type BenchProtocol = "zk" | "cbor" | "etcd";

/** Where every benchmark key lives. */
export const benchRoot = "/corral-bench";
/** Parent of the nodes the create workload makes. */
export const benchSeqParent = `${benchRoot}/seq`;

/** One client session's operations; each resolves with null on success or an error's name. */
export interface BenchSession {
  /** Replaces the value of this session's own key. */
  write(): Promise<string | null>;
  /** Reads this session's own key. */
  read(): Promise<string | null>;
  /** Creates a new key under {@linkcode benchSeqParent} (persistent-sequential where possible). */
  create(): Promise<string | null>;
  /** Ends the session. */
  close(): Promise<void>;
}

/** A system under test. */
export interface BenchTarget {
  readonly protocol: BenchProtocol;
  /** Creates the shared parents; safe to call again. */
  prepare(): Promise<void>;
  /** Opens session number `index` and gives it its own key, holding a value already. */
  open(index: number): Promise<BenchSession>;
}

/** Host and port of one server. */
export interface BenchAddress {
  hostname: string;
  port: number;
}

/** `HOST:PORT[,HOST:PORT...]` as addresses; throws on a malformed entry. */
export function parseAddresses(text: string): BenchAddress[] {
  return text.split(",").map((entry) => {
    const match = /^(.+):(\d{1,5})$/.exec(entry.trim());
    const port = match ? Number(match[2]) : 0;
    if (!match || port < 1 || port > 65535) {
      throw new Error(`"${entry}" is not HOST:PORT`);
    }
    return { hostname: match[1].replace(/^\[(.*)\]$/, "$1"), port };
  });
}

/** The options every target takes. */
export interface TargetOptions {
  protocol: BenchProtocol;
  /** Servers; session i connects to servers[i % servers.length]. */
  servers: readonly BenchAddress[];
  /** Bytes of every value written. */
  valueBytes: number;
  /** TCP implementation for the zk and cbor protocols. */
  adapter: NetAdapter;
}

/** The target for `options.protocol`. */
export function benchTarget(options: TargetOptions): BenchTarget {
  if (options.servers.length === 0) throw new Error("a benchmark needs at least one server");
  const value = new Uint8Array(options.valueBytes).fill(0x61);
  switch (options.protocol) {
    case "zk":
      return new ZkTarget(options.servers, value, options.adapter);
    case "cbor":
      return new CborTarget(options.servers, value, options.adapter);
    case "etcd":
      return new EtcdTarget(options.servers, value);
  }
}

const sessionKey = (index: number) => `${benchRoot}/s-${index}`;
const seqPrefix = `${benchSeqParent}/n-`;

// ---------------------------------------------------------------------------------------------
// ZooKeeper protocol

class ZkTarget implements BenchTarget {
  readonly protocol = "zk";

  constructor(
    readonly servers: readonly BenchAddress[],
    readonly value: Uint8Array,
    readonly adapter: NetAdapter,
  ) {}

  async prepare(): Promise<void> {
    const session = await this.#connect(0);
    try {
      for (const path of [benchRoot, benchSeqParent]) await createIfMissing(session, path, null);
    } finally {
      await session.close();
    }
  }

  async open(index: number): Promise<BenchSession> {
    const session = await this.#connect(index);
    const path = sessionKey(index);
    try {
      // A node left by an earlier run keeps its old value: set this run's.
      await createIfMissing(session, path, this.value);
      const reply = await session.call({ op: "setData", path, data: this.value, version: -1 });
      if (reply.err !== KeeperCode.Ok) {
        throw new Error(`setData ${path}: ${zkErrorName(reply.err)}`);
      }
    } catch (error) {
      session.drop();
      throw error;
    }
    const write: ZkRequest = { op: "setData", path, data: this.value, version: -1 };
    const read: ZkRequest = { op: "getData", path, watch: false };
    const create: ZkRequest = {
      op: "create",
      path: seqPrefix,
      data: this.value,
      acl: [...openAcl],
      flags: CreateFlag.persistentSequential,
    };
    return {
      write: () => zkOutcome(session.call(write)),
      read: () => zkOutcome(session.call(read)),
      create: () => zkOutcome(session.call(create)),
      close: () => session.close(),
    };
  }

  #connect(index: number): Promise<ZkBenchSession> {
    const server = this.servers[index % this.servers.length];
    return ZkBenchSession.open(this.adapter, server.hostname, server.port);
  }
}

async function createIfMissing(
  session: ZkBenchSession,
  path: string,
  data: Uint8Array | null,
): Promise<void> {
  const reply = await session.call({ op: "create", path, data, acl: [...openAcl], flags: 0 });
  if (reply.err !== KeeperCode.Ok && reply.err !== KeeperCode.NodeExists) {
    throw new Error(`create ${path}: ${zkErrorName(reply.err)}`);
  }
}

/** The error's name of a ZooKeeper reply: null when Ok, "ConnectionLoss" when none came. */
export function zkOutcome(reply: Promise<{ err: number }>): Promise<string | null> {
  return reply.then(
    (r) => r.err === KeeperCode.Ok ? null : zkErrorName(r.err),
    (error) => error instanceof ZkConnectionLost ? "ConnectionLoss" : String(error),
  );
}

// ---------------------------------------------------------------------------------------------
// Corral's CBOR protocol

class CborTarget implements BenchTarget {
  readonly protocol = "cbor";

  constructor(
    readonly servers: readonly BenchAddress[],
    readonly value: Uint8Array,
    readonly adapter: NetAdapter,
  ) {}

  async prepare(): Promise<void> {
    const client = await this.#connect(0);
    try {
      for (const path of [benchRoot, benchSeqParent]) await cborCreateIfMissing(client, path);
    } finally {
      await client.close();
    }
  }

  async open(index: number): Promise<BenchSession> {
    const client = await this.#connect(index);
    const path = sessionKey(index);
    try {
      await cborCreateIfMissing(client, path);
      await client.setData(path, this.value);
    } catch (error) {
      await client.close();
      throw error;
    }
    return {
      write: () => cborOutcome(client.setData(path, this.value)),
      read: () => cborOutcome(client.getData(path)),
      create: () =>
        cborOutcome(client.create(seqPrefix, this.value, { mode: "persistentSequential" })),
      close: () => client.close(),
    };
  }

  #connect(index: number): Promise<Client> {
    const server = this.servers[index % this.servers.length];
    return connect(`${server.hostname}:${server.port}`, {
      adapter: this.adapter,
      sessionTimeoutMs: 30_000,
    });
  }
}

async function cborCreateIfMissing(client: Client, path: string): Promise<void> {
  try {
    await client.create(path);
  } catch (error) {
    if ((error as { code?: string }).code !== "NodeExists") throw error;
  }
}

function cborOutcome(done: Promise<unknown>): Promise<string | null> {
  return done.then(
    () => null,
    (error) => (error as { code?: string }).code ?? String(error),
  );
}

// ---------------------------------------------------------------------------------------------
// etcd 3.4, JSON gateway

class EtcdTarget implements BenchTarget {
  readonly protocol = "etcd";
  readonly #value: string;

  constructor(readonly servers: readonly BenchAddress[], value: Uint8Array) {
    this.#value = base64(value);
  }

  async prepare(): Promise<void> {
    const failure = await etcdCall(this.servers[0], "put", {
      key: base64Text(benchRoot),
      value: "",
    });
    if (failure !== null) throw new Error(`etcd put ${benchRoot}: ${failure}`);
  }

  async open(index: number): Promise<BenchSession> {
    const server = this.servers[index % this.servers.length];
    const key = base64Text(sessionKey(index));
    const put = JSON.stringify({ key, value: this.#value });
    const range = JSON.stringify({ key });
    const failure = await etcdCall(server, "put", put);
    if (failure !== null) throw new Error(`etcd put ${sessionKey(index)}: ${failure}`);
    let created = 0;
    return {
      write: () => etcdCall(server, "put", put),
      read: () => etcdCall(server, "range", range),
      // etcd has no sequential keys: each create puts a key no one has used.
      create: () =>
        etcdCall(server, "put", {
          key: base64Text(`${seqPrefix}${index}-${created++}`),
          value: this.#value,
        }),
      close: () => Promise.resolve(),
    };
  }
}

/** POSTs to `/v3/kv/<method>`; null on success, else why not. */
async function etcdCall(
  server: BenchAddress,
  method: "put" | "range",
  body: string | Record<string, string>,
): Promise<string | null> {
  try {
    const response = await fetch(`http://${server.hostname}:${server.port}/v3/kv/${method}`, {
      method: "POST",
      body: typeof body === "string" ? body : JSON.stringify(body),
    });
    const text = await response.text();
    return response.ok ? null : `HTTP ${response.status} ${text.slice(0, 80)}`;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

function base64(bytes: Uint8Array): string {
  let text = "";
  for (const byte of bytes) text += String.fromCharCode(byte);
  return btoa(text);
}

function base64Text(text: string): string {
  return base64(new TextEncoder().encode(text));
}
