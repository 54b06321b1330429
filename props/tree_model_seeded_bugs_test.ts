/**
 * The twins of `tree_model_test.ts`: the same property, run against a replica with one seeded
 * bug each (`_buggy.ts`), must find a counterexample. A property that cannot fail is a defect
 * (DESIGN.md, "Testing the guarantees").
 * @module
 */
import {
  type ActionsBug,
  childWatchNeverFires,
  eventAfterResponse,
  replicaWithBug,
  responsesSwapped,
  sequentialSuffixOffByOne,
  watchFiresTwice,
} from "./_buggy.ts";
import { assertFindsBug } from "./_props.ts";
import { replicaMatchesModel } from "./_replica_property.ts";

const bugs: [string, ActionsBug][] = [
  ["the tree model property catches a watch that fires twice", watchFiresTwice],
  ["the tree model property catches a child watch that never fires", childWatchNeverFires],
  [
    "the tree model property catches two responses of one connection sent in the wrong order",
    responsesSwapped,
  ],
  [
    "the tree model property catches a watch event sent after the response that reflects its change",
    eventAfterResponse,
  ],
  [
    "the tree model property catches a sequential create that reports the wrong suffix",
    sequentialSuffixOffByOne,
  ],
];

for (const [name, bug] of bugs) {
  Deno.test(name, () => {
    assertFindsBug(
      { url: import.meta.url, testName: name },
      replicaMatchesModel(replicaWithBug(bug)),
      { runs: 150 },
    );
  });
}
