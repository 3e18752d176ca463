// Says once, at the top of the test log, which backend the suite trains on.
import { DEFAULT_BACKEND, HAS_NATIVE, NATIVE_MISSING } from "./native.js";

export default function setup(): void {
  process.stdout.write(
    HAS_NATIVE
      ? `llavac tests: the native backend loads; training tests run on "${DEFAULT_BACKEND}", parity and kernel tests on tensorflow, wasm and cpu\n`
      : `llavac tests: the native backend is not built (${NATIVE_MISSING}); training tests run on "${DEFAULT_BACKEND}", native tests are skipped\n`,
  );
}
