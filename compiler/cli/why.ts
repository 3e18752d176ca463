// `llavac why <out>/<phase>/params.yaml <key.path>`: the spec line, standard-library default or derivation
// that produced one value of a built file, read from the manifest `build` wrote beside it.
import type { Command } from "commander";

interface Io {
  usage(message: string): Error;
  setExit(code: number): void;
}

export function registerWhyCommand(program: Command, io: Io): void {
  program
    .command("why")
    .description(
      "where a value of a built YAML file came from: the spec line, a standard-library default, or a derivation with its formula",
    )
    .argument("<file>", "a built <out>/<phase>/params.yaml or preprocess.yaml")
    .argument("<key>", "the key's dotted path, e.g. runconfig.max_steps or optimizer.learning_rate.0.total_iters")
    .option("--spec <spec>", "the spec it was built from, to show its lines")
    .option("--format <format>", "human or json", "human")
    .action(async (file: string, key: string, o: { spec?: string; format: string }) => {
      if (o.format !== "human" && o.format !== "json") throw io.usage(`unknown format "${o.format}" (use human or json)`);
      const [{ why, renderWhy, WhyError }, { STDLIB_DIR }, yaml] = await Promise.all([
        import("../provenance.js"),
        import("../modules.js"),
        import("js-yaml"),
      ]);
      try {
        const a = why(file, key, { ...(o.spec ? { spec: o.spec } : {}), stdlibDir: STDLIB_DIR, loadYaml: (t) => yaml.load(t) });
        process.stdout.write(o.format === "json" ? JSON.stringify(a, null, 2) + "\n" : renderWhy(a));
        io.setExit(0);
      } catch (err) {
        if (!(err instanceof WhyError)) throw err;
        process.stderr.write(`llavac: ${err.message}\n`);
        io.setExit(1);
      }
    });
}
