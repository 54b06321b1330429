import assert from "../assert.ts";
import { startServer } from "../../src/server/server.ts";
import { RawConn } from "./_raw.ts";

/**
 * Runs `attack` against a fresh server while a bystander session holds an ephemeral and a watch;
 * afterwards the server must still serve the bystander, with its ephemeral intact.
 */
async function withBystander(attack: (port: number) => Promise<void>): Promise<void> {
  const server = await startServer({ port: 0, hostname: "127.0.0.1", tickMs: 200 });
  const bystander = await RawConn.session(server.port);
  try {
    assert.equal(
      (await bystander.call({ xid: 1, op: "create", path: "/by", mode: "ephemeral" })).path,
      "/by",
    );
    await attack(server.port);
    const after = await bystander.call({ xid: 2, op: "getData", path: "/by" });
    assert.equal(after.err, undefined, "the bystander session is unaffected");
    assert.equal(bystander.closed, false);
  } finally {
    await bystander.close();
    await server.close();
  }
}

function header(length: number): Uint8Array {
  const bytes = new Uint8Array(4);
  new DataView(bytes.buffer).setUint32(0, length);
  return bytes;
}

Deno.test("server closes a connection that sends random bytes, and serves everyone else", async () => {
  await withBystander(async (port) => {
    for (let round = 0; round < 20; round++) {
      const conn = await RawConn.open(port);
      const noise = crypto.getRandomValues(new Uint8Array(64 + round * 50));
      conn.sendBytes(noise);
      await conn.until(() => false, 2000).catch(() => {});
      await conn.close();
    }
  });
});

Deno.test("server survives a truncated frame followed by a hang-up", async () => {
  await withBystander(async (port) => {
    const conn = await RawConn.session(port);
    conn.sendBytes(header(100));
    conn.sendBytes(new Uint8Array(10));
    await conn.close();
  });
});

Deno.test("server refuses an oversized frame with an error and closes only that connection", async () => {
  await withBystander(async (port) => {
    const conn = await RawConn.session(port);
    conn.sendBytes(header(64 * 1024 * 1024));
    await conn.until((m) => m.some((x) => x.t === "error"));
    const error = conn.messages.find((x) => x.t === "error");
    assert.ok(
      error && error.t === "error" && /over the .*limit/.test(error.message),
      JSON.stringify(error),
    );
    await conn.until(() => conn.closed);
    assert.ok(conn.closed);
  });
});

Deno.test("server closes on malformed CBOR and on a frame that is not a map", async () => {
  await withBystander(async (port) => {
    const bad = await RawConn.session(port);
    bad.sendBytes(new Uint8Array([...header(3), 0xff, 0xff, 0xff]));
    await bad.until(() => bad.closed);
    assert.ok(bad.closed);
    const notMap = await RawConn.session(port);
    notMap.sendMessage([1, 2, 3]);
    await notMap.until(() => notMap.closed);
    assert.ok(notMap.messages.some((m) => m.t === "error" && m.err === "MarshallingError"));
  });
});

Deno.test("server refuses a first frame that is not a valid connect", async () => {
  await withBystander(async (port) => {
    const conn = await RawConn.open(port);
    conn.sendMessage({ op: "connect", proto: 99, timeoutMs: 1000 });
    await conn.until(() => conn.closed);
    const error = conn.messages.find((x) => x.t === "error");
    assert.ok(error && error.t === "error" && /protocol version 99/.test(error.message));
  });
});

Deno.test("server answers invalid paths, wrong types, unknown ops and 2 MiB data with clear errors, and stays usable", async () => {
  await withBystander(async (port) => {
    const conn = await RawConn.session(port);
    const cases: Array<[Record<string, unknown>, string, RegExp]> = [
      [{ op: "create", path: "no-slash" }, "BadArguments", /must start with \//],
      [{ op: "create", path: "/a/" }, "BadArguments", /must not end with \//],
      [{ op: "getData", path: 42 }, "BadArguments", /"path" must be a string/],
      [{ op: "setData", path: "/a", version: "1" }, "BadArguments", /"version" must be an integer/],
      [
        { op: "create", path: "/big", data: new Uint8Array(2 * 1024 * 1024) },
        "BadArguments",
        /over the 1048576-byte limit/,
      ],
      [{ op: "frobnicate", path: "/" }, "Unimplemented", /unknown op "frobnicate"/],
      [{ op: "multi", ops: [{ op: "nope" }] }, "BadArguments", /ops\[0\]\.op/],
      [{ op: "create", path: "/acl", acl: [{ perms: 99 }] }, "InvalidACL", /perms/],
    ];
    let xid = 10;
    for (const [request, err, message] of cases) {
      const response = await conn.call({ xid: ++xid, ...request } as { xid: number; op: string });
      assert.equal(response.err, err, JSON.stringify(request).slice(0, 80));
      assert.match(response.message ?? "", message);
    }
    const ok = await conn.call({
      xid: ++xid,
      op: "create",
      path: "/fine",
      data: new Uint8Array([1]),
    });
    assert.equal(ok.path, "/fine", "the connection still works");
    const big = await conn.call({ xid: ++xid, op: "exists", path: "/big" });
    assert.equal(big.stat, null, "nothing of a bad request was applied");
    await conn.close();
  });
});

Deno.test("server closes a connection whose request has no usable xid", async () => {
  await withBystander(async (port) => {
    const conn = await RawConn.session(port);
    conn.sendMessage({ op: "ping" });
    await conn.until(() => conn.closed);
    assert.ok(conn.messages.some((m) => m.t === "error" && /xid/.test(m.message)));
  });
});

Deno.test("server closes a connection that never sends its connect frame", async () => {
  // tickMs 10: the handshake deadline is 20 ticks = 200 ms.
  const server = await startServer({ port: 0, hostname: "127.0.0.1", tickMs: 10 });
  try {
    const conn = await RawConn.open(server.port);
    await conn.until(() => conn.closed, 3000);
    assert.ok(conn.messages.some((m) => m.t === "error" && /no connect frame/.test(m.message)));
  } finally {
    await server.close();
  }
});
