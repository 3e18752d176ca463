import { defineConfig } from "vitest/config";
import LongestFirst from "./test/sequencer.js";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    globalSetup: ["test/global-setup.ts"],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: "forks",
    // Two test files at a time on a 2-core machine: vitest's default (cores − 1) runs them one by one, and
    // most files wait on child processes or a single-threaded wasm backend rather than on both cores.
    maxWorkers: 2,
    minWorkers: 1,
    reporters: ["default"],
    sequence: { sequencer: LongestFirst },
  },
});
