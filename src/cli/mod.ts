/**
 * The `corral` command line: `corral serve` runs a server, `corral shell` opens an interactive
 * session, and `corral ls|get|set|create|delete|deleteall|stat|getacl|setacl|sync` run one
 * zkCli-like command against a server and exit (0 success, 1 server error, 2 usage error).
 * `main.ts` is the program's entry point; `compile.sh` turns it into one self-contained binary.
 *
 * @example
 * ```ts ignore
 * import { main } from "./mod.ts";
 * const code = await main(["get", "/a", "--server", "127.0.0.1:2281"]);
 * ```
 * @module
 */
export { main } from "./main.ts";
export type { CliIo } from "./io.ts";
export { processIo } from "./io.ts";
