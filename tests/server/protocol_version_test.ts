/**
 * The client protocol's versions on one server (docs/PROTOCOL.md): a version 1 client gets maps
 * with text keys, a version 2 client gets the known keys as small integers (src/wire/cbor.ts), the
 * server reads either kind of key from anyone, and any other version is refused with a clear error.
 * @module
 */
import assert from "../assert.ts";
import * as net from "node:net";
import { startServer } from "../../src/server/server.ts";
import { protocolVersion, protocolVersionMin } from "../../src/constants.ts";
import { clientKeys } from "../../src/wire/cbor.ts";
import { encodeFrame, encodeKeyedFrame, FrameDecoder } from "../../src/wire/frame.ts";

/** One frame as plain CBOR (integer keys stay integers) and decoded with the key table. */
interface BothWays {
  plain: Record<string, unknown>;
  keyed: Record<string, unknown>;
}

/** A socket whose frames are decoded both ways, by two decoders fed the same bytes. */
class Wire {
  readonly frames: BothWays[] = [];
  #plain = new FrameDecoder(1 << 20);
  #keyed = new FrameDecoder(1 << 20, true);
  #wake: (() => void) | null = null;

  private constructor(readonly socket: net.Socket) {
    socket.on("data", (chunk: Uint8Array) => {
      const plain = this.#plain.push(new Uint8Array(chunk));
      const keyed = this.#keyed.push(new Uint8Array(chunk));
      plain.forEach((p, i) => {
        const k = keyed[i];
        assert.ok(p.ok && k.ok);
        this.frames.push({
          plain: p.message as Record<string, unknown>,
          keyed: k.message as Record<string, unknown>,
        });
      });
      this.#wake?.();
    });
    socket.on("close", () => this.#wake?.());
    socket.on("error", () => {});
  }

  static open(port: number): Promise<Wire> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(port, "127.0.0.1", () => resolve(new Wire(socket)));
      socket.once("error", reject);
    });
  }

  send(message: unknown, keyed: boolean): void {
    this.socket.write(keyed ? encodeKeyedFrame(message) : encodeFrame(message));
  }

  /** The next frame, waiting up to 5 s. */
  async next(): Promise<BothWays> {
    const deadline = Date.now() + 5_000;
    while (this.frames.length === 0) {
      if (Date.now() > deadline || this.socket.destroyed) throw new Error("no frame came");
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
        setTimeout(resolve, 50);
      });
    }
    return this.frames.shift()!;
  }

  close(): void {
    this.socket.destroy();
  }
}

const connect = (proto: number) => ({
  op: "connect",
  proto,
  timeoutMs: 5_000,
  sessionId: 0,
  password: new Uint8Array(),
  lastZxid: 0,
});

Deno.test("a version 1 client gets text keys; a version 2 client gets the known keys as integers", async () => {
  const server = await startServer({ port: 0, hostname: "127.0.0.1", tickMs: 200 });
  try {
    // Version 1: text keys both ways, as before version 2 existed.
    const v1 = await Wire.open(server.port);
    v1.send(connect(1), false);
    const hello1 = await v1.next();
    assert.equal(hello1.plain.t, "connected");
    assert.equal(hello1.plain.proto, 1);
    v1.send({ xid: 1, op: "create", path: "/v", data: new Uint8Array([7]) }, false);
    const created = await v1.next();
    assert.equal(created.plain.path, "/v");
    assert.equal(typeof created.plain.stat, "object");
    assert.ok("czxid" in (created.plain.stat as object), "the stat's keys are text too");
    v1.close();

    // Version 2: the connect itself has text keys; everything after uses the table.
    const v2 = await Wire.open(server.port);
    v2.send(connect(2), false);
    const hello2 = await v2.next();
    assert.equal(hello2.plain.t, undefined, "no text key in a version 2 frame");
    assert.equal(hello2.plain[String(clientKeys.indexOf("t"))], "connected");
    assert.equal(hello2.keyed.t, "connected");
    assert.equal(hello2.keyed.proto, 2);
    v2.send({ xid: 1, op: "getData", path: "/v" }, true);
    const read = await v2.next();
    assert.equal(read.keyed.xid, 1);
    assert.deepEqual([...(read.keyed.data as Uint8Array)], [7]);
    const stat = read.keyed.stat as Record<string, unknown>;
    assert.equal(stat.version, 0);
    assert.equal(stat.dataLength, 1);
    assert.ok(!("czxid" in (read.plain[String(clientKeys.indexOf("stat"))] as object)));
    // The server reads text keys from a version 2 client too.
    v2.send({ xid: 2, op: "exists", path: "/v" }, false);
    const exists = await v2.next();
    assert.equal(exists.keyed.xid, 2);
    assert.equal((exists.keyed.stat as Record<string, unknown>).dataLength, 1);
    v2.close();
  } finally {
    await server.close();
  }
});

Deno.test("a connect with a protocol version the server does not speak is refused by name", async () => {
  const server = await startServer({ port: 0, hostname: "127.0.0.1", tickMs: 200 });
  try {
    for (const proto of [protocolVersionMin - 1, protocolVersion + 1]) {
      const wire = await Wire.open(server.port);
      wire.send(connect(proto), false);
      const { plain } = await wire.next();
      assert.equal(plain.t, "error");
      assert.equal(plain.err, "MarshallingError");
      assert.match(
        String(plain.message),
        new RegExp(
          `protocol version ${proto} is not supported; this server speaks ` +
            `${protocolVersionMin} to ${protocolVersion}`,
        ),
      );
      wire.close();
    }
  } finally {
    await server.close();
  }
});

Deno.test("the key table has no duplicates and keeps its first 24 names in one-byte keys", () => {
  assert.equal(new Set(clientKeys).size, clientKeys.length);
  // Positions are the protocol: these must never move (docs/PROTOCOL.md lists them).
  assert.deepEqual(clientKeys.slice(0, 10), [
    "t",
    "xid",
    "zxid",
    "op",
    "path",
    "data",
    "stat",
    "version",
    "err",
    "message",
  ]);
  const bytes = encodeKeyedFrame({ t: "res", numChildren: 0, acl: [], other: 1 });
  // A map of 4, then t (0) "res", numChildren (19) 0, acl (23) [], and a name not in the table
  // as its text.
  assert.deepEqual([...bytes.subarray(4)], [
    0xb9,
    0x00,
    0x04,
    0x00,
    0x63,
    ..."res".split("").map((c) => c.charCodeAt(0)),
    0x13,
    0x00,
    0x17,
    0x80,
    0x65,
    ..."other".split("").map((c) => c.charCodeAt(0)),
    0x01,
  ]);
});

Deno.test("docs/PROTOCOL.md lists the key table in the order the code uses", () => {
  const text = Deno.readTextFileSync(new URL("../../docs/PROTOCOL.md", import.meta.url));
  const rows = text.split("\n").filter((line) => /^\| \d+-\d+ +\|/.test(line));
  const documented = rows.flatMap((row) =>
    [...row.split("|")[2].matchAll(/`([^`]+)`/g)].map((m) => m[1])
  );
  assert.deepEqual(documented, [...clientKeys]);
});
