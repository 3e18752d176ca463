// Bundles the extension's client (vscode-languageclient included) into dist/extension.cjs, so the .vsix
// needs no node_modules, then packages editors/vscode into llava-<version>.vsix with the official packager.
//   node editors/vscode/build.mjs [--no-package]     (npm run package:vscode)
import { build } from "esbuild";
import { spawnSync } from "node:child_process";
import { copyFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";

const here = import.meta.dirname;
rmSync(path.join(here, "dist"), { recursive: true, force: true });
await build({
  entryPoints: [path.join(here, "src/extension.ts")],
  outfile: path.join(here, "dist/extension.cjs"),
  bundle: true,
  format: "cjs",
  platform: "node",
  target: "node20",
  external: ["vscode"],
  minify: true,
  legalComments: "none",
  logLevel: "warning",
});
if (!process.argv.includes("--no-package")) {
  const vsce = createRequire(import.meta.url).resolve("@vscode/vsce/vsce");
  const { version } = createRequire(import.meta.url)(path.join(here, "package.json"));
  const out = process.env.VSIX_OUT ?? path.join(here, `llava-${version}.vsix`);
  // The repository's licence goes into the package (copied at packaging time, not committed twice).
  copyFileSync(path.join(here, "../../LICENSE"), path.join(here, "LICENSE"));
  // --no-dependencies: the bundle holds the client, so the package needs no node_modules.
  const r = spawnSync(process.execPath, [vsce, "package", "--no-dependencies", "--allow-missing-repository", "--out", out], {
    cwd: here,
    stdio: "inherit",
  });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
