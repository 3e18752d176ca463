// Bundles the CLI into dist/ so `llavac check` starts fast: chevrotain and friends load as one file
// instead of hundreds. The embedded LLaMA vocabulary stays a separate chunk, loaded only when needed.
import { build } from "esbuild";
import { rmSync } from "node:fs";

rmSync(new URL("../dist/", import.meta.url), { recursive: true, force: true });
await build({
  entryPoints: { llavac: "compiler/cli.ts", "hdf5-worker": "runtime/data/hdf5-worker.ts" },
  // Native and wasm-heavy packages load from node_modules, and only by the commands that need them.
  external: ["sharp", "h5wasm", "h5wasm/node"],
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
if (llama.vocabById.length !== 32000 || llama.vocabById.some((p) => p.includes("\n"))) throw new Error("unexpected llama-tokenizer-js vocabulary");
writeFileSync(new URL("../dist/llama2-vocab.txt", import.meta.url), llama.vocabById.join("\n"));
