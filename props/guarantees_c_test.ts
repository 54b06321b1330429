/** Linearizable writes, sequentially consistent reads, FIFO order and one-shot watches under 500 fault schedules on 5 voters (see props/_guarantees.ts). */
import { guaranteeSlice } from "./_guarantee_suite.ts";

guaranteeSlice(import.meta.url, { name: "5 voters", voters: 5, runs: 500 });
