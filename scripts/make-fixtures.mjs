// Writes examples/data-fixtures/: a few samples of every raw dataset `llavac data prepare` converts, in
// each dataset's real upstream layout (JSON files, a jsonl, parquet with embedded images), plus the
// images they point at. Some items are broken on purpose, to show what is skipped and why.
// Deterministic: running it again gives the same files. Usage: node scripts/make-fixtures.mjs [outDir]
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import sharp from "sharp";
import { parquetWriteBuffer } from "hyparquet-writer";

const out = path.resolve(process.argv[2] ?? new URL("../examples/data-fixtures", import.meta.url).pathname);
const root = path.join(out, "root");
rmSync(out, { recursive: true, force: true });

const write = (rel, content) => {
  const f = path.join(root, rel);
  mkdirSync(path.dirname(f), { recursive: true });
  writeFileSync(f, content);
};
const json = (rel, v) => write(rel, JSON.stringify(v, null, 1) + "\n");

const COLORS = { red: "#d62728", green: "#2ca02c", blue: "#1f77b4", orange: "#ff7f0e", purple: "#9467bd" };

// A 3×5 pixel font for the labels. The pictures are drawn pixel by pixel into a raw RGB buffer and only
// encoded by sharp: text rendered through SVG would go through librsvg and the machine's fontconfig, so the
// committed fixtures would depend on which fonts happen to be installed.
const GLYPHS = {
  a: "010101111101101",
  b: "110101110101110",
  c: "011100100100011",
  d: "110101101101110",
  e: "111100110100111",
  f: "111100110100100",
  g: "011100101101011",
  h: "101101111101101",
  i: "111010010010111",
  j: "001001001101010",
  k: "101101110101101",
  l: "100100100100111",
  m: "101111111101101",
  n: "110101101101101",
  o: "010101101101010",
  p: "110101110100100",
  q: "010101101110011",
  r: "110101110101101",
  s: "011100010001110",
  t: "111010010010010",
  u: "101101101101111",
  v: "101101101101010",
  w: "101101111111101",
  x: "101101010101101",
  y: "101101010010010",
  z: "111001010100111",
  0: "111101101101111",
  1: "010110010010111",
  2: "110001010100111",
  3: "110001010001110",
  4: "101101111001001",
  5: "111100110001110",
  6: "011100111101111",
  7: "111001010010010",
  8: "111101111101111",
  9: "111101111001110",
  "/": "001001010100100",
  "%": "101001010100101",
  ".": "000000000000010",
  "(": "010100100100010",
  ")": "010001001001010",
  "-": "000000111000000",
  " ": "000000000000000",
};

function hex(c) {
  return [1, 3, 5].map((i) => parseInt(c.slice(i, i + 2), 16));
}

/** A small chart or shape picture; PNG by default. */
async function picture(kind, color, label, format = "png", width = 64, height = 48) {
  const px = Buffer.alloc(width * height * 3, 255);
  const put = (x, y, rgb) => {
    if (x >= 0 && y >= 0 && x < width && y < height) px.set(rgb, (y * width + x) * 3);
  };
  const rect = (x0, y0, w, h, rgb) => {
    for (let y = y0; y < y0 + h; y++) for (let x = x0; x < x0 + w; x++) put(x, y, rgb);
  };
  const fill = hex(COLORS[color]);
  if (kind === "bars") {
    rect(8, 20, 10, 24, fill);
    rect(26, 10, 10, 34, fill);
    rect(44, 28, 10, 16, fill);
  } else if (kind === "circle") {
    const cx = width / 2,
      cy = height / 2;
    for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) if ((x + 0.5 - cx) ** 2 + (y + 0.5 - cy) ** 2 <= 256) put(x, y, fill);
  } else rect(16, 8, 32, 32, fill);
  [...label.toLowerCase()].forEach((ch, i) => {
    const g = GLYPHS[ch] ?? GLYPHS[" "];
    for (let k = 0; k < 15; k++) if (g[k] === "1") put(2 + i * 4 + (k % 3), 2 + Math.floor(k / 3), [0, 0, 0]);
  });
  const img = sharp(px, { raw: { width, height, channels: 3 } });
  return format === "jpg" ? img.jpeg({ quality: 80 }).toBuffer() : img.png({ compressionLevel: 9 }).toBuffer();
}

// ChartQA_Dataset/{train,val,test}/{split}_{human,augmented}.json + png/
for (const split of ["train", "val", "test"]) {
  const human = [
    { imgname: `${split}_1.png`, query: "Which bar is the tallest?", label: "The middle one" },
    { imgname: `${split}_2.png`, query: "How many bars are there?", label: "3" },
  ];
  if (split === "train") human.push({ imgname: "train_3.png", query: "What colour are the bars?" }); // no label: skipped
  json(`ChartQA_Dataset/${split}/${split}_human.json`, human);
  json(`ChartQA_Dataset/${split}/${split}_augmented.json`, [
    { imgname: `${split}_1.png`, query: "Is the last bar shorter than the first?", label: "Yes" },
  ]);
  for (const [i, c] of [
    [1, "blue"],
    [2, "orange"],
  ])
    write(`ChartQA_Dataset/${split}/png/${split}_${i}.png`, await picture("bars", c, `${split} ${i}`));
}

// DVQA/train_qa.json + images/
json("DVQA/train_qa.json", [
  { question_id: 100001, image: "bar_train_00000001.png", question: "What is the label of the first bar?", answer: "cat" },
  { question_id: 100002, image: "bar_train_00000001.png", question: "How many bars are there?", answer: "3" },
  { question_id: 100003, image: "bar_train_00000002.png", question: "Which bar is the largest?" }, // no answer: skipped
]);
write("DVQA/images/bar_train_00000001.png", await picture("bars", "green", "cat dog cow"));
write("DVQA/images/bar_train_00000002.png", await picture("bars", "red", "a b c"));

// ai2d/questions/<image>.json + images/
json("ai2d/questions/0.png.json", {
  imageName: "0.png",
  questions: {
    "Which stage comes after the egg?": {
      questionId: "0.png-0",
      answerTexts: ["larva", "adult", "pupa", "egg"],
      correctAnswer: 0,
      abcLabel: false,
    },
    "How many stages are shown?": { questionId: "0.png-1", answerTexts: ["2", "3", "4", "5"], correctAnswer: 2, abcLabel: false },
  },
});
json("ai2d/questions/1.png.json", {
  imageName: "1.png",
  questions: {
    "Which part absorbs water?": {
      questionId: "1.png-0",
      answerTexts: ["leaf", "root", "stem", "flower"],
      correctAnswer: 7,
      abcLabel: false,
    },
  }, // bad index: skipped
});
write("ai2d/images/0.png", await picture("circle", "green", "life cycle"));
write("ai2d/images/1.png", await picture("square", "green", "plant"));

// DocVQA/sp_docvqa/{train_v1.0_withQT,val_v1.0_withQT}.json + images/
json("DocVQA/sp_docvqa/train_v1.0_withQT.json", {
  dataset_name: "docvqa",
  dataset_split: "train",
  data: [
    {
      questionId: 337,
      question: "What is the date on the letter?",
      image: "documents/xnbl0037_1.png",
      docId: 279,
      ucsf_document_id: "xnbl0037",
      ucsf_document_page_no: "1",
      answers: ["1/8/93", "January 8, 1993"],
      data_split: "train",
    },
    {
      questionId: 338,
      question: "To whom is it addressed?",
      image: "documents/xnbl0037_1.png",
      docId: 279,
      answers: [],
      data_split: "train",
    }, // no answer: skipped
  ],
});
json("DocVQA/sp_docvqa/val_v1.0_withQT.json", {
  dataset_name: "docvqa",
  dataset_split: "val",
  data: [
    {
      questionId: 49153,
      question: "What is the heading?",
      image: "documents/pybv0228_81.png",
      docId: 14465,
      answers: ["ORGANIZATION"],
      data_split: "val",
    },
  ],
});
write("DocVQA/sp_docvqa/images/xnbl0037_1.png", await picture("square", "blue", "1/8/93"));
write("DocVQA/sp_docvqa/images/pybv0228_81.png", await picture("square", "purple", "ORG"));

// DocVQA/Infographicsvqa/infographicsVQA_{train_v1.0,val_v1.0_withQT}.json + images/
json("DocVQA/Infographicsvqa/infographicsVQA_train_v1.0.json", {
  dataset_name: "infographicVQA",
  dataset_split: "train",
  data: [
    {
      questionId: 65718,
      question: "What percentage of people use a phone?",
      image_local_name: "10002.jpeg",
      image_url: "https://example.invalid/10002.jpeg",
      answers: ["72%"],
      data_split: "train",
    },
  ],
});
json("DocVQA/Infographicsvqa/infographicsVQA_val_v1.0_withQT.json", {
  dataset_name: "infographicVQA",
  dataset_split: "val",
  data: [{ questionId: 98313, question: "What is the title?", image_local_name: "20471.jpeg", answers: ["Phones"], data_split: "val" }],
});
write("DocVQA/Infographicsvqa/images/10002.jpeg", await picture("circle", "orange", "72%", "jpg"));
write("DocVQA/Infographicsvqa/images/20471.jpeg", await picture("circle", "blue", "Phones", "jpg"));

// ArxivQA/arxivqa.jsonl + images/
write(
  "ArxivQA/arxivqa.jsonl",
  [
    {
      id: "cond-mat-2310-1",
      image: "images/2310.00001_fig1.jpg",
      question: "What does the figure show?",
      options: ["A) a rising curve", "B) a falling curve", "C) a flat line"],
      label: "A",
      rationale: "The curve increases with x.",
    },
    {
      id: "cond-mat-2310-2",
      image: "images/2310.00001_fig1.jpg",
      question: "Which axis is logarithmic?",
      options: ["A) x", "B) y"],
      label: "neither",
      rationale: "Both axes are linear.",
    },
    { id: "cond-mat-2310-3", image: "images/2310.00002_fig3.jpg", question: "Pick one.", options: ["A) yes"], label: "D", rationale: "" }, // label past the options: skipped
  ]
    .map((r) => JSON.stringify(r))
    .join("\n") + "\n{not json\n",
);
write("ArxivQA/images/2310.00001_fig1.jpg", await picture("bars", "red", "fig 1", "jpg"));
write("ArxivQA/images/2310.00002_fig3.jpg", await picture("bars", "purple", "fig 3", "jpg"));

// synthdog-en/<split>-<NNNNN>-of-<MMMMM>.parquet: image {bytes, path}, ground_truth (a JSON string)
const synthSchema = [
  { name: "schema", num_children: 2 },
  { name: "image", repetition_type: "OPTIONAL", num_children: 2 },
  { name: "bytes", type: "BYTE_ARRAY", repetition_type: "OPTIONAL" },
  { name: "path", type: "BYTE_ARRAY", converted_type: "UTF8", repetition_type: "OPTIONAL" },
  { name: "ground_truth", type: "BYTE_ARRAY", converted_type: "UTF8", repetition_type: "OPTIONAL" },
];
const synth = async (split, texts) => {
  const images = [];
  for (const [i, t] of texts.entries())
    images.push({ bytes: new Uint8Array(await picture("square", Object.keys(COLORS)[i % 5], t.slice(0, 12))), path: null });
  const gts = texts.map((t, i) =>
    i === 2 ? "not a literal" : i === 1 ? `{'gt_parse': {'text_sequence': '${t}'}}` : JSON.stringify({ gt_parse: { text_sequence: t } }),
  );
  write(
    `synthdog-en/${split}-00000-of-00001.parquet`,
    new Uint8Array(
      parquetWriteBuffer({
        schema: synthSchema,
        columnData: [
          { name: "image", data: images },
          { name: "ground_truth", data: gts },
        ],
      }),
    ),
  );
};
await synth("train", ["The quick brown fox jumps over the lazy dog.", "Pack my box with five dozen liquor jugs.", "broken ground truth"]);
await synth("validation", ["Sphinx of black quartz, judge my vow."]);

// ArxivCap/<name>_<YYMM>_<n>.parquet: caption_images [{caption, cil_pairs [{sub_caption, image_file, image {bytes, path}}]}]
const capSchema = [
  { name: "schema", num_children: 2 },
  { name: "src", type: "BYTE_ARRAY", converted_type: "UTF8", repetition_type: "OPTIONAL" },
  { name: "caption_images", repetition_type: "OPTIONAL", num_children: 1, converted_type: "LIST" },
  { name: "list", repetition_type: "REPEATED", num_children: 1 },
  { name: "element", repetition_type: "OPTIONAL", num_children: 2 },
  { name: "caption", type: "BYTE_ARRAY", converted_type: "UTF8", repetition_type: "OPTIONAL" },
  { name: "cil_pairs", repetition_type: "OPTIONAL", num_children: 1, converted_type: "LIST" },
  { name: "list", repetition_type: "REPEATED", num_children: 1 },
  { name: "element", repetition_type: "OPTIONAL", num_children: 3 },
  { name: "sub_caption", type: "BYTE_ARRAY", converted_type: "UTF8", repetition_type: "OPTIONAL" },
  { name: "image_file", type: "BYTE_ARRAY", converted_type: "UTF8", repetition_type: "OPTIONAL" },
  { name: "image", repetition_type: "OPTIONAL", num_children: 2 },
  { name: "bytes", type: "BYTE_ARRAY", repetition_type: "OPTIONAL" },
  { name: "path", type: "BYTE_ARRAY", converted_type: "UTF8", repetition_type: "OPTIONAL" },
];
const figure = async (file, color, caption, sub = "") => ({
  sub_caption: sub,
  image_file: file,
  image: { bytes: new Uint8Array(await picture("bars", color, file.slice(-10), "jpg")), path: null },
});
write(
  "ArxivCap/arXiv_src_2310_001.parquet",
  new Uint8Array(
    parquetWriteBuffer({
      schema: capSchema,
      columnData: [
        { name: "src", data: ["arXiv_src_2310_001.tar", "arXiv_src_2310_001.tar"] },
        {
          name: "caption_images",
          data: [
            [
              {
                caption: "Loss against training steps for three learning rates.",
                cil_pairs: [await figure("2310.00001/fig1.jpg", "blue")],
              },
              {
                caption: "Two panels: (a) accuracy, (b) loss.",
                cil_pairs: [
                  await figure("2310.00001/fig2a.jpg", "red", "", "(a)"),
                  await figure("2310.00001/fig2b.jpg", "green", "", "(b)"),
                ],
              }, // sub-figures: skipped
            ],
            [{ caption: "A path that tries to leave the image folder.", cil_pairs: [await figure("../../escape.jpg", "orange")] }], // unsafe: skipped
          ],
        },
      ],
    }),
  ),
);

// llava/: JSON arrays of LLaVA records (LCS-558K- and LLaVA-665K-like) + the images they use
const coco = ["000000000009.jpg", "000000000025.jpg", "000000000030.jpg"];
for (const [i, f] of coco.entries())
  write(
    `llava/coco/train2017/${f}`,
    await picture(["circle", "square", "bars"][i], ["red", "green", "blue"][i], f.slice(6, 12), "jpg", 80, 60),
  );
json("llava/blip_laion_cc_sbu_sample.json", [
  {
    id: "004539375",
    image: "coco/train2017/000000000009.jpg",
    conversations: [
      { from: "human", value: "Render a clear and concise summary of the photo.\n<image>" },
      { from: "gpt", value: "a red circle on a white background" },
    ],
  },
  {
    id: "002239345",
    image: "coco/train2017/000000000025.jpg",
    conversations: [
      { from: "human", value: "<image>\nWrite a terse but informative summary of the picture." },
      { from: "gpt", value: "a green square" },
    ],
  },
]);
json("llava/llava_v1_5_mix_sample.json", [
  {
    id: "000000033471",
    image: "coco/train2017/000000000030.jpg",
    conversations: [
      { from: "human", value: "<image>\nWhat colour are the bars?" },
      { from: "gpt", value: "The bars are blue." },
      { from: "human", value: "How many bars are there?" },
      { from: "gpt", value: "There are three bars." },
    ],
  },
  {
    id: "000000052846",
    image: "coco/train2017/000000000009.jpg",
    conversations: [
      { from: "human", value: "What shape is shown?\n<image>" },
      { from: "gpt", value: "A circle." },
    ],
  },
  {
    id: "i6IyJda_0",
    model: "",
    conversations: [
      { from: "human", value: "Write a haiku about data." },
      { from: "gpt", value: "Rows of quiet numbers,\nshuffled into chunks by night,\nthe model wakes up." },
    ],
  },
  {
    id: "odd_turns",
    image: "coco/train2017/000000000025.jpg",
    conversations: [{ from: "human", value: "<image>\nA question with no answer" }],
  },
  {
    id: "missing_image",
    image: "coco/train2017/999999999999.jpg",
    conversations: [
      { from: "human", value: "<image>\nWhat is this?" },
      { from: "gpt", value: "Nothing." },
    ],
  },
]);
console.log(`wrote ${out}`);
