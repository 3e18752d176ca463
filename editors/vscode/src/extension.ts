// The VS Code side of llava: starts `llavac lsp` and connects it to the editor. Everything else
// (diagnostics, hover, completion, rename, fixes, formatting) is the language server's.
import { workspace, type ExtensionContext } from "vscode";
import {
  LanguageClient,
  TransportKind,
  type Executable,
  type LanguageClientOptions,
  type NodeModule,
  type ServerOptions,
} from "vscode-languageclient/node";

let client: LanguageClient | undefined;

/** `llavac` on PATH, or a path to the package's bin/llavac.js (run as a Node module by VS Code's own runtime). */
function serverCommand(): Executable | NodeModule {
  const config = workspace.getConfiguration("llava.server");
  const command = config.get<string>("path", "llavac");
  const args = ["lsp", ...config.get<string[]>("extraArgs", [])];
  if (command.endsWith(".js")) return { module: command, args, transport: TransportKind.stdio };
  return { command, args, transport: TransportKind.stdio, options: { shell: process.platform === "win32" } };
}

export async function activate(context: ExtensionContext): Promise<void> {
  const run = serverCommand();
  const serverOptions: ServerOptions = run;
  const clientOptions: LanguageClientOptions = {
    documentSelector: [{ scheme: "file", language: "llava" }],
    synchronize: { fileEvents: workspace.createFileSystemWatcher("**/*.llava") },
  };
  client = new LanguageClient("llava", "llava language server", serverOptions, clientOptions);
  context.subscriptions.push({ dispose: () => void client?.stop() });
  await client.start();
}

export async function deactivate(): Promise<void> {
  await client?.stop();
  client = undefined;
}
