/**
 * ZooKeeper's quota bookkeeping, as its servers keep it: a client (zkCli `setquota`) writes limits
 * to `/zookeeper/quota<path>/zookeeper_limits` and creates `/zookeeper/quota<path>/zookeeper_stats`;
 * from then on every replica keeps the stats node's data at the count of nodes and bytes of data
 * in the subtree of `<path>`, as each txn applies (no txn of its own: every replica applies the
 * same txns, so all agree). Quotas are not enforced, as ZooKeeper's default soft quotas are not.
 * @module
 */

/** Where quota nodes live. */
export const quotaRoot = "/zookeeper/quota";
/** The node whose data holds a quota's limits. */
export const quotaLimitsName = "zookeeper_limits";
/** The node whose data the servers keep at the subtree's usage. */
export const quotaStatsName = "zookeeper_stats";

/** The quota'd path a limits or stats node belongs to, or null for any other path. */
export function quotaTarget(path: string, name: string): string | null {
  const suffix = `/${name}`;
  if (!path.startsWith(quotaRoot + "/") || !path.endsWith(suffix)) return null;
  const target = path.slice(quotaRoot.length, path.length - suffix.length);
  return target === "" ? null : target;
}

/** The stats node of quota'd `path`. */
export function quotaStatsPath(path: string): string {
  return `${quotaRoot}${path}/${quotaStatsName}`;
}

/** Usage of a quota'd subtree. */
export interface QuotaUsage {
  count: number;
  bytes: number;
}

/** Reads `count=N,bytes=M` (ZooKeeper's StatsTrack); missing fields read as 0. */
export function parseQuotaUsage(text: string): QuotaUsage {
  const usage: QuotaUsage = { count: 0, bytes: 0 };
  for (const part of text.split(",")) {
    const [key, value] = part.split("=");
    const n = Number(value);
    if ((key === "count" || key === "bytes") && Number.isSafeInteger(n)) usage[key] = n;
  }
  return usage;
}

/** Writes usage as ZooKeeper's StatsTrack does. */
export function formatQuotaUsage(usage: QuotaUsage): string {
  return `count=${usage.count},bytes=${usage.bytes}`;
}
