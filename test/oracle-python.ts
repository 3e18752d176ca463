// Which Python runs a test's oracle. The Debian packages (python3-h5py, -pil, -sentencepiece, -yaml) live in
// Debian's /usr/bin/python3; the packages only the machines' local pip store has (ftfy, tensorboard) live in
// `.oracles/`, a venv over Debian's python3 (so the Debian ones stay importable) that `.ci/run` creates.
// LLAVAC_ORACLE_PYTHON names another interpreter. Tests skip, saying why, when no interpreter has the modules.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";

const VENV_PYTHON = join(import.meta.dirname, "..", ".oracles", "bin", "python");
const found = new Map<string, string | undefined>();

/** The first interpreter that imports every one of `modules`, or undefined when none does. */
export function oraclePython(...modules: string[]): string | undefined {
  const key = modules.join(",");
  if (found.has(key)) return found.get(key);
  const candidates = [process.env.LLAVAC_ORACLE_PYTHON, VENV_PYTHON, "/usr/bin/python3", "python3"];
  let hit: string | undefined;
  for (const py of candidates) {
    if (!py || (py.includes("/") && !existsSync(py))) continue;
    const r = spawnSync(py, ["-c", modules.map((m) => `import ${m}`).join("; ") || "pass"], { stdio: "ignore", timeout: 60_000 });
    if (r.status === 0) {
      hit = py;
      break;
    }
  }
  found.set(key, hit);
  return hit;
}
