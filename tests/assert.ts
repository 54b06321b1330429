/**
 * The one assertion module tests import. It re-exports `node:assert/strict` because `@std/assert`
 * lives on JSR, which this environment cannot reach; switching is a change to this file only.
 * Use the default export: `import assert from "../assert.ts"; assert.equal(a, b)`.
 * @module
 */
import assert from "node:assert/strict";

export default assert;
