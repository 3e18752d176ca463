"""The LLaVA/Cerebras image pipeline with PIL + numpy (what the reference trainers use):
Image.open(p).convert("RGB") → expand2square → resize shorter side (BICUBIC) → center crop → /255 → normalize
→ float32 CHW. Crop offsets as torchvision's center_crop computes them (Python's round).

  pil_prepare.py dump <size> <out_dir> <image>...        each result's uint8 pixels (before /255), HWC, raw
  pil_prepare.py dump-nopad <size> <out_dir> <image>...  the same without expand2square (resize, then crop)
  pil_prepare.py convert <out_dir> <image>...            Image.open(p).convert("RGB") alone, HWC, raw
  pil_prepare.py bench <size> <image>...                 print images/s and CPU ms per image (process time) for
                                                         the whole pipeline, one process, one thread
"""
import os
import sys
import time
import warnings

import numpy as np
from PIL import Image

MEAN = np.array([0.48145466, 0.4578275, 0.40821073], dtype=np.float32)
STD = np.array([0.26862954, 0.26130258, 0.27577711], dtype=np.float32)
BACKGROUND = tuple(int(255 * x) for x in MEAN)

# PIL warns about palette images with byte transparency on convert("RGB"); the pixels are what matter here.
warnings.simplefilter("ignore")


def expand2square(img):
    w, h = img.size
    if w == h:
        return img
    side = max(w, h)
    out = Image.new(img.mode, (side, side), BACKGROUND)
    out.paste(img, (0, (w - h) // 2) if w > h else ((h - w) // 2, 0))
    return out


def pixels(path, size, pad=True):
    img = Image.open(path).convert("RGB")
    if pad:
        img = expand2square(img)
    w, h = img.size
    nw, nh = (size, int(size * h / w)) if w <= h else (int(size * w / h), size)
    img = img.resize((nw, nh), Image.BICUBIC)
    top, left = int(round((nh - size) / 2.0)), int(round((nw - size) / 2.0))
    return np.asarray(img.crop((left, top, left + size, top + size)), dtype=np.uint8)


def tensor(path, size):
    x = pixels(path, size).astype(np.float32) / 255.0
    return ((x - MEAN) / STD).transpose(2, 0, 1).copy()


if __name__ == "__main__":
    mode = sys.argv[1]
    if mode == "convert":
        out = sys.argv[2]
        for p in sys.argv[3:]:
            np.asarray(Image.open(p).convert("RGB"), dtype=np.uint8).tofile(os.path.join(out, os.path.basename(p) + ".raw"))
    elif mode in ("dump", "dump-nopad"):
        size, out = int(sys.argv[2]), sys.argv[3]
        for p in sys.argv[4:]:
            pixels(p, size, mode == "dump").tofile(os.path.join(out, os.path.basename(p) + ".raw"))
    else:
        size, files = int(sys.argv[2]), sys.argv[3:]
        t0, c0 = time.perf_counter(), time.process_time()
        for p in files:
            tensor(p, size)
        dt, cpu = time.perf_counter() - t0, time.process_time() - c0
        print(f"{len(files) / dt:.2f} {1000 * cpu / len(files):.2f}")
