/**
 * Access control (REFERENCE §5): identities, permission checks, digest computation and the
 * validation/expansion of ACLs given at create and setACL.
 * @module
 */
import { createRequire } from "node:module";
import type { Acl } from "./types.ts";
import { type OpError, opError } from "./types.ts";

/** An identity a connection has proven: ("ip", "127.0.0.1"), ("digest", "bob:hash"), ("super", ""). */
export interface AuthId {
  scheme: string;
  id: string;
}

let cryptoModule: typeof import("node:crypto") | undefined;

/**
 * `node:crypto`, loaded at the first digest rather than with this module: loading it took about
 * 2.5 ms of every start of the compiled binary, and most servers never see a digest.
 */
function nodeCrypto(): typeof import("node:crypto") {
  return cryptoModule ??= createRequire(import.meta.url)(
    "node:crypto",
  ) as typeof import("node:crypto");
}

/**
 * The digest id of `user:password`, as ZooKeeper computes it: `user:base64(sha1(user:password))`.
 *
 * @example
 * ```ts
 * import { digestId } from "./acl.ts";
 * digestId("bob:secret"); // "bob:..."
 * ```
 */
export function digestId(userPassword: string): string {
  const colon = userPassword.indexOf(":");
  const user = colon < 0 ? userPassword : userPassword.slice(0, colon);
  const hash = nodeCrypto().createHash("sha1").update(userPassword, "utf8").digest("base64");
  return `${user}:${hash}`;
}

/** True when one of `ids` is the super user, who bypasses every check. */
export function isSuper(ids: readonly AuthId[]): boolean {
  return ids.some((a) => a.scheme === "super");
}

function parseIpv4(text: string): number | null {
  const parts = text.split(".");
  if (parts.length !== 4) return null;
  let value = 0;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part)) return null;
    const byte = Number(part);
    if (byte > 255) return null;
    value = value * 256 + byte;
  }
  return value;
}

function parseIpv6(text: string): bigint | null {
  if (!/^[0-9a-fA-F:.]+$/.test(text) || !text.includes(":")) return null;
  const halves = text.split("::");
  if (halves.length > 2) return null;
  const groups = (s: string) => (s === "" ? [] : s.split(":"));
  const head = groups(halves[0]);
  const tail = halves.length === 2 ? groups(halves[1]) : [];
  const missing = 8 - head.length - tail.length;
  if (missing < 0 || (halves.length === 1 && missing !== 0)) return null;
  const all = [...head, ...Array(missing).fill("0"), ...tail];
  let value = 0n;
  for (const group of all) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(group)) return null;
    value = (value << 16n) | BigInt(parseInt(group, 16));
  }
  return value;
}

/** Returns why `id` is not a valid ip ACL id (`address` or `address/bits`), or null. */
export function validateIpId(id: string): string | null {
  const [address, bits, extra] = id.split("/");
  if (extra !== undefined) return "too many /";
  const v4 = parseIpv4(address);
  const v6 = v4 === null ? parseIpv6(address) : null;
  if (v4 === null && v6 === null) return `"${address}" is not an IPv4 or IPv6 address`;
  if (bits !== undefined) {
    const max = v4 !== null ? 32 : 128;
    if (!/^\d+$/.test(bits) || Number(bits) > max) return `prefix length must be 0..${max}`;
  }
  return null;
}

/** True when `address` (a connection's peer) falls in the ip ACL id `pattern`. */
export function ipMatches(pattern: string, address: string): boolean {
  const [net, bitsText] = pattern.split("/");
  const a4 = parseIpv4(address.startsWith("::ffff:") ? address.slice(7) : address);
  const n4 = parseIpv4(net);
  if (n4 !== null && a4 !== null) {
    const bits = bitsText === undefined ? 32 : Number(bitsText);
    const shift = 32 - bits;
    return Math.floor(n4 / 2 ** shift) === Math.floor(a4 / 2 ** shift);
  }
  const n6 = parseIpv6(net);
  const a6 = parseIpv6(address);
  if (n6 !== null && a6 !== null) {
    const shift = BigInt(128 - (bitsText === undefined ? 128 : Number(bitsText)));
    return (n6 >> shift) === (a6 >> shift);
  }
  return false;
}

function matches(entry: Acl, who: AuthId): boolean {
  if (entry.scheme === "world") return entry.id === "anyone";
  if (entry.scheme !== who.scheme) return false;
  if (entry.scheme === "ip") return ipMatches(entry.id, who.id);
  return entry.id === who.id;
}

/**
 * True when `ids` hold `perm` on a node with `acl`. The super user and an empty ACL allow
 * everything, as in ZooKeeper.
 */
export function allowed(acl: readonly Acl[], perm: number, ids: readonly AuthId[]): boolean {
  if (acl.length === 0 || isSuper(ids)) return true;
  for (const entry of acl) {
    if ((entry.perms & perm) === 0) continue;
    if (entry.scheme === "world" && entry.id === "anyone") return true;
    for (const who of ids) if (matches(entry, who)) return true;
  }
  return false;
}

/**
 * Validates an ACL given by a client and expands the `auth` scheme into the session's
 * authenticated identities (ZooKeeper's fixupACL). Returns the ACL to store or InvalidACL.
 */
export function fixupAcl(acl: readonly Acl[], ids: readonly AuthId[]): Acl[] | OpError {
  if (acl.length === 0) return opError("InvalidACL", "an ACL must have at least one entry");
  const out: Acl[] = [];
  for (const entry of acl) {
    if (entry.perms === 0) {
      return opError("InvalidACL", `ACL entry ${entry.scheme}:${entry.id} grants no permission`);
    }
    switch (entry.scheme) {
      case "world":
        if (entry.id !== "anyone") return opError("InvalidACL", `world ACL id must be "anyone"`);
        out.push({ ...entry });
        break;
      case "auth": {
        const authed = ids.filter((a) => a.scheme === "digest" || a.scheme === "super");
        if (authed.length === 0) {
          return opError(
            "InvalidACL",
            "the auth scheme needs an authenticated identity (addAuth first)",
          );
        }
        for (const who of authed) out.push({ perms: entry.perms, scheme: who.scheme, id: who.id });
        break;
      }
      case "digest":
        if (!/^[^:]+:.+$/.test(entry.id)) {
          return opError("InvalidACL", `digest ACL id must be "user:base64digest"`);
        }
        out.push({ ...entry });
        break;
      case "ip": {
        const problem = validateIpId(entry.id);
        if (problem !== null) return opError("InvalidACL", `bad ip ACL id: ${problem}`);
        out.push({ ...entry });
        break;
      }
      case "super":
        out.push({ ...entry });
        break;
      default:
        return opError("InvalidACL", `unknown ACL scheme "${entry.scheme}"`);
    }
  }
  return dedupe(out);
}

function dedupe(acl: Acl[]): Acl[] {
  const seen = new Set<string>();
  return acl.filter((e) => {
    const key = `${e.perms}|${e.scheme}|${e.id}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
