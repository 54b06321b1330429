/**
 * `corral serve` settings for an ensemble member: `--id` and `--server-id`, the `<dataDir>/myid`
 * file, refusing `--in-memory`, and the help. Nothing here runs an ensemble.
 * @module
 */
import assert from "../assert.ts";
import { join } from "node:path";
import { main } from "../../src/cli/mod.ts";
import { parseArgs } from "../../src/cli/args.ts";
import { serveFlags } from "../../src/cli/flag_specs.ts";
import { resolveServeConfig, type ServeConfigDeps } from "../../src/cli/serve.ts";
import { ConfigError, ensembleOptions } from "../../src/server/config.ts";
import { fakeIo } from "./_io.ts";

const members =
  "server.1=127.0.0.1:2888:3888\nserver.2=127.0.0.1:2889:3889\nserver.3=127.0.0.1:2890:3890\n";

/** Runs `body` with a temp dir holding `zoo.cfg` (`text`, with dataDir set to DIR/data). */
function withConfig(text: string, body: (dir: string, file: string) => void): void {
  const dir = Deno.makeTempDirSync();
  try {
    const file = join(dir, "zoo.cfg");
    Deno.writeTextFileSync(file, `dataDir=${join(dir, "data")}\n${text}`);
    body(dir, file);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
}

/** {@linkcode withConfig} for an async body. */
async function withConfigAsync(
  text: string,
  body: (dir: string, file: string) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    const file = join(dir, "zoo.cfg");
    await Deno.writeTextFile(file, `dataDir=${join(dir, "data")}\n${text}`);
    await body(dir, file);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function resolve(argv: string[], deps?: ServeConfigDeps) {
  return resolveServeConfig(parseArgs(argv, serveFlags), deps);
}

function writeMyid(dir: string, text: string): void {
  Deno.mkdirSync(join(dir, "data"), { recursive: true });
  Deno.writeTextFileSync(join(dir, "data", "myid"), text);
}

Deno.test("resolveServeConfig() takes --id, or --server-id, as the server id", () => {
  assert.equal(resolve(["--id", "5"]).config.serverId, 5);
  assert.equal(resolve(["--server-id", "6"]).config.serverId, 6);
  assert.equal(resolve(["--id", "7", "--server-id", "7"]).config.serverId, 7);
  assert.equal(resolve([]).config.serverId, 1);
  assert.equal(resolve(["--id", "5"]).config.serverIdFrom, "--id");
  assert.throws(() => resolve(["--id", "256"]), /--id must be in \[0, 255\], not 256/);
  assert.throws(
    () => resolve(["--id", "2", "--server-id", "3"]),
    /--id 2 and --server-id 3 disagree/,
  );
  withConfig("myid=3\n", (_, file) => {
    assert.equal(resolve(["--config", file]).config.serverId, 3);
    assert.equal(resolve(["--config", file, "--id", "9"]).config.serverId, 9, "flags override");
  });
});

Deno.test("resolveServeConfig() gives an ensemble member its id from --id, or the myid key", () => {
  withConfig(members, (dir, file) => {
    writeMyid(dir, "1\n"); // the file is only a fallback
    const { config, warnings } = resolve(["--config", file, "--id", "2"]);
    assert.equal(config.serverId, 2);
    assert.equal(ensembleOptions(config)?.members.length, 3);
    assert.equal(warnings.length, 1, warnings.join("\n"));
    assert.match(warnings[0], /myid says this server is 1, but --id makes it 2; 2 is used/);
  });
  withConfig(`${members}myid=3\n`, (_, file) => {
    const { config, warnings } = resolve(["--config", file]);
    assert.equal(config.serverId, 3);
    assert.deepEqual(warnings, []);
  });
});

Deno.test("resolveServeConfig() reads an ensemble member's id from DATADIR/myid", () => {
  withConfig(members, (dir, file) => {
    writeMyid(dir, " 3\n");
    const { config, warnings } = resolve(["--config", file]);
    assert.equal(config.serverId, 3);
    assert.equal(config.serverIdFrom, join(dir, "data", "myid"));
    assert.deepEqual(warnings, []);
    const other = join(dir, "other");
    Deno.mkdirSync(other);
    Deno.writeTextFileSync(join(other, "myid"), "2");
    assert.equal(
      resolve(["--config", file, "--data-dir", other]).config.serverId,
      2,
      "--data-dir says where myid is",
    );
  });
});

Deno.test("resolveServeConfig() explains how to fix a missing or bad myid file", () => {
  withConfig(members, (dir, file) => {
    const path = join(dir, "data", "myid");
    assert.throws(
      () => resolve(["--config", file]),
      (e: unknown) =>
        e instanceof ConfigError &&
        e.message.includes(`server.N lines in ${file}`) &&
        e.message.includes(`no file ${path}`) &&
        e.message.includes(
          `write this server's id (one of 1, 2, 3) there, e.g. "echo 1 > ${path}"`,
        ) &&
        e.message.includes("or pass --id N"),
    );
    for (const bad of ["", "two", "-1", "256", "1 2"]) {
      writeMyid(dir, bad);
      assert.throws(
        () => resolve(["--config", file]),
        (e: unknown) =>
          e instanceof ConfigError &&
          e.message.includes(`${path} must hold this server's id, an integer in [0, 255]`),
        JSON.stringify(bad),
      );
    }
    writeMyid(dir, "4\n");
    assert.throws(
      () => resolve(["--config", file]),
      new RegExp(`myid 4 \\(from ${path}\\) is not a member .* server ids are 1, 2, 3`),
    );
  });
});

Deno.test("resolveServeConfig() reads files through the injected deps", () => {
  const read: string[] = [];
  const files: Record<string, string> = {
    "/etc/zoo.cfg": `dataDir=/srv/corral\n${members}`,
    "/srv/corral/myid": "2\n",
  };
  const deps: ServeConfigDeps = {
    readTextFile(path) {
      read.push(path);
      return files[path] ?? null;
    },
  };
  const { config } = resolve(["--config", "/etc/zoo.cfg"], deps);
  assert.equal(config.serverId, 2);
  assert.deepEqual(read, ["/etc/zoo.cfg", "/srv/corral/myid"]);
  delete files["/srv/corral/myid"];
  assert.throws(() => resolve(["--config", "/etc/zoo.cfg"], deps), /no file \/srv\/corral\/myid/);
  const failing: ServeConfigDeps = {
    readTextFile(path) {
      if (path.endsWith("myid")) throw new Error("EACCES: permission denied");
      return files[path] ?? null;
    },
  };
  assert.throws(
    () => resolve(["--config", "/etc/zoo.cfg"], failing),
    /cannot read \/srv\/corral\/myid: EACCES/,
  );
  assert.equal(
    resolve(["--config", "/etc/zoo.cfg", "--id", "3"], failing).config.serverId,
    3,
    "an unreadable myid file does not matter when --id is given",
  );
  assert.throws(
    () => resolve(["--config", "/nope.cfg"], deps),
    /cannot read config file \/nope\.cfg/,
  );
});

Deno.test("resolveServeConfig() does not look for myid when standalone", () => {
  const deps: ServeConfigDeps = {
    readTextFile(path) {
      if (path === "/z.cfg") return "server.1=a:2888:3888\n"; // a single line: standalone
      throw new Error(`unexpected read of ${path}`);
    },
  };
  const { config, warnings } = resolve(["--config", "/z.cfg", "--in-memory"], deps);
  assert.equal(config.serverId, 1);
  assert.equal(ensembleOptions(config), undefined);
  assert.match(warnings[0], /running standalone/);
});

Deno.test("resolveServeConfig() refuses --in-memory for an ensemble member", () => {
  withConfig(members, (_, file) => {
    assert.throws(
      () => resolve(["--config", file, "--in-memory", "--id", "1"]),
      (e: unknown) =>
        e instanceof ConfigError &&
        e.message.includes(`--in-memory cannot run an ensemble member (server.N lines in ${file})`),
    );
  });
});

Deno.test("main() serve exits 2 on an ensemble setting that cannot work", async () => {
  await withConfigAsync(members, async (dir, file) => {
    const cases: [string[], RegExp][] = [
      [["serve", "--config", file, "--in-memory"], /--in-memory cannot run an ensemble member/],
      [["serve", "--config", file], /has no id: no --id flag, no myid key, and no file/],
      [["serve", "--config", file, "--id", "9"], /myid 9 \(from --id\) is not a member/],
      [["serve", "--id", "1", "--server-id", "2"], /--id 1 and --server-id 2 disagree/],
    ];
    for (const [args, message] of cases) {
      const fake = fakeIo();
      assert.equal(await main(args, fake.io), 2, args.join(" "));
      assert.match(fake.stderr(), message, args.join(" "));
      assert.match(fake.stderr(), /Run "corral serve --help" for usage\.\n$/);
    }
    assert.throws(() => Deno.statSync(join(dir, "data")), "nothing was created");
  });
});

Deno.test("main() serve --help documents the ensemble keys, --id and an example cluster", async () => {
  const fake = fakeIo();
  assert.equal(await main(["serve", "--help"], fake.io), 0);
  const help = fake.stdout();
  for (
    const text of [
      "server.N=HOST:PEER:ELECTION[:observer]",
      "initLimit=N",
      "syncLimit=N",
      "peerTickTime=MS",
      "DATADIR/myid",
      "--id N",
      "--server-id N",
      "server.3=127.0.0.1:2890:3890",
    ]
  ) {
    assert.ok(help.includes(text), `serve --help lacks ${text}`);
  }
});
