/**
 * The replica against the reference model (REFERENCE §1-§4): random schedules of creates in all
 * modes, deletes, setData, reads with and without watches, multis, closes, disconnects, expiry by
 * ticks and delayed storage, from several sessions at once.
 * @module
 */
import { Replica } from "../src/replica/replica.ts";
import { assertProperty } from "./_props.ts";
import { replicaMatchesModel, tickMs } from "./_replica_property.ts";

const name =
  "Replica answers every schedule of sessions, writes, reads and watches as the reference model does";
Deno.test(name, () => {
  assertProperty(
    { url: import.meta.url, testName: name },
    replicaMatchesModel(() => new Replica({ serverId: 1, tickMs, sessionIdBase: 1 })),
    { runs: 1000 },
  );
});
