// `llavac diff <a.llava> <b.llava>` or `llavac diff <spec> --rev REV`: the changed values and their knock-ons.
import type { Command } from "commander";
import type { CompileOptions, CompileResult } from "../compile.js";
import type { Painter } from "../diagnostics.js";

interface Io {
  compileSpec(spec: string, more?: CompileOptions): Promise<CompileResult>;
  printDiagnostics(result: CompileResult, paint: Painter): void;
  paint: (color?: boolean) => Painter;
  usage(message: string): Error;
  setExit(code: number): void;
}

export function registerDiffCommand(program: Command, io: Io): void {
  program
    .command("diff")
    .description("what changes between two specs (or a spec and itself at a git revision): values, derived numbers and emitted YAML keys")
    .argument("<a>", "the old spec (or, with --rev, the spec)")
    .argument("[b]", "the new spec")
    .option("--rev <rev>", "compare the spec at this git revision (old) with the file as it is (new)")
    .option("--format <format>", "human or json", "human")
    .action(async (a: string, b: string | undefined, o: { rev?: string; format: string }) => {
      if (o.format !== "human" && o.format !== "json") throw io.usage(`unknown format "${o.format}" (use human or json)`);
      if ((b === undefined) === (o.rev === undefined)) throw io.usage("give two specs, or one spec and --rev <revision>");
      const { atRevision, diffSpecs, renderDiff, DiffError } = await import("../diff.js");
      let old: CompileResult;
      let names: { a: string; b: string };
      try {
        if (o.rev !== undefined) {
          const at = atRevision(a, o.rev);
          old = await io.compileSpec(a, { fs: at.fs });
          names = { a: `${a} @ ${o.rev} (${at.commit.slice(0, 12)})`, b: a };
        } else {
          old = await io.compileSpec(a);
          names = { a, b: b! };
        }
      } catch (err) {
        if (!(err instanceof DiffError)) throw err;
        process.stderr.write(`llavac: ${err.message}\n`);
        io.setExit(1);
        return;
      }
      const now = await io.compileSpec(b ?? a);
      const broken = [old, now].filter((r) => r.diags.errorCount > 0);
      if (broken.length) {
        for (const r of broken) io.printDiagnostics(r, io.paint());
        process.stderr.write(
          `llavac: diff needs specs without errors (${broken.length === 2 ? "both have" : `${broken[0] === old ? names.a : names.b} has`} errors)\n`,
        );
        io.setExit(1);
        return;
      }
      const d = diffSpecs(old, now, names);
      process.stdout.write(o.format === "json" ? JSON.stringify(d, (_k, v) => (v === undefined ? null : v), 2) + "\n" : renderDiff(d));
      io.setExit(0);
    });
}
