// `llavac lsp`: the language server, over stdio. Each open document is compiled as a root spec by the
// same pipeline as `llavac check` (analysis.ts); the features read that result.
import { fileURLToPath, pathToFileURL } from "node:url";
import path from "node:path";
import {
  createConnection,
  DiagnosticSeverity,
  ErrorCodes,
  ResponseError,
  StreamMessageReader,
  StreamMessageWriter,
  TextDocuments,
  TextDocumentSyncKind,
  type Connection,
  type Diagnostic as LspDiagnostic,
  type Location,
  type Range,
  type TextEdit,
} from "vscode-languageserver/node";
import { TextDocument } from "vscode-languageserver-textdocument";
import type { Span } from "../../grammar/ast.js";
import { CODES } from "../codes.js";
import type { Diagnostic } from "../diagnostics.js";
import { Analyzer, emitChecked, isStdFile, nameAt, targetKey, targetSpan, wordAt, type Analysis, type Use } from "./analysis.js";
import { fixesFor } from "./actions.js";
import { formatSource } from "../format.js";
import { complete } from "./completion.js";
import { hoverText } from "./hover.js";
import { documentSymbols, rangeOf } from "./symbols.js";

const KEYWORDS = new Set(["import", "from", "as", "schema", "enum", "let", "type", "true", "false", "none", "per"]);

const fileOf = (uri: string): string => (uri.startsWith("file:") ? fileURLToPath(uri) : uri);
const uriOf = (file: string): string => (path.isAbsolute(file) ? pathToFileURL(file).href : file);

const cpuMs = (since: NodeJS.CpuUsage): number => {
  const d = process.cpuUsage(since);
  return (d.user + d.system) / 1000;
};

export function startServer(
  connection: Connection = createConnection(new StreamMessageReader(process.stdin), new StreamMessageWriter(process.stdout)),
): Promise<void> {
  const documents = new TextDocuments(TextDocument);
  const analyses = new Map<string, Analysis>();
  const published = new Map<string, Set<string>>();
  let cwd = process.cwd();
  let analyzer: Analyzer | undefined;
  const openText = (file: string): string | undefined => documents.get(uriOf(file))?.getText();

  const rangeIn = (s: Span): Range => {
    const doc = documents.get(uriOf(s.file));
    return doc ? { start: doc.positionAt(s.start), end: doc.positionAt(s.end) } : rangeOf(s);
  };
  const location = (s: Span): Location => ({ uri: uriOf(s.file), range: rangeIn(s) });

  function toLsp(d: Diagnostic): LspDiagnostic {
    const out: LspDiagnostic = {
      range: rangeIn(d.span),
      severity: d.severity === "error" ? DiagnosticSeverity.Error : DiagnosticSeverity.Warning,
      code: d.code,
      source: "llavac",
      message: [d.message + (d.label ? ` (${d.label})` : ""), ...d.help.map((h) => `help: ${h}`)].join("\n"),
      data: { help: d.help, title: CODES[d.code].title },
    };
    const related = d.notes.filter((n) => n.span).map((n) => ({ location: location(n.span!), message: n.message }));
    if (related.length) out.relatedInformation = related;
    const unspanned = d.notes.filter((n) => !n.span).map((n) => `note: ${n.message}`);
    if (unspanned.length) out.message += "\n" + unspanned.join("\n");
    return out;
  }

  // One check at a time per document; edits that arrive meanwhile are coalesced into one more run.
  const running = new Map<string, Promise<void>>();
  const again = new Set<string>();
  function schedule(uri: string): void {
    if (running.has(uri)) {
      again.add(uri);
      return;
    }
    const run = (async () => {
      try {
        await validate(uri);
      } catch (err) {
        connection.console.error(`llavac: internal error while checking ${uri}: ${(err as Error)?.stack ?? String(err)}`);
      } finally {
        running.delete(uri);
        if (again.delete(uri) && documents.get(uri)) schedule(uri);
      }
    })();
    running.set(uri, run);
  }

  async function validate(uri: string): Promise<void> {
    const doc = documents.get(uri);
    if (!doc || !analyzer) return;
    const file = fileOf(uri);
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    const a = await analyzer.analyze(file, doc.version);
    if (documents.get(uri)?.version !== doc.version) return; // a newer edit is queued
    analyses.set(uri, a);
    publish(uri, file, a, doc.version);
    const checksMs = performance.now() - t0;
    const checksCpuMs = cpuMs(cpu0);
    // Then emission and the schemas; published again only when they found something.
    await new Promise((resolve) => setImmediate(resolve)); // let the diagnostics go out first
    const before = a.result.diags.items.length;
    await emitChecked(a);
    if (a.result.diags.items.length !== before && documents.get(uri)?.version === doc.version) publish(uri, file, a, doc.version);
    // For tools and the benchmark: when this version's diagnostics are complete, and how long each stage took.
    void connection.sendNotification("llavac/checked", {
      uri,
      version: doc.version,
      checksMs,
      totalMs: performance.now() - t0,
      // CPU time of the server process: what the wall times would be on an idle machine (one thread).
      checksCpuMs,
      totalCpuMs: cpuMs(cpu0),
    });
  }

  function publish(uri: string, file: string, a: Analysis, version: number): void {
    // The root's diagnostics, and those of the user files it imports that are not open themselves
    // (an open file reports its own); standard-library ones would be llavac's bug, shown at the root.
    const byUri = new Map<string, LspDiagnostic[]>([[uri, []]]);
    // A standard-library file opened from a definition is read, not checked as a spec of its own (it has no phase).
    const rootIsStd = a.result.graph.modules.get(file)?.isStd === true;
    for (const d of rootIsStd ? [] : a.result.diags.sorted()) {
      const target = d.span.file === file || isStdFile(a, d.span.file) || a.result.graph.isVirtual(d.span.file) ? uri : uriOf(d.span.file);
      if (target !== uri && documents.get(target)) continue;
      const lsp = toLsp(d);
      if (target === uri && d.span.file !== file) lsp.range = { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } };
      byUri.set(target, [...(byUri.get(target) ?? []), lsp]);
    }
    const before = published.get(uri) ?? new Set();
    for (const old of before) if (!byUri.has(old) && !documents.get(old)) void connection.sendDiagnostics({ uri: old, diagnostics: [] });
    published.set(uri, new Set(byUri.keys()));
    for (const [u, diagnostics] of byUri) void connection.sendDiagnostics({ uri: u, version, diagnostics });
  }

  /** The latest analysis of a document, checking it first when none is there yet. */
  async function analysisOf(uri: string): Promise<Analysis | undefined> {
    const doc = documents.get(uri);
    if (!doc || !analyzer) return undefined;
    const pending = running.get(uri);
    if (pending) await pending;
    const a = analyses.get(uri);
    if (a && a.version === doc.version) return a;
    await validate(uri);
    return analyses.get(uri);
  }

  async function useAt(uri: string, pos: { line: number; character: number }): Promise<{ a: Analysis; use: Use } | undefined> {
    const a = await analysisOf(uri);
    const doc = documents.get(uri);
    if (!a || !doc) return undefined;
    const use = nameAt(a, fileOf(uri), doc.offsetAt(pos));
    return use ? { a, use } : undefined;
  }

  /** Every place a target is named, over the analyses of all open documents (each reaches its imports). */
  function referencesOf(use: Use): Span[] {
    const key = targetKey(use.target);
    if (!key) return [];
    const out = new Map<string, Span>();
    for (const a of analyses.values())
      for (const u of [...a.uses, ...a.decls]) if (targetKey(u.target) === key) out.set(`${u.span.file}\0${u.span.start}`, u.span);
    const decl = targetSpan(use.target);
    if (decl) out.set(`${decl.file}\0${decl.start}`, decl);
    return [...out.values()].sort((x, y) => x.file.localeCompare(y.file) || x.start - y.start);
  }

  function renameRefusal(a: Analysis, use: Use | undefined, text: string, offset: number): string | undefined {
    if (!use) {
      const w = wordAt(text, offset);
      return w ? `\`${w.name}\` is not a name declared in a spec (nothing to rename)` : "there is no name here to rename";
    }
    const t = use.target;
    if (t.k === "sym" && (t.sym.k === "builtin" || t.sym.k === "namespace")) return `\`${t.sym.name}\` cannot be renamed here`;
    const decl = targetSpan(t);
    if (!decl) return "this is not a name that can be renamed";
    if (isStdFile(a, decl.file)) return "this name is declared in the standard library, which cannot be renamed";
    return undefined;
  }

  connection.onInitialize((params) => {
    const root = params.workspaceFolders?.[0]?.uri ?? params.rootUri;
    if (root) cwd = fileOf(root);
    analyzer = new Analyzer(openText, cwd);
    return {
      capabilities: {
        textDocumentSync: TextDocumentSyncKind.Incremental,
        hoverProvider: true,
        definitionProvider: true,
        referencesProvider: true,
        completionProvider: { triggerCharacters: [".", ":", "=", "{", " "] },
        renameProvider: { prepareProvider: true },
        documentSymbolProvider: true,
        codeActionProvider: { codeActionKinds: ["quickfix"] },
        documentFormattingProvider: true,
      },
      serverInfo: { name: "llavac" },
    };
  });

  documents.onDidChangeContent((e) => schedule(e.document.uri));
  documents.onDidClose((e) => {
    analyses.delete(e.document.uri);
    for (const u of published.get(e.document.uri) ?? []) void connection.sendDiagnostics({ uri: u, diagnostics: [] });
    published.delete(e.document.uri);
  });

  connection.onHover(async (p) => {
    const hit = await useAt(p.textDocument.uri, p.position);
    if (!hit) return null;
    const text = hoverText(hit.a, hit.use.target);
    return text ? { contents: { kind: "markdown", value: text }, range: rangeIn(hit.use.span) } : null;
  });

  connection.onDefinition(async (p) => {
    const hit = await useAt(p.textDocument.uri, p.position);
    const decl = hit ? targetSpan(hit.use.target) : undefined;
    return decl ? location(decl) : null;
  });

  connection.onReferences(async (p) => {
    const hit = await useAt(p.textDocument.uri, p.position);
    if (!hit) return [];
    const decl = targetSpan(hit.use.target);
    return referencesOf(hit.use)
      .filter((s) => p.context.includeDeclaration || !decl || s.file !== decl.file || s.start !== decl.start)
      .map(location);
  });

  connection.onPrepareRename(async (p) => {
    const a = await analysisOf(p.textDocument.uri);
    const doc = documents.get(p.textDocument.uri);
    if (!a || !doc) return null;
    const offset = doc.offsetAt(p.position);
    const use = nameAt(a, fileOf(p.textDocument.uri), offset);
    const why = renameRefusal(a, use, doc.getText(), offset);
    if (why) throw new ResponseError(ErrorCodes.InvalidRequest, why);
    return { range: rangeIn(use!.span), placeholder: doc.getText(rangeIn(use!.span)) };
  });

  connection.onRenameRequest(async (p) => {
    const a = await analysisOf(p.textDocument.uri);
    const doc = documents.get(p.textDocument.uri);
    if (!a || !doc) return null;
    const offset = doc.offsetAt(p.position);
    const use = nameAt(a, fileOf(p.textDocument.uri), offset);
    const why = renameRefusal(a, use, doc.getText(), offset);
    if (why) throw new ResponseError(ErrorCodes.InvalidRequest, why);
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(p.newName) || KEYWORDS.has(p.newName))
      throw new ResponseError(
        ErrorCodes.InvalidParams,
        `\`${p.newName}\` is not a valid name (a letter or _, then letters, digits or _; not a keyword)`,
      );
    const changes: Record<string, TextEdit[]> = {};
    for (const s of referencesOf(use!)) {
      if (isStdFile(a, s.file)) continue;
      (changes[uriOf(s.file)] ??= []).push({ range: rangeIn(s), newText: p.newName });
    }
    return { changes };
  });

  connection.onCompletion(async (p) => {
    const a = await analysisOf(p.textDocument.uri);
    const doc = documents.get(p.textDocument.uri);
    if (!a || !doc) return [];
    return complete(a, doc, fileOf(p.textDocument.uri), doc.offsetAt(p.position));
  });

  connection.onDocumentSymbol(async (p) => {
    const a = await analysisOf(p.textDocument.uri);
    const m = a?.result.graph.modules.get(fileOf(p.textDocument.uri));
    return m ? documentSymbols(m) : [];
  });

  connection.onCodeAction(async (p) => {
    const doc = documents.get(p.textDocument.uri);
    const a = await analysisOf(p.textDocument.uri);
    if (!doc) return [];
    const m = a?.result.graph.modules.get(fileOf(p.textDocument.uri));
    return p.context.diagnostics.flatMap((d) => fixesFor(d, doc, m));
  });

  connection.onDocumentFormatting(async (p) => {
    const doc = documents.get(p.textDocument.uri);
    if (!doc) return null;
    let formatted: string;
    try {
      formatted = formatSource(doc.getText(), fileOf(p.textDocument.uri));
    } catch (err) {
      // A file that does not parse is left as it is; its diagnostics already say why.
      connection.console.warn(`llavac: not formatted: ${(err as Error).message}`);
      return null;
    }
    if (formatted === doc.getText()) return [];
    return [{ range: { start: { line: 0, character: 0 }, end: doc.positionAt(doc.getText().length) }, newText: formatted }];
  });

  const closed = new Promise<void>((resolve) => connection.onExit(() => resolve()));
  documents.listen(connection);
  connection.listen();
  return closed;
}
