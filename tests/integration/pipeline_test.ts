/**
 * FIFO client order under pipelining (REFERENCE §6): one client sends 10,000 mixed requests
 * without awaiting each, and every answer arrives in send order with consecutive versions.
 * @module
 */
import assert from "../assert.ts";
import type { NodeData } from "../../src/client/mod.ts";
import type { Stat } from "../../src/tree/types.ts";
import { text, withServer } from "./_helpers.ts";

const requestCount = 10_000;
const nodeCount = 10;

Deno.test("One client's 10,000 pipelined requests are answered in send order with consecutive versions", async () => {
  await withServer(async ({ open }) => {
    const client = await open();
    await client.create("/pipe");
    // Request i touches node i % nodeCount: first a create, then setData/getData in turn, each
    // setData naming the version the previous one must have produced.
    const versions = new Array<number>(nodeCount).fill(-1);
    const expected: { kind: "create" | "setData" | "getData"; node: number; version: number }[] =
      [];
    const promises: Promise<unknown>[] = [];
    const completed: number[] = [];
    for (let i = 0; i < requestCount; i++) {
      const node = i % nodeCount;
      const path = `/pipe/n${node}`;
      const round = Math.floor(i / nodeCount);
      let promise: Promise<unknown>;
      if (versions[node] === -1) {
        versions[node] = 0;
        expected.push({ kind: "create", node, version: 0 });
        promise = client.create(path, "v0");
      } else if (round % 2 === 1) {
        const version = versions[node];
        versions[node] = version + 1;
        expected.push({ kind: "setData", node, version: version + 1 });
        promise = client.setData(path, `v${version + 1}`, { version });
      } else {
        expected.push({ kind: "getData", node, version: versions[node] });
        promise = client.getData(path);
      }
      promises.push(promise.then((value) => {
        completed.push(i);
        return value;
      }));
    }
    const results = await Promise.all(promises);
    assert.equal(completed.length, requestCount);
    for (let i = 0; i < requestCount; i++) {
      if (completed[i] !== i) assert.fail(`answer ${i} was for request ${completed[i]}`);
    }
    const seen = new Array<number>(nodeCount).fill(-1);
    for (let i = 0; i < requestCount; i++) {
      const want = expected[i];
      const got = results[i];
      if (want.kind === "create") {
        assert.equal(got, `/pipe/n${want.node}`);
        seen[want.node] = 0;
      } else if (want.kind === "setData") {
        const stat = got as Stat;
        if (stat.version !== seen[want.node] + 1) {
          assert.fail(
            `request ${i}: setData gave version ${stat.version} after ${seen[want.node]}`,
          );
        }
        seen[want.node] = stat.version;
      } else {
        const { data, stat } = got as NodeData;
        if (stat.version !== want.version || text(data) !== `v${want.version}`) {
          assert.fail(
            `request ${i}: read version ${stat.version} "${text(data)}", expected ${want.version}`,
          );
        }
      }
    }
    assert.deepEqual(seen, versions);
    const setDataPerNode = requestCount / nodeCount / 2 - 1;
    assert.ok(versions.every((v) => v >= setDataPerNode), `versions ${versions}`);
  });
});
