/**
 * End-to-end: the compiled `corral` binary, copied alone into an empty folder, serves and is
 * driven through its own command line: one-shot commands, the shell through a pipe, watches, and
 * a graceful stop on SIGTERM. Builds dist/corral first when it is missing or stale.
 * @module
 */
import assert from "../assert.ts";
import { existsSync } from "node:fs";
import { copyBinary, ensureBinary, Proc, runBinary, startServe } from "./_binary.ts";

Deno.test("compiled corral binary serves and runs zkCli-like commands", async (t) => {
  await ensureBinary();
  const home = copyBinary();
  const { proc: server, port } = await startServe(home);
  const env = { CORRAL_SERVER: `127.0.0.1:${port}` };
  const corral = (...args: string[]) => runBinary(home, args, { env });
  const procs: Proc[] = [];
  try {
    await t.step("--version and a data dir", async () => {
      const version = await corral("--version");
      assert.equal(version.code, 0);
      assert.match(version.stdout, /^corral \d+\.\d+\.\d+/);
      assert.ok(existsSync(`${home.dir}/data`), "serve creates its data dir");
    });

    await t.step("create, get, ls, stat --json, set, delete", async () => {
      assert.deepEqual(await corral("create", "/a", "hello"), {
        code: 0,
        stdout: "Created /a\n",
        stderr: "",
      });
      assert.deepEqual(await corral("get", "/a"), { code: 0, stdout: "hello\n", stderr: "" });
      const ls = await corral("ls", "/");
      assert.equal(ls.code, 0);
      assert.match(ls.stdout, /\ba\b/);
      assert.match(ls.stdout, /\bzookeeper\b/);
      const stat = await corral("stat", "/a", "--json");
      assert.equal(stat.code, 0);
      const json = JSON.parse(stat.stdout);
      assert.equal(json.stat.version, 0);
      assert.equal(json.stat.dataLength, 5);
      assert.equal((await corral("set", "/a", "x", "-v", "0")).code, 0);
      assert.equal((await corral("get", "/a")).stdout, "x\n");
      assert.equal((await corral("delete", "/a")).code, 0);
    });

    await t.step("exit 1 with NoNode for a missing node, exit 2 for a bad flag", async () => {
      const missing = await corral("get", "/missing");
      assert.equal(missing.code, 1);
      assert.match(missing.stderr, /NoNode/);
      const bad = await corral("ls", "/", "--no-such-flag");
      assert.equal(bad.code, 2);
      assert.match(bad.stderr, /unknown flag --no-such-flag\nRun "corral ls --help" for usage\./);
    });

    await t.step("a piped shell's ephemeral is gone once the shell exits", async () => {
      const shell = await runBinary(home, ["shell"], { env, stdin: "create -e /eph x\nexit\n" });
      assert.equal(shell.code, 0, shell.stderr);
      assert.equal(shell.stdout, "Created /eph\n");
      const after = await corral("stat", "/eph");
      assert.equal(after.code, 1);
      assert.match(after.stderr, /NoNode/);
    });

    await t.step("a shell prints a watch event exactly once", async () => {
      assert.equal((await corral("create", "/w", "v0")).code, 0);
      const shell = new Proc(home, ["shell"], env);
      procs.push(shell);
      await shell.write("get -w /w\n");
      await shell.waitFor((p) => p.stdout.includes("v0\n"), "the shell's read of /w");
      assert.equal((await corral("set", "/w", "v1")).code, 0);
      await shell.waitFor((p) => p.stdout.includes("WATCHER::"), "the WATCHER line");
      assert.equal((await corral("set", "/w", "v2")).code, 0);
      // The shell's next read is answered after any event the second set could have caused.
      await shell.write("get /w\n");
      await shell.waitFor((p) => p.stdout.includes("v2\n"), "the shell's second read");
      await shell.write("quit\n");
      const status = await shell.exit();
      assert.equal(status.code, 0, shell.stderr);
      const watcherLines = shell.stdout.split("\n").filter((l) => l.startsWith("WATCHER::"));
      assert.deepEqual(watcherLines, [
        "WATCHER:: WatchedEvent state:SyncConnected type:NodeDataChanged path:/w",
      ]);
    });

    await t.step("SIGTERM stops the server with exit code 0", async () => {
      server.kill("SIGTERM");
      const status = await server.exit();
      assert.equal(status.code, 0, server.stderr);
      assert.match(server.stderr, /"msg":"stopped"/);
    });
  } finally {
    for (const proc of [...procs, server]) {
      proc.kill("SIGKILL");
      await proc.exit();
    }
    home.remove();
  }
});

Deno.test("compiled corral binary exits 2 on a bad serve setting", async () => {
  await ensureBinary();
  const home = copyBinary();
  try {
    const result = await runBinary(home, ["serve", "--port", "99999"]);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /--port must be in \[0, 65535\]/);
  } finally {
    home.remove();
  }
});
