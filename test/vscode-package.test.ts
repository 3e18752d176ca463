// `npm run package:vscode`: the extension bundled and packaged into a .vsix by @vscode/vsce, offline.
// Run once for the file (it takes a few seconds); the .vsix (a zip) is read back with node:zlib.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { inflateRawSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT } from "./helpers.js";

/** The entries of a zip file, by name, read from its central directory. */
function unzip(buf: Buffer): Map<string, Buffer> {
  const eocd = buf.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  if (eocd < 0) throw new Error("not a zip file: no end of central directory");
  const count = buf.readUInt16LE(eocd + 10);
  let at = buf.readUInt32LE(eocd + 16);
  const out = new Map<string, Buffer>();
  for (let i = 0; i < count; i++) {
    if (buf.readUInt32LE(at) !== 0x02014b50) throw new Error("bad central directory entry");
    const method = buf.readUInt16LE(at + 10);
    const size = buf.readUInt32LE(at + 20);
    const nameLen = buf.readUInt16LE(at + 28);
    const extraLen = buf.readUInt16LE(at + 30);
    const commentLen = buf.readUInt16LE(at + 32);
    const local = buf.readUInt32LE(at + 42);
    const name = buf.toString("utf8", at + 46, at + 46 + nameLen);
    const dataAt = local + 30 + buf.readUInt16LE(local + 26) + buf.readUInt16LE(local + 28);
    const raw = buf.subarray(dataAt, dataAt + size);
    out.set(name, method === 8 ? inflateRawSync(raw) : Buffer.from(raw));
    at += 46 + nameLen + extraLen + commentLen;
  }
  return out;
}

let dir: string;
let entries: Map<string, Buffer>;
let log: string;

beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), "llavac-vsix-"));
  const vsix = path.join(dir, "llava.vsix");
  const r = spawnSync("npm", ["run", "--silent", "package:vscode"], {
    cwd: ROOT,
    env: { ...process.env, VSIX_OUT: vsix },
    encoding: "utf8",
  });
  log = `${r.stdout}\n${r.stderr}`;
  expect(r.status, log).toBe(0);
  entries = unzip(readFileSync(vsix));
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("npm run package:vscode", () => {
  it("packages the manifest, the grammar, the language configuration and the bundled client", () => {
    expect([...entries.keys()].sort()).toEqual(
      expect.arrayContaining([
        "extension.vsixmanifest",
        "extension/package.json",
        "extension/syntaxes/llava.tmLanguage.json",
        "extension/language-configuration.json",
        "extension/dist/extension.cjs",
      ]),
    );
    const manifest = JSON.parse(entries.get("extension/package.json")!.toString("utf8"));
    expect(manifest.contributes.languages[0]).toMatchObject({ id: "llava", extensions: [".llava"] });
    expect(manifest.contributes.grammars[0]).toMatchObject({ scopeName: "source.llava", path: "./syntaxes/llava.tmLanguage.json" });
    expect(JSON.parse(entries.get("extension/syntaxes/llava.tmLanguage.json")!.toString("utf8")).scopeName).toBe("source.llava");
  });

  it("needs no node_modules: the client is one bundle that starts `llavac lsp`", () => {
    expect([...entries.keys()].filter((n) => n.includes("node_modules"))).toEqual([]);
    expect([...entries.keys()].filter((n) => n.startsWith("extension/src/") || n.endsWith(".map"))).toEqual([]);
    const client = entries.get("extension/dist/extension.cjs")!.toString("utf8");
    expect(client).toContain('require("vscode")');
    expect(client).not.toMatch(/require\("vscode-languageclient/);
    expect(client).toContain('"lsp"');
  });
});
