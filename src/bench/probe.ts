/**
 * Write probes for failover measurements: a probe sends a write to one server every few
 * milliseconds whether or not earlier ones were answered (open loop), and records when each was
 * sent and when it was acknowledged. After the leader is killed or paused at t0, the failover time
 * is the earliest acknowledgement of a write sent at or after t0, over probes on every server.
 * Open loop matters: a closed-loop writer stuck on a request the dead leader will never answer
 * would measure its own timeout, not the ensemble's recovery.
 *
 * A ZooKeeper-protocol probe that loses its connection resumes its session on the same server,
 * again and again until the server takes it (a new session if it expired); an etcd probe simply
 * keeps posting to its member.
 * @module
 */
import type { NetAdapter } from "../net/types.ts";
import { openAcl } from "../tree/types.ts";
import { KeeperCode } from "../zk/codes.ts";
import type { BenchAddress } from "./targets.ts";
import { benchRoot } from "./targets.ts";
import { ZkBenchSession } from "./zk_session.ts";

/** Which protocol a probe speaks. */
export type ProbeProtocol = "zk" | "etcd";

/** Most writes a probe leaves unanswered before it skips a beat. */
const outstandingMax = 200;
/** Pause between attempts to get a connection back, ms. */
const reconnectEveryMs = 20;
/** Session timeout a ZooKeeper-protocol probe asks for, ms (long, to outlive a failover). */
const probeSessionMs = 30_000;

/** One server's probe. */
export class WriteProbe {
  readonly #sends: number[] = [];
  readonly #acks: number[] = [];
  #timer: ReturnType<typeof setInterval> | undefined;
  #zk: ZkBenchSession | null = null;
  #reconnecting = false;
  #outstanding = 0;
  #stopped = false;
  readonly #path: string;
  readonly #value = new Uint8Array(100).fill(0x70);

  constructor(
    readonly protocol: ProbeProtocol,
    readonly server: BenchAddress,
    readonly name: string,
    readonly adapter: NetAdapter,
    readonly everyMs = 5,
  ) {
    this.#path = `${benchRoot}/probe-${name}`;
  }

  /** Connects, creates the probe's key and starts sending. */
  async start(): Promise<void> {
    if (this.protocol === "zk") {
      this.#zk = await this.#openZk(null);
      for (const path of [benchRoot, this.#path]) {
        const reply = await this.#zk.call({
          op: "create",
          path,
          data: null,
          acl: [...openAcl],
          flags: 0,
        });
        if (reply.err !== KeeperCode.Ok && reply.err !== KeeperCode.NodeExists) {
          throw new Error(`probe ${this.name}: create ${path} failed (${reply.err})`);
        }
      }
    }
    this.#timer = setInterval(() => this.#tick(), this.everyMs);
  }

  /** Forgets every write recorded so far (the start of a round). */
  reset(): void {
    this.#sends.length = 0;
    this.#acks.length = 0;
  }

  /** Acknowledgement time of the first-acknowledged write sent at or after `t0`, or null. */
  firstAckSentAfter(t0: number): number | null {
    let first: number | null = null;
    for (let i = 0; i < this.#sends.length; i++) {
      if (this.#sends[i] >= t0 && (first === null || this.#acks[i] < first)) first = this.#acks[i];
    }
    return first;
  }

  /** Writes acknowledged since the last reset. */
  get acknowledged(): number {
    return this.#sends.length;
  }

  /** Stops sending and closes the connection (the session is left to expire). */
  stop(): void {
    this.#stopped = true;
    clearInterval(this.#timer);
    this.#zk?.drop();
  }

  #tick(): void {
    if (this.#stopped || this.#outstanding >= outstandingMax) return;
    if (this.protocol === "etcd") return this.#sendEtcd();
    const session = this.#zk;
    if (session === null || session.closed) {
      void this.#reconnect();
      return;
    }
    const sentAt = performance.now();
    this.#outstanding++;
    session.call({ op: "setData", path: this.#path, data: this.#value, version: -1 }).then(
      (reply) => {
        this.#outstanding--;
        if (reply.err === KeeperCode.Ok) this.#record(sentAt);
      },
      () => this.#outstanding--,
    );
  }

  #record(sentAt: number): void {
    this.#sends.push(sentAt);
    this.#acks.push(performance.now());
  }

  #sendEtcd(): void {
    const sentAt = performance.now();
    this.#outstanding++;
    const body = JSON.stringify({ key: btoa(this.#path), value: btoa("probe") });
    fetch(`http://${this.server.hostname}:${this.server.port}/v3/kv/put`, {
      method: "POST",
      body,
      signal: AbortSignal.timeout(30_000),
    }).then(async (response) => {
      await response.text();
      if (response.ok) this.#record(sentAt);
    }).catch(() => {}).finally(() => this.#outstanding--);
  }

  /** Resumes the session on the same server until it is taken; a new session if it expired. */
  async #reconnect(): Promise<void> {
    if (this.#reconnecting) return;
    this.#reconnecting = true;
    const previous = this.#zk;
    while (!this.#stopped) {
      try {
        const session = await this.#openZk(previous);
        if (this.#stopped) session.drop();
        else this.#zk = session;
        break;
      } catch (error) {
        if (String(error).includes("expired") && previous !== null) {
          previous.sessionId = 0n; // start afresh below
        }
        await new Promise((resolve) => setTimeout(resolve, reconnectEveryMs));
      }
    }
    this.#reconnecting = false;
  }

  #openZk(previous: ZkBenchSession | null): Promise<ZkBenchSession> {
    const resume = previous !== null && previous.sessionId !== 0n ? previous.resume : undefined;
    return ZkBenchSession.open(this.adapter, this.server.hostname, this.server.port, {
      sessionTimeoutMs: probeSessionMs,
      resume,
      connectTimeoutMs: 1_000,
    });
  }
}

/**
 * Milliseconds from `t0` to the first acknowledgement of a write sent at or after `t0`, over all
 * `probes`; null when none has been acknowledged yet.
 */
export function failoverMs(probes: readonly WriteProbe[], t0: number): number | null {
  let first: number | null = null;
  for (const probe of probes) {
    const ack = probe.firstAckSentAfter(t0);
    if (ack !== null && (first === null || ack < first)) first = ack;
  }
  return first === null ? null : first - t0;
}
