// `llavac graph`: the SVG is well-formed XML, lists the blocks with the parameter tree's counts, and draws
// frozen blocks differently in phase 1 (vision and language frozen) and phase 2 (language trained).
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compile, type CompileResult } from "../compiler/compile.js";
import type { Derived } from "../compiler/derive.js";
import { graphSvg, modelGraph } from "../compiler/graph.js";
import { ROOT } from "./helpers.js";

const SEVEN = "examples/llava-v1.5-7b/llava.llava";
let result: CompileResult;
const svgs: Record<string, string> = {};
const dir = mkdtempSync(path.join(tmpdir(), "llavac-graph-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

beforeAll(async () => {
  result = await compile(path.join(ROOT, SEVEN), { env: {}, cwd: ROOT, emit: false });
  for (const p of result.phases) svgs[p.unit.ir.$name] = graphSvg(modelGraph(p as typeof p & { derived: Derived }));
});

/** Every `<g class="block …">` of an SVG, read by an XML parser (Python's, which rejects a malformed file). */
type Block = { state: string; component: string; params: number; trainable: number; label: string };
const parsed = new Map<string, Block[]>();
function blocks(svg: string): Block[] {
  if (!parsed.has(svg)) parsed.set(svg, parseBlocks(svg));
  return parsed.get(svg)!;
}
function parseBlocks(svg: string): Block[] {
  const py = `import sys, json, xml.etree.ElementTree as E
ns = "{http://www.w3.org/2000/svg}"
root = E.fromstring(sys.stdin.read())
out = []
for g in root.iter(ns + "g"):
    cls = g.get("class", "").split()
    if "block" in cls:
        out.append({"state": cls[1], "component": g.get("data-component"), "params": int(g.get("data-params")), "trainable": int(g.get("data-trainable")), "label": g.find(ns + "text").text})
print(json.dumps(out))`;
  const r = spawnSync("python3", ["-c", py], { input: svg, encoding: "utf8" });
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout);
}

describe("graph", () => {
  it("lists the blocks of each component with the parameter tree's counts", () => {
    const bs = blocks(svgs.pretrain!);
    const d = result.phases[0]!.derived!;
    for (const [component, c] of Object.entries(d.counts.byComponent))
      expect(
        bs.filter((b) => b.component === component).reduce((s, b) => s + b.params, 0),
        component,
      ).toBe(c.total);
    expect(bs.reduce((s, b) => s + b.params, 0)).toBe(7_062_902_784);
    expect(bs.map((b) => b.label)).toEqual(
      expect.arrayContaining([
        "24 × encoder block, 16 heads",
        "linear 1024 → 4096",
        "linear 4096 → 4096",
        "32 × decoder block, 32 heads",
        "lm_head 4096 → 32,000",
      ]),
    );
    expect(bs.find((b) => b.label.startsWith("24 ×"))!.params).toBe(24 * 12_596_224);
    expect(svgs.pretrain).toContain("576 image slots");
    expect(svgs.pretrain).toContain("image_start_idx 1");
    expect(svgs.finetune).toContain("image_start_idx 35");
    expect(svgs.pretrain).toContain("lcs_558k (558,128)");
  });

  it("frozen blocks are drawn differently in phase 1 and phase 2", () => {
    const state = (phase: string, component: string) => [
      ...new Set(
        blocks(svgs[phase]!)
          .filter((b) => b.component === component)
          .map((b) => b.state),
      ),
    ];
    expect(state("pretrain", "image_model")).toEqual(["frozen"]);
    expect(state("pretrain", "text_model")).toEqual(["frozen"]);
    expect(state("pretrain", "projector_image_model")).toEqual(["trainable"]);
    expect(state("finetune", "image_model")).toEqual(["frozen"]);
    expect(state("finetune", "text_model")).toEqual(["trainable"]);
    expect(svgs.pretrain).toContain(".frozen rect{fill:url(#hatch)");
  });

  it("the README's picture is the command's output, and the CLI writes a PNG or refuses another extension", () => {
    expect(readFileSync(path.join(ROOT, "docs/llava-v1.5-7b-pretrain.svg"), "utf8")).toBe(svgs.pretrain);
    const bin = path.join(ROOT, "bin/llavac.js");
    const png = path.join(dir, "m.png");
    const r = spawnSync(process.execPath, [bin, "graph", SEVEN, "--phase", "finetune", "-o", png], { cwd: ROOT, encoding: "utf8" });
    expect(r.status, r.stderr).toBe(0);
    expect(readFileSync(png).subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    const bad = spawnSync(process.execPath, [bin, "graph", SEVEN, "--phase", "nope", "-o", path.join(dir, "m.svg")], {
      cwd: ROOT,
      encoding: "utf8",
    });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('no phase "nope"');
  });
});
