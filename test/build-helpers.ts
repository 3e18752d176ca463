// Building specs in memory for the emission tests.
import { filesToWrite } from "../compiler/build.js";
import { compile, type CompileResult } from "../compiler/compile.js";
import { ROOT } from "./helpers.js";

export async function buildFiles(
  spec: string,
  opts: { source?: string; env?: Record<string, string> } = {},
): Promise<{ result: CompileResult; files: Map<string, string> }> {
  const result = await compile(spec, { env: opts.env ?? {}, cwd: ROOT, ...(opts.source !== undefined ? { source: opts.source } : {}) });
  const outputs = result.diags.errorCount === 0 ? filesToWrite(result.emitted) : [];
  return { result, files: new Map(outputs.map((f) => [f.path, f.content])) };
}

/** Flatten parsed YAML into dotted paths → leaf values, for key-by-key comparison. */
export function flatten(v: unknown, prefix = "", out = new Map<string, unknown>()): Map<string, unknown> {
  if (Array.isArray(v)) {
    if (v.length === 0) out.set(prefix, []);
    v.forEach((x, i) => flatten(x, prefix ? `${prefix}.${i}` : String(i), out));
  } else if (v !== null && typeof v === "object") {
    const entries = Object.entries(v);
    if (entries.length === 0) out.set(prefix, {});
    for (const [k, x] of entries) flatten(x, prefix ? `${prefix}.${k}` : k, out);
  } else out.set(prefix, v);
  return out;
}
