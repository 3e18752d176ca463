// Says once, at the top of the test log, which backend the suite trains on; and gives the run one
// temporary folder that every test's mkdtemp lands in (TMPDIR is inherited by the test processes and by
// the CLIs they spawn), removed when the run ends, so a run leaves nothing behind in the machine's /tmp.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { DEFAULT_BACKEND, HAS_NATIVE, NATIVE_MISSING, PROBE_ENV } from "./native.js";

export default function setup(): () => void {
  process.stdout.write(
    HAS_NATIVE
      ? `llavac tests: the native backend loads; training tests run on "${DEFAULT_BACKEND}", parity and kernel tests on tensorflow, wasm and cpu\n`
      : `llavac tests: the native backend is not built (${NATIVE_MISSING}); training tests run on "${DEFAULT_BACKEND}", native tests are skipped\n`,
  );
  // The test processes inherit the environment: they read the probe's answer instead of probing again.
  process.env[PROBE_ENV] = NATIVE_MISSING ?? "";
  const root = mkdtempSync(path.join(tmpdir(), "llavac-tests-"));
  const before = process.env.TMPDIR;
  process.env.TMPDIR = root;
  return () => {
    delete process.env[PROBE_ENV];
    if (before === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = before;
    if (!process.env.LLAVAC_KEEP_TEST_TMP) rmSync(root, { recursive: true, force: true });
  };
}
