// `llavac lsp`: the language server for editors, speaking LSP over standard input and output.
import type { Command } from "commander";

export function registerLspCommand(program: Command): void {
  program
    .command("lsp")
    .description("run the language server (LSP over stdio) for editors: diagnostics, hover, go to definition, completion, rename")
    // Editors' clients pass their transport; stdio is the only one, so the flag is accepted and changes nothing.
    .option("--stdio", "speak over standard input and output (the default and only transport)")
    // A client that starts the server as a Node module names its own process; the server exits when it is gone.
    .option("--clientProcessId <pid>", "the editor's process id (vscode-languageserver watches it)")
    .action(async () => {
      const { startServer } = await import("../lsp/server.js");
      await startServer();
    });
}
