// `llavac lsp`, driven as an editor drives it: one server process for the file, spoken to over stdio with
// vscode-languageserver's JSON-RPC framing; each test sends requests and checks what comes back.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createMessageConnection,
  StreamMessageReader,
  StreamMessageWriter,
  type CodeAction,
  type CompletionItem,
  type Diagnostic,
  type DocumentSymbol,
  type Hover,
  type Location,
  type MessageConnection,
  type Position,
  type PublishDiagnosticsParams,
  type TextEdit,
  type WorkspaceEdit,
} from "vscode-languageserver/node";
import { ROOT } from "./helpers.js";

const EXAMPLE = path.join(ROOT, "examples/llava-v1.5-7b/llava.llava");
const LIB = `// Settings the specs of this folder share.
let shared_lr = 2e-5

// A set of labels.
schema tag_set {
  // The labels, in order.
  tags: [string] = []
}
`;
const MAIN = `// A spec with a library beside it.
import { shared_lr, tag_set } from "./lib"

let opt = adamw { lr: shared_lr }
let again = adamw { lr: shared_lr, eps: 1e-6 }
let tags = tag_set { tags: ["a"] }
let sched = warmup_cosine { warmup: 3% }
`;

let dir: string;
let child: ChildProcess;
let rpc: MessageConnection;
const latest = new Map<string, PublishDiagnosticsParams>();
const waiters: { uri: string; version: number; resolve: (p: PublishDiagnosticsParams) => void }[] = [];
const texts = new Map<string, { text: string; version: number }>();

const uriOf = (file: string) => pathToFileURL(file).href;
const fileIn = (name: string) => path.join(dir, name);

/** The diagnostics the server publishes for this version of a document. */
function diagnosticsFor(uri: string, version: number): Promise<PublishDiagnosticsParams> {
  const have = latest.get(uri);
  if (have && have.version === version) return Promise.resolve(have);
  return new Promise((resolve) => waiters.push({ uri, version, resolve }));
}

async function open(file: string, text = readFileSync(file, "utf8")): Promise<Diagnostic[]> {
  texts.set(uriOf(file), { text, version: 1 });
  rpc.sendNotification("textDocument/didOpen", { textDocument: { uri: uriOf(file), languageId: "llava", version: 1, text } });
  return (await diagnosticsFor(uriOf(file), 1)).diagnostics;
}

/** Replace the whole text of an open document (a new version), and wait for its diagnostics. */
async function edit(file: string, text: string): Promise<Diagnostic[]> {
  const uri = uriOf(file);
  const doc = texts.get(uri)!;
  const version = doc.version + 1;
  texts.set(uri, { text, version });
  rpc.sendNotification("textDocument/didChange", { textDocument: { uri, version }, contentChanges: [{ text }] });
  return (await diagnosticsFor(uri, version)).diagnostics;
}

/** The position of `needle` (plus `delta` characters) in an open document. */
function at(file: string, needle: string, delta = 0): Position {
  const text = texts.get(uriOf(file))?.text ?? readFileSync(file, "utf8");
  const i = text.indexOf(needle);
  if (i < 0) throw new Error(`${needle} not in ${file}`);
  const before = text.slice(0, i + delta).split("\n");
  return { line: before.length - 1, character: before[before.length - 1]!.length };
}

const doc = (file: string) => ({ textDocument: { uri: uriOf(file) } });

function apply(text: string, edits: TextEdit[]): string {
  const offset = (p: Position) => text.split("\n").slice(0, p.line).join("\n").length + (p.line > 0 ? 1 : 0) + p.character;
  const sorted = [...edits].sort((a, b) => offset(b.range.start) - offset(a.range.start));
  let out = text;
  for (const e of sorted) out = out.slice(0, offset(e.range.start)) + e.newText + out.slice(offset(e.range.end));
  return out;
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), "llavac-lsp-"));
  writeFileSync(fileIn("lib.llava"), LIB);
  writeFileSync(fileIn("main.llava"), MAIN);
  child = spawn(process.execPath, [path.join(ROOT, "bin/llavac.js"), "lsp", "--stdio"], { cwd: dir, stdio: ["pipe", "pipe", "pipe"] });
  rpc = createMessageConnection(new StreamMessageReader(child.stdout!), new StreamMessageWriter(child.stdin!));
  rpc.onNotification("textDocument/publishDiagnostics", (p: PublishDiagnosticsParams) => {
    latest.set(p.uri, p);
    for (const w of waiters.filter((x) => x.uri === p.uri && x.version === p.version)) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve(p);
    }
  });
  rpc.listen();
  const init = await rpc.sendRequest<{ capabilities: Record<string, unknown> }>("initialize", {
    processId: process.pid,
    rootUri: uriOf(dir),
    capabilities: {},
  });
  expect(init.capabilities).toMatchObject({ hoverProvider: true, definitionProvider: true, renameProvider: { prepareProvider: true } });
  rpc.sendNotification("initialized", {});
  await open(EXAMPLE);
  await open(fileIn("main.llava"));
});

afterAll(async () => {
  if (rpc) {
    await rpc.sendRequest("shutdown").catch(() => undefined);
    rpc.sendNotification("exit");
  }
  await new Promise<void>((resolve) => {
    if (!child || child.exitCode !== null) return resolve();
    const timer = setTimeout(() => {
      child.kill();
      resolve();
    }, 5000);
    child.on("exit", () => {
      clearTimeout(timer);
      resolve();
    });
  });
  rmSync(dir, { recursive: true, force: true });
});

describe("diagnostics as you type", () => {
  it("publishes what check reports, and a bad edit's error at the edited characters, gone once fixed", async () => {
    const clean = latest.get(uriOf(EXAMPLE))!.diagnostics;
    expect(clean.filter((d) => d.severity === 1)).toEqual([]);
    expect(clean.map((d) => d.code)).toContain("W0302");
    const text = readFileSync(EXAMPLE, "utf8");
    const bad = text.replace("warmup: 3%, reference_batch: 256", "warmup: 3, reference_batch: 256");
    const after = await edit(EXAMPLE, bad);
    const e = after.find((d) => d.code === "E0207");
    expect(e?.message).toContain("expected `percent`");
    expect(e?.range).toEqual({ start: at(EXAMPLE, "warmup: 3, reference", 8), end: at(EXAMPLE, "warmup: 3, reference", 9) });
    expect(e?.source).toBe("llavac");
    const fixed = await edit(EXAMPLE, text);
    expect(fixed.map((d) => d.code)).not.toContain("E0207");
  });

  it("reports a syntax error at its token without crashing, and recovers", async () => {
    const main = fileIn("main.llava");
    const broken = await edit(main, MAIN.replace("let opt = adamw { lr: shared_lr }", "let opt = adamw { lr: }"));
    const syntax = broken.find((d) => d.code === "E0001");
    expect(syntax?.range.start.line).toBe(3);
    expect((await edit(main, MAIN)).map((d) => d.code)).not.toContain("E0001");
  });
});

describe("hover", () => {
  it("shows a field's type, documentation comment and default", async () => {
    const h = await rpc.sendRequest<Hover>("textDocument/hover", { ...doc(EXAMPLE), position: at(EXAMPLE, "select_layer") });
    const value = (h.contents as { value: string }).value;
    expect(value).toContain("vit.select_layer: int");
    expect(value).toContain("penultimate");
    expect(value).toContain("default: `-2`");
  });

  it("shows a phase's derived values with their formulas and parameter counts", async () => {
    const h = await rpc.sendRequest<Hover>("textDocument/hover", { ...doc(EXAMPLE), position: at(EXAMPLE, "phase pretrain", 7) });
    const value = (h.contents as { value: string }).value;
    expect(value).toMatch(/max_steps\s+2,180\s+= ⌊558,128 \/ 256⌋/);
    expect(value).toMatch(/warmup_steps\s+66/);
    expect(value).toContain("7,062,902,784 total");
  });

  it("shows a model's parameter counts per phase", async () => {
    const h = await rpc.sendRequest<Hover>("textDocument/hover", { ...doc(EXAMPLE), position: at(EXAMPLE, "model llava_7b", 7) });
    const value = (h.contents as { value: string }).value;
    expect(value).toContain("phase pretrain: 20,979,712 trainable");
    expect(value).toContain("phase finetune: 6,759,395,328 trainable");
  });

  it("shows a user schema's documentation across files, and nothing on a comment", async () => {
    const main = fileIn("main.llava");
    const h = await rpc.sendRequest<Hover>("textDocument/hover", { ...doc(main), position: at(main, "tag_set {") });
    expect((h.contents as { value: string }).value).toContain("A set of labels.");
    expect(await rpc.sendRequest("textDocument/hover", { ...doc(main), position: at(main, "library beside") })).toBeNull();
  });
});

describe("a standard-library file opened from a definition", () => {
  it("is not checked as a spec (no diagnostics), and hovers on its own field declarations", async () => {
    const vision = path.join(ROOT, "stdlib/vision.llava");
    expect(await open(vision)).toEqual([]);
    const h = await rpc.sendRequest<Hover>("textDocument/hover", { ...doc(vision), position: at(vision, "select_layer:") });
    expect((h.contents as { value: string }).value).toContain("vit.select_layer: int");
    rpc.sendNotification("textDocument/didClose", doc(vision));
  });
});

describe("definition and references", () => {
  it("goes to a standard-library declaration", async () => {
    const loc = await rpc.sendRequest<Location>("textDocument/definition", {
      ...doc(EXAMPLE),
      position: at(EXAMPLE, "clip_vit_l14_336 {"),
    });
    expect(loc.uri).toBe(uriOf(path.join(ROOT, "stdlib/vision.llava")));
    const line = readFileSync(path.join(ROOT, "stdlib/vision.llava"), "utf8").split("\n")[loc.range.start.line]!;
    expect(line.slice(loc.range.start.character, loc.range.end.character)).toBe("clip_vit_l14_336");
  });

  it("goes to a field's declaration in the schema", async () => {
    const main = fileIn("main.llava");
    const loc = await rpc.sendRequest<Location>("textDocument/definition", { ...doc(main), position: at(main, "tags: [") });
    expect(loc.uri).toBe(uriOf(fileIn("lib.llava")));
    expect(loc.range.start).toEqual({ line: 6, character: 2 });
  });

  it("finds references across files (the declaration, the import, each use)", async () => {
    const main = fileIn("main.llava");
    const refs = await rpc.sendRequest<Location[]>("textDocument/references", {
      ...doc(main),
      position: at(main, "lr: shared_lr", 4),
      context: { includeDeclaration: true },
    });
    expect(refs.map((r) => `${path.basename(r.uri)}:${r.range.start.line}`)).toEqual([
      "lib.llava:1",
      "main.llava:1",
      "main.llava:3",
      "main.llava:4",
    ]);
  });

  it("gives nothing for a position that names nothing", async () => {
    const main = fileIn("main.llava");
    expect(await rpc.sendRequest("textDocument/definition", { ...doc(main), position: at(main, "= adamw", 1) })).toBeNull();
  });
});

describe("completion", () => {
  const labels = (items: CompletionItem[]) => items.map((i) => i.label);

  it("offers the fields of the schema under the cursor, without those already given", async () => {
    const main = fileIn("main.llava");
    const items = await rpc.sendRequest<CompletionItem[]>("textDocument/completion", { ...doc(main), position: at(main, "eps: 1e-6") });
    expect(labels(items)).toEqual(expect.arrayContaining(["betas", "weight_decay", "max_grad_norm"]));
    expect(labels(items)).toContain("eps");
    expect(labels(items)).not.toContain("lr");
    expect(labels(items)).not.toContain("adamw");
    expect(items.find((i) => i.label === "betas")?.detail).toContain("(0.9, 0.999)");
  });

  it("offers an enum field's members", async () => {
    const text = MAIN + "let v = clip_vit_l14_336 { select:  }\n";
    const main = fileIn("main.llava");
    await edit(main, text.replace("import { shared_lr", 'import { clip_vit_l14_336 } from "std/vision"\nimport { shared_lr'));
    const items = await rpc.sendRequest<CompletionItem[]>("textDocument/completion", { ...doc(main), position: at(main, "select:  }", 8) });
    expect(labels(items)).toEqual(expect.arrayContaining(["patch", "cls_patch"]));
    await edit(main, text.replace("select:  }", "select: select_mode. }"));
    const members = await rpc.sendRequest<CompletionItem[]>("textDocument/completion", {
      ...doc(main),
      position: at(main, "select_mode. }", 12),
    });
    expect(labels(members).sort()).toEqual(["cls_patch", "patch"]);
    await edit(main, MAIN);
  });

  it("offers declared names, and a standard-library name with the import that brings it in", async () => {
    const main = fileIn("main.llava");
    const items = await rpc.sendRequest<CompletionItem[]>("textDocument/completion", {
      ...doc(main),
      position: at(main, "lr: shared_lr", 4),
    });
    expect(labels(items)).toEqual(expect.arrayContaining(["shared_lr", "opt", "adamw"]));
    const vicuna = items.find((i) => i.label === "vicuna_7b_v1_5");
    expect(vicuna?.detail).toBe('import from "std/language"');
    const withImport = apply(MAIN, vicuna!.additionalTextEdits!);
    expect(withImport).toContain('import { shared_lr, tag_set } from "./lib"\nimport { vicuna_7b_v1_5 } from "std/language"\n');
  });
});

describe("rename", () => {
  it("renames a declaration and every use, across files", async () => {
    const main = fileIn("main.llava");
    const prep = await rpc.sendRequest<{ placeholder: string }>("textDocument/prepareRename", {
      ...doc(main),
      position: at(main, "lr: shared_lr", 5),
    });
    expect(prep.placeholder).toBe("shared_lr");
    const e = await rpc.sendRequest<WorkspaceEdit>("textDocument/rename", {
      ...doc(main),
      position: at(main, "lr: shared_lr", 5),
      newName: "base_lr",
    });
    expect(apply(LIB, e.changes![uriOf(fileIn("lib.llava"))]!)).toContain("let base_lr = 2e-5");
    const renamed = apply(MAIN, e.changes![uriOf(main)]!);
    expect(renamed).toContain('import { base_lr, tag_set } from "./lib"');
    expect(renamed.match(/lr: base_lr/g)).toHaveLength(2);
    expect(renamed).not.toContain("shared_lr");
  });

  it("refuses a non-symbol, a standard-library name and an invalid new name", async () => {
    const main = fileIn("main.llava");
    await expect(rpc.sendRequest("textDocument/prepareRename", { ...doc(main), position: at(main, "library beside") })).rejects.toThrow(
      /not a name declared in a spec/,
    );
    await expect(rpc.sendRequest("textDocument/rename", { ...doc(main), position: at(main, "adamw"), newName: "x" })).rejects.toThrow(
      /standard library/,
    );
    await expect(
      rpc.sendRequest("textDocument/rename", { ...doc(main), position: at(main, "let opt", 5), newName: "let" }),
    ).rejects.toThrow(/not a valid name/);
  });
});

describe("document symbols", () => {
  it("lists the declarations with their fields", async () => {
    const syms = await rpc.sendRequest<DocumentSymbol[]>("textDocument/documentSymbol", doc(EXAMPLE));
    expect(syms.map((s) => `${s.detail} ${s.name}`)).toEqual([
      "let data_root",
      "model llava_7b",
      "let writer",
      "phase pretrain",
      "phase finetune",
      "cerebras cluster",
      "gpus gpu_cluster",
    ]);
    expect(syms.find((s) => s.name === "pretrain")?.children?.map((c) => c.name)).toContain("schedule");
  });
});

describe("code actions", () => {
  async function fixes(text: string, code: string): Promise<{ actions: CodeAction[]; text: string }> {
    const main = fileIn("main.llava");
    const diags = await edit(main, text);
    const d = diags.find((x) => x.code === code);
    expect(d, `${code} in ${JSON.stringify(diags.map((x) => x.code))}`).toBeDefined();
    const actions = await rpc.sendRequest<CodeAction[]>("textDocument/codeAction", {
      ...doc(main),
      range: d!.range,
      context: { diagnostics: [d] },
    });
    return { actions, text };
  }
  const applied = (a: CodeAction, text: string) => apply(text, Object.values(a.edit!.changes!)[0]!);

  it("fixes a misspelt name (did you mean)", async () => {
    const { actions, text } = await fixes(MAIN.replace("sched = warmup_cosine", "sched = warmup_cosin"), "E0104");
    expect(actions[0]!.title).toBe("change to `warmup_cosine`");
    expect(applied(actions[0]!, text)).toContain("let sched = warmup_cosine {");
  });

  it("adds the missing unit (3 → 3%)", async () => {
    const { actions, text } = await fixes(MAIN.replace("warmup: 3%", "warmup: 3"), "E0207");
    expect(actions[0]!.title).toBe("write `3%`");
    expect(applied(actions[0]!, text)).toContain("warmup: 3% }");
  });

  it("adds a missing import", async () => {
    const { actions, text } = await fixes(MAIN + "let v = clip_vit_l14_336\n", "E0104");
    expect(actions[0]!.title).toBe('import `clip_vit_l14_336` from "std/vision"');
    const fixed = applied(actions[0]!, text);
    expect(fixed).toContain('import { clip_vit_l14_336 } from "std/vision"\n');
    expect((await edit(fileIn("main.llava"), fixed)).map((d) => d.code)).not.toContain("E0104");
  });

  it("offers nothing for a diagnostic without a suggestion", async () => {
    const { actions } = await fixes(MAIN, "E0409");
    expect(actions).toEqual([]);
    await edit(fileIn("main.llava"), MAIN);
  });
});

describe("formatting", () => {
  it("formats with llavac fmt's formatter, or says the build has none", async () => {
    const main = fileIn("main.llava");
    const messy = MAIN.replace("let opt = adamw { lr: shared_lr }", "let   opt=adamw{lr:shared_lr}");
    await edit(main, messy);
    const request = rpc.sendRequest<TextEdit[] | null>("textDocument/formatting", {
      ...doc(main),
      options: { tabSize: 2, insertSpaces: true },
    });
    if (existsSync(path.join(ROOT, "compiler/format.ts"))) {
      const { formatSource } = (await import(`../compiler/format${""}.js`)) as { formatSource: (t: string, f?: string) => string };
      const edits = (await request) ?? [];
      expect(apply(messy, edits)).toBe(formatSource(messy, main));
      expect(apply(messy, edits)).not.toBe(messy);
    } else {
      await expect(request).rejects.toThrow(/no formatter/);
    }
    await edit(main, MAIN);
  });
});
