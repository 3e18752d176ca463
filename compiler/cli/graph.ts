// `llavac graph <spec> [--phase P] -o FILE.svg|png`: a phase's model and data path as a picture.
import type { Command } from "commander";
import path from "node:path";
import { writeFileAtomic } from "../../runtime/util/atomic.js";
import type { CompileResult } from "../compile.js";
import type { Derived } from "../derive.js";
import type { Painter } from "../diagnostics.js";

interface Io {
  compileSpec(spec: string): Promise<CompileResult>;
  printDiagnostics(result: CompileResult, paint: Painter): void;
  paint: (color?: boolean) => Painter;
  usage(message: string): Error;
  setExit(code: number): void;
}

export function registerGraphCommand(program: Command, io: Io): void {
  program
    .command("graph")
    .description(
      "draw a phase's model (vision tower → projector → language model, shapes, parameter counts, frozen or trained) and its data path",
    )
    .argument("<spec>", "the .llava file")
    .option("--phase <phase>", "the phase to draw (default: the first)")
    .requiredOption("-o, --out <file>", "the picture: FILE.svg or FILE.png")
    .action(async (spec: string, o: { phase?: string; out: string }) => {
      const ext = path.extname(o.out).toLowerCase();
      if (ext !== ".svg" && ext !== ".png") throw io.usage(`-o ${o.out}: the picture is a .svg or a .png file`);
      const result = await io.compileSpec(spec);
      const phases = result.phases.filter((p) => p.derived);
      const p = o.phase === undefined ? phases[0] : phases.find((x) => x.unit.ir.$name === o.phase);
      if (!p) {
        io.printDiagnostics(result, io.paint());
        const names = result.phases.map((x) => x.unit.ir.$name);
        if (o.phase !== undefined && !names.includes(o.phase))
          throw io.usage(`no phase "${o.phase}" in ${spec} (phases: ${names.join(", ") || "none"})`);
        process.stderr.write(`llavac: ${o.phase ? `phase ${o.phase}` : "no phase"} of ${spec} can be drawn: fix its errors first\n`);
        io.setExit(1);
        return;
      }
      const { graphSvg, modelGraph } = await import("../graph.js");
      const svg = graphSvg(modelGraph(p as typeof p & { derived: Derived }));
      if (ext === ".svg") writeFileAtomic(o.out, svg);
      else {
        const sharp = (await import("sharp")).default;
        writeFileAtomic(o.out, await sharp(Buffer.from(svg), { density: 144 }).png().toBuffer());
      }
      process.stdout.write(`  wrote ${o.out} (phase ${p.unit.ir.$name})\n`);
      io.setExit(0);
    });
}
