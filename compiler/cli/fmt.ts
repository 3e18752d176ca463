// `llavac fmt [--check] [FILES…]`: rewrites .llava files in the one layout (compiler/format.ts), or with
// `--check` lists those that are not in it. A folder stands for the .llava files under it; no file reads
// standard input and writes the formatted text to standard output (what an editor pipes through).
import type { Command } from "commander";
import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { writeFileAtomic } from "../../runtime/util/atomic.js";
import { FormatError, formatSource } from "../format.js";
import { readSource } from "../modules.js";

interface Io {
  usage(message: string): Error;
  setExit(code: number): void;
}

/** The .llava files a list of paths names: files as given, folders searched (sorted, `node_modules` and dot folders skipped). */
export function specFiles(paths: string[]): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      if (e.name.startsWith(".") || e.name === "node_modules") continue;
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile() && e.name.endsWith(".llava")) out.push(p);
    }
  };
  for (const p of paths) {
    const st = statSync(p, { throwIfNoEntry: false });
    if (st?.isDirectory()) walk(p);
    else out.push(p);
  }
  return out;
}

export function registerFmtCommand(program: Command, io: Io): void {
  program
    .command("fmt")
    .description("format .llava files in place (one layout; comments and line breaks kept); --check lists the unformatted ones")
    .argument("[files...]", ".llava files or folders; none: standard input to standard output")
    .option("--check", "write nothing; exit 1 listing the files that are not formatted")
    .action(async (files: string[], o: { check?: boolean }) => {
      let failed = false;
      const run = (file: string, text: string): string | undefined => {
        try {
          return formatSource(text, file);
        } catch (err) {
          if (!(err instanceof FormatError)) throw err;
          process.stderr.write(err.message + "\n\n");
          failed = true;
          return undefined;
        }
      };
      if (files.length === 0) {
        const text = readFileSync(0, "utf8");
        const out = run("<stdin>", text);
        if (out !== undefined && !o.check) process.stdout.write(out);
        if (o.check && out !== undefined && out !== text) {
          process.stdout.write("<stdin>\n");
          failed = true;
        }
        io.setExit(failed ? 1 : 0);
        return;
      }
      const unformatted: string[] = [];
      for (const file of specFiles(files)) {
        const r = readSource(file);
        if ("problem" in r) throw io.usage(r.missing ? `not found: ${file}` : `cannot read ${file}: ${r.problem}`);
        const out = run(file, r.text);
        if (out === undefined || out === r.text) continue;
        unformatted.push(file);
        if (!o.check) writeFileAtomic(file, out);
      }
      for (const f of unformatted) process.stdout.write(o.check ? `${f}\n` : `formatted ${f}\n`);
      if (o.check && unformatted.length > 0)
        process.stderr.write(
          `${unformatted.length} file${unformatted.length === 1 ? " is" : "s are"} not formatted: run \`llavac fmt\` on ${unformatted.length === 1 ? "it" : "them"}\n`,
        );
      io.setExit(failed || (o.check && unformatted.length > 0) ? 1 : 0);
    });
}
