/**
 * The znode commands and the shell, run in-process through `main(args, io)` against a real
 * server on 127.0.0.1, port 0.
 * @module
 */
import assert from "../assert.ts";
import { main } from "../../src/cli/mod.ts";
import { startServer } from "../../src/server/server.ts";
import { digestId } from "../../src/tree/acl.ts";
import { statFields } from "../../src/tree/types.ts";
import { fakeIo, until } from "./_io.ts";

/** Runs `fn` with a fresh server; `env` points commands at it. */
async function withServer(
  fn: (run: Run, env: Record<string, string>) => Promise<void>,
): Promise<void> {
  const server = await startServer({ port: 0, hostname: "127.0.0.1", tickMs: 100 });
  const env = { CORRAL_SERVER: `127.0.0.1:${server.port}` };
  const run: Run = async (...args) => {
    const fake = fakeIo(env);
    const code = await main(args, fake.io);
    return { code, stdout: fake.stdout(), stderr: fake.stderr() };
  };
  try {
    await fn(run, env);
  } finally {
    await server.close();
  }
}

type Run = (...args: string[]) => Promise<{ code: number; stdout: string; stderr: string }>;

const statKeys = [...statFields].sort();

Deno.test("create, get, ls, stat, set and delete print like zkCli", async () => {
  await withServer(async (run) => {
    assert.deepEqual(await run("create", "/a", "hello"), {
      code: 0,
      stdout: "Created /a\n",
      stderr: "",
    });
    assert.deepEqual(await run("get", "/a"), { code: 0, stdout: "hello\n", stderr: "" });
    assert.deepEqual(await run("ls", "/"), { code: 0, stdout: "[a, zookeeper]\n", stderr: "" });
    const stat = await run("stat", "/a");
    assert.equal(stat.code, 0);
    assert.match(
      stat.stdout,
      /^cZxid = 0x[0-9a-f]+\nctime = \w{3} \w{3} \d\d \d\d:\d\d:\d\d UTC \d{4}\n/,
    );
    assert.match(stat.stdout, /\ndataVersion = 0\n.*\ndataLength = 5\nnumChildren = 0\n$/s);
    assert.deepEqual(await run("set", "/a", "x", "-v", "0"), { code: 0, stdout: "", stderr: "" });
    const got = await run("get", "-s", "/a");
    assert.match(got.stdout, /^x\ncZxid = .*\ndataVersion = 1\n/s);
    const listed = await run("ls", "-s", "/");
    assert.match(listed.stdout, /^\[a, zookeeper\]\ncZxid = .*numChildren = 2\n$/s);
    assert.deepEqual(await run("sync", "/a"), { code: 0, stdout: "Sync is OK\n", stderr: "" });
    assert.deepEqual(await run("delete", "/a"), { code: 0, stdout: "", stderr: "" });
    assert.deepEqual(await run("ls", "/"), { code: 0, stdout: "[zookeeper]\n", stderr: "" });
  });
});

Deno.test("--json prints one object per line with the stat", async () => {
  await withServer(async (run) => {
    assert.deepEqual(JSON.parse((await run("create", "/a", "hello", "--json")).stdout), {
      path: "/a",
    });
    const got = JSON.parse((await run("get", "/a", "--json")).stdout);
    assert.deepEqual(Object.keys(got), ["path", "data", "stat"]);
    assert.equal(got.data, "hello");
    assert.deepEqual(Object.keys(got.stat).sort(), statKeys);
    assert.equal(got.stat.version, 0);
    assert.equal(got.stat.dataLength, 5);
    const stat = JSON.parse((await run("stat", "/a", "--json")).stdout);
    assert.deepEqual(stat, { path: "/a", stat: got.stat });
    const ls = JSON.parse((await run("ls", "/", "--json")).stdout);
    assert.deepEqual(ls.children, ["a", "zookeeper"]);
    assert.equal(ls.stat.numChildren, 2);
    const set = JSON.parse((await run("--json", "set", "/a", "bye")).stdout);
    assert.equal(set.stat.version, 1);
    const acl = JSON.parse((await run("getacl", "/a", "--json")).stdout);
    assert.deepEqual(acl.acl, [{ scheme: "world", id: "anyone", perms: 31 }]);
    assert.equal(acl.stat.aversion, 0);
    assert.deepEqual(JSON.parse((await run("sync", "/", "--json")).stdout), {
      path: "/",
      synced: true,
    });
    assert.deepEqual(JSON.parse((await run("delete", "/a", "--json")).stdout), {
      path: "/a",
      deleted: 1,
    });
  });
});

Deno.test("errors from the server exit 1 with Code: on stderr", async () => {
  await withServer(async (run) => {
    await run("create", "/p", "x");
    await run("create", "/p/c");
    const cases: [string[], RegExp][] = [
      [["get", "/missing"], /^NoNode: .*\/missing/],
      [["stat", "/missing"], /^NoNode: .*\/missing/],
      [["create", "/p"], /^NodeExists: /],
      [["set", "/p", "y", "-v", "5"], /^BadVersion: /],
      [["delete", "/p"], /^NotEmpty: /],
      [["setacl", "/p", "world:anyone:r", "-v", "3"], /^BadVersion: /],
      [["create", "/p/c/d/e"], /^NoNode: /],
    ];
    for (const [args, message] of cases) {
      const result = await run(...args);
      assert.equal(result.code, 1, args.join(" "));
      assert.match(result.stderr, message, args.join(" "));
      assert.equal(result.stdout, "");
    }
  });
});

Deno.test("create -e and -s make ephemeral and sequential nodes", async () => {
  await withServer(async (run) => {
    await run("create", "/q");
    assert.equal(
      (await run("create", "-s", "/q/item-", "job")).stdout,
      "Created /q/item-0000000000\n",
    );
    assert.equal((await run("create", "-s", "/q/item-")).stdout, "Created /q/item-0000000001\n");
    assert.equal((await run("create", "-e", "-s", "/q/e-")).stdout, "Created /q/e-0000000002\n");
    // A one-shot session ends with the command, and its ephemeral with it.
    assert.equal((await run("create", "-e", "/eph")).code, 0);
    assert.equal((await run("stat", "/eph")).code, 1);
    assert.equal(
      (await run("ls", "/q")).stdout,
      "[item-0000000000, item-0000000001]\n",
    );
  });
});

Deno.test("deleteall removes a subtree and ls -R lists one", async () => {
  await withServer(async (run) => {
    for (const path of ["/t", "/t/a", "/t/a/x", "/t/b"]) {
      assert.equal((await run("create", path)).code, 0);
    }
    assert.equal((await run("ls", "-R", "/t")).stdout, "/t\n/t/a\n/t/b\n/t/a/x\n");
    assert.deepEqual(JSON.parse((await run("ls", "-R", "/t", "--json")).stdout).paths, [
      "/t",
      "/t/a",
      "/t/b",
      "/t/a/x",
    ]);
    assert.equal((await run("ls", "-R", "-w", "/t")).code, 2);
    assert.deepEqual(JSON.parse((await run("deleteall", "/t", "--json")).stdout), {
      path: "/t",
      deleted: 4,
    });
    assert.equal((await run("stat", "/t")).code, 1);
  });
});

Deno.test("setacl, getacl and --auth digest control access", async () => {
  await withServer(async (run) => {
    await run("create", "/s", "secret");
    const acl = `digest:${digestId("bob:pw")}:cdrwa,world:anyone:`;
    assert.equal((await run("setacl", "/s", acl)).code, 2, "empty permissions are a usage error");
    assert.equal((await run("setacl", "/s", `digest:${digestId("bob:pw")}:cdrwa`)).code, 0);
    const denied = await run("get", "/s");
    assert.equal(denied.code, 1);
    assert.match(denied.stderr, /^NoAuth: /);
    assert.equal((await run("get", "/s", "--auth", "digest:bob:pw")).stdout, "secret\n");
    assert.equal(
      (await run("getacl", "/s", "--auth", "digest:bob:pw")).stdout,
      `'digest,'${digestId("bob:pw")}\n: cdrwa\n`,
    );
    const created = await run("create", "/mine", "x", "auth::cdrwa", "--auth", "digest:ann:pw");
    assert.equal(created.code, 0, created.stderr);
    assert.equal((await run("get", "/mine")).code, 1);
  });
});

Deno.test("get -w waits for the watch event, prints it and exits 0", async () => {
  await withServer(async (run, env) => {
    await run("create", "/w", "one");
    const fake = fakeIo(env);
    const watching = main(["get", "-w", "/w"], fake.io);
    await until(() => fake.stdout().includes("one\n"), "the first read");
    await run("set", "/w", "two");
    assert.equal(await watching, 0);
    assert.equal(
      fake.stdout(),
      "one\nWATCHER:: WatchedEvent state:SyncConnected type:NodeDataChanged path:/w\n",
    );
  });
});

Deno.test("ls -w and stat -w report child and creation events, as JSON too", async () => {
  await withServer(async (run, env) => {
    const children = fakeIo(env);
    const watchingChildren = main(["ls", "-w", "/", "--json"], children.io);
    await until(() => children.stdout().includes("\n"), "the listing");
    const missing = fakeIo(env);
    const watchingMissing = main(["stat", "-w", "/later"], missing.io);
    assert.equal(await watchingMissing, 1, "stat of a missing node fails at once");
    await run("create", "/n");
    assert.equal(await watchingChildren, 0);
    const lines = children.stdout().trim().split("\n").map((l) => JSON.parse(l));
    assert.deepEqual(lines[1], {
      event: { state: "SyncConnected", type: "NodeChildrenChanged", path: "/" },
    });
  });
});

Deno.test("-w gives up after --wait-ms with exit 1", async () => {
  await withServer(async (run) => {
    await run("create", "/quiet");
    const result = await run("get", "-w", "/quiet", "--wait-ms", "200");
    assert.equal(result.code, 1);
    assert.match(result.stderr, /^OperationTimeout: no watch event on \/quiet within 200 ms/);
  });
});
