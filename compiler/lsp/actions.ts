// Code actions for the diagnostics whose help carries a fix: "did you mean `x`?" (replace the name),
// "add the unit: `3%`" (replace the number), and "import { x } from "std/m"" (add the import). The help
// texts are the compiler's (binding.ts, evaluation.ts, assignability.ts); these patterns read them.
import { CodeActionKind, type CodeAction, type Diagnostic as LspDiagnostic, type TextEdit } from "vscode-languageserver";
import type { TextDocument } from "vscode-languageserver-textdocument";
import type { SourceModule } from "../modules.js";
import { importEdit } from "./completion.js";

const DID_YOU_MEAN = /did you mean `([^`]+)`\?/;
const ADD_UNIT = /add the unit: `([^`]+)`/;
const IMPORT = /import \{ ([A-Za-z_]\w*) \} from "(std\/[a-z_]+)"/g;

/** The fixes one diagnostic's help offers, as workspace edits of this document. */
export function fixesFor(d: LspDiagnostic, doc: TextDocument, m: SourceModule | undefined): CodeAction[] {
  const help = ((d.data as { help?: string[] } | undefined)?.help ?? []).join("\n");
  const out: CodeAction[] = [];
  const action = (title: string, edits: TextEdit[], preferred = false): CodeAction => ({
    title,
    kind: CodeActionKind.QuickFix,
    diagnostics: [d],
    isPreferred: preferred,
    edit: { changes: { [doc.uri]: edits } },
  });
  const imports = [...help.matchAll(IMPORT)];
  const mean = DID_YOU_MEAN.exec(help);
  if (mean) {
    const name = mean[1]!;
    const imp = imports.find((i) => i[1] === name);
    const edits: TextEdit[] = [{ range: d.range, newText: name }];
    if (imp) edits.push(importEdit(doc, m, name, imp[2]!));
    out.push(action(imp ? `change to \`${name}\` and import it from "${imp[2]}"` : `change to \`${name}\``, edits, true));
  }
  const unit = ADD_UNIT.exec(help);
  if (unit) out.push(action(`write \`${unit[1]}\``, [{ range: d.range, newText: unit[1]! }], true));
  if (!mean)
    for (const [, name, mod] of imports)
      out.push(action(`import \`${name}\` from "${mod}"`, [importEdit(doc, m, name!, mod!)], imports.length === 1));
  return out;
}
