/**
 * Three (or four, with an observer) in-process servers forming an ensemble over real TCP: a
 * leader is elected, writes through any server are replicated to all, reads are local, sync
 * catches a follower up, sessions are global, and the ensemble survives the loss of its leader
 * without losing an acknowledged write. (REFERENCE §7; the compiled-binary versions with kill -9
 * are in tests/e2e/.)
 * @module
 */
import assert from "../assert.ts";
import { ConnectionLossError, NodeExistsError } from "../../src/client/errors.ts";
import { withEnsemble } from "./_ensemble.ts";

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

/** Runs `op` until it does not fail with ConnectionLoss (the client is moving servers). */
async function retry<T>(op: () => Promise<T>, attempts = 100): Promise<T> {
  for (let i = 1;; i++) {
    try {
      return await op();
    } catch (error) {
      if (!(error instanceof ConnectionLossError) || i >= attempts) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

Deno.test("ELECTION+BROADCAST: three servers elect one leader and replicate writes made through each of them", async () => {
  await withEnsemble(async (ensemble) => {
    await ensemble.leader();
    const clients = await Promise.all([0, 1, 2].map((i) => ensemble.open([i])));
    for (const [i, client] of clients.entries()) {
      await client.create(`/from-${i}`, `v${i}`);
    }
    for (const client of clients) {
      await client.sync("/");
      for (const i of [0, 1, 2]) {
        assert.equal(text((await client.getData(`/from-${i}`)).data), `v${i}`);
      }
    }
    const zxids = ensemble.servers.map((s) => s!.replica.tree.lastZxid);
    assert.ok(zxids.every((z) => z === zxids[0]), `every server applied the same txns: ${zxids}`);
  });
});

Deno.test("A follower answers a client's writes and reads in the order they were sent", async () => {
  await withEnsemble(async (ensemble) => {
    const leader = await ensemble.leader();
    const follower = [0, 1, 2].find((i) => i !== leader)!;
    const client = await ensemble.open([follower]);
    await client.create("/counter", "0");
    const answers = await Promise.all(
      Array.from(
        { length: 50 },
        (_, i) =>
          i % 2 === 0
            ? client.setData("/counter", String(i), { version: i / 2 }).then((s) => `w${s.version}`)
            : client.getData("/counter").then((d) => `r${d.stat.version}`),
      ),
    );
    const expected = Array.from(
      { length: 50 },
      (_, i) => i % 2 === 0 ? `w${i / 2 + 1}` : `r${(i + 1) / 2}`,
    );
    assert.deepEqual(answers, expected);
  });
});

Deno.test("Sessions are global: an ephemeral made through a follower lives on after its client moves to another server", async () => {
  await withEnsemble(async (ensemble) => {
    const leader = await ensemble.leader();
    const [a, b] = [0, 1, 2].filter((i) => i !== leader);
    const owner = await ensemble.open([a, b], { sessionTimeoutMs: 1_000 });
    await owner.create("/eph", "", { mode: "ephemeral" });
    const watcher = await ensemble.open([leader]);
    // Owner connects to a first (hosts are tried in order); it moves to b and keeps its session.
    await ensemble.stopServer(a);
    await retry(() => owner.sync("/"));
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    assert.ok(await watcher.exists("/eph"), "the ephemeral outlives the loss of its first server");
    await owner.close();
    await watcher.sync("/");
    assert.equal(await watcher.exists("/eph"), null, "closing the session removes it everywhere");
  });
});

Deno.test("DISCOVERY after leader loss: the survivors elect a new leader and keep every acknowledged write", async () => {
  await withEnsemble(async (ensemble) => {
    const leader = await ensemble.leader();
    const client = await ensemble.open();
    const acknowledged: string[] = [];
    for (let i = 0; i < 20; i++) acknowledged.push(await client.create(`/before-${i}`, ""));
    await ensemble.stopServer(leader);
    const next = await ensemble.leader();
    assert.notEqual(next, leader);
    for (let i = 0; i < 20; i++) {
      // A create lost with the connection may have happened: NodeExists on the retry says so.
      const path = `/after-${i}`;
      await retry(() =>
        client.create(path, "").catch((e) => {
          if (e instanceof NodeExistsError) return path;
          throw e;
        })
      );
      acknowledged.push(path);
    }
    for (const i of [0, 1, 2].filter((i) => i !== leader)) {
      const reader = await ensemble.open([i]);
      await reader.sync("/");
      const children = new Set((await reader.getChildren("/")).map((c) => `/${c}`));
      for (const path of acknowledged) assert.ok(children.has(path), `${path} on server ${i}`);
    }
    // The old leader comes back, catches up (DIFF) and serves the same data.
    await ensemble.startServer(leader);
    await ensemble.leader();
    const back = await ensemble.open([leader]);
    await back.sync("/");
    const children = new Set((await back.getChildren("/")).map((c) => `/${c}`));
    for (const path of acknowledged) assert.ok(children.has(path), `${path} on the old leader`);
  });
});

Deno.test("SYNCHRONIZATION from disk: stopping all three and starting them again loses nothing acknowledged", async () => {
  await withEnsemble(async (ensemble) => {
    await ensemble.leader();
    const client = await ensemble.open();
    for (let i = 0; i < 30; i++) await client.create(`/n-${i}`, String(i));
    await client.close();
    for (const i of [0, 1, 2]) await ensemble.stopServer(i);
    await Promise.all([0, 1, 2].map((i) => ensemble.startServer(i)));
    await ensemble.leader();
    for (const i of [0, 1, 2]) {
      const reader = await ensemble.open([i]);
      await reader.sync("/");
      for (let n = 0; n < 30; n++) {
        assert.equal(text((await reader.getData(`/n-${n}`)).data), String(n));
      }
    }
  });
});

Deno.test("An observer serves reads and forwards writes, and the voters commit without it", async () => {
  await withEnsemble(
    async (ensemble) => {
      await ensemble.leader();
      const observer = await ensemble.open([3]);
      await observer.create("/via-observer", "o");
      const voter = await ensemble.open([0]);
      await voter.sync("/");
      assert.equal(text((await voter.getData("/via-observer")).data), "o");
      await ensemble.stopServer(3);
      await voter.create("/without-observer", "");
      assert.equal(ensemble.servers[0]!.ensembleStatus!.state === "LOOKING", false);
    },
    3,
    1,
  );
});
