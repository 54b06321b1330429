/**
 * Znode paths (REFERENCE §1): validation as ZooKeeper does it, and the small helpers the tree,
 * the pipeline and the client's chroot need.
 * @module
 */
import { pathBytesMax } from "../constants.ts";

const encoder = new TextEncoder();

function badChar(code: number): boolean {
  // ZooKeeper refuses NUL, control characters, surrogates/private use, and specials.
  return code === 0 || (code > 0 && code < 0x20) || (code >= 0x7f && code <= 0x9f) ||
    (code >= 0xd800 && code <= 0xf8ff) || (code >= 0xfff0 && code <= 0xffff);
}

/**
 * Returns why `path` is not a valid absolute znode path, or null when it is. For a sequential
 * create the server appends a counter, so `sequential` judges `path` with one appended, as
 * ZooKeeper does (`/q/` is a fine sequential path and yields `/q/0000000001`).
 *
 * @example
 * ```ts
 * import { validatePath } from "./path.ts";
 * validatePath("/a/b"); // null
 * validatePath("/a/"); // "must not end with /"
 * ```
 */
export function validatePath(path: string, sequential = false): string | null {
  if (sequential) return validatePath(path + "1");
  if (path.length === 0) return "must not be empty";
  if (path.charCodeAt(0) !== slash) return "must start with /";
  // Every UTF-16 unit is at most 3 UTF-8 bytes: only a path that might be too long is encoded.
  if (path.length * 3 > pathBytesMax && encoder.encode(path).byteLength > pathBytesMax) {
    return `longer than ${pathBytesMax} bytes`;
  }
  if (path.length === 1) return null;
  if (path.charCodeAt(path.length - 1) === slash) return "must not end with /";
  // One pass over the names, without splitting the path into new strings.
  for (let start = 1; start <= path.length;) {
    let end = path.indexOf("/", start);
    if (end < 0) end = path.length;
    const length = end - start;
    if (length === 0) return "must not contain an empty name (//)";
    if (
      length <= 2 && path.charCodeAt(start) === dot &&
      (length === 1 || path.charCodeAt(start + 1) === dot)
    ) {
      return `must not contain the name "${path.slice(start, end)}"`;
    }
    start = end + 1;
  }
  for (let i = 0; i < path.length; i++) {
    const code = path.charCodeAt(i);
    if (badChar(code)) return `has an invalid character (code ${code}) at index ${i}`;
  }
  return null;
}

const slash = 0x2f;
const dot = 0x2e;

/** Parent of a valid non-root path: `/a/b` -> `/a`, `/a` -> `/`. */
export function parentOf(path: string): string {
  const i = path.lastIndexOf("/");
  return i <= 0 ? "/" : path.slice(0, i);
}

/** Last name of a valid non-root path: `/a/b` -> `b`. */
export function baseName(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1);
}

/** Joins a valid parent path and a child name. */
export function childPath(parent: string, name: string): string {
  return parent === "/" ? `/${name}` : `${parent}/${name}`;
}

/** Prefixes a client path with a chroot (`""` or `/app`): `/x` -> `/app/x`, `/` -> `/app`. */
export function withChroot(chroot: string, path: string): string {
  if (chroot === "") return path;
  return path === "/" ? chroot : chroot + path;
}

/**
 * Strips a chroot from a server path; returns null when the path lies outside the chroot
 * (a client confined to `/app` must never see `/other`).
 */
export function withoutChroot(chroot: string, path: string): string | null {
  if (chroot === "") return path;
  if (path === chroot) return "/";
  if (path.startsWith(chroot + "/")) return path.slice(chroot.length);
  return null;
}

/** The 10-digit zero-padded sequence suffix of a sequential node (REFERENCE §1). */
export function sequenceSuffix(counter: number): string {
  // ZooKeeper formats the signed 32-bit cversion with %010d; a wrapped counter goes negative.
  const value = counter | 0;
  return value < 0 ? "-" + String(-value).padStart(9, "0") : String(value).padStart(10, "0");
}
