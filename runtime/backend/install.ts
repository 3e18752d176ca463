// Builds tfjs-node's native binding without its libtensorflow download. The TensorFlow Python wheel
// carries the same C and eager C API (`tensorflow/libtensorflow_cc.so.2` with
// `libtensorflow_framework.so.2`) and the C headers (`tensorflow/include/`, whose tensorflow/c headers
// include the tsl/ and xla/ trees), so a wheel from a file, or one fetched by the user's own pip (which
// may point at a local store), is enough: unpack it into the package's deps/, compile the binding with
// the node-gyp that npm ships against Node headers found on this machine, then load it and compute.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, realpathSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";

/** The versions this was built and checked with: tfjs-node 4.22.0's binding against TensorFlow 2.21's C API. */
export const TFJS_NODE_VERSION = "4.22.0";
export const TENSORFLOW_VERSION = "2.21.0";
/** N-API version the binding is built for (the highest in tfjs-node's `binary.napi_versions`). */
const NAPI_VERSION = 8;

export interface InstallOptions {
  /** A TensorFlow wheel file (.whl). */
  wheel?: string;
  /** A pip requirement to download (default tensorflow-cpu==2.21.0, or tensorflow==2.21.0 with gpu). */
  pip?: string;
  /** Build @tensorflow/tfjs-node-gpu from the CUDA wheel instead of @tensorflow/tfjs-node. */
  gpu?: boolean;
  /** Where to look for node_modules (default: the one this package's tfjs resolves from). */
  projectDir?: string;
  log?: (line: string) => void;
  /** Extra environment for the child processes (tests). */
  env?: NodeJS.ProcessEnv;
}

export interface InstallReport {
  package: string;
  packageDir: string;
  wheel: string;
  nodedir: string | null;
  nodeGyp: string;
  binding: string;
  check: { backend: string; tensorflow: string; matmul: number[] };
}

export class InstallError extends Error {}

const run = (cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}) =>
  spawnSync(cmd, args, { cwd: opts.cwd, env: { ...process.env, ...opts.env }, encoding: "utf8", maxBuffer: 64 << 20 });

function tail(s: string | null | undefined, n = 12): string {
  return (s ?? "").trim().split("\n").slice(-n).join("\n");
}

/** The directory whose node_modules holds @tensorflow/tfjs (where tfjs-node must go to share its engine). */
export function projectRoot(from: string = import.meta.url): string {
  const req = createRequire(from);
  const tfjs = path.dirname(req.resolve("@tensorflow/tfjs/package.json"));
  return path.resolve(tfjs, "..", "..", "..");
}

function packageDir(root: string, pkg: string): string | null {
  const dir = path.join(root, "node_modules", ...pkg.split("/"));
  return existsSync(path.join(dir, "binding.gyp")) ? dir : null;
}

/** npm's own node-gyp (npm ships one; npm sets npm_config_node_gyp for scripts), else one on PATH. */
export function findNodeGyp(env: NodeJS.ProcessEnv = process.env): string {
  const candidates: string[] = [];
  if (env.npm_config_node_gyp) candidates.push(env.npm_config_node_gyp);
  const npm = run("sh", ["-c", "command -v npm"], { env }).stdout.trim();
  if (npm) {
    const cli = realpathSync(npm); // …/npm/bin/npm-cli.js
    candidates.push(path.join(path.dirname(cli), "..", "node_modules", "node-gyp", "bin", "node-gyp.js"));
  }
  candidates.push(
    path.join(path.dirname(process.execPath), "..", "lib", "node_modules", "npm", "node_modules", "node-gyp", "bin", "node-gyp.js"),
  );
  for (const c of candidates) if (existsSync(c)) return path.resolve(c);
  const onPath = run("sh", ["-c", "command -v node-gyp"], { env }).stdout.trim();
  if (onPath) return onPath;
  throw new InstallError("node-gyp not found: npm ships it (npm/node_modules/node-gyp); install npm, or `npm install -g node-gyp`");
}

/**
 * Node headers for node-gyp without a download: npm's `nodedir` setting, then the headers next to this
 * node binary (distribution packages and the official tarballs put them in <prefix>/include/node), then
 * node-gyp's own cache. null: none here (node-gyp would try to download them).
 */
export function findNodeHeaders(env: NodeJS.ProcessEnv = process.env): string | null {
  const has = (dir: string) =>
    existsSync(path.join(dir, "include", "node", "node_api.h")) && existsSync(path.join(dir, "include", "node", "common.gypi"));
  const configured = env.npm_config_nodedir ?? run("npm", ["config", "get", "nodedir"], { env }).stdout.trim();
  if (configured && configured !== "undefined" && has(configured)) return configured;
  const prefix = path.resolve(path.dirname(process.execPath), "..");
  if (has(prefix)) return prefix;
  const cache = path.join(env.XDG_CACHE_HOME ?? path.join(os.homedir(), ".cache"), "node-gyp", process.versions.node);
  if (has(cache)) return cache;
  return null;
}

/** `pip download SPEC --no-deps` into a temporary folder, with whichever pip this machine has. */
function pipDownload(spec: string, dir: string, env: NodeJS.ProcessEnv, log: (s: string) => void): string {
  const pythons = [env.PYTHON, "python3", "python"].filter((p): p is string => !!p);
  for (const py of pythons) {
    if (run(py, ["-m", "pip", "--version"], { env }).status !== 0) continue;
    log(`pip download ${spec} --no-deps (${py} -m pip)`);
    const r = run(py, ["-m", "pip", "download", spec, "--no-deps", "--only-binary=:all:", "-d", dir], { env });
    if (r.status !== 0) throw new InstallError(`pip could not download ${spec}:\n${tail(r.stderr || r.stdout)}`);
    const wheels = readdirSync(dir).filter((f) => f.endsWith(".whl"));
    if (wheels.length !== 1) throw new InstallError(`pip download ${spec} left ${wheels.length} wheels in ${dir}`);
    return path.join(dir, wheels[0]!);
  }
  throw new InstallError("no pip found (tried $PYTHON, python3, python with -m pip); give the wheel with --wheel FILE");
}

const LIB = "tensorflow/libtensorflow_cc.so.2";
const FRAMEWORK = "tensorflow/libtensorflow_framework.so.2";
const INCLUDE = "tensorflow/include/";

/** Unpack the two libraries and the header tree into deps/ (replacing what was there). */
function unpack(wheel: string, pkgDir: string, log: (s: string) => void): void {
  // adm-zip is a dependency of tfjs-node itself, so it is present wherever the package is.
  const AdmZip = createRequire(path.join(pkgDir, "package.json"))("adm-zip") as new (
    file: string,
  ) => {
    getEntries(): { entryName: string; isDirectory: boolean; getData(): Buffer }[];
  };
  let zip;
  try {
    zip = new AdmZip(wheel);
  } catch (err) {
    throw new InstallError(`${wheel} is not a readable wheel (zip): ${(err as Error).message}`);
  }
  const entries = zip.getEntries();
  const names = new Set(entries.map((e) => e.entryName));
  for (const need of [LIB, FRAMEWORK, INCLUDE + "tensorflow/c/c_api.h", INCLUDE + "tensorflow/c/eager/c_api.h"]) {
    if (!names.has(need))
      throw new InstallError(`${path.basename(wheel)} has no ${need}: not a TensorFlow 2.x Linux wheel (tensorflow-cpu or tensorflow)`);
  }
  const deps = path.join(pkgDir, "deps");
  const staging = path.join(pkgDir, `deps.llavac-${process.pid}`);
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(path.join(staging, "lib"), { recursive: true });
  let headers = 0;
  for (const e of entries) {
    if (e.isDirectory) continue;
    let out: string | null = null;
    if (e.entryName === LIB) out = path.join(staging, "lib", "libtensorflow.so");
    else if (e.entryName === FRAMEWORK) out = path.join(staging, "lib", "libtensorflow_framework.so.2");
    else if (e.entryName.startsWith(INCLUDE)) {
      out = path.join(staging, "include", e.entryName.slice(INCLUDE.length));
      headers++;
    }
    if (!out) continue;
    if (!path.resolve(out).startsWith(staging + path.sep))
      throw new InstallError(`${wheel}: entry ${e.entryName} escapes the target folder`);
    mkdirSync(path.dirname(out), { recursive: true });
    writeFileSync(out, e.getData());
  }
  // The binding links -ltensorflow -ltensorflow_framework (unversioned names) and, at run time, asks
  // for the libraries' sonames, libtensorflow_cc.so.2 and libtensorflow_framework.so.2, via
  // $ORIGIN/../../deps/lib.
  symlinkSync("libtensorflow.so", path.join(staging, "lib", "libtensorflow_cc.so.2"));
  symlinkSync("libtensorflow_framework.so.2", path.join(staging, "lib", "libtensorflow_framework.so"));
  rmSync(deps, { recursive: true, force: true });
  renameSync(staging, deps);
  log(`unpacked ${LIB} as deps/lib/libtensorflow.so, ${FRAMEWORK}, and ${headers} headers into ${deps}`);
}

/** Load the package in a fresh process and multiply two known matrices. */
export function checkNative(pkg: string, root: string, env: NodeJS.ProcessEnv = {}): InstallReport["check"] {
  const script = `
    const tf = require(${JSON.stringify(pkg)});
    const c = tf.matMul(tf.tensor2d([[1, 2, 3], [4, 5, 6]]), tf.tensor2d([[7, 8], [9, 10], [11, 12]]));
    process.stdout.write(JSON.stringify({ backend: tf.getBackend(), tensorflow: String(tf.backend().binding.TF_Version), matmul: Array.from(c.dataSync()) }));`;
  const r = run(process.execPath, ["-e", script], { cwd: root, env: { TF_CPP_MIN_LOG_LEVEL: "2", ...env } });
  if (r.status !== 0) throw new InstallError(`the built ${pkg} does not load:\n${tail(r.stderr)}`);
  const check = JSON.parse(r.stdout) as InstallReport["check"];
  const want = [58, 64, 139, 154];
  if (check.backend !== "tensorflow" || check.matmul.length !== 4 || check.matmul.some((v, i) => v !== want[i])) {
    throw new InstallError(
      `the built ${pkg} loads but computes wrongly: backend ${check.backend}, [[1,2,3],[4,5,6]]·[[7,8],[9,10],[11,12]] = ${JSON.stringify(check.matmul)} (want ${JSON.stringify(want)})`,
    );
  }
  return check;
}

export function installNative(opts: InstallOptions = {}): InstallReport {
  const log = opts.log ?? (() => {});
  const env = { ...process.env, ...opts.env };
  if (process.platform !== "linux" || process.arch !== "x64")
    throw new InstallError(
      `llavac backend install supports linux x64 (this is ${process.platform} ${process.arch}); use npm install @tensorflow/tfjs-node there`,
    );
  if (opts.wheel !== undefined && opts.pip !== undefined) throw new InstallError("give --wheel or --pip, not both");
  if (opts.wheel !== undefined && !existsSync(opts.wheel)) throw new InstallError(`wheel not found: ${opts.wheel}`);
  const pkg = opts.gpu ? "@tensorflow/tfjs-node-gpu" : "@tensorflow/tfjs-node";
  const root = opts.projectDir ?? projectRoot();

  // 1. The package's files. Its install script (the libtensorflow download) fails offline and npm then
  // drops the optional dependency, so fetch it with scripts off; --no-save leaves package.json alone.
  let dir = packageDir(root, pkg);
  if (!dir) {
    log(`npm install --no-save --ignore-scripts ${pkg}@${TFJS_NODE_VERSION} (in ${root})`);
    const r = run("npm", ["install", "--no-save", "--ignore-scripts", "--no-audit", "--no-fund", `${pkg}@${TFJS_NODE_VERSION}`], {
      cwd: root,
      env,
    });
    if (r.status !== 0) throw new InstallError(`npm could not fetch ${pkg}@${TFJS_NODE_VERSION}:\n${tail(r.stderr)}`);
    dir = packageDir(root, pkg);
    if (!dir) throw new InstallError(`npm installed ${pkg} but ${path.join(root, "node_modules", pkg)} has no binding.gyp`);
  } else log(`using ${dir}`);

  // 2. The wheel.
  let wheel = opts.wheel;
  let tmp: string | null = null;
  try {
    if (wheel !== undefined) {
      wheel = path.resolve(wheel);
    } else {
      tmp = mkdtempSync(path.join(os.tmpdir(), "llavac-wheel-"));
      wheel = pipDownload(opts.pip ?? `${opts.gpu ? "tensorflow" : "tensorflow-cpu"}==${TENSORFLOW_VERSION}`, tmp, env, log);
    }
    unpack(wheel, dir, log);
  } finally {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  }

  // 3. The binding. Calling node-gyp directly (not tfjs-node's install script, which goes through
  // node-pre-gyp) so that the Node headers come from this machine instead of a download.
  const nodeGyp = findNodeGyp(env);
  const nodedir = findNodeHeaders(env);
  const modulePath = path.join(dir, "lib", `napi-v${NAPI_VERSION}`);
  const args = [
    nodeGyp,
    "rebuild",
    `--module_name=tfjs_binding`,
    `--module_path=${modulePath}`,
    `--napi_build_version=${NAPI_VERSION}`,
    `-j`,
    String(Math.max(1, os.availableParallelism())),
  ];
  if (nodedir) args.push(`--nodedir=${nodedir}`);
  log(
    `node-gyp rebuild against ${nodedir ? `the Node headers in ${nodedir}` : "node-gyp's own headers (may download)"} (${path.relative(root, dir)})`,
  );
  const b = run(process.execPath, args, { cwd: dir, env });
  if (b.status !== 0) throw new InstallError(`node-gyp could not build the binding (${nodeGyp}):\n${tail(b.stderr || b.stdout, 20)}`);
  const binding = path.join(modulePath, "tfjs_binding.node");
  if (!existsSync(binding)) throw new InstallError(`node-gyp finished but wrote no ${binding}`);
  // node-gyp's intermediate objects are not needed at run time.
  rmSync(path.join(dir, "build"), { recursive: true, force: true });

  // 4. Load and compute.
  const check = checkNative(pkg, root, opts.env);
  log(
    `${pkg} loads as tfjs backend "${check.backend}" on TensorFlow ${check.tensorflow}; [[1,2,3],[4,5,6]]·[[7,8],[9,10],[11,12]] = [[${check.matmul.slice(0, 2)}],[${check.matmul.slice(2)}]] ✓`,
  );
  return { package: pkg, packageDir: dir, wheel, nodedir, nodeGyp, binding, check };
}

/** Which pip would be used, and whether the machine can build (for `llavac backend`). */
export function buildTools(env: NodeJS.ProcessEnv = process.env): { nodeGyp: string | null; nodedir: string | null; compiler: boolean } {
  let nodeGyp: string | null = null;
  try {
    nodeGyp = findNodeGyp(env);
  } catch {
    /* reported as missing */
  }
  let compiler = false;
  try {
    execFileSync("sh", ["-c", "command -v c++ || command -v g++"], { stdio: "ignore" });
    compiler = true;
  } catch {
    /* none */
  }
  return { nodeGyp, nodedir: findNodeHeaders(env), compiler };
}
