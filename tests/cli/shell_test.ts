import assert from "../assert.ts";
import { main } from "../../src/cli/mod.ts";
import { historyLinesMax, loadHistory, saveHistory, splitWords } from "../../src/cli/shell.ts";
import { UsageError } from "../../src/cli/args.ts";
import { startServer } from "../../src/server/server.ts";
import { digestId } from "../../src/tree/acl.ts";
import { fakeIo, until } from "./_io.ts";

Deno.test("splitWords() splits on blanks and honours quotes and backslashes", () => {
  assert.deepEqual(splitWords("  ls   -s /a "), ["ls", "-s", "/a"]);
  assert.deepEqual(splitWords(`create /a "hello world"`), ["create", "/a", "hello world"]);
  assert.deepEqual(splitWords(`set /a 'it''s' ""`), ["set", "/a", "its", ""]);
  assert.deepEqual(splitWords(`set /a a\\ b "q\\"q" '\\n'`), ["set", "/a", "a b", 'q"q', "\\n"]);
  assert.throws(() => splitWords(`set /a "open`), UsageError);
});

Deno.test("saveHistory() keeps the newest lines and loadHistory() reads them back", () => {
  const dir = Deno.makeTempDirSync();
  try {
    const file = `${dir}/history`;
    assert.deepEqual(loadHistory(file), []);
    const lines = Array.from({ length: historyLinesMax + 5 }, (_, i) => `ls /${i}`);
    saveHistory(file, lines);
    const loaded = loadHistory(file);
    assert.equal(loaded.length, historyLinesMax);
    assert.equal(loaded[0], "ls /5");
    assert.equal(loaded[loaded.length - 1], `ls /${historyLinesMax + 4}`);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

/** Runs `fn` with a fresh server; `env` points commands at it. */
async function withServer(fn: (env: Record<string, string>) => Promise<void>): Promise<void> {
  const server = await startServer({ port: 0, hostname: "127.0.0.1", tickMs: 100 });
  try {
    await fn({ CORRAL_SERVER: `127.0.0.1:${server.port}` });
  } finally {
    await server.close();
  }
}

async function oneShot(env: Record<string, string>, ...args: string[]) {
  const fake = fakeIo(env);
  const code = await main(args, fake.io);
  return { code, stdout: fake.stdout(), stderr: fake.stderr() };
}

Deno.test("shell runs piped lines in order and ends at end of input", async () => {
  await withServer(async (env) => {
    const fake = fakeIo(env);
    const running = main(["shell"], fake.io);
    fake.input(
      "create /a 'hello world'\n\n# a comment\nget /a\nls /\nget /missing\nbogus\nls\nstat /a --json\n",
    );
    fake.endInput();
    assert.equal(await running, 0);
    const out = fake.stdout().split("\n");
    assert.deepEqual(out.slice(0, 3), ["Created /a", "hello world", "[a, zookeeper]"]);
    assert.equal(JSON.parse(out[3]).stat.dataLength, 11);
    assert.match(
      fake.stderr(),
      /^NoNode: .*\/missing.*\nUnknown command "bogus"\. .*\nls: missing argument/s,
    );
  });
});

Deno.test("shell quit stops reading, and leaving closes the session so ephemerals go", async () => {
  await withServer(async (env) => {
    const fake = fakeIo(env);
    const running = main(["shell"], fake.io);
    fake.input("create -e /eph x\nquit\ncreate /after x\n");
    assert.equal(await running, 0);
    assert.equal(fake.stdout(), "Created /eph\n");
    assert.equal((await oneShot(env, "stat", "/eph")).code, 1, "the ephemeral is gone at once");
    assert.equal((await oneShot(env, "stat", "/after")).code, 1, "lines after quit do not run");
  });
});

Deno.test("shell prints a watch event once, even after a second change", async () => {
  await withServer(async (env) => {
    const fake = fakeIo(env);
    const running = main(["shell"], fake.io);
    try {
      fake.input("create /w a\nget -w /w\n");
      await until(() => fake.stdout().includes("a\n"), "the first read");
      assert.equal((await oneShot(env, "set", "/w", "b")).code, 0);
      await until(() => fake.stdout().includes("WATCHER::"), "the watch event");
      assert.equal((await oneShot(env, "set", "/w", "c")).code, 0);
      // A read through the shell's own session comes after any event of the second set.
      fake.input("get /w\n");
      await until(() => fake.stdout().includes("c\n"), "the second read");
    } finally {
      fake.endInput();
    }
    assert.equal(await running, 0);
    assert.equal(
      fake.stdout(),
      "Created /w\na\nWATCHER:: WatchedEvent state:SyncConnected type:NodeDataChanged path:/w\nc\n",
    );
  });
});

Deno.test("shell close, connect and addauth manage the session", async () => {
  await withServer(async (env) => {
    await oneShot(env, "create", "/s", "secret");
    assert.equal(
      (await oneShot(env, "setacl", "/s", `digest:${digestId("bob:pw")}:cdrwa`)).code,
      0,
    );
    const fake = fakeIo(env);
    const running = main(["shell"], fake.io);
    fake.input(
      `close\nls /\nconnect ${env.CORRAL_SERVER}\nget /s\naddauth digest bob:pw\nget /s\n`,
    );
    fake.endInput();
    assert.equal(await running, 0);
    assert.equal(fake.stdout(), "secret\n");
    assert.match(fake.stderr(), /^ConnectionLoss: not connected.*\nNoAuth: /s);
  });
});

Deno.test("shell ends on a stop signal and closes its session", async () => {
  await withServer(async (env) => {
    const fake = fakeIo(env);
    const running = main(["shell"], fake.io);
    fake.input("create -e /eph x\n");
    await until(() => fake.stdout().includes("Created /eph"), "the create");
    fake.signal("SIGINT");
    assert.equal(await running, 0);
    assert.equal((await oneShot(env, "stat", "/eph")).code, 1);
  });
});

Deno.test("shell exits 1 when it cannot connect", async () => {
  const fake = fakeIo();
  assert.equal(
    await main(["shell", "--server", "127.0.0.1:1", "--connect-timeout-ms", "300"], fake.io),
    1,
  );
  assert.match(fake.stderr(), /^ConnectionLoss: /);
});
