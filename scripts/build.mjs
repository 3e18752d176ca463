// Bundles the CLI into dist/ so `llavac check` starts fast: chevrotain and friends load as one file
// instead of hundreds. The embedded LLaMA vocabulary stays a separate chunk, loaded only when needed.
// Also bundled: the runtime generated programs import (`llavac/runtime`), its data-loader worker, and a
// module-resolution hook that lets a program outside this package find the runtime, and the library
// entry (`import { check } from "llavac"`). The published types are declarations that tsc writes to
// dist/types/ (tsconfig.types.json), in a child process while esbuild bundles.
import { build } from "esbuild";
import { spawn } from "node:child_process";
import { rmSync } from "node:fs";
import { createRequire } from "node:module";

rmSync(new URL("../dist/", import.meta.url), { recursive: true, force: true });
const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
const types = new Promise((resolve, reject) => {
  const child = spawn(process.execPath, [tsc, "-p", "tsconfig.types.json"], { cwd: new URL("..", import.meta.url), stdio: "inherit" });
  child.on("error", reject);
  child.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(`tsc -p tsconfig.types.json failed (exit ${code})`))));
});
await build({
  entryPoints: {
    llavac: "compiler/cli/main.ts",
    index: "compiler/index.ts",
    "hdf5-worker": "runtime/data/hdf5-worker.ts",
    "check-data-worker": "runtime/data/check-data-worker.ts",
    runtime: "runtime/index.ts",
    "loader-worker": "runtime/data/loader-worker.ts",
  },
  // Native and wasm-heavy packages load from node_modules, and only by the commands that need them.
  // tfjs and its backends stay one shared copy (they register kernels in a global registry).
  external: ["sharp", "h5wasm", "h5wasm/node", "@tensorflow/*", "ts-morph"],
  outdir: "dist",
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  minify: true,
  sourcemap: "linked",
  legalComments: "none",
  logLevel: "warning",
  banner: { js: "import { createRequire as __llavacRequire } from 'node:module'; const require = __llavacRequire(import.meta.url);" },
});

// The LLaMA-2 vocabulary as plain text, read at start-up instead of decoding llama-tokenizer-js's
// base64 tables (which costs ~40 ms). The pieces contain no newlines.
const { default: llama } = await import("llama-tokenizer-js");
const { writeFileSync } = await import("node:fs");
if (llama.vocabById.length !== 32000 || llama.vocabById.some((p) => p.includes("\n")))
  throw new Error("unexpected llama-tokenizer-js vocabulary");
writeFileSync(new URL("../dist/llama2-vocab.txt", import.meta.url), llama.vocabById.join("\n"));

// The standard library's parses, which every compile needs and which cost a command ~250 ms to make at
// start-up (compiler/modules.ts reads them, each only for the exact text it was made from). A parse that
// would not come back from JSON equal to itself is not written.
{
  const { createHash } = await import("node:crypto");
  const { readdirSync, readFileSync } = await import("node:fs");
  const { isDeepStrictEqual } = await import("node:util");
  const grammar = await build({
    entryPoints: ["grammar/index.ts"],
    bundle: true,
    write: false,
    format: "esm",
    platform: "node",
    logLevel: "warning",
  });
  const { parse } = await import(`data:text/javascript;base64,${Buffer.from(grammar.outputFiles[0].text).toString("base64")}`);
  const stdlib = new URL("../stdlib/", import.meta.url);
  const parses = {};
  for (const f of readdirSync(stdlib)
    .filter((f) => f.endsWith(".llava"))
    .sort()) {
    const text = readFileSync(new URL(f, stdlib), "utf8");
    const result = parse(text, `\u0000std/${f}`);
    if (!isDeepStrictEqual(JSON.parse(JSON.stringify(result)), result)) throw new Error(`stdlib/${f}: its parse does not survive JSON`);
    parses[f] = { sha256: createHash("sha256").update(text).digest("hex"), result };
  }
  writeFileSync(new URL("../dist/stdlib-parses.json", import.meta.url), JSON.stringify(parses));
}

// `node --import dist/register.mjs program.mjs`: resolves `llavac/runtime` to this package's bundle
// wherever the program is (out/ folders need not be inside a project that depends on llavac).
writeFileSync(
  new URL("../dist/register.mjs", import.meta.url),
  `import { register } from "node:module";\nregister("./resolve-hook.mjs", import.meta.url);\n`,
);
writeFileSync(
  new URL("../dist/resolve-hook.mjs", import.meta.url),
  `const runtime = new URL("./runtime.js", import.meta.url).href;
export async function resolve(specifier, context, next) {
  if (specifier === "llavac/runtime") return { url: runtime, shortCircuit: true };
  return next(specifier, context);
}
`,
);

await types;
