/**
 * The schemas of `src/wire/messages.ts` written out as checks on an already validated value:
 * what `parseRequest` and `parseConnect` may return when they say `ok`. Independent of the
 * validators except for `validatePath`, which IS the definition of a valid path.
 * @module
 */
import {
  aclEntriesMax,
  authBytesMax,
  dataBytesMax,
  multiOpsMax,
  protocolVersion,
  protocolVersionMin,
  setWatchesPathsMax,
} from "../src/constants.ts";
import { validatePath } from "../src/tree/path.ts";
import { type CreateMode, createModes, sequentialModes, ttlModes } from "../src/tree/types.ts";
import { ttlMsMax } from "../src/constants.ts";

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj =>
  typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);

/** Collects the ways one value breaks its schema. */
class Violations {
  readonly list: string[] = [];

  add(what: string): void {
    this.list.push(what);
  }

  keys(obj: Obj, allowed: readonly string[], where: string): void {
    for (const key of Object.keys(obj)) {
      if (!allowed.includes(key)) this.add(`${where} has an unexpected field "${key}"`);
    }
  }

  int(value: unknown, min: number, max: number, where: string): void {
    if (typeof value !== "number" || !Number.isSafeInteger(value) || value < min || value > max) {
      this.add(`${where} is ${String(value)}, not an integer in [${min}, ${max}]`);
    }
  }

  /** `sequential`: a sequential create's path, which the server completes with a number. */
  path(value: unknown, where: string, sequential = false): void {
    if (typeof value !== "string") return this.add(`${where} is not a string`);
    // The basics, restated so a lax validatePath cannot hide a bad path on its own. A sequential
    // path is judged with its suffix, as ZooKeeper does: "/a/" names "/a/0000000001".
    const full = sequential ? `${value}0` : value;
    const basic = full.startsWith("/") && (full === "/" || !full.endsWith("/")) &&
      !full.includes("//") && !full.split("/").some((name) => name === "." || name === "..");
    if (!basic || validatePath(value, sequential) !== null) {
      this.add(`${where} ${JSON.stringify(value)} is not a valid path`);
    }
  }

  bytes(value: unknown, max: number, where: string): void {
    if (!(value instanceof Uint8Array)) return this.add(`${where} is not a byte string`);
    if (value.byteLength > max) this.add(`${where} has ${value.byteLength} bytes, over ${max}`);
  }

  string(value: unknown, where: string): void {
    if (typeof value !== "string") this.add(`${where} is not a string`);
  }

  bool(value: unknown, where: string): void {
    if (typeof value !== "boolean") this.add(`${where} is not a boolean`);
  }

  version(value: unknown, where: string): void {
    this.int(value, -1, 0x7fffffff, where);
  }

  acl(value: unknown, where: string): void {
    if (!Array.isArray(value)) return this.add(`${where} is not an array`);
    if (value.length > aclEntriesMax) {
      this.add(`${where} has ${value.length} entries, over ${aclEntriesMax}`);
    }
    value.forEach((entry, i) => {
      if (!isObj(entry)) return this.add(`${where}[${i}] is not a map`);
      this.keys(entry, ["perms", "scheme", "id"], `${where}[${i}]`);
      this.int(entry.perms, 0, 31, `${where}[${i}].perms`);
      this.string(entry.scheme, `${where}[${i}].scheme`);
      this.string(entry.id, `${where}[${i}].id`);
    });
  }

  multiOp(op: unknown, where: string, extraKeys: readonly string[] = []): void {
    if (!isObj(op)) return this.add(`${where} is not a map`);
    switch (op.op) {
      case "check":
      case "delete":
        this.keys(op, ["op", "path", "version", ...extraKeys], where);
        this.path(op.path, `${where}.path`);
        return this.version(op.version, `${where}.version`);
      case "setData":
        this.keys(op, ["op", "path", "data", "version", "dataNull", ...extraKeys], where);
        this.dataNull(op, where);
        this.path(op.path, `${where}.path`);
        this.bytes(op.data, dataBytesMax, `${where}.data`);
        return this.version(op.version, `${where}.version`);
      case "create": {
        const withTtl = ttlModes.has(op.mode as CreateMode);
        this.keys(
          op,
          [
            "op",
            "path",
            "data",
            "acl",
            "mode",
            "dataNull",
            ...(withTtl ? ["ttlMs"] : []),
            ...extraKeys,
          ],
          where,
        );
        this.dataNull(op, where);
        if (withTtl) this.int(op.ttlMs, 1, ttlMsMax, `${where}.ttlMs`);
        this.path(op.path, `${where}.path`, sequentialModes.has(op.mode as CreateMode));
        this.bytes(op.data, dataBytesMax, `${where}.data`);
        this.acl(op.acl, `${where}.acl`);
        if (!(createModes as readonly unknown[]).includes(op.mode)) {
          this.add(`${where}.mode is not a create mode`);
        }
        return;
      }
      default:
        this.add(`${where}.op ${JSON.stringify(op.op)} is not a multi op`);
    }
  }

  /** `dataNull`, when present, is true and goes with empty data. */
  dataNull(op: Obj, where: string): void {
    if (op.dataNull === undefined) return;
    if (op.dataNull !== true) this.add(`${where}.dataNull is not true`);
    if (op.data instanceof Uint8Array && op.data.byteLength > 0) {
      this.add(`${where}.dataNull goes with non-empty data`);
    }
  }

  paths(value: unknown, where: string): void {
    if (!Array.isArray(value)) return this.add(`${where} is not an array`);
    if (value.length > setWatchesPathsMax) {
      this.add(`${where} has more than ${setWatchesPathsMax} paths`);
    }
    value.forEach((path, i) => this.path(path, `${where}[${i}]`));
  }
}

/** Every way `request` breaks the ClientRequest schema (empty when it fits). */
export function requestViolations(request: unknown): string[] {
  const v = new Violations();
  if (!isObj(request)) return ["the request is not a map"];
  v.int(request.xid, 0, 0x7fffffff, "xid");
  const r = request;
  switch (r.op) {
    case "check":
    case "delete":
    case "setData":
    case "create":
      v.multiOp(r, "request", ["xid"]);
      break;
    case "exists":
    case "getData":
    case "getChildren":
      v.keys(r, ["xid", "op", "path", "watch"], "request");
      v.path(r.path, "path");
      v.bool(r.watch, "watch");
      break;
    case "getACL":
    case "sync":
      v.keys(r, ["xid", "op", "path"], "request");
      v.path(r.path, "path");
      break;
    case "setACL":
      v.keys(r, ["xid", "op", "path", "acl", "version"], "request");
      v.path(r.path, "path");
      v.acl(r.acl, "acl");
      v.version(r.version, "version");
      break;
    case "multi":
      v.keys(r, ["xid", "op", "ops"], "request");
      if (!Array.isArray(r.ops)) {
        v.add("ops is not an array");
      } else {
        if (r.ops.length > multiOpsMax) {
          v.add(`ops has ${r.ops.length} entries, over ${multiOpsMax}`);
        }
        r.ops.forEach((op, i) => v.multiOp(op, `ops[${i}]`));
      }
      break;
    case "ping":
    case "close":
      v.keys(r, ["xid", "op"], "request");
      break;
    case "addAuth":
      v.keys(r, ["xid", "op", "scheme", "auth"], "request");
      v.string(r.scheme, "scheme");
      v.bytes(r.auth, authBytesMax, "auth");
      break;
    case "setWatches":
      v.keys(
        r,
        [
          "xid",
          "op",
          "relativeZxid",
          "dataWatches",
          "existWatches",
          "childWatches",
          "persistentWatches",
          "persistentRecursiveWatches",
        ],
        "request",
      );
      v.int(r.relativeZxid, Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER, "relativeZxid");
      v.paths(r.dataWatches, "dataWatches");
      v.paths(r.existWatches, "existWatches");
      v.paths(r.childWatches, "childWatches");
      for (const key of ["persistentWatches", "persistentRecursiveWatches"]) {
        if (r[key] !== undefined) v.paths(r[key], key);
      }
      break;
    case "addWatch":
      v.keys(r, ["xid", "op", "path", "mode"], "request");
      v.path(r.path, "path");
      if (r.mode !== "persistent" && r.mode !== "persistentRecursive") {
        v.add(`mode ${JSON.stringify(r.mode)} is not an addWatch mode`);
      }
      break;
    case "removeWatches":
    case "checkWatches":
      v.keys(r, ["xid", "op", "path", "type"], "request");
      v.path(r.path, "path");
      if (
        !["children", "data", "any", "persistent", "persistentRecursive"].includes(String(r.type))
      ) {
        v.add(`type ${JSON.stringify(r.type)} is not a watcher type`);
      }
      break;
    case "getEphemerals":
      v.keys(r, ["xid", "op", "prefix"], "request");
      if (typeof r.prefix !== "string" || !r.prefix.startsWith("/")) {
        v.add("prefix is not a string that starts with /");
      }
      break;
    case "getAllChildrenNumber":
    case "deleteContainer":
      v.keys(r, ["xid", "op", "path"], "request");
      v.path(r.path, "path");
      break;
    case "whoAmI":
      v.keys(r, ["xid", "op"], "request");
      break;
    case "multiRead":
      v.keys(r, ["xid", "op", "ops"], "request");
      if (!Array.isArray(r.ops)) {
        v.add("ops is not an array");
      } else {
        if (r.ops.length > multiOpsMax) {
          v.add(`ops has ${r.ops.length} entries, over ${multiOpsMax}`);
        }
        r.ops.forEach((op, i) => {
          if (!isObj(op)) return v.add(`ops[${i}] is not a map`);
          v.keys(op, ["op", "path"], `ops[${i}]`);
          if (op.op !== "getData" && op.op !== "getChildren") v.add(`ops[${i}].op is not a read`);
          v.path(op.path, `ops[${i}].path`);
        });
      }
      break;
    default:
      v.add(`op ${JSON.stringify(r.op)} is not a request op`);
  }
  return v.list;
}

/** Every way `connect` breaks the ConnectRequest schema (empty when it fits). */
export function connectViolations(connect: unknown): string[] {
  const v = new Violations();
  if (!isObj(connect)) return ["the connect request is not a map"];
  v.keys(connect, ["op", "proto", "timeoutMs", "sessionId", "password", "lastZxid"], "connect");
  if (connect.op !== "connect") v.add(`op is ${JSON.stringify(connect.op)}, not "connect"`);
  if (
    !Number.isInteger(connect.proto) || (connect.proto as number) < protocolVersionMin ||
    (connect.proto as number) > protocolVersion
  ) {
    v.add(`proto is ${String(connect.proto)}, not ${protocolVersionMin} to ${protocolVersion}`);
  }
  v.int(connect.timeoutMs, 1, Number.MAX_SAFE_INTEGER, "timeoutMs");
  v.int(connect.sessionId, 0, Number.MAX_SAFE_INTEGER, "sessionId");
  v.bytes(connect.password, 64, "password");
  v.int(connect.lastZxid, Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER, "lastZxid");
  return v.list;
}
