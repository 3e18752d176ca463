// `llavac weights`: the weights hand-off with the LLaVA repository (`--target llava-repo`). `to-llava-repo`
// writes a llavac checkpoint's projector as the repository's mm_projector.bin (what phase 2 loads with
// --pretrain_mm_mlp_adapter); `from-llava-repo` reads an mm_projector.bin the repository saved back into
// Cerebras-named safetensors, which `llavac run --weights` loads.
import type { Command } from "commander";
import { existsSync, readFileSync } from "node:fs";
import { checkpointToMmProjector, readMmProjector } from "../../runtime/weights/llava-repo.js";
import { f32Entry, SafetensorsError, writeSafetensors } from "../../runtime/weights/safetensors.js";
import { TorchFileError } from "../../runtime/weights/torch-pickle.js";

interface Io {
  setExit(code: number): void;
}

export function registerWeightsCommand(program: Command, io: Io): void {
  const weights = program.command("weights").description("convert weights between llavac (Cerebras names) and the LLaVA repository");
  const guarded = (what: string, f: () => string) => {
    try {
      process.stderr.write(`${f()}\n`);
      io.setExit(0);
    } catch (err) {
      if (!(err instanceof TorchFileError || err instanceof SafetensorsError || (err as NodeJS.ErrnoException).code)) throw err;
      process.stderr.write(`llavac weights ${what}: ${(err as Error).message}\n`);
      io.setExit(1);
    }
  };
  weights
    .command("to-llava-repo")
    .description("a llavac checkpoint's projector → the LLaVA repository's mm_projector.bin (torch.save format)")
    .argument("<checkpoint>", "a llavac checkpoint (.safetensors, Cerebras names)")
    .requiredOption("-o, --out <file>", "the mm_projector.bin to write")
    .action((checkpoint: string, o: { out: string }) =>
      guarded("to-llava-repo", () => {
        if (!existsSync(checkpoint)) throw new TorchFileError(`not found: ${checkpoint}`);
        const names = checkpointToMmProjector(checkpoint, o.out);
        return `wrote ${o.out}: ${names.join(", ")}`;
      }),
    );
  weights
    .command("from-llava-repo")
    .description("the LLaVA repository's mm_projector.bin → safetensors of llavac's Cerebras names")
    .argument("<mm_projector>", "an mm_projector.bin that the repository saved")
    .requiredOption("-o, --out <file>", "the .safetensors to write")
    .action((file: string, o: { out: string }) =>
      guarded("from-llava-repo", () => {
        const tensors = readMmProjector(readFileSync(file));
        writeSafetensors(o.out, new Map([...tensors].map(([k, t]) => [k, f32Entry(t.shape, t.values)])), { format: "llavac-weights/1" });
        return `wrote ${o.out}: ${[...tensors.keys()].join(", ")}`;
      }),
    );
}
