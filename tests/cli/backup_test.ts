/**
 * `corral snapshot save|restore|status` and `corral data inspect`, in-process through
 * `main(args, io)` against real servers on 127.0.0.1: a backup saved from a running server and
 * restored into a new data directory gives a server with every znode, its data, ACL and stat;
 * the super-user rule; verification of backup files; and the exit codes of `data inspect`.
 * @module
 */
import assert from "../assert.ts";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { main } from "../../src/cli/mod.ts";
import { type Acl, type Client, connect, type Stat } from "../../src/client/mod.ts";
import { type CorralServer, startServer } from "../../src/server/server.ts";
import { decodeSnapshot } from "../../src/storage/file_store.ts";
import { digestId } from "../../src/tree/acl.ts";
import { fakeIo } from "./_io.ts";

/** Runs `corral ARGS` in-process; returns the exit code and what it printed. */
async function corral(
  ...args: string[]
): Promise<{ code: number; stdout: string; stderr: string }> {
  const fake = fakeIo();
  const code = await main(args, fake.io);
  return { code, stdout: fake.stdout(), stderr: fake.stderr() };
}

/** A temp folder for one test, removed afterwards. */
async function withTemp(body: (dir: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "corral-backup-"));
  try {
    await body(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

interface NodeState {
  data: string;
  acl: Acl[];
  stat: Stat;
}

/** Every znode under `/` with its data (base64), ACL and stat, read through `client`. */
async function treeOf(client: Client): Promise<Map<string, NodeState>> {
  const nodes = new Map<string, NodeState>();
  const paths = ["/"];
  for (let i = 0; i < paths.length && i < 10_000; i++) {
    const path = paths[i];
    const { data, stat } = await client.getData(path);
    const { acl } = await client.getACL(path);
    nodes.set(path, { data: Buffer.from(data).toString("base64"), acl, stat });
    for (const child of (await client.getChildren(path)).sort()) {
      paths.push(path === "/" ? `/${child}` : `${path}/${child}`);
    }
  }
  return nodes;
}

/** Fills a server with persistent, sequential, nested, binary, large and read-only znodes. */
async function populate(client: Client): Promise<void> {
  await client.create("/app", "config");
  await client.create("/app/a", new Uint8Array([0, 1, 2, 255]));
  await client.create("/app/b", "");
  await client.setData("/app/a", new Uint8Array([9, 8, 7]));
  await client.setData("/app/a", new Uint8Array([6]));
  for (let i = 0; i < 3; i++) {
    await client.create("/queue-", `job ${i}`, { mode: "persistentSequential" });
  }
  await client.create("/locked", "read me", { acl: [{ scheme: "world", id: "anyone", perms: 1 }] });
  await client.delete("/app/b");
  // Two chunks at least: the backup is read 1 MiB at a time.
  const big = new Uint8Array(200 * 1024).map((_, i) => i % 251);
  for (let i = 0; i < 8; i++) await client.create(`/big${i}`, big);
}

async function withServer(
  options: { dataDir: string; superDigest?: string },
  body: (server: CorralServer, address: string) => Promise<void>,
): Promise<void> {
  const server = await startServer({ port: 0, hostname: "127.0.0.1", ...options });
  try {
    await body(server, `127.0.0.1:${server.port}`);
  } finally {
    await server.close();
  }
}

Deno.test("corral snapshot save, then restore into a new dir, gives a server with every znode, data, ACL and stat", async () => {
  await withTemp(async (dir) => {
    const backup = join(dir, "backup.snap");
    let saved = new Map<string, NodeState>();
    let savedZxid = 0;
    await withServer({ dataDir: join(dir, "data") }, async (_, address) => {
      const client = await connect(address);
      try {
        await populate(client);
        saved = await treeOf(client);
      } finally {
        await client.close();
      }
      const result = await corral("snapshot", "save", backup, "--server", address);
      assert.equal(result.code, 0, result.stderr);
      const match =
        /^Snapshot saved at zxid 0x([0-9a-f]+): (\d+) znodes, (\d+) sessions, (\d+) bytes -> (.+)\n$/
          .exec(result.stdout);
      assert.ok(match, result.stdout);
      savedZxid = parseInt(match[1], 16);
      assert.equal(Number(match[2]), saved.size);
      assert.equal(Number(match[4]), readFileSync(backup).byteLength);
      assert.ok(Number(match[4]) > 1024 * 1024, "the backup spans several chunks");
      assert.equal(match[5], backup);
      assert.ok(!existsSync(`${backup}.part`), "the .part file is renamed away");
    });

    const status = await corral("snapshot", "status", backup, "--json");
    assert.equal(status.code, 0, status.stderr);
    const facts = JSON.parse(status.stdout);
    assert.equal(facts.zxid, savedZxid);
    assert.equal(facts.nodeCount, saved.size);

    const restoredDir = join(dir, "restored");
    const restored = await corral("snapshot", "restore", backup, "--data-dir", restoredDir);
    assert.equal(restored.code, 0, restored.stderr);
    const snapshotName = `snapshot.${savedZxid.toString(16).padStart(16, "0")}`;
    assert.match(restored.stdout, new RegExp(`-> ${join(restoredDir, snapshotName)}\\n`));
    assert.match(restored.stdout, new RegExp(`corral serve --data-dir ${restoredDir}\\n`));
    assert.deepEqual(readdirSync(restoredDir), [snapshotName]);

    await withServer({ dataDir: restoredDir }, async (server, address) => {
      assert.equal(server.replica.tree.lastZxid, savedZxid);
      const client = await connect(address);
      try {
        assert.deepEqual(await treeOf(client), saved);
        const created = await client.create("/after-restore", "x");
        assert.equal(created, "/after-restore");
        const stat = (await client.exists("/after-restore"))!;
        assert.ok(stat.czxid > savedZxid, "new writes continue after the restored zxid");
      } finally {
        await client.close();
      }
    });
  });
});

Deno.test("corral snapshot save is refused with NoAuth when a superDigest is set, unless the super user asks", async () => {
  await withTemp(async (dir) => {
    const file = join(dir, "b.snap");
    await withServer(
      { dataDir: join(dir, "data"), superDigest: digestId("super:pw") },
      async (_, address) => {
        for (const auth of [[], ["--auth", "digest:super:wrong"]]) {
          const refused = await corral("snapshot", "save", file, "--server", address, ...auth);
          assert.equal(refused.code, 1);
          assert.match(refused.stderr, /^NoAuth/);
          assert.equal(refused.stdout, "");
          assert.ok(!existsSync(file) && !existsSync(`${file}.part`), "nothing is left behind");
        }
        const allowed = await corral(
          "snapshot",
          "save",
          file,
          "--server",
          address,
          "--auth",
          "digest:super:pw",
          "--json",
        );
        assert.equal(allowed.code, 0, allowed.stderr);
        const facts = JSON.parse(allowed.stdout);
        assert.equal(facts.file, file);
        assert.equal(facts.bytes, readFileSync(file).byteLength);
      },
    );
  });
});

Deno.test("corral snapshot save exits 1 with ConnectionLoss when no server answers, leaving no file", async () => {
  await withTemp(async (dir) => {
    const server = await startServer({ port: 0, hostname: "127.0.0.1" });
    const port = server.port;
    await server.close();
    const file = join(dir, "b.snap");
    const result = await corral(
      "snapshot",
      "save",
      file,
      "--server",
      `127.0.0.1:${port}`,
      "--connect-timeout-ms",
      "300",
    );
    assert.equal(result.code, 1);
    assert.match(result.stderr, /^ConnectionLoss: /);
    assert.deepEqual(readdirSync(dir), []);
  });
});

Deno.test("Client.saveSnapshot() streams a verifiable snapshot; a newer backup replaces an older one", async () => {
  await withTemp(async (dir) => {
    await withServer({ dataDir: join(dir, "data") }, async (_, address) => {
      const client = await connect(address);
      try {
        await client.create("/x", "1");
        const first = await client.saveSnapshot();
        const second = await client.saveSnapshot();
        await assert.rejects(
          async () => {
            for await (const _ of first.chunks) { /* nothing */ }
          },
          { code: "BadArguments" },
        );
        const parts: Uint8Array[] = [];
        for await (const chunk of second.chunks) parts.push(chunk);
        const bytes = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
        parts.reduce((at, p) => (bytes.set(p, at), at + p.byteLength), 0);
        assert.equal(bytes.byteLength, second.bytes);
        const decoded = decodeSnapshot(bytes);
        assert.ok("image" in decoded, "problem" in decoded ? decoded.problem : "");
        assert.equal(decoded.image.zxid, second.zxid);
        assert.equal(decoded.image.nodes.length, second.nodeCount);
        assert.ok(decoded.image.nodes.some((n) => n.path === "/x"));
      } finally {
        await client.close();
      }
    });
  });
});

Deno.test("corral snapshot restore refuses a directory that holds data, and needs --data-dir", async () => {
  await withTemp(async (dir) => {
    const dataDir = join(dir, "data");
    const file = join(dir, "b.snap");
    await withServer({ dataDir }, async (server) => {
      await server.snapshot();
    });
    const [snapshot] = readdirSync(dataDir).filter((n) => n.startsWith("snapshot."));
    writeFileSync(file, readFileSync(join(dataDir, snapshot)));
    const before = readdirSync(dataDir).sort();
    const refused = await corral("snapshot", "restore", file, "--data-dir", dataDir);
    assert.equal(refused.code, 1);
    assert.match(
      refused.stderr,
      /already holds Corral data \(.*snapshot\..*\); nothing was restored/,
    );
    assert.deepEqual(readdirSync(dataDir).sort(), before);

    const logsElsewhere = await corral(
      "snapshot",
      "restore",
      file,
      "--data-dir",
      join(dir, "new"),
      "--data-log-dir",
      dataDir,
    );
    assert.equal(logsElsewhere.code, 1, "a data-log-dir with logs is refused too");
    assert.ok(!existsSync(join(dir, "new")), "nothing is created when refused");

    const missing = await corral("snapshot", "restore", file);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /--data-dir DIR is required/);

    const split = await corral(
      "snapshot",
      "restore",
      file,
      "--data-dir",
      join(dir, "new"),
      "--data-log-dir",
      join(dir, "new-logs"),
    );
    assert.equal(split.code, 0, split.stderr);
    assert.match(split.stdout, /--data-log-dir .*new-logs\n$/);
    assert.deepEqual(readdirSync(join(dir, "new-logs")), []);
  });
});

Deno.test("corral snapshot status verifies a file: the problem and its offset, exit 1", async () => {
  await withTemp(async (dir) => {
    const dataDir = join(dir, "data");
    await withServer({ dataDir }, async (server) => {
      await server.snapshot();
    });
    const [snapshot] = readdirSync(dataDir).filter((n) => n.startsWith("snapshot."));
    const good = join(dataDir, snapshot);
    const ok = await corral("snapshot", "status", good);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /a valid snapshot\n {2}zxid {6}0x[0-9a-f]+\n {2}znodes {4}4\n/);

    const bytes = new Uint8Array(readFileSync(good));
    bytes[bytes.byteLength - 2] ^= 0xff;
    const bad = join(dir, "bad.snap");
    writeFileSync(bad, bytes);
    const damaged = await corral("snapshot", "status", bad);
    assert.equal(damaged.code, 1);
    assert.match(
      damaged.stderr,
      /^corral snapshot status: .*bad\.snap is not a valid snapshot: offset \d+: checksum mismatch\n$/,
    );

    const cut = join(dir, "cut.snap");
    writeFileSync(cut, bytes.subarray(0, 20));
    assert.match((await corral("snapshot", "status", cut)).stderr, /not a valid snapshot/);
    const restore = await corral("snapshot", "restore", bad, "--data-dir", join(dir, "r"));
    assert.equal(restore.code, 1, "an invalid backup is never restored");
    assert.ok(!existsSync(join(dir, "r")));

    const missing = await corral("snapshot", "status", join(dir, "nope.snap"));
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /cannot read .*nope\.snap/);
  });
});

Deno.test("corral data inspect exits 0 for a healthy or torn-tailed dir and 1 for corruption, naming file and offset", async () => {
  await withTemp(async (dir) => {
    const dataDir = join(dir, "data");
    await withServer({ dataDir }, async (_, address) => {
      const client = await connect(address);
      try {
        for (let i = 0; i < 5; i++) await client.create(`/n${i}`, `v${i}`);
      } finally {
        await client.close();
      }
    });
    const healthy = await corral("data", "inspect", dataDir);
    assert.equal(healthy.code, 0, healthy.stderr);
    assert.match(
      healthy.stdout,
      /Txn logs \(.*\):\n {2}FILE +FIRST +LAST +RECORDS +BYTES +STATUS\n/,
    );
    assert.match(healthy.stdout, /log\.0000000000000001 +0x1 .* ok\n/);
    assert.match(healthy.stdout, /Recovery: would succeed/);

    const json = await corral("--json", "data", "inspect", dataDir);
    assert.equal(json.code, 0);
    const report = JSON.parse(json.stdout);
    assert.equal(report.recovery.ok, true);
    assert.equal(report.logs[0].status.kind, "ok");

    const [log] = readdirSync(dataDir).filter((n) => n.startsWith("log."));
    const logPath = join(dataDir, log);
    const original = new Uint8Array(readFileSync(logPath));
    writeFileSync(logPath, original.subarray(0, original.byteLength - 2));
    const torn = await corral("data", "inspect", dataDir);
    assert.equal(torn.code, 0, "a torn tail is repaired by recovery");
    assert.match(torn.stdout, /torn tail at offset \d+ \(\d+ bytes\)/);
    assert.match(torn.stdout, /it would truncate the torn tail/);

    const corrupt = original.slice();
    corrupt[0] ^= 0xff;
    writeFileSync(logPath, corrupt);
    const stopped = await corral("data", "inspect", dataDir);
    assert.equal(stopped.code, 1);
    assert.match(stopped.stdout, new RegExp(`corrupt at offset 0: bad magic`));
    assert.match(
      stopped.stdout,
      new RegExp(`Recovery: would STOP on corruption in ${log} at offset 0: bad magic`),
    );

    const missing = await corral("data", "inspect", join(dir, "nope"));
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /^corral data inspect: .*nope does not exist\n$/);
  });
});

Deno.test("corral snapshot and data have help, are listed in corral --help, and reject bad usage with exit 2", async () => {
  const top = await corral("--help");
  for (
    const line of [
      "snapshot save FILE",
      "snapshot restore FILE",
      "snapshot status FILE",
      "data inspect DIR",
    ]
  ) {
    assert.ok(top.stdout.includes(`\n  ${line}`), line);
  }
  for (const args of [["snapshot", "--help"], ["help", "snapshot"], ["snapshot", "help"]]) {
    const result = await corral(...args);
    assert.equal(result.code, 0);
    assert.match(result.stdout, /corral snapshot save FILE/);
    assert.match(result.stdout, /corral snapshot restore FILE --data-dir DIR/);
  }
  assert.match((await corral("help", "data")).stdout, /corral data inspect DIR/);
  for (
    const [group, name, flag] of [
      ["snapshot", "save", "--auth"],
      ["snapshot", "restore", "--data-dir"],
      ["snapshot", "status", "--json"],
      ["data", "inspect", "--data-log-dir"],
    ]
  ) {
    const result = await corral(group, name, "--help");
    assert.equal(result.code, 0);
    assert.ok(result.stdout.startsWith(`Usage: corral ${group} ${name} `), result.stdout);
    assert.ok(result.stdout.includes(flag), `${group} ${name} documents ${flag}`);
    assert.match(result.stdout, /Examples:\n/);
  }
  for (
    const [args, message] of [
      [["snapshot"], /missing subcommand \(one of: save, restore, status\)/],
      [["snapshot", "frob"], /unknown subcommand "frob"/],
      [["data", "inspect"], /data inspect: missing argument/],
      [["snapshot", "status", "a", "b"], /unexpected argument "b"/],
      [["snapshot", "save", "f", "--bogus"], /unknown flag --bogus/],
      [["snapshot", "save", "f", "--auth", "nocolon"], /--auth needs SCHEME:AUTH/],
    ] as const
  ) {
    const result = await corral(...args);
    assert.equal(result.code, 2, args.join(" "));
    assert.match(result.stderr, message);
  }
});
