/**
 * Connect strings as ZooKeeper writes them: `host:port,host:port/chroot` (REFERENCE §5).
 * @module
 */
import { cborClientPortDefault } from "../constants.ts";
import { validatePath } from "../tree/path.ts";
import { BadArgumentsError } from "./errors.ts";

/**
 * One server to try: a host name or IP address (IPv6 without brackets) and a port.
 *
 * @example
 * ```ts
 * import type { ServerAddress } from "./connect_string.ts";
 * const address: ServerAddress = { hostname: "::1", port: 2281 };
 * ```
 */
export interface ServerAddress {
  /** Host name or address. */
  hostname: string;
  /** TCP port. */
  port: number;
}

/**
 * A parsed connect string.
 *
 * @example
 * ```ts
 * import type { ConnectString } from "./connect_string.ts";
 * const parsed: ConnectString = { hosts: [{ hostname: "127.0.0.1", port: 2281 }], chroot: "/app" };
 * ```
 */
export interface ConnectString {
  /** Servers in the order written; at least one. */
  hosts: ServerAddress[];
  /** The chroot every path is relative to: `""` for none, else a valid path like `/app`. */
  chroot: string;
}

/**
 * Parses `"h1:p1,h2:p2/chroot"`. A host without a port gets {@linkcode cborClientPortDefault}
 * (2281); an IPv6 address goes in brackets (`[::1]:2281`); a chroot of `/` means none. Throws a
 * {@linkcode BadArgumentsError} that says what is wrong.
 *
 * @example
 * ```ts
 * import { parseConnectString } from "./connect_string.ts";
 * const parsed = parseConnectString("10.0.0.1:2281,[::1]/app");
 * // { hosts: [{ hostname: "10.0.0.1", port: 2281 }, { hostname: "::1", port: 2281 }], chroot: "/app" }
 * ```
 */
export function parseConnectString(text: string): ConnectString {
  if (typeof text !== "string") throw bad(`a connect string must be a string, not ${typeof text}`);
  const slash = text.indexOf("/");
  const hostsPart = slash < 0 ? text : text.slice(0, slash);
  const chroot = slash < 0 ? "" : parseChroot(text.slice(slash));
  if (hostsPart.trim() === "") {
    throw bad(`connect string ${JSON.stringify(text)} names no server (expected "host:port,...")`);
  }
  const hosts = hostsPart.split(",").map((entry, i) => parseHost(entry.trim(), i));
  return { hosts, chroot };
}

function parseChroot(chroot: string): string {
  const problem = validatePath(chroot);
  if (problem !== null) throw bad(`invalid chroot ${JSON.stringify(chroot)}: ${problem}`);
  return chroot === "/" ? "" : chroot;
}

function parseHost(entry: string, index: number): ServerAddress {
  if (entry === "") throw bad(`server ${index + 1} of the connect string is empty`);
  let hostname: string;
  let portText: string | undefined;
  if (entry.startsWith("[")) {
    const close = entry.indexOf("]");
    if (close < 0) throw bad(`server ${JSON.stringify(entry)} opens "[" without closing "]"`);
    hostname = entry.slice(1, close);
    const rest = entry.slice(close + 1);
    if (rest !== "" && !rest.startsWith(":")) {
      throw bad(`server ${JSON.stringify(entry)} has text after "]" that is not ":port"`);
    }
    portText = rest === "" ? undefined : rest.slice(1);
  } else {
    const colon = entry.indexOf(":");
    if (colon !== entry.lastIndexOf(":")) {
      throw bad(
        `server ${JSON.stringify(entry)} looks like an IPv6 address: write it as [address]:port`,
      );
    }
    hostname = colon < 0 ? entry : entry.slice(0, colon);
    portText = colon < 0 ? undefined : entry.slice(colon + 1);
  }
  if (hostname === "") throw bad(`server ${JSON.stringify(entry)} has no host name`);
  if (/\s/.test(hostname)) throw bad(`host name ${JSON.stringify(hostname)} contains whitespace`);
  return {
    hostname,
    port: portText === undefined ? cborClientPortDefault : parsePort(portText, entry),
  };
}

function parsePort(text: string, entry: string): number {
  if (!/^\d{1,5}$/.test(text)) {
    throw bad(`port ${JSON.stringify(text)} of server ${JSON.stringify(entry)} is not a number`);
  }
  const port = Number(text);
  if (port < 1 || port > 65535) {
    throw bad(`port ${port} of server ${JSON.stringify(entry)} is outside 1..65535`);
  }
  return port;
}

function bad(message: string): BadArgumentsError {
  return new BadArgumentsError(`Invalid connect string: ${message}`);
}
