// `check --data` reads a batch's records from its bytes (record-bytes.ts) instead of decoding the batch and
// JSON.parse-ing each line: for every line, the same line number, blank lines left out, and the same record
// (id, image, conversations) or the same problem with the same message as batchLines + parseLine.
import { describe, expect, it } from "vitest";
import { parseLine } from "../runtime/data/classify.js";
import { batchLines } from "../runtime/data/jsonl.js";
import { batchRecords } from "../runtime/data/record-bytes.js";
import { isProblem, type LlavaRecord, type RecordProblem } from "../runtime/data/records.js";

const turns = (...v: string[]) => v.map((value, i) => ({ from: i % 2 ? "gpt" : "human", value }));
const line = (o: unknown) => JSON.stringify(o);

// Lines the byte reader takes itself (printable ASCII in the usual shape).
const FAST = [
  line({ id: "a1", image: "coco/1.jpg", conversations: turns("<image>\nWhat is it?", "A cat.") }),
  line({ id: "t", conversations: turns("no image", "ok") }),
  line({ conversations: turns("no id", "ok") }),
  line({ id: "q", conversations: turns('say "hi" \\ back\\', 'a \\"quoted\\" end\\\\') }),
  '{"id":"esc","conversations":[{"from":"human","value":"tab\\there\\r\\nnew\\fline\\u0001\\u007f/"},{"from":"gpt","value":"\\u00e9 \\ud83d\\ude00 escaped"}]}',
  line({ conversations: [{ value: "no from" }, { value: "x", from: "gpt" }], image: "i.png", id: "order" }),
  line({ id: "m", model: "", conversations: turns("extra string key", "kept out") }),
  line({
    id: "r",
    conversations: [
      { from: "user", value: "u" },
      { from: "assistant", value: "a" },
      { from: "bot", value: "b" },
    ],
  }),
  line({ id: "empty", conversations: [] }),
  line({ id: "", image: "", conversations: turns("", "") }),
  '  { "id" : "spaced" , "conversations" : [ { "from" : "human" , "value" : "v" } , {"from":"gpt","value":"w"} ] }  ',
  '{"id":"slash","conversations":[{"from":"human","value":"a\\/b \\b \\\\\\" x"},{"from":"gpt","value":"\\\\"}]}',
  '{"id":"lone \\ud800","conversations":[{"from":"human","value":"\\udc00"}]}',
  '{"id":"role-escape","conversations":[{"from":"hum\\u0061n","value":"x"},{"from":"gpt","value":"y"}]}',
];
// Lines it hands to JSON.parse (another shape, a problem, or bytes other than printable ASCII).
const SLOW = [
  "",
  "   ",
  "not json",
  "{",
  '{"id":"bad escape","conversations":[{"from":"human","value":"\\x"}]}',
  '{"id":"unterminated","conversations":[{"from":"human","value":"abc}]}',
  '{"id":"raw\ttab","conversations":[]}',
  '{"id":"trailing","conversations":[]} x',
  '{"id":"comma","conversations":[{"from":"human","value":"a"},]}',
  '{"id":"dup","id":"again","conversations":[]}',
  '{"id":"dup2","conversations":[],"conversations":[{"from":"human","value":"a"}]}',
  '{"id":"dupturn","conversations":[{"from":"human","value":"a","value":"b"}]}',
  '{"id":7,"conversations":[]}',
  '{"id":"n","image":null,"conversations":[]}',
  '{"id":"w","weight":1,"conversations":[]}',
  '{"id":"x","conversations":[{"from":"human","value":"a","extra":"e"}]}',
  '{"id":"nv","conversations":[{"from":"human"}]}',
  '{"id":"nc"}',
  "[1,2]",
  '{"i\\u0064":"escaped key","conversations":[]}',
  '{"id":"raw DEL \u007f","conversations":[]}',
  '{"id":"unicode é","conversations":[{"from":"human","value":"naïve"}]}',
  '{"id":"nested","conversations":[{"from":{"a":1},"value":"a"}]}',
  '{"id":"obj","conversations":{}}',
  "\u00a0",
  '{"id":"raw CR\r in the middle","conversations":[]}',
  '{"id":"CR","conversations":[]}\r ',
];

function same(bytes: Uint8Array, firstLine = 1): number {
  const batch = { index: 0, file: "f.jsonl", firstLine, bytes };
  const want = batchLines(batch);
  const got = batchRecords(batch);
  expect(got.lines).toEqual(want.map((l) => l.line));
  want.forEach((l, i) => {
    const w = parseLine(l);
    const g = got.parsed[i]!;
    if (isProblem(w)) expect(g).toEqual(w);
    else {
      const pick = (r: LlavaRecord | RecordProblem) => {
        const { id, image, conversations } = r as LlavaRecord;
        return { id, image, conversations };
      };
      expect(isProblem(g)).toBe(false);
      expect(pick(g)).toEqual(pick(w));
    }
  });
  return got.fast;
}

describe("records read from a batch's bytes", () => {
  it("gives each line's record or problem as batchLines + parseLine do, and reads the usual shape itself", () => {
    const all = [...FAST, ...SLOW];
    expect(same(Buffer.from(`${all.join("\n")}\n`), 5)).toBe(FAST.length);
    // no newline at the end, CRLF line ends, blank lines between
    expect(same(Buffer.from(all.join("\n")))).toBe(FAST.length);
    expect(same(Buffer.from(`${all.join("\r\n")}\r\n`))).toBe(FAST.length);
    expect(same(Buffer.from(all.map((l) => `${l}\n\n`).join("")))).toBe(FAST.length);
  });

  it("each line alone, and each cut short at every byte (malformed JSON, with parseRecord's message)", () => {
    for (const l of [...FAST, ...SLOW]) {
      same(Buffer.from(l));
      for (let k = 0; k < l.length; k += 3) same(Buffer.from(`${l.slice(0, k)}\n${l}`));
    }
  });

  it("reads a line of invalid UTF-8 as invalid_utf8, and keeps the line numbers of the lines around it", () => {
    const bytes = Buffer.concat([Buffer.from(`${FAST[0]}\n`), Buffer.from([0x7b, 0xff, 0xfe, 0x7d, 0x0a]), Buffer.from(`${FAST[1]}\n`)]);
    expect(same(bytes, 10)).toBe(2);
    expect(batchRecords({ index: 0, file: "f", firstLine: 10, bytes }).lines).toEqual([10, 11, 12]);
  });

  it("quotes and backslashes at every place around the scan's 16-byte steps", () => {
    for (let pad = 0; pad < 40; pad++) {
      const v = `${"x".repeat(pad)}\\"${"y".repeat(pad % 17)}\\\\`;
      const l = `{"id":"p${pad}","conversations":[{"from":"human","value":"${v}"},{"from":"gpt","value":"${"z".repeat(pad)}"}]}`;
      expect(same(Buffer.from(`${"a".repeat(pad % 5)}\n${l}\n${l}`))).toBe(2);
    }
  });
});
