/** Linearizable writes, sequentially consistent reads, FIFO order and one-shot watches under 500 fault schedules on 3 voters, up to 4 faults (see props/_guarantees.ts). */
import { guaranteeSlice } from "./_guarantee_suite.ts";

guaranteeSlice(import.meta.url, {
  name: "3 voters, up to 4 faults",
  voters: 3,
  runs: 500,
  maxFaults: 4,
});
