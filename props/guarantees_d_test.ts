/** Linearizable writes, sequentially consistent reads, FIFO order and one-shot watches under 500 fault schedules on 3 or 5 voters, up to 16 faults (see props/_guarantees.ts). */
import { guaranteeSlice } from "./_guarantee_suite.ts";

guaranteeSlice(import.meta.url, {
  name: "3 or 5 voters, up to 16 faults",
  runs: 500,
  maxFaults: 16,
});
