/**
 * The zkCli-like znode commands (`ls`, `get`, `set`, `create`, `delete`, `deleteall`, `stat`,
 * `getacl`, `setacl`, `sync`): their flags, help text and what each does with a session. The same
 * table serves one-shot commands (`corral get /a`) and the interactive shell (`get /a`); only the
 * {@linkcode CommandContext} differs, for instance in what happens when a watch fires.
 * @module
 */
import type { FlagSpec, ParsedArgs } from "./args.ts";
import { UsageError } from "./args.ts";
import {
  dataJson,
  formatAclLines,
  formatChildren,
  formatStat,
  parseAclText,
  statJson,
} from "./format.ts";
import type { CliClient, CliCreateMode, WatchFn } from "./session.ts";
import { validatePath } from "../tree/path.ts";
import type { Acl, Stat } from "../tree/types.ts";

/** What a command may use while it runs. */
export interface CommandContext {
  /** The open session. */
  client: CliClient;
  /** True when output should be JSON (one object per line). */
  json: boolean;
  /** Writes to standard output. */
  out(chunk: string | Uint8Array): void;
  /**
   * A function to pass as a read's `watch`: it reports the event when it fires. One-shot commands
   * then wait for it; the shell prints it whenever it comes.
   */
  watcher(): WatchFn;
}

/** One znode command. */
export interface CommandSpec {
  /** The word typed: `ls`. */
  name: string;
  /** Arguments and flags in one line, for help: `PATH [-s] [-w] [-R]`. */
  synopsis: string;
  /** What it does, in one sentence. */
  summary: string;
  /** The command's own flags (the common ones are added by the caller). */
  flags: FlagSpec[];
  /** Fewest and most positional arguments. */
  positionals: { min: number; max: number };
  /** Example invocations without the `corral ` prefix, each with a comment. */
  examples: [string, string][];
  /** Checks the arguments beyond their count; throws a {@linkcode UsageError}. */
  validate?(args: ParsedArgs): void;
  /** Does the work; rejects with the library's error or a {@linkcode UsageError}. */
  run(ctx: CommandContext, args: ParsedArgs): Promise<void>;
}

const statFlag: FlagSpec = {
  name: "stat",
  short: "s",
  kind: "boolean",
  description: "Also print the stat.",
};
const watchFlag = (what: string): FlagSpec => ({
  name: "watch",
  short: "w",
  kind: "boolean",
  description: `Leave a one-shot watch on ${what} and print its event when it fires.`,
});
const versionFlag: FlagSpec = {
  name: "version",
  short: "v",
  kind: "integer",
  valueName: "N",
  description: "Succeed only if the node is at this version (-1 or absent: any version).",
};

const encoder = new TextEncoder();

function writeJson(ctx: CommandContext, value: unknown): void {
  ctx.out(`${JSON.stringify(value)}\n`);
}

function printStatOr(ctx: CommandContext, path: string, stat: Stat, withStat: boolean): void {
  if (ctx.json) writeJson(ctx, { path, stat: statJson(stat) });
  else if (withStat) ctx.out(formatStat(stat));
}

/** `version` as given, or -1 (any). */
function versionOf(args: ParsedArgs): number {
  return args.int("version") ?? -1;
}

const ls: CommandSpec = {
  name: "ls",
  synopsis: "PATH [-s] [-w] [-R]",
  summary: "List the children of a znode.",
  flags: [
    statFlag,
    watchFlag("the children list"),
    {
      name: "recursive",
      short: "R",
      kind: "boolean",
      description: "List every descendant path, one per line.",
    },
  ],
  positionals: { min: 1, max: 1 },
  examples: [
    ["ls /", "prints [zookeeper]"],
    ["ls -R /app", "prints /app and every path below it"],
    ["ls -w /services", "waits for the children of /services to change"],
  ],
  async run(ctx, args) {
    const path = args.positionals[0];
    if (args.bool("recursive")) {
      if (args.bool("watch") || args.bool("stat")) {
        throw new UsageError("-R cannot be combined with -w or -s");
      }
      const paths = await descendants(ctx.client, path);
      if (ctx.json) writeJson(ctx, { path, paths });
      else ctx.out(paths.map((p) => `${p}\n`).join(""));
      return;
    }
    const watch = args.bool("watch") ? ctx.watcher() : undefined;
    const { children, stat } = await ctx.client.getChildren(path, { watch });
    const sorted = [...children].sort();
    if (ctx.json) return writeJson(ctx, { path, children: sorted, stat: statJson(stat) });
    ctx.out(formatChildren(sorted));
    if (args.bool("stat")) ctx.out(formatStat(stat));
  },
};

function childOf(parent: string, name: string): string {
  return parent === "/" ? `/${name}` : `${parent}/${name}`;
}

/** `path` and every path below it, breadth first, children sorted. */
async function descendants(client: CliClient, path: string): Promise<string[]> {
  const paths = [path];
  for (let i = 0; i < paths.length; i++) {
    let children: string[];
    try {
      ({ children } = await client.getChildren(paths[i], {}));
    } catch (error) {
      // A node deleted while we walk is simply no longer there; the root must exist.
      if (i > 0 && (error as { code?: string }).code === "NoNode") continue;
      throw error;
    }
    for (const name of [...children].sort()) paths.push(childOf(paths[i], name));
  }
  return paths;
}

const get: CommandSpec = {
  name: "get",
  synopsis: "PATH [-s] [-w]",
  summary: "Print the data of a znode, followed by a newline.",
  flags: [statFlag, watchFlag("the data")],
  positionals: { min: 1, max: 1 },
  examples: [
    ["get /config", "prints the value of /config"],
    ["get -s /config", "also prints its stat"],
    ["get /config --json", 'prints {"path":"/config","data":"...","stat":{...}}'],
  ],
  async run(ctx, args) {
    const path = args.positionals[0];
    const watch = args.bool("watch") ? ctx.watcher() : undefined;
    const { data, stat } = await ctx.client.getData(path, { watch });
    if (ctx.json) return writeJson(ctx, { path, ...dataJson(data), stat: statJson(stat) });
    ctx.out(data);
    ctx.out("\n");
    if (args.bool("stat")) ctx.out(formatStat(stat));
  },
};

const set: CommandSpec = {
  name: "set",
  synopsis: "PATH DATA [-v N] [-s]",
  summary: "Replace the data of a znode.",
  flags: [versionFlag, statFlag],
  positionals: { min: 2, max: 2 },
  examples: [
    ["set /config 'mode=fast'", "sets the value whatever its version"],
    ["set /config x -v 3", "sets it only if /config is at version 3 (else BadVersion)"],
  ],
  async run(ctx, args) {
    const [path, data] = args.positionals;
    const stat = await ctx.client.setData(path, encoder.encode(data), { version: versionOf(args) });
    printStatOr(ctx, path, stat, args.bool("stat"));
  },
};

function createMode(args: ParsedArgs): CliCreateMode {
  const ephemeral = args.bool("ephemeral");
  const sequential = args.bool("sequential");
  if (ephemeral) return sequential ? "ephemeralSequential" : "ephemeral";
  return sequential ? "persistentSequential" : "persistent";
}

const create: CommandSpec = {
  name: "create",
  synopsis: "[-e] [-s] PATH [DATA] [ACL]",
  summary: "Create a znode (persistent unless -e), printing the path created.",
  flags: [
    {
      name: "ephemeral",
      short: "e",
      kind: "boolean",
      description: "Ephemeral: deleted when this session ends.",
    },
    {
      name: "sequential",
      short: "s",
      kind: "boolean",
      description: "Sequential: append a 10-digit counter to the name.",
    },
  ],
  positionals: { min: 1, max: 3 },
  examples: [
    ["create /app hello", "prints Created /app"],
    ["create -s /queue/item- job", "prints Created /queue/item-0000000000"],
    ["create /private x digest:bob:XXXX:cdrwa", "creates /private readable only by bob"],
  ],
  validate(args) {
    if (args.positionals[2] !== undefined) parseAclText(args.positionals[2]);
  },
  async run(ctx, args) {
    const [path, data = "", aclText] = args.positionals;
    const acl = aclText === undefined ? undefined : parseAclText(aclText);
    const created = await ctx.client.create(path, encoder.encode(data), {
      mode: createMode(args),
      acl,
    });
    if (ctx.json) writeJson(ctx, { path: created });
    else ctx.out(`Created ${created}\n`);
  },
};

const del: CommandSpec = {
  name: "delete",
  synopsis: "[-v N] PATH",
  summary: "Delete a znode that has no children.",
  flags: [versionFlag],
  positionals: { min: 1, max: 1 },
  examples: [
    ["delete /app", "deletes /app whatever its version"],
    ["delete -v 2 /app", "deletes it only if /app is at version 2"],
  ],
  async run(ctx, args) {
    const path = args.positionals[0];
    await ctx.client.delete(path, { version: versionOf(args) });
    if (ctx.json) writeJson(ctx, { path, deleted: 1 });
  },
};

const deleteall: CommandSpec = {
  name: "deleteall",
  synopsis: "PATH",
  summary: "Delete a znode and everything below it, children first.",
  flags: [],
  positionals: { min: 1, max: 1 },
  examples: [["deleteall /app", "deletes /app and all its descendants"]],
  async run(ctx, args) {
    const path = args.positionals[0];
    const paths = await descendants(ctx.client, path);
    let deleted = 0;
    // Deepest first: a breadth-first list reversed puts every child before its parent.
    for (const p of paths.reverse()) {
      try {
        await ctx.client.delete(p, { version: -1 });
        deleted++;
      } catch (error) {
        // Someone else deleted it meanwhile: the goal is reached all the same.
        if ((error as { code?: string }).code !== "NoNode") throw error;
      }
    }
    if (ctx.json) writeJson(ctx, { path, deleted });
  },
};

const stat: CommandSpec = {
  name: "stat",
  synopsis: "PATH [-w]",
  summary: "Print the stat of a znode (exit code 1 and NoNode when it does not exist).",
  flags: [watchFlag("the node (set even when it does not exist yet)")],
  positionals: { min: 1, max: 1 },
  examples: [
    ["stat /app", "prints cZxid = 0x..., ctime = ..., numChildren = N"],
    ["stat /app --json", 'prints {"path":"/app","stat":{"czxid":...}}'],
  ],
  async run(ctx, args) {
    const path = args.positionals[0];
    const watch = args.bool("watch") ? ctx.watcher() : undefined;
    const found = await ctx.client.exists(path, { watch });
    if (found === null) {
      throw Object.assign(new Error(`${path} does not exist`), { code: "NoNode", path });
    }
    printStatOr(ctx, path, found, true);
  },
};

const getacl: CommandSpec = {
  name: "getacl",
  synopsis: "PATH [-s]",
  summary: "Print the ACL of a znode, one scheme,id and permissions pair per entry.",
  flags: [statFlag],
  positionals: { min: 1, max: 1 },
  examples: [
    ["getacl /app", "prints 'world,'anyone then : cdrwa"],
    ["getacl /app --json", 'prints {"path":"/app","acl":[{"scheme":"world",...}],"stat":{...}}'],
  ],
  async run(ctx, args) {
    const path = args.positionals[0];
    const { acl, stat } = await ctx.client.getACL(path);
    if (ctx.json) return writeJson(ctx, { path, acl: acl.map(aclJson), stat: statJson(stat) });
    ctx.out(formatAclLines(acl));
    if (args.bool("stat")) ctx.out(formatStat(stat));
  },
};

function aclJson(acl: Acl): Acl {
  return { scheme: acl.scheme, id: acl.id, perms: acl.perms };
}

const setacl: CommandSpec = {
  name: "setacl",
  synopsis: "PATH ACL [-v N] [-s]",
  summary: "Replace the ACL of a znode; ACL is scheme:id:perms[,...] with perms from cdrwa.",
  flags: [{
    ...versionFlag,
    description: "Succeed only if the ACL is at this version (aclVersion).",
  }, statFlag],
  positionals: { min: 2, max: 2 },
  examples: [
    ["setacl /app world:anyone:r", "makes /app read-only for everyone"],
    ["setacl /app auth::cdrwa", "gives every right to the identities this session added"],
    ["setacl /app digest:bob:HASH:cdrwa,ip:127.0.0.1:r", "two entries"],
  ],
  validate(args) {
    parseAclText(args.positionals[1]);
  },
  async run(ctx, args) {
    const [path, aclText] = args.positionals;
    const stat = await ctx.client.setACL(path, parseAclText(aclText), { version: versionOf(args) });
    printStatOr(ctx, path, stat, args.bool("stat"));
  },
};

const sync: CommandSpec = {
  name: "sync",
  synopsis: "PATH",
  summary: "Wait until the server this session uses has every write committed before now.",
  flags: [],
  positionals: { min: 1, max: 1 },
  examples: [["sync /", "prints Sync is OK"]],
  async run(ctx, args) {
    const path = args.positionals[0];
    await ctx.client.sync(path);
    if (ctx.json) writeJson(ctx, { path, synced: true });
    else ctx.out("Sync is OK\n");
  },
};

/** Every znode command, in the order help lists them. */
export const znodeCommands: readonly CommandSpec[] = [
  ls,
  get,
  stat,
  create,
  set,
  del,
  deleteall,
  getacl,
  setacl,
  sync,
];

/** The znode command called `name`, if any. */
export function findCommand(name: string): CommandSpec | undefined {
  return znodeCommands.find((c) => c.name === name);
}

/**
 * Checks the positional arguments of `args` for `command`: their count, that the first (the path
 * of every znode command) is a valid path, and the command's own checks, so that a typo fails
 * with a usage error before any connection. Throws a {@linkcode UsageError}.
 */
export function checkArguments(command: CommandSpec, args: ParsedArgs): void {
  const { min, max } = command.positionals;
  const count = args.positionals.length;
  const usage = `(usage: ${command.name} ${command.synopsis})`;
  if (count < min) throw new UsageError(`${command.name}: missing argument ${usage}`);
  if (count > max) {
    throw new UsageError(
      `${command.name}: unexpected argument "${args.positionals[max]}" ${usage}`,
    );
  }
  const path = args.positionals[0];
  // `create -s /q/` is valid: the server appends the counter (ZooKeeper's rule).
  const sequential = command.name === "create" && args.bool("sequential");
  const problem = validatePath(path, sequential);
  if (problem !== null) throw new UsageError(`${command.name}: invalid path "${path}": ${problem}`);
  command.validate?.(args);
}
