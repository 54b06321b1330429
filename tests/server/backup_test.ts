import assert from "../assert.ts";
import { startServer } from "../../src/server/server.ts";
import { decodeSnapshot } from "../../src/storage/file_store.ts";
import { digestId } from "../../src/tree/acl.ts";
import { RawConn } from "./_raw.ts";

Deno.test("server serves an online backup in order, as a verifiable snapshot", async () => {
  const server = await startServer({ port: 0, hostname: "127.0.0.1" });
  const conn = await RawConn.session(server.port);
  try {
    for (let i = 0; i < 5; i++) {
      conn.sendMessage({ xid: i + 1, op: "create", path: `/n${i}`, data: new Uint8Array([i]) });
    }
    const begun = await conn.call({ xid: 10, op: "snapshot" });
    assert.equal(begun.err, undefined, begun.message ?? "");
    const info = begun as unknown as { bytes: number; nodeCount: number; zxid: number };
    assert.equal(
      info.nodeCount,
      4 + 5,
      "the snapshot reflects every earlier write of the connection",
    );
    const parts: Uint8Array[] = [];
    for (let offset = 0, xid = 11; offset < info.bytes; offset += 1000, xid++) {
      const read = await conn.call({ xid, op: "snapshotRead", offset, length: 1000 });
      parts.push(read.data!);
    }
    const bytes = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
    let at = 0;
    for (const p of parts) bytes.set(p, at), at += p.byteLength;
    const decoded = decodeSnapshot(bytes);
    assert.ok("image" in decoded, "problem" in decoded ? decoded.problem : "");
    assert.equal(decoded.image.zxid, info.zxid);
    assert.deepEqual(decoded.image.nodes.map((n) => n.path).filter((p) => p.startsWith("/n")), [
      "/n0",
      "/n1",
      "/n2",
      "/n3",
      "/n4",
    ]);
  } finally {
    await conn.close();
    await server.close();
  }
});

Deno.test("server refuses an online backup without the super user when one is configured", async () => {
  const server = await startServer({
    port: 0,
    hostname: "127.0.0.1",
    superDigest: digestId("super:pw"),
  });
  const conn = await RawConn.session(server.port);
  try {
    assert.equal((await conn.call({ xid: 1, op: "snapshot" })).err, "NoAuth");
    assert.equal(
      (await conn.call({ xid: 2, op: "snapshotRead", offset: 0, length: 10 })).err,
      "NoAuth",
    );
    await conn.call({
      xid: 3,
      op: "addAuth",
      scheme: "digest",
      auth: new TextEncoder().encode("super:pw"),
    });
    assert.equal(
      (await conn.call({ xid: 4, op: "snapshotRead", offset: 0, length: 10 })).err,
      "BadArguments",
    );
    assert.equal((await conn.call({ xid: 5, op: "snapshot" })).err, undefined);
  } finally {
    await conn.close();
    await server.close();
  }
});
