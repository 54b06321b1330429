/**
 * What the command line prints and reads besides flags: zkCli-style stat text, ACL text
 * (`world:anyone:cdrwa`), znode data as text or JSON, watch event lines, and error lines. Pure
 * functions, so each format is tested without a server.
 * @module
 */
import type { Acl, Stat } from "../tree/types.ts";
import { UsageError } from "./args.ts";

/** Permission letters in zkCli order, with their bits (REFERENCE §5). */
const permLetters: readonly (readonly [string, number])[] = [
  ["c", 4],
  ["d", 8],
  ["r", 1],
  ["w", 2],
  ["a", 16],
];

/** Parses permission letters (`cdrwa`, any order) into a bitmask; throws on anything else. */
export function parsePerms(text: string): number {
  if (text === "") {
    throw new UsageError("an ACL entry needs at least one permission of c, d, r, w, a");
  }
  let perms = 0;
  for (const letter of text) {
    const entry = permLetters.find(([l]) => l === letter);
    if (!entry) {
      throw new UsageError(`unknown permission "${letter}" in "${text}" (use c, d, r, w, a)`);
    }
    perms |= entry[1];
  }
  return perms;
}

/** Writes a permission bitmask as letters in zkCli order: 31 -> `cdrwa`. */
export function formatPerms(perms: number): string {
  return permLetters.filter(([, bit]) => (perms & bit) !== 0).map(([l]) => l).join("");
}

/**
 * Parses zkCli ACL text: comma-separated `scheme:id:perms` entries. The id is everything between
 * the first and the last colon, so `digest:user:hash:rw` and `auth::cdrwa` work.
 *
 * @example
 * ```ts
 * import { parseAclText } from "./format.ts";
 * parseAclText("world:anyone:r,ip:127.0.0.1:cdrwa");
 * // [{ scheme: "world", id: "anyone", perms: 1 }, { scheme: "ip", id: "127.0.0.1", perms: 31 }]
 * ```
 */
export function parseAclText(text: string): Acl[] {
  const entries = text.split(",").map((s) => s.trim()).filter((s) => s !== "");
  if (entries.length === 0) throw new UsageError("an ACL needs at least one scheme:id:perms entry");
  return entries.map((entry) => {
    const first = entry.indexOf(":");
    const last = entry.lastIndexOf(":");
    if (first < 0 || first === last) {
      throw new UsageError(`ACL entry "${entry}" is not scheme:id:perms`);
    }
    const scheme = entry.slice(0, first);
    if (scheme === "") throw new UsageError(`ACL entry "${entry}" has no scheme`);
    return { scheme, id: entry.slice(first + 1, last), perms: parsePerms(entry.slice(last + 1)) };
  });
}

/** Writes an ACL as text that {@linkcode parseAclText} reads back. */
export function formatAclText(acl: readonly Acl[]): string {
  return acl.map((a) => `${a.scheme}:${a.id}:${formatPerms(a.perms)}`).join(",");
}

/** An ACL the way zkCli's `getAcl` prints it: `'world,'anyone` then `: cdrwa`, per entry. */
export function formatAclLines(acl: readonly Acl[]): string {
  return acl.map((a) => `'${a.scheme},'${a.id}\n: ${formatPerms(a.perms)}\n`).join("");
}

/** A zxid or session id as zkCli prints it: `0x` and lower-case hex. */
export function hex(value: number): string {
  return `0x${value.toString(16)}`;
}

const days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/**
 * A time the way Java's `Date.toString()` prints it, in UTC so output does not depend on the
 * machine: `Thu Jan 01 00:00:00 UTC 1970`.
 */
export function formatTime(ms: number): string {
  const d = new Date(ms);
  const two = (n: number) => String(n).padStart(2, "0");
  return `${days[d.getUTCDay()]} ${months[d.getUTCMonth()]} ${two(d.getUTCDate())} ` +
    `${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())} UTC ` +
    `${d.getUTCFullYear()}`;
}

/**
 * A stat as zkCli prints it, one `name = value` line per field, ending with a newline.
 *
 * @example
 * ```ts
 * import { formatStat } from "./format.ts";
 * const stat = { czxid: 2, mzxid: 2, pzxid: 2, ctime: 0, mtime: 0, version: 0, cversion: 0,
 *   aversion: 0, ephemeralOwner: 0, dataLength: 5, numChildren: 0 };
 * formatStat(stat).startsWith("cZxid = 0x2\nctime = Thu Jan 01 00:00:00 UTC 1970\n"); // true
 * ```
 */
export function formatStat(stat: Stat): string {
  const lines: [string, string][] = [
    ["cZxid", hex(stat.czxid)],
    ["ctime", formatTime(stat.ctime)],
    ["mZxid", hex(stat.mzxid)],
    ["mtime", formatTime(stat.mtime)],
    ["pZxid", hex(stat.pzxid)],
    ["cversion", String(stat.cversion)],
    ["dataVersion", String(stat.version)],
    ["aclVersion", String(stat.aversion)],
    ["ephemeralOwner", hex(stat.ephemeralOwner)],
    ["dataLength", String(stat.dataLength)],
    ["numChildren", String(stat.numChildren)],
  ];
  return lines.map(([name, value]) => `${name} = ${value}\n`).join("");
}

/** A stat as a plain JSON object with the protocol's field names, in a fixed order. */
export function statJson(stat: Stat): Stat {
  return {
    czxid: stat.czxid,
    mzxid: stat.mzxid,
    pzxid: stat.pzxid,
    ctime: stat.ctime,
    mtime: stat.mtime,
    version: stat.version,
    cversion: stat.cversion,
    aversion: stat.aversion,
    ephemeralOwner: stat.ephemeralOwner,
    dataLength: stat.dataLength,
    numChildren: stat.numChildren,
  };
}

/** Znode data in JSON: UTF-8 text when it decodes as such, else base64 and a marker. */
export function dataJson(data: Uint8Array): { data: string; encoding?: "base64" } {
  try {
    return { data: new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(data) };
  } catch {
    return { data: base64(data), encoding: "base64" };
  }
}

function base64(bytes: Uint8Array): string {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

/** A child list the way zkCli's `ls` prints it: `[a, zookeeper]`. */
export function formatChildren(children: readonly string[]): string {
  return `[${children.join(", ")}]\n`;
}

/** What a watch or session event carries, whatever the client calls it. */
export interface EventLike {
  type?: string;
  path?: string | null;
  state?: string;
}

/** A watch event as zkCli prints it, on one line: `WATCHER:: WatchedEvent state:... path:/a`. */
export function formatEvent(event: EventLike): string {
  const state = event.state ?? "SyncConnected";
  const type = event.type ?? "None";
  const path = event.path ?? "null";
  return `WATCHER:: WatchedEvent state:${state} type:${type} path:${path}\n`;
}

/** A watch event as one JSON line. */
export function eventJson(
  event: EventLike,
): { event: { state: string; type: string; path: string | null } } {
  return {
    event: {
      state: event.state ?? "SyncConnected",
      type: event.type ?? "None",
      path: event.path ?? null,
    },
  };
}

/** Anything with an error code, as the client's errors have. */
export interface CodedError {
  code: string;
  message: string;
  /** The path the failed operation named, when the error knows it. */
  path?: string;
}

/** True when `error` carries a string `code` (a server or client error, not a bug). */
export function isCodedError(error: unknown): error is CodedError {
  return typeof error === "object" && error !== null &&
    typeof (error as { code?: unknown }).code === "string" &&
    typeof (error as { message?: unknown }).message === "string";
}

/**
 * The stderr line for a failed operation: `Code: message`, with the path in front when the
 * message does not name it, or just `Code: path` when there is no message. A message that
 * already starts with the code is not prefixed twice.
 *
 * @example
 * ```ts
 * import { formatError } from "./format.ts";
 * formatError({ code: "NoNode", message: "/a does not exist" }); // "NoNode: /a does not exist\n"
 * formatError({ code: "NoNode", message: "" }, "/a"); // "NoNode: /a\n"
 * ```
 */
export function formatError(error: CodedError, path?: string): string {
  let message = error.message.trim();
  if (message.startsWith(`${error.code}:`)) message = message.slice(error.code.length + 1).trim();
  const where = error.path ?? path;
  if (message === "" || message === error.code) message = where ?? "";
  else if (where !== undefined && !message.includes(where)) message = `${where}: ${message}`;
  return message === "" ? `${error.code}\n` : `${error.code}: ${message}\n`;
}
