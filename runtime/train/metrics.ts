// A phase's metrics, where people already look: TensorBoard event files (`tensorboard --logdir <out>`)
// and `metrics.jsonl`, one JSON object per logged step with the same values. A resumed run continues the
// same curves: what a killed run logged after its last checkpoint is removed from both, and logged again.
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, rmSync, writeSync } from "node:fs";
import path from "node:path";
import { writeFileAtomic } from "../util/atomic.js";
import { EventFileWriter, eventFiles } from "./tensorboard.js";

export interface MetricsRow {
  step: number;
  wall_time: number;
  loss?: number;
  learning_rate?: number;
  grad_norm?: number;
  tokens_per_second?: number;
  eval_loss?: number;
}

/** metrics.jsonl key → TensorBoard tag. */
export const TAGS = {
  loss: "train/loss",
  learning_rate: "train/learning_rate",
  grad_norm: "train/grad_norm",
  tokens_per_second: "train/tokens_per_second",
  eval_loss: "eval/loss",
} as const satisfies Record<Exclude<keyof MetricsRow, "step" | "wall_time">, string>;

export const METRICS_FILE = "metrics.jsonl";

export class MetricsSink {
  private readonly events: EventFileWriter;
  private readonly fd: number;

  /** `resumeStep`: the step the run continues after (0 for a fresh start, which removes earlier metrics). */
  constructor(dir: string, resumeStep: number) {
    const file = path.join(dir, METRICS_FILE);
    if (resumeStep === 0) {
      for (const f of eventFiles(dir)) rmSync(f, { force: true });
      rmSync(file, { force: true });
    } else if (existsSync(file)) {
      // Keep the whole lines of steps up to the checkpoint; a torn last line or later steps go.
      const lines = readFileSync(file, "utf8").split("\n");
      const kept = lines.filter((l) => {
        try {
          return l !== "" && (JSON.parse(l) as MetricsRow).step <= resumeStep;
        } catch {
          return false;
        }
      });
      if (kept.length !== lines.filter((l) => l !== "").length || lines[lines.length - 1] !== "")
        writeFileAtomic(file, kept.map((l) => l + "\n").join(""));
    }
    this.events = new EventFileWriter(dir, resumeStep);
    this.fd = openSync(file, "a");
  }

  get eventFile(): string {
    return this.events.file;
  }

  log(row: MetricsRow): void {
    const scalars: Record<string, number> = {};
    for (const [k, tag] of Object.entries(TAGS)) {
      const v = row[k as keyof typeof TAGS];
      if (v !== undefined && Number.isFinite(v)) scalars[tag] = v;
    }
    this.events.scalars(row.step, scalars, row.wall_time);
    writeSync(this.fd, JSON.stringify(row) + "\n");
  }

  flush(): void {
    this.events.flush();
    fsyncSync(this.fd);
  }

  close(): void {
    this.events.close();
    fsyncSync(this.fd);
    closeSync(this.fd);
  }
}
