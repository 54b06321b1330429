/**
 * Schedules the soak (`scripts/soak`) once found violations in, kept as they shrank so the bug they
 * showed stays fixed. Each names the fix; each fails with that fix reverted.
 * @module
 */
import { runGuaranteeCase } from "./_guarantees.ts";
import type { GuaranteeCase } from "./_schedule.ts";

Deno.test("guarantees: a resume is not refused as expired while the close is only ordered (soak seed 1585229187)", () => {
  // Two crashes and a power outage: a client resuming its session was told SessionExpired by a
  // leader that had ordered, not committed, the close; a synced read elsewhere then still saw the
  // session's ephemeral, which no order of the history explains. Fixed by holding the refusal
  // until the close applies (Replica #resumeSession).
  const c: GuaranteeCase = {
    seed: 19,
    schedule: [
      { afterMs: 1684, fault: { kind: "crash", server: 7 } },
      { afterMs: 1272, fault: { kind: "crash", server: 0 } },
      { afterMs: 1344, fault: { kind: "outage", stallMs: 1227 } },
    ],
  };
  runGuaranteeCase(c);
});
