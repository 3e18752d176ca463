// `llavac check --data`: each phase's jsonl read as `llavac data hdf5` reads it (the writer's own
// classification, runtime/data/classify.ts), nothing written. What the writer would skip or cut is one
// warning per reason at the spec's dataset field, with data file:line examples in notes; the catalog
// (W0710–W0723) gives each its level, so `--deny`, `--allow` and `--strict` apply. Loaded only with --data.
import path from "node:path";
import type { ImageCheck, SkipKind } from "../../runtime/data/classify.js";
import type { DataReport, ReasonCount } from "../../runtime/data/check-data.js";
import { thousands } from "../../runtime/util/format.js";
import type { Holes, WarningCode } from "../codes.js";
import type { CompileResult } from "../compile.js";
import type { Note } from "../diagnostics.js";

export interface DataCheckOptions {
  /** Check this many records per phase, spread over its files. */
  sample?: number;
  /** `probe` (the default) reads image headers; `decode` decodes them as the writer does; `none` skips them. */
  images?: ImageCheck;
}

export interface PhaseDataReport {
  phase: string;
  /** Why the phase's data was not checked (no HDF5 written here, or unreadable input). */
  notChecked?: string;
  report?: DataReport;
}

type DataCode = Exclude<Extract<WarningCode, `W07${string}`>, "W0711">;
const CODE_OF: Record<SkipKind, DataCode> = {
  too_long: "W0710",
  missing_image: "W0712",
  bad_image: "W0713",
  unsafe_image_path: "W0714",
  bad_role: "W0715",
  role_order: "W0716",
  image_token_count: "W0717",
  no_supervised_tokens: "W0718",
  malformed_json: "W0719",
  invalid_utf8: "W0720",
  invalid_record: "W0721",
  odd_turns: "W0722",
  no_turns: "W0723",
};

export async function checkPhaseData(result: CompileResult, opts: DataCheckOptions): Promise<PhaseDataReport[]> {
  const { DataJobError, hdf5JobConfig } = await import("../data-job.js");
  const { checkData } = await import("../../runtime/data/check-data.js");
  const { Hdf5JobError } = await import("../../runtime/data/hdf5-job.js");
  const { SKIP_KINDS } = await import("../../runtime/data/classify.js");
  const ctx = result.ctx;
  const out: PhaseDataReport[] = [];
  const show = (f: string) => path.relative(ctx.cwd, f) || f;
  for (const phase of result.phases) {
    const name = phase.unit.ir.$name;
    if (!phase.derived) {
      out.push({ phase: name, notChecked: "the phase has errors" });
      continue;
    }
    const unit = phase.unit;
    const at = ctx.spanOf(unit, unit.ir.preprocess?.input !== undefined ? "preprocess.input" : "data");
    let cfg: ReturnType<typeof hdf5JobConfig>;
    try {
      cfg = hdf5JobConfig(result, phase as typeof phase & { derived: NonNullable<typeof phase.derived> }, {
        workers: 0,
        force: false,
        checkImages: true,
      });
    } catch (err) {
      if (!(err instanceof DataJobError)) throw err;
      out.push({ phase: name, notChecked: err.message });
      continue;
    }
    let report: DataReport;
    try {
      report = await checkData(cfg, { images: opts.images ?? "probe", ...(opts.sample !== undefined ? { sample: opts.sample } : {}) });
    } catch (err) {
      if (!(err instanceof Hdf5JobError)) throw err;
      ctx.diags.error("E0710", { phase: name, reason: err.message }, at, {
        help: "prepare the jsonl first (`llavac data prepare`), or point the dataset's `jsonl` at it",
      });
      out.push({ phase: name, notChecked: err.message });
      continue;
    }
    out.push({ phase: name, report });
    const checked = report.sampled ? `${thousands(report.checked)} sampled` : thousands(report.checked);
    const sampleNote: Note[] = report.sampled
      ? [
          {
            message: `a sample of ${thousands(report.checked)} of ${thousands(report.records)} records, spread over the files: counts are of the sample`,
          },
        ]
      : [];
    const notes = (rc: ReasonCount): Note[] => [
      ...rc.examples.map((e) => ({
        message: `${show(e.file)}:${e.line}${e.id !== null && e.id !== undefined && e.id !== "" ? ` (id ${JSON.stringify(e.id)})` : ""}: ${e.detail}`,
      })),
      ...(rc.count > rc.examples.length
        ? [{ message: `and ${thousands(rc.count - rc.examples.length)} more (\`llavac data hdf5 --report FILE\` lists every one)` }]
        : []),
      ...sampleNote,
    ];
    const holes = { checked, phase: name, msl: thousands(report.msl) };
    for (const reason of SKIP_KINDS) {
      const rc = report.skipped[reason];
      if (!rc) continue;
      const help =
        reason === "bad_image" && report.images === "probe"
          ? "only the headers were read: `--decode-images` decodes every image, as `data hdf5` does"
          : reason === "too_long"
            ? "raise the language model's max_position_embeddings, shorten the samples, or set `preprocess.over_length: truncate`"
            : "fix or remove these records; `data hdf5` skips them and counts them by reason";
      // Every data code's template has the same holes (count, checked, phase, and msl for the length codes).
      ctx.diags.warning(CODE_OF[reason], { ...holes, count: thousands(rc.count) } as Holes<"W0710">, at, { notes: notes(rc), help });
    }
    if (report.cut.count > 0)
      ctx.diags.warning("W0711", { ...holes, count: thousands(report.cut.count) }, at, {
        notes: notes(report.cut),
        help: "the end of each of these conversations is not trained on",
      });
  }
  return out;
}

/** The terminal summary: per phase, what was read, what the writer would skip, and the length histogram. */
export function renderDataReports(
  reports: PhaseDataReport[],
  cwd: string,
  paint: { dim(s: string): string; yellow(s: string): string },
): string {
  const out: string[] = [];
  for (const r of reports) {
    if (!r.report) {
      out.push(`data ${r.phase}: not checked (${r.notChecked})`);
      continue;
    }
    const d = r.report;
    const files = d.files.map((f) => path.relative(cwd, f) || f);
    const rate = Math.round(d.checked / Math.max(d.seconds, 1e-3));
    out.push(
      `data ${r.phase}  ${d.sampled ? `${thousands(d.checked)} sampled of ${thousands(d.records)} records` : `${thousands(d.checked)} records`} in ${files.length === 1 ? files[0] : `${files.length} files`}` +
        paint.dim(
          `  (${d.seconds.toFixed(1)} s, ${thousands(rate)} records/s; images: ${d.images === "probe" ? "header read" : d.images === "decode" ? "decoded" : "not opened"})`,
        ),
    );
    const skipped = Object.entries(d.skipped) as [SkipKind, ReasonCount][];
    const total = skipped.reduce((a, [, c]) => a + c.count, 0);
    const rows: [string, string][] = [
      ["kept", `${thousands(d.kept)}${d.cut.count ? ` (${thousands(d.cut.count)} cut to the MSL)` : ""}`],
      ["skipped", thousands(total)],
      ...skipped.map(([k, c]) => [`  ${k}`, thousands(c.count)] as [string, string]),
    ];
    const w = Math.max(...rows.map(([k]) => k.length));
    for (const [k, v] of rows) out.push(`  ${k.padEnd(w)}  ${v}`);
    if (d.lengths) {
      const l = d.lengths;
      out.push(
        `  token length (image slots included)  min ${thousands(l.min)} · median ${thousands(l.median)} · p99 ${thousands(l.p99)} · max ${thousands(l.max)}${l.maxAt ? ` (${path.relative(cwd, l.maxAt.file) || l.maxAt.file}:${l.maxAt.line})` : ""} · MSL ${thousands(d.msl)}`,
      );
      const rowsH = [...d.histogram.bins.map((b) => [`${thousands(b.from)}–${thousands(b.to)}`, b.count] as [string, number])];
      if (d.histogram.over > 0) rowsH.push([`> ${thousands(d.msl)}`, d.histogram.over]);
      const most = Math.max(1, ...rowsH.map(([, c]) => c));
      const lw = Math.max(...rowsH.map(([k]) => k.length));
      const cw = Math.max(...rowsH.map(([, c]) => thousands(c).length));
      for (const [k, c] of rowsH) {
        const bar = "█".repeat(Math.round((30 * c) / most)) || (c > 0 ? "▏" : "");
        const line = `    ${k.padStart(lw)}  ${thousands(c).padStart(cw)}  ${bar}`.trimEnd();
        out.push(k.startsWith(">") ? paint.yellow(line) : line);
      }
    }
  }
  return out.length ? out.join("\n") + "\n" : "";
}
