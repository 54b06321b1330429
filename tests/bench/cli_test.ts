/**
 * `corral bench` (runBenchCommand, and through `main`): usage errors exit 2 with a message that
 * says what was wrong, --help prints the usage, a real run prints one line per run (JSON or a
 * table row), and a server that is not there exits 1 with a message.
 * @module
 */
import assert from "../assert.ts";
import { benchRow, runBenchCommand } from "../../src/cli/bench.ts";
import { main } from "../../src/cli/main.ts";
import type { BenchResult } from "../../src/bench/run.ts";
import { defaultAdapter } from "../../src/net/mod.ts";
import { startServer } from "../../src/server/server.ts";
import { fakeIo } from "../cli/_io.ts";

async function run(argv: string[]) {
  const io = fakeIo();
  const code = await runBenchCommand(argv, io.io);
  return { code, stdout: io.stdout(), stderr: io.stderr() };
}

Deno.test("corral bench: usage errors exit 2 and say what was wrong", async () => {
  const cases: [string[], RegExp][] = [
    [["--workload", "delete"], /--workload: "delete" is not one of write, create, read, mixed/],
    [["--workload", "write,nope"], /"nope" is not one of/],
    [["--workload", ","], /--workload needs at least one value/],
    [["--sessions", "0"], /--sessions: "0" is not a whole number from 1 to 10000/],
    [["--sessions", "x"], /--sessions: "x" is not a whole number/],
    [["--sessions", "1,2.5"], /--sessions: "2.5" is not a whole number/],
    [["--sessions", "10001"], /--sessions: "10001" is not a whole number from 1 to 10000/],
    [["--protocol", "redis"], /--protocol must be zk, cbor or etcd, not "redis"/],
    [["--server", "localhost"], /--server: "localhost" is not HOST:PORT/],
    [["--server", "h:1,h:99999"], /--server: "h:99999" is not HOST:PORT/],
    [["stray"], /unexpected argument "stray"/],
    [["--warmup", "-1"], /--warmup: "-1" is not a number of seconds from 0 to 600/],
    [["--duration", "601"], /--duration: "601" is not a number of seconds above 0 to 600/],
    [["--duration", "0"], /--duration: "0" is not a number of seconds above 0 to 600/],
    [["--value-bytes", "67108865"], /--value-bytes must be at most 67108864/],
    [["--duration", "1s"], /--duration: "1s" is not a number of seconds/],
    [["--depth", "0"], /--depth must be at least 1/],
    [["--rate", "0"], /--rate must be at least 1/],
    [["--max-ops", "0"], /--max-ops must be at least 1/],
    [["--pid", "0"], /--pid: "0" is not a whole number/],
    [["--no-such-flag"], /unknown flag --no-such-flag/],
  ];
  for (const [argv, message] of cases) {
    const { code, stdout, stderr } = await run(argv);
    const what = `${argv.join(" ")} -> ${code} ${JSON.stringify(stderr)}`;
    assert.equal(code, 2, what);
    assert.match(stderr, /^corral bench: /, what);
    assert.match(stderr, message, what);
    assert.match(stderr, /Run "corral bench --help" for usage\.\n$/, what);
    assert.equal(stdout, "", what);
  }
});

Deno.test("corral bench --help: exit 0 and the usage on stdout", async () => {
  const { code, stdout, stderr } = await run(["--help"]);
  assert.equal(code, 0);
  assert.equal(stderr, "");
  assert.match(stdout, /^Usage: corral bench \[FLAGS\]/);
  for (const flag of ["--server", "--protocol", "--workload", "--sessions", "--rate", "--json"]) {
    assert.ok(stdout.includes(flag), `help lists ${flag}`);
  }
  // The same text through the main command.
  const io = fakeIo();
  assert.equal(await main(["bench", "--help"], io.io), 0);
  assert.equal(io.stdout(), stdout);
});

Deno.test("corral bench --json: one JSON line per run against a real server, exit 0", async () => {
  const server = await startServer({ port: 0, zkPort: 0, hostname: "127.0.0.1" });
  try {
    const { code, stdout, stderr } = await run([
      "--server",
      `127.0.0.1:${server.zkPort}`,
      "--sessions",
      "2",
      "--workload",
      "write,read",
      "--warmup",
      "0.1",
      "--duration",
      "2",
      "--max-ops",
      "200",
      "--pid",
      String(Deno.pid),
      "--json",
    ]);
    assert.equal(stderr, "");
    assert.equal(code, 0);
    const lines = stdout.trimEnd().split("\n");
    assert.equal(lines.length, 2, stdout);
    const results = lines.map((line) => JSON.parse(line) as BenchResult);
    assert.deepEqual(results.map((r) => r.workload), ["write", "read"]);
    for (const result of results) {
      assert.equal(result.sessions, 2);
      assert.equal(result.depth, 1);
      assert.equal(result.rate, null);
      // 200 operations end the window; its 2 s limit only matters on a starved machine.
      assert.equal(result.ops, 200);
      assert.equal(result.errors, 0);
      assert.ok(result.seconds > 0 && result.seconds <= 2 + 1e-9);
      assert.equal(result.servers[0].pid, Deno.pid);
    }
  } finally {
    await server.close();
  }
});

Deno.test("corral bench: the table, over cbor, open loop, two session counts", async () => {
  const server = await startServer({ port: 0, zkPort: 0, hostname: "127.0.0.1" });
  try {
    const { code, stdout, stderr } = await run([
      "--protocol",
      "cbor",
      "--server",
      `127.0.0.1:${server.port}`,
      "--sessions",
      "1,2",
      "--workload",
      "mixed",
      "--rate",
      "500",
      "--warmup",
      "0",
      "--duration",
      "0.2",
    ]);
    assert.equal(stderr, "");
    assert.equal(code, 0);
    const lines = stdout.trimEnd().split("\n");
    assert.equal(lines.length, 3, stdout);
    assert.match(lines[0], /^workload\s+sessions\s+ops\/s\s+p50 ms/);
    assert.match(lines[1], /^mixed\s+1\s+\d+\s/);
    assert.match(lines[2], /^mixed\s+2\s+\d+\s/);
    // No --pid: no server CPU or RSS; the machine's steal is read from /proc/stat on Linux.
    assert.match(lines[1], Deno.build.os === "linux" ? /\s-\s+-\s+\d+$/ : /\s-\s+-\s+-$/);
  } finally {
    await server.close();
  }
});

Deno.test("corral bench: nothing listening exits 1 and says which run failed", async () => {
  const adapter = await defaultAdapter();
  const listener = await adapter.listen({ hostname: "127.0.0.1", port: 0 }, (socket) => {
    socket.close();
    return { data: () => {}, close: () => {} };
  });
  const port = listener.port;
  await listener.close();
  const { code, stdout, stderr } = await run([
    "--server",
    `127.0.0.1:${port}`,
    "--sessions",
    "1",
    "--workload",
    "read,write",
    "--json",
  ]);
  assert.equal(code, 1);
  assert.equal(stdout, "");
  assert.match(stderr, /^corral bench: read with 1 sessions failed: .+\n$/);
  assert.ok(!stderr.includes("write"), "stops at the first failed run");
});

Deno.test("benchRow: the table's columns, '-' without /proc figures", () => {
  const result: BenchResult = {
    workload: "write",
    sessions: 8,
    depth: 1,
    rate: null,
    ops: 1000,
    errors: 3,
    errorKinds: { NoNode: 3 },
    seconds: 0.5,
    opsPerS: 2000.4,
    latencyMs: { p50: 1.234, p90: 9.999, p99: 12.34, p999: 100, max: 200, mean: 2 },
    servers: [{ pid: 1, cpuPercent: 55.5, rssBytes: 3 * 2 ** 20 }, {
      pid: 2,
      cpuPercent: null,
      rssBytes: null,
    }],
    clientCpuPercent: 10,
    machine: { busyPercent: 80, idlePercent: 7.5, stealPercent: 12.5 },
  };
  assert.equal(
    benchRow(result),
    "write     8         2000       1.23     10.00    12.3     100.0    3       56,-          " +
      "3,-             13\n",
  );
  assert.ok(
    benchRow({ ...result, servers: [], machine: null }).endsWith(
      `3${" ".repeat(7)}-${" ".repeat(13)}-${" ".repeat(15)}-\n`,
    ),
  );
});
