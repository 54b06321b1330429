/**
 * {@linkcode PeerLinks} over real TCP on 127.0.0.1: FIFO delivery between several members,
 * refusal of strangers and garbage, redialling, link-down reports, and the no-gap rule on an
 * outbox overflow. Every wait is a bounded poll on a condition, never a fixed sleep.
 * @module
 */
import assert from "../assert.ts";
import * as net from "node:net";
import { defaultAdapter } from "../../src/net/mod.ts";
import { encodeFrame, FrameDecoder } from "../../src/wire/frame.ts";
import {
  PeerLinks,
  type PeerLinksOptions,
  remoteAddressMatches,
} from "../../src/server/peer_links.ts";

interface LogEntry {
  level: string;
  message: string;
  fields: Record<string, unknown>;
}

/** What a member saw, in order: messages and link-down reports. */
type Seen = { from: number; message: unknown } | { down: number };

type MemberOptions = Omit<PeerLinksOptions, "onMessage" | "onLinkDown" | "log" | "adapter">;

/** One PeerLinks instance plus a record of everything it reported. */
class Member {
  readonly seen: Seen[] = [];
  readonly downs: number[] = [];
  readonly logs: LogEntry[] = [];
  readonly links: PeerLinks;
  readonly id: number;

  constructor(options: MemberOptions & { adapter: PeerLinksOptions["adapter"] }) {
    this.id = options.myId;
    this.links = new PeerLinks({
      ...options,
      onMessage: (from, message) => this.seen.push({ from, message }),
      onLinkDown: (peer) => {
        this.downs.push(peer);
        this.seen.push({ down: peer });
      },
      log: (level, message, fields) => this.logs.push({ level, message, fields: fields ?? {} }),
    });
  }

  static async start(options: MemberOptions): Promise<Member> {
    const member = new Member({ ...options, adapter: await defaultAdapter() });
    await member.links.start();
    return member;
  }

  /** Messages received from `from`, in order. */
  from(from: number): unknown[] {
    return this.seen.flatMap((s) => "from" in s && s.from === from ? [s.message] : []);
  }

  logged(level: string, text: string | RegExp): LogEntry[] {
    return this.logs.filter((l) =>
      l.level === level &&
      (typeof text === "string" ? l.message === text : text.test(JSON.stringify(l)))
    );
  }
}

/** Polls `condition` every few ms; fails with `what` after `timeoutMs`. */
async function waitFor(condition: () => boolean, what: string, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/**
 * Starts one member per id on 127.0.0.1, each listening on a free port, then tells every member
 * the others' ports (members are configured with port 0, which means "not dialled yet").
 */
async function cluster(
  ids: number[],
  tweak: (id: number) => Partial<MemberOptions> = () => ({}),
): Promise<Member[]> {
  const members = ids.map((id) => ({ id, host: "127.0.0.1", port: 0 }));
  const nodes: Member[] = [];
  for (const id of ids) {
    nodes.push(await Member.start({ myId: id, members, channel: "peer", ...tweak(id) }));
  }
  for (const node of nodes) {
    for (const other of nodes) {
      if (other !== node) node.links.updateEndpoint(other.id, other.links.port);
    }
  }
  return nodes;
}

function allConnected(nodes: Member[]): boolean {
  return nodes.every((a) => nodes.every((b) => a === b || a.links.connected(b.id)));
}

async function closeAll(nodes: Member[]): Promise<void> {
  await Promise.all(nodes.map((n) => n.links.close()));
}

/** Sends 20 numbered messages each way between `a` and `b` and checks they arrive in order. */
async function exchange(a: Member, b: Member, tag: string): Promise<void> {
  const sent = Array.from({ length: 20 }, (_, i) => ({ tag, i }));
  for (const m of sent) a.links.send(b.id, m);
  for (const m of sent) b.links.send(a.id, m);
  const tagged = (node: Member, from: number) =>
    node.from(from).filter((m) => (m as { tag?: string }).tag === tag);
  await waitFor(
    () => tagged(a, b.id).length === sent.length && tagged(b, a.id).length === sent.length,
    `the ${tag} exchange between ${a.id} and ${b.id}`,
  );
  assert.deepEqual(tagged(a, b.id), sent);
  assert.deepEqual(tagged(b, a.id), sent);
}

/** A raw TCP client that speaks frames, for tests that must misbehave. */
class RawPeer {
  readonly messages: unknown[] = [];
  closed = false;
  #decoder = new FrameDecoder(1024 * 1024);

  private constructor(readonly socket: net.Socket) {
    socket.on("data", (chunk: Uint8Array) => {
      for (const frame of this.#decoder.push(new Uint8Array(chunk))) {
        if (frame.ok) this.messages.push(frame.message);
      }
    });
    socket.on("close", () => this.closed = true);
    socket.on("error", () => {});
  }

  static open(port: number, localAddress?: string): Promise<RawPeer> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(
        { port, host: "127.0.0.1", localAddress },
        () => resolve(new RawPeer(socket)),
      );
      socket.once("error", reject);
    });
  }

  send(message: unknown): void {
    this.socket.write(encodeFrame(message));
  }

  /** The `refused` reason the acceptor answered with, if any. */
  get refusal(): string | undefined {
    const answer = this.messages.find((m) =>
      typeof (m as { refused?: unknown }).refused === "string"
    );
    return (answer as { refused: string } | undefined)?.refused;
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      this.socket.once("close", () => resolve());
      this.socket.destroy();
    });
  }
}

function header(length: number): Uint8Array {
  const bytes = new Uint8Array(4);
  new DataView(bytes.buffer).setUint32(0, length);
  return bytes;
}

function handshake(from: unknown, to: unknown, channel = "peer"): Record<string, unknown> {
  return { corral: "peer", channel, from, to };
}

/** A port nothing listens on (bound once, then released). */
async function freePort(): Promise<number> {
  const adapter = await defaultAdapter();
  const listener = await adapter.listen({ hostname: "127.0.0.1", port: 0 }, (socket) => {
    socket.close();
    return { data() {}, close() {} };
  });
  const port = listener.port;
  await listener.close();
  return port;
}

Deno.test("three members exchange 1000 messages each way, in order", async () => {
  const nodes = await cluster([1, 2, 3]);
  try {
    await waitFor(() => allConnected(nodes), "every link up");
    const count = 1000;
    for (let i = 0; i < count; i++) {
      for (const a of nodes) {
        for (const b of nodes) {
          if (a !== b) a.links.send(b.id, { seq: i, from: a.id, data: new Uint8Array([i & 255]) });
        }
      }
    }
    await waitFor(
      () => nodes.every((a) => nodes.every((b) => a === b || a.from(b.id).length === count)),
      "every message",
    );
    for (const a of nodes) {
      for (const b of nodes) {
        if (a === b) continue;
        const expected = Array.from(
          { length: count },
          (_, i) => ({ seq: i, from: b.id, data: new Uint8Array([i & 255]) }),
        );
        assert.deepEqual(a.from(b.id), expected);
      }
      assert.deepEqual(a.downs, [], "no link went down");
      assert.equal(a.logged("info", "peer link up").length, 4, "two links out, two in");
    }
  } finally {
    await closeAll(nodes);
  }
});

Deno.test("a stranger or an impostor is refused and logged; real links keep working", async () => {
  const nodes = await cluster([1, 2]);
  const [one, two] = nodes;
  try {
    await waitFor(() => allConnected(nodes), "links up");
    const attempts: Array<[Record<string, unknown>, RegExp]> = [
      [handshake(99, 1), /99 is not another member/],
      [handshake(1, 1), /1 is not another member/],
      [handshake(2, 3), /addressed to 3/],
      [handshake("2", 1), /is not another member/],
      [{ hello: "there" }, /not a peer handshake/],
    ];
    for (const [message, reason] of attempts) {
      const raw = await RawPeer.open(one.links.port);
      raw.send(message);
      await waitFor(() => raw.closed, "the stranger to be closed");
      assert.match(raw.refusal ?? "", reason);
      await raw.close();
    }
    const refused = one.logged("warn", "peer connection refused");
    assert.equal(refused.length, attempts.length);
    for (const entry of refused) assert.equal(entry.fields.address, "127.0.0.1");
    assert.match(String(refused[0].fields.reason), /99/);
    assert.ok(one.links.connected(2) && two.links.connected(1));
    await exchange(one, two, "after strangers");
    assert.deepEqual(one.downs, []);
    assert.deepEqual(two.downs, []);
  } finally {
    await closeAll(nodes);
  }
});

Deno.test("garbage, oversized frames and silence are dropped without affecting others", async () => {
  const nodes = await cluster([1, 2], () => ({ handshakeMs: 300 }));
  const [one, two] = nodes;
  try {
    await waitFor(() => allConnected(nodes), "links up");
    const attacks: Array<[string, (raw: RawPeer) => void]> = [
      ["malformed CBOR", (raw) => raw.socket.write(new Uint8Array([0, 0, 0, 2, 0x62, 0x61]))],
      ["a huge declared length", (raw) => raw.socket.write(header(0x7fffffff))],
      ["a frame over the handshake limit", (raw) => raw.socket.write(header(100_000))],
      ["noise", (raw) => raw.socket.write(crypto.getRandomValues(new Uint8Array(300)))],
      ["an empty frame", (raw) => raw.socket.write(header(0))],
      ["silence", () => {}],
      ["data before being accepted", (raw) => {
        raw.socket.write(new Uint8Array([...encodeFrame(handshake(2, 1)), ...encodeFrame(7)]));
      }],
    ];
    for (const [what, attack] of attacks) {
      const raw = await RawPeer.open(one.links.port);
      attack(raw);
      await waitFor(() => raw.closed, `the connection sending ${what} to be closed`);
      await raw.close();
    }
    assert.equal(one.logged("warn", "peer connection refused").length, attacks.length);
    assert.ok(one.logged("warn", /no handshake within 300 ms/).length === 1);
    assert.ok(one.logged("warn", /sent data before being accepted/).length === 1);
    assert.ok(one.links.connected(2) && two.links.connected(1));
    await exchange(one, two, "after garbage");
    assert.deepEqual(one.downs, []);
    assert.deepEqual(two.downs, []);
  } finally {
    await closeAll(nodes);
  }
});

Deno.test("a bad frame from an identified peer closes that link and reports it down", async () => {
  const one = await Member.start({
    myId: 1,
    members: [{ id: 1, host: "127.0.0.1", port: 0 }, { id: 2, host: "127.0.0.1", port: 0 }],
    channel: "peer",
  });
  try {
    const raw = await RawPeer.open(one.links.port);
    raw.send(handshake(2, 1));
    await waitFor(() => raw.messages.length > 0, "the answer");
    assert.deepEqual(raw.messages, [{ accepted: true }]);
    raw.send({ hello: 1 });
    raw.socket.write(new Uint8Array([0, 0, 0, 1, 0xff]));
    raw.send({ never: "delivered" });
    await waitFor(() => raw.closed, "the link to be closed");
    assert.deepEqual(one.seen, [{ from: 2, message: { hello: 1 } }, { down: 2 }]);
    assert.equal(one.logged("warn", "closing peer connection after a protocol error").length, 1);
  } finally {
    await one.links.close();
  }
});

Deno.test("a newer connection from the same member replaces the older one", async () => {
  const nodes = await cluster([1, 2]);
  const [one, two] = nodes;
  try {
    await waitFor(() => allConnected(nodes), "links up");
    const raw = await RawPeer.open(one.links.port);
    raw.send(handshake(2, 1));
    await waitFor(() => raw.messages.length > 0, "the impostor's answer");
    assert.deepEqual(raw.messages, [{ accepted: true }]);
    assert.deepEqual(one.downs, [2], "the older inbound link is reported down");
    raw.send({ via: "raw" });
    await waitFor(() => one.from(2).length === 1, "the raw message");
    // Member 2's outbound link was closed by 1; it redials and in turn replaces the raw one.
    await waitFor(() => raw.closed && allConnected(nodes), "member 2 to come back");
    assert.ok(two.downs.includes(1));
    await exchange(one, two, "after replacement");
    await raw.close();
  } finally {
    await closeAll(nodes);
  }
});

Deno.test("a member configured at an IP address must connect from it", async () => {
  assert.ok(remoteAddressMatches("10.0.0.1", "10.0.0.1"));
  assert.ok(remoteAddressMatches("10.0.0.1", "::ffff:10.0.0.1"));
  assert.ok(remoteAddressMatches("::ffff:10.0.0.1", "10.0.0.1"));
  assert.ok(remoteAddressMatches("::1", "0:0:0:0:0:0:0:1"));
  assert.ok(remoteAddressMatches("[fe80::1]", "FE80:0:0::1"));
  assert.ok(remoteAddressMatches("localhost", "127.0.0.1"));
  assert.ok(remoteAddressMatches("LocalHost", "::1"));
  assert.ok(remoteAddressMatches("zk2.example.com", "10.9.8.7"), "host names are not checked");
  assert.ok(!remoteAddressMatches("10.0.0.1", "10.0.0.2"));
  assert.ok(!remoteAddressMatches("localhost", "10.0.0.2"));
  assert.ok(!remoteAddressMatches("::1", "::2"));
  assert.ok(!remoteAddressMatches("10.0.0.1", "::ffff:10.0.0.2"));

  const one = await Member.start({
    myId: 1,
    // Member 2's port stays 0: it is never dialled, only impersonated.
    members: [{ id: 1, host: "127.0.0.1", port: 0 }, { id: 2, host: "127.0.0.2", port: 0 }],
    channel: "peer",
  });
  try {
    const wrong = await RawPeer.open(one.links.port);
    wrong.send(handshake(2, 1));
    await waitFor(() => wrong.closed, "the connection from the wrong address to be closed");
    assert.match(wrong.refusal ?? "", /configured at 127\.0\.0\.2, not 127\.0\.0\.1/);
    await wrong.close();
    const right = await RawPeer.open(one.links.port, "127.0.0.2");
    right.send(handshake(2, 1));
    await waitFor(() => right.messages.length > 0, "the answer to 127.0.0.2");
    assert.deepEqual(right.messages, [{ accepted: true }]);
    right.send("hello");
    await waitFor(() => one.from(2).length === 1, "the message");
    await right.close();
    await waitFor(() => one.downs.length === 1, "the link to be reported down");
  } finally {
    await one.links.close();
  }
});

Deno.test("a dial on the wrong channel is refused on both sides", async () => {
  const members = [{ id: 1, host: "127.0.0.1", port: 0 }, { id: 2, host: "127.0.0.1", port: 0 }];
  const one = await Member.start({ myId: 1, members, channel: "peer" });
  const two = await Member.start({ myId: 2, members, channel: "election" });
  try {
    one.links.updateEndpoint(2, two.links.port);
    two.links.updateEndpoint(1, one.links.port);
    await waitFor(
      () => one.downs.length >= 3 && two.downs.length >= 3,
      "several refused dials each way",
    );
    assert.ok(!one.links.connected(2) && !two.links.connected(1));
    assert.ok(one.logged("warn", /channel \\"election\\" is not \\"peer\\"/).length >= 3);
    assert.ok(two.logged("warn", /channel \\"peer\\" is not \\"election\\"/).length >= 3);
    // The dialler logs a refusal at warn once, not on every redial.
    assert.equal(one.logged("warn", "dial to peer refused").length, 1);
    assert.equal(two.logged("warn", "dial to peer refused").length, 1);
    assert.deepEqual(one.from(2), []);
    assert.deepEqual(two.from(1), []);
  } finally {
    await closeAll([one, two]);
  }
});

/**
 * Member 1 started alone, dialling member 2 at a port nothing listens on yet, with the given
 * redial backoff; `startTwo()` starts member 2 on that port.
 */
async function oneWithTwoDown(reconnectMinMs: number, reconnectMaxMs: number) {
  const port = await freePort();
  const members = [{ id: 1, host: "127.0.0.1", port: 0 }, { id: 2, host: "127.0.0.1", port }];
  const one = await Member.start({
    myId: 1,
    members,
    channel: "peer",
    reconnectMinMs,
    reconnectMaxMs,
  });
  const startTwo = () =>
    Member.start({
      myId: 2,
      members: [{ id: 1, host: "127.0.0.1", port: one.links.port }, members[1]],
      channel: "peer",
    });
  return { one, startTwo };
}

Deno.test("a member that is down is redialled with backoff until it comes up", async () => {
  const { one, startTwo } = await oneWithTwoDown(20, 200);
  let two: Member | null = null;
  const downAt: number[] = [];
  try {
    one.links.send(2, "lost: queued while the first dial was failing");
    await waitFor(() => one.downs.length >= 5, "several failed dials");
    // Failed dials are debug-level noise; no link ever came up.
    assert.ok(one.logged("debug", "dial to peer failed").length >= 5);
    assert.equal(one.logged("info", "peer link down").length, 0);
    assert.equal(one.logged("warn", /dial/).length, 0);
    // Backoff: each redial waits at least about reconnectMinMs (timers may fire a little early).
    const before = one.downs.length;
    const watch = setInterval(() => {
      while (downAt.length < one.downs.length - before) downAt.push(Date.now());
    }, 1);
    await waitFor(() => downAt.length >= 4, "more failed dials");
    clearInterval(watch);
    for (let i = 1; i < downAt.length; i++) assert.ok(downAt[i] - downAt[i - 1] >= 15);

    one.links.send(2, "lost too");
    const downs = one.downs.length;
    await waitFor(() => one.downs.length > downs, "the dial that drops it");
    two = await startTwo();
    await waitFor(() => one.links.connected(2) && two!.links.connected(1), "the link to come up");
    await exchange(one, two, "after coming up");
    const received = two.from(1);
    assert.ok(!received.includes("lost: queued while the first dial was failing"));
    assert.ok(!received.includes("lost too"));
    assert.equal(one.logged("info", "peer link up").length, 2);
  } finally {
    await one.links.close();
    await two?.links.close();
  }
});

Deno.test("a member that dials us is dialled back at once, not after our backoff", async () => {
  // Members started together dial before the others listen; each then waits out a backoff.
  // A peer that dials us is up, so our waiting dial to it goes at once.
  const { one, startTwo } = await oneWithTwoDown(60_000, 60_000);
  let two: Member | null = null;
  try {
    await waitFor(() => one.downs.length >= 1, "the first dial to fail");
    two = await startTwo();
    await waitFor(
      () => one.links.connected(2) && two!.links.connected(1),
      "both directions, long before the 60-s backoff ends",
      5_000,
    );
    await exchange(one, two, "dialled back");
    // One failed dial, then the one the inbound link set off.
    assert.equal(one.downs.length, 1);
  } finally {
    await one.links.close();
    await two?.links.close();
  }
});

Deno.test("closing a member makes the others report its links down", async () => {
  const nodes = await cluster([1, 2, 3]);
  const [one, two, three] = nodes;
  try {
    await waitFor(() => allConnected(nodes), "every link up");
    await three.links.close();
    await three.links.close(); // idempotent
    three.links.send(1, "after close: ignored");
    await waitFor(
      () => one.downs.includes(3) && two.downs.includes(3),
      "1 and 2 to report 3 down",
    );
    assert.ok(!one.links.connected(3) && !two.links.connected(3));
    assert.ok(!one.downs.includes(2) && !two.downs.includes(1));
    assert.deepEqual(three.downs, [], "a closed member reports nothing");
    await exchange(one, two, "after 3 left");
    one.links.send(42, "to nobody");
    assert.equal(one.logged("error", /not a member/).length, 1);
  } finally {
    await closeAll(nodes);
  }
});

/** Sends numbered 200-byte messages from `a` to `to` until a send overflows; returns its seq. */
function sendUntilOverflow(a: Member, to: number): number {
  for (let seq = 0; seq < 10_000; seq++) {
    a.links.send(to, { seq, pad: new Uint8Array(200) });
    if (a.downs.length > 0) return seq;
  }
  throw new Error("the outbox never overflowed");
}

function seqs(messages: unknown[]): number[] {
  return messages.map((m) => (m as { seq: number }).seq);
}

Deno.test("an overflow on a live link reports it down and never delivers across the gap", async () => {
  const nodes = await cluster([1, 2], (id) => id === 1 ? { outboxBytesMax: 4096 } : {});
  const [one, two] = nodes;
  try {
    await waitFor(() => allConnected(nodes), "links up");
    // Synchronous sends pile up in the socket's pendingWriteBytes until the loop yields.
    const overflowed = sendUntilOverflow(one, 2);
    assert.deepEqual(one.downs, [2]);
    assert.ok(overflowed > 0);
    const after = [1, 2, 3, 4, 5].map((i) => overflowed + i);
    for (const seq of after) one.links.send(2, { seq, pad: new Uint8Array(200) });
    await waitFor(() => seqs(two.from(1)).includes(after[4]), "the messages after the overflow");
    await waitFor(() => allConnected(nodes), "the link to come back");
    // 2 sees a prefix of what was written before the overflow, then its link down, then only
    // what was sent after the overflow, on the new connection.
    const firstAfter = two.seen.findIndex((s) => "from" in s && after.includes(seqOf(s.message)));
    const downIndex = two.seen.findIndex((s) => "down" in s);
    assert.ok(downIndex >= 0 && downIndex < firstAfter, "the link down comes before the gap");
    const beforeGap = seqs(
      two.seen.slice(0, downIndex).flatMap((s) => "from" in s ? [s.message] : []),
    );
    assert.deepEqual(beforeGap, beforeGap.map((_, i) => i), "an unbroken prefix before the gap");
    assert.ok(beforeGap.length <= overflowed);
    const afterGap = seqs(two.seen.slice(downIndex).flatMap((s) => "from" in s ? [s.message] : []));
    assert.deepEqual(afterGap, after);
    assert.equal(one.logged("warn", "outbox to peer overflowed; link reset").length, 1);
    await exchange(one, two, "after the overflow");
  } finally {
    await closeAll(nodes);
  }
});

function seqOf(message: unknown): number {
  return (message as { seq?: number }).seq ?? -1;
}

Deno.test("an overflow while not connected drops the queue; later sends use the next link", async () => {
  const members = [{ id: 1, host: "127.0.0.1", port: 0 }, { id: 2, host: "127.0.0.1", port: 0 }];
  const one = await Member.start({ myId: 1, members, channel: "peer", outboxBytesMax: 4096 });
  const two = await Member.start({ myId: 2, members, channel: "peer" });
  try {
    // 1 does not know 2's port yet, so everything it sends is queued.
    const overflowed = sendUntilOverflow(one, 2);
    assert.deepEqual(one.downs, [2]);
    const after = [1, 2, 3].map((i) => overflowed + i);
    for (const seq of after) one.links.send(2, { seq, pad: new Uint8Array(200) });
    one.links.updateEndpoint(2, two.links.port);
    two.links.updateEndpoint(1, one.links.port);
    await waitFor(() => one.links.connected(2) && two.links.connected(1), "links up");
    await waitFor(() => two.from(1).length === after.length, "the messages after the overflow");
    assert.deepEqual(seqs(two.from(1)), after);
    assert.deepEqual(two.downs, []);
  } finally {
    await closeAll([one, two]);
  }
});
