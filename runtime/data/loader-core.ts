// Reading training samples: the four HDF5 rows of each sample and its image, decoded and transformed as the
// Cerebras reader does with PIL (runtime/data/images.ts), as the spec's transform list says. Used in the
// loader's worker thread (or inline).
import { existsSync, readdirSync, statSync } from "node:fs";
import path from "node:path";
import { h5Ready, openSampleFile, type SampleFile } from "./hdf5.js";
import { blankImage, prepareImage, type ImageTransform } from "./images.js";
import { resolveInside } from "./paths.js";
import { LoaderError, ROWS } from "./samples.js";

export interface LoaderSource {
  /** HDF5 folders: every `*.h5` directly inside, sorted (as Cerebras' H5Reader globs them). */
  dirs: string[];
  imageRoot: string;
  transforms: ImageTransform[];
  /** The model's input size [C, H, W]; images that do not come out at this size are an error. */
  imageShape: [number, number, number];
}

export interface ImageFailure {
  /** Global sample index. */
  sample: number;
  file: string;
  row: number;
  image: string;
  error: string;
}

/** Samples as read: rows [n, 4, MSL] and images [n, C, H, W]. */
export interface RawSamples {
  indices: number[];
  msl: number;
  rows: Int32Array;
  images: Float32Array;
  failures: ImageFailure[];
}

export function h5FilesOf(dirs: string[]): string[] {
  const files: string[] = [];
  for (const dir of dirs) {
    if (!existsSync(dir)) throw new LoaderError(`HDF5 folder not found: ${dir} (run \`llavac data hdf5\` for this phase first)`);
    if (statSync(dir).isFile()) {
      files.push(dir);
      continue;
    }
    const found = readdirSync(dir)
      .filter((f) => f.endsWith(".h5"))
      .sort()
      .map((f) => path.join(dir, f));
    if (found.length === 0) throw new LoaderError(`no .h5 files in ${dir}`);
    files.push(...found);
  }
  return files;
}

export class SampleReader {
  private files: SampleFile[] = [];
  /** Cumulative sample counts: file i holds global samples [starts[i], starts[i+1]). */
  private starts: number[] = [0];
  private blank?: Float32Array;
  msl = 0;

  constructor(private readonly src: LoaderSource) {}

  async open(): Promise<{ samples: number; msl: number; files: string[] }> {
    await h5Ready();
    const names = h5FilesOf(this.src.dirs);
    for (const f of names) {
      const file = openSampleFile(f);
      if (file.n === 0) {
        file.close();
        continue;
      }
      if (this.msl && file.msl !== this.msl) throw new LoaderError(`${f}: sequence length ${file.msl}, but earlier files have ${this.msl}`);
      this.msl = file.msl;
      this.files.push(file);
      this.starts.push(this.starts[this.starts.length - 1]! + file.n);
    }
    return { samples: this.size, msl: this.msl, files: this.files.map((f) => f.path) };
  }

  get size(): number {
    return this.starts[this.starts.length - 1]!;
  }

  /** Which file and row hold global sample `i`. */
  locate(i: number): { file: SampleFile; row: number } {
    let lo = 0,
      hi = this.files.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.starts[mid]! <= i) lo = mid;
      else hi = mid - 1;
    }
    return { file: this.files[lo]!, row: i - this.starts[lo]! };
  }

  private async blankImage(): Promise<Float32Array> {
    if (!this.blank) {
      const [, h, w] = this.src.imageShape;
      this.blank = (await blankImage(w, h, this.src.transforms)).data;
    }
    return this.blank;
  }

  async read(indices: number[]): Promise<RawSamples> {
    const [C, H, W] = this.src.imageShape;
    const per = C * H * W;
    const msl = this.msl;
    const rows = new Int32Array(indices.length * ROWS * msl);
    const images = new Float32Array(indices.length * per);
    const failures: ImageFailure[] = [];
    await Promise.all(
      indices.map(async (g, k) => {
        if (!Number.isInteger(g) || g < 0 || g >= this.size) throw new LoaderError(`sample ${g} is out of range (0..${this.size - 1})`);
        const { file, row } = this.locate(g);
        rows.set(file.block(row, row + 1), k * ROWS * msl);
        const rel = file.imagePath(row);
        let pixels: Float32Array;
        if (rel === undefined) {
          pixels = await this.blankImage();
        } else {
          try {
            const img = await prepareImage(resolveInside(this.src.imageRoot, rel), this.src.transforms);
            if (img.data.length !== per) throw new Error(`came out ${img.width}×${img.height}, the model takes ${W}×${H}`);
            pixels = img.data;
          } catch (err) {
            failures.push({ sample: g, file: file.path, row, image: rel, error: (err as Error).message.split("\n")[0]! });
            pixels = await this.blankImage();
          }
        }
        images.set(pixels, k * per);
      }),
    );
    return { indices, msl, rows, images, failures };
  }

  close(): void {
    for (const f of this.files) f.close();
    this.files = [];
  }
}
