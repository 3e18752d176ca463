// Test-file order for a clean checkout: vitest orders files by the durations it cached on an earlier run,
// and a fresh clone (CI) has none, so the longest files could start last and leave one worker idle at
// the end. These start first (their durations on the 2-core CI machine, in the order measured there);
// everything else follows in vitest's own order.
import { BaseSequencer, type TestSpecification } from "vitest/node";

const LONGEST_FIRST = [
  "program.test.ts", // trains the tiny example, then chats with it
  "data-kill.test.ts", // ~145 s (three commands, each run ~30 times)
  "train.test.ts", // ~95 s
  "fuzz-mutations.test.ts", // ~85 s
  "tensorboard.test.ts", // ~75 s
  "package.test.ts",
  "data-resume.test.ts",
  "check-build-agreement.test.ts",
  "smoke.test.ts",
  "check-data.test.ts",
  "writer-equality.test.ts",
  "parity.test.ts",
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
