// Test-file order for a clean checkout: vitest orders files by the durations it cached on an earlier run,
// and a fresh clone (CI) has none, so the longest files could start last and leave one worker idle at
// the end. These start first (their durations on the 2-core CI machine, in the order measured there);
// everything else follows in vitest's own order.
import { BaseSequencer, type TestSpecification } from "vitest/node";

const LONGEST_FIRST = [
  "program.test.ts", // ~240 s: trains the tiny example, then chats with it
  "train.test.ts", // ~150 s
  "data-kill.test.ts", // ~125 s
  "tensorboard.test.ts",
  "package.test.ts",
  "fuzz-mutations.test.ts",
  "data-resume.test.ts",
  "writer-equality.test.ts",
];

export default class LongestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const rank = (f: TestSpecification) => {
      const i = LONGEST_FIRST.findIndex((name) => f.moduleId.endsWith(`/test/${name}`));
      return i < 0 ? LONGEST_FIRST.length : i;
    };
    return sorted
      .map((f, i) => ({ f, i }))
      .sort((a, b) => rank(a.f) - rank(b.f) || a.i - b.i)
      .map((x) => x.f);
  }
}
