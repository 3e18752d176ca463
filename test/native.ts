// Whether the native backend (@tensorflow/tfjs-node, built by `llavac backend install`) loads here.
// Checked in a child process so that a test file which only spawns the CLI does not load TensorFlow.
import { spawnSync } from "node:child_process";
import { ROOT } from "./helpers.js";

function probe(): string | null {
  const r = spawnSync(
    process.execPath,
    [
      "-e",
      `const tf = require("@tensorflow/tfjs-node"); if (tf.getBackend() !== "tensorflow") throw new Error("backend " + tf.getBackend());`,
    ],
    {
      cwd: ROOT,
      encoding: "utf8",
      env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: "2" },
    },
  );
  if (r.status === 0) return null;
  return (r.stderr.split("\n").find((l) => /Error|Cannot find/.test(l)) ?? `exit ${r.status}`).trim();
}

/** Where the global setup leaves its probe's answer for the test files ("" when the backend loads): a probe
 *  loads TensorFlow in a child process, a second and a half of CPU that every file importing this paid. */
export const PROBE_ENV = "LLAVAC_TEST_NATIVE_MISSING";
const probed = process.env[PROBE_ENV];

/** null when the native backend loads; otherwise why not. */
export const NATIVE_MISSING: string | null = probed === undefined ? probe() : probed === "" ? null : probed;
export const HAS_NATIVE = NATIVE_MISSING === null;
// .ci/run sets this after building the backend: there a missing backend is a failure, not a skip.
if (!HAS_NATIVE && process.env.LLAVAC_REQUIRE_NATIVE === "1")
  throw new Error(`LLAVAC_REQUIRE_NATIVE=1 but the native backend does not load: ${NATIVE_MISSING}`);

/** The backend `llavac run` picks with no --backend and no LLAVAC_BACKEND (no GPU package is built here). */
export const DEFAULT_BACKEND = process.env.LLAVAC_BACKEND ?? (HAS_NATIVE ? "tensorflow" : "wasm");

export function warnIfNoNative(what: string): void {
  if (!HAS_NATIVE)
    console.warn(
      `${what}: the native backend is not built here (${NATIVE_MISSING}); its tests are skipped (\`llavac backend install\` builds it; .ci/run does)`,
    );
}
