// Fuzzing, part 1: 6,000 mutations of real specs (the two examples and the tiny spec).
import { readFileSync } from "node:fs";
import path from "node:path";
import fc from "fast-check";
import { describe, it } from "vitest";
import { compilesSafely, mutated } from "./fuzz-support.js";
import { ROOT, TINY } from "./helpers.js";

const seven = readFileSync(path.join(ROOT, "examples/llava-v1.5-7b/llava.llava"), "utf8");
const thirteen = readFileSync(path.join(ROOT, "examples/llava-v1.5-13b/llava.llava"), "utf8");

// Each property takes ~40 s on a quiet 2-core machine; on a busy one it passed the default 120 s limit.
describe("fuzz: mutated specs never crash the compiler and every diagnostic points inside a file", () => {
  it("3,500 mutations of the tiny spec", async () => {
    await fc.assert(fc.asyncProperty(mutated(TINY), compilesSafely), { numRuns: 3500, seed: 4242 });
  }, 600_000);
  it("2,500 mutations of the LLaVA-1.5 examples", async () => {
    await fc.assert(fc.asyncProperty(fc.oneof(mutated(seven), mutated(thirteen)), compilesSafely), { numRuns: 2500, seed: 1515 });
  }, 600_000);
});
