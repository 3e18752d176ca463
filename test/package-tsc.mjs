// Used by package.test.ts, in a child process (a long synchronous compile would stall the test worker):
// compiles each `src/<name>.ts` of the app folder given as argv[2] as its own program, strict, emitting
// build/<name>.js, and prints per program the errors in the app's and llavac's own files (as if
// skipLibCheck were off for those, and on for the rest: tfjs's declarations are not ours to check) and
// which of llavac's files the program read. The programs run in name order (main.ts, which reads both entry
// points, first).
import { readdirSync } from "node:fs";
import path from "node:path";
import ts from "typescript";

const project = process.argv[2];
const src = path.join(project, "src");
const options = {
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  strict: true,
  skipLibCheck: false,
  types: ["node"],
  rootDir: src,
  outDir: path.join(project, "build"),
};
const host = { getCanonicalFileName: (f) => f, getCurrentDirectory: () => project, getNewLine: () => "\n" };
// One parse of each file for all the programs (lib.d.ts, @types/node and tfjs's declarations are most of the
// reading): the programs have different roots, so `oldProgram` alone reuses nothing.
const compilerHost = ts.createCompilerHost(options);
const parsed = new Map();
const parse = compilerHost.getSourceFile.bind(compilerHost);
compilerHost.getSourceFile = (file, language, ...rest) => {
  if (!parsed.has(file)) parsed.set(file, parse(file, language, ...rest));
  return parsed.get(file);
};
const out = {};
const checked = new Set();
let last;
for (const name of readdirSync(src)
  .filter((f) => f.endsWith(".ts"))
  .sort()) {
  const program = ts.createProgram({
    rootNames: [path.join(src, name)],
    options,
    host: compilerHost,
    ...(last ? { oldProgram: last } : {}),
  });
  last = program;
  const own = program
    .getSourceFiles()
    .filter((f) => f.fileName.startsWith(`${src}/`) || f.fileName.startsWith(`${project}/node_modules/llavac/`));
  // A file of llavac's that an earlier program checked is not checked again (the same declarations under the
  // same options: its errors are reported once, under the first program that reads it; checking them is most
  // of the time).
  const fresh = own.filter((f) => !checked.has(f.fileName));
  for (const f of fresh) checked.add(f.fileName);
  const diags = [
    ...program.getOptionsDiagnostics(),
    ...program.getGlobalDiagnostics(),
    ...fresh.flatMap((f) => [...program.getSyntacticDiagnostics(f), ...program.getSemanticDiagnostics(f)]),
  ];
  program.emit();
  out[name] = { errors: diags.map((d) => ts.formatDiagnostic(d, host).trim()), files: own.map((f) => path.relative(project, f.fileName)) };
}
process.stdout.write(JSON.stringify(out));
