import assert from "../assert.ts";
import { readFileSync } from "node:fs";
import { main } from "../../src/cli/mod.ts";
import { znodeCommands } from "../../src/cli/commands.ts";
import { serveFlags, sessionFlags } from "../../src/cli/flag_specs.ts";
import { oneShotCommonFlags } from "../../src/cli/help.ts";
import { parseArgs } from "../../src/cli/args.ts";
import { resolveServeConfig } from "../../src/cli/serve.ts";
import { fakeIo, until } from "./_io.ts";

const packageVersion =
  JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")).version;

Deno.test("main() --version prints the version of package.json", async () => {
  for (const flag of ["--version", "-V"]) {
    const fake = fakeIo();
    assert.equal(await main([flag], fake.io), 0);
    assert.equal(fake.stdout(), `corral ${packageVersion}\n`);
  }
});

Deno.test("main() --help lists every command and every common flag", async () => {
  const fake = fakeIo();
  assert.equal(await main(["--help"], fake.io), 0);
  for (const name of ["serve", "shell", ...znodeCommands.map((c) => c.name)]) {
    assert.match(fake.stdout(), new RegExp(`\\n  ${name} `), name);
  }
  for (const flag of oneShotCommonFlags) {
    assert.ok(fake.stdout().includes(`--${flag.name}`), flag.name);
  }
  assert.match(fake.stdout(), /Exit codes/);
});

Deno.test("main() CMD --help shows every flag of CMD and an example", async () => {
  for (const command of znodeCommands) {
    for (const args of [[command.name, "--help"], ["help", command.name], [command.name, "-h"]]) {
      const fake = fakeIo();
      assert.equal(await main(args, fake.io), 0, args.join(" "));
      const text = fake.stdout();
      assert.ok(text.startsWith(`Usage: corral ${command.name} `), text);
      for (const flag of [...command.flags, ...oneShotCommonFlags]) {
        assert.ok(text.includes(`--${flag.name}`), `${command.name} --help lacks --${flag.name}`);
        if (flag.short) assert.ok(text.includes(`-${flag.short}, --${flag.name}`), flag.name);
      }
      assert.match(text, new RegExp(`Examples:\\n  corral ${command.name} `));
    }
  }
});

Deno.test("main() serve --help and shell --help show every flag and an example", async () => {
  const cases: [string, readonly { name: string }[]][] = [["serve", serveFlags], [
    "shell",
    sessionFlags,
  ]];
  for (const [name, flags] of cases) {
    const fake = fakeIo();
    assert.equal(await main([name, "--help"], fake.io), 0);
    for (const flag of flags) {
      assert.ok(fake.stdout().includes(`--${flag.name}`), `${name} --${flag.name}`);
    }
    assert.match(fake.stdout(), new RegExp(`Examples:\\n  corral ${name}`));
  }
});

Deno.test("main() exits 2 with a hint on usage errors, before connecting", async () => {
  const cases: [string[], RegExp][] = [
    [[], /missing command/],
    [["frobnicate"], /unknown command "frobnicate"/],
    [["--bogus", "ls", "/"], /unknown flag --bogus/],
    [["ls", "/", "--bogus"], /unknown flag --bogus/],
    [["get"], /get: missing argument/],
    [["get", "/a", "/b"], /unexpected argument "\/b"/],
    [["set", "/a", "x", "-v", "one"], /-v needs an integer/],
    [["ls", "/", "--server"], /--server needs a value/],
    [["ls", "/", "--auth", "nocolon"], /--auth needs SCHEME:AUTH/],
    [["get", "-w", "/a", "--wait-ms", "0"], /--wait-ms must be a positive integer/],
    [["shell", "extra"], /unexpected argument "extra"/],
    [["ls", "relative"], /ls: invalid path "relative": must start with \//],
    [["create", "/a/"], /create: invalid path "\/a\/": must not end with \//],
    [["ls", "/", "--server", "a:b:c"], /bad --server: /],
    [["setacl", "/a", "world:anyone:z"], /unknown permission "z"/],
    [["help", "frobnicate"], /unknown command/],
  ];
  for (const [args, message] of cases) {
    const fake = fakeIo({ CORRAL_SERVER: "127.0.0.1:1" });
    assert.equal(await main(args, fake.io), 2, args.join(" "));
    assert.match(fake.stderr(), message, args.join(" "));
    assert.match(fake.stderr(), /Run "corral .*--help" for usage\.\n$/, args.join(" "));
    assert.equal(fake.stdout(), "");
  }
});

Deno.test("main() exits 1 when no server answers", async () => {
  const fake = fakeIo();
  const code = await main(
    ["ls", "/", "--server", "127.0.0.1:1", "--connect-timeout-ms", "300"],
    fake.io,
  );
  assert.equal(code, 1);
  assert.match(fake.stderr(), /^ConnectionLoss: /);
});

Deno.test("resolveServeConfig() layers defaults, then the file, then flags", () => {
  const dir = Deno.makeTempDirSync();
  try {
    const file = `${dir}/zoo.cfg`;
    Deno.writeTextFileSync(file, "tickTime=500\ncborClientPort=4000\nmyid=7\nfoo=bar\n");
    const { config, warnings } = resolveServeConfig(
      parseArgs(["--config", file, "--port", "0", "--data-dir", `${dir}/data`], serveFlags),
    );
    assert.equal(config.tickMs, 500);
    assert.equal(config.serverId, 7);
    assert.equal(config.cborClientPort, 0);
    assert.equal(config.dataDir, `${dir}/data`);
    assert.equal(config.hostname, "0.0.0.0");
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], /unknown key foo/);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("main() serve exits 2 on a bad setting or config file", async () => {
  const cases: [string[], RegExp][] = [
    [["serve", "--port", "70000"], /--port must be in \[0, 65535\]/],
    [["serve", "--log-level", "loud"], /--log-level must be/],
    [["serve", "--config", "/nonexistent/zoo.cfg"], /cannot read config file/],
    [["serve", "--bogus"], /unknown flag --bogus/],
  ];
  for (const [args, message] of cases) {
    const fake = fakeIo();
    assert.equal(await main(args, fake.io), 2, args.join(" "));
    assert.match(fake.stderr(), message);
  }
});

Deno.test("main() serve logs JSON lines with the real port and stops on a signal with 0", async () => {
  const dir = Deno.makeTempDirSync();
  try {
    const fake = fakeIo();
    const running = main(
      [
        "serve",
        "--port",
        "0",
        "--zk-port",
        "0",
        "--host",
        "127.0.0.1",
        "--data-dir",
        `${dir}/data`,
        "--tick-ms",
        "100",
      ],
      fake.io,
    );
    await until(() => fake.stderr().includes('"listening"'), "the listening log line");
    const lines = fake.stderr().trim().split("\n").map((line) => JSON.parse(line));
    const listening = lines.find((l) => l.msg === "listening");
    assert.ok(Number.isInteger(listening.port) && listening.port > 0);
    assert.ok(Deno.statSync(`${dir}/data`).isDirectory, "the data dir is created");
    const probe = fakeIo();
    assert.equal(await main(["ls", "/", "--server", `127.0.0.1:${listening.port}`], probe.io), 0);
    assert.equal(probe.stdout(), "[zookeeper]\n");
    fake.signal("SIGTERM");
    assert.equal(await running, 0);
    assert.match(fake.stderr(), /"msg":"stopped"/);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
