// Fuzzing, part 2: 4,000 random token streams, from the language's own vocabulary and broken pieces.
import fc from "fast-check";
import { describe, it } from "vitest";
import { compilesSafely, tokenStream } from "./fuzz-support.js";

describe("fuzz: random token streams never crash the compiler and every diagnostic points inside a file", () => {
  it("4,000 random token streams", async () => {
    await fc.assert(fc.asyncProperty(tokenStream, compilesSafely), { numRuns: 4000, seed: 777 });
  });
});
