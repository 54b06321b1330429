/**
 * The TypeScript client of Corral, for Deno, Bun and Node.
 *
 * {@linkcode connect} opens a session with one server of a connect string
 * (`"host:port,host:port/chroot"`) and returns a {@linkcode Client}: promise-based operations
 * (create, including containers and TTL nodes, getData, setData, delete, exists, getChildren,
 * getAllChildrenNumber, getEphemerals, getACL, setACL, sync, multi, multiRead, addAuth, whoAmI,
 * and saveSnapshot for an online backup), many in flight at once and answered in the order they
 * were called; one-shot watches delivered to a function or to the default watcher, persistent and
 * recursive watches (addWatch, removeWatches, checkWatches); session state events; automatic
 * reconnection that keeps the session, its ephemerals and its watches. Failures reject with a subclass of
 * {@linkcode CorralError}, one per error code.
 *
 * @example
 * ```ts ignore
 * import { connect, NodeExistsError, op } from "./mod.ts";
 *
 * const client = await connect("127.0.0.1:2281/app");
 * try {
 *   await client.create("/config", "v1");
 * } catch (error) {
 *   if (!(error instanceof NodeExistsError)) throw error;
 * }
 * const { data, stat } = await client.getData("/config", {
 *   watch: (event) => console.log(event.type, event.path),
 * });
 * await client.multi([op.check("/config", stat.version), op.setData("/config", "v2")]);
 * await client.close();
 * ```
 * @module
 */
export { Client, connect } from "./client.ts";
export * from "./types.ts";
export { type ConnectString, parseConnectString, type ServerAddress } from "./connect_string.ts";
export * from "./errors.ts";
export type { Acl, CreateMode, ErrorCode, Stat, WatchEventType } from "../tree/types.ts";
export { creatorAllAcl, openAcl, Perms, readOnlyAcl } from "../tree/types.ts";
