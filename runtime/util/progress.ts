// Progress for long jobs: a live bar with rate and ETA on a terminal, a line every few seconds otherwise
// (CI logs, pipes).
import cliProgress from "cli-progress";
import { thousands } from "./format.js";

export interface Progress {
  update(done: number, extra?: { items?: number }): void;
  stop(): void;
}

export function progress(label: string, total: number, unit: string, stream: NodeJS.WriteStream = process.stderr): Progress {
  const start = Date.now();
  let items = 0;
  const rate = () => {
    const s = (Date.now() - start) / 1000;
    return s > 0 ? items / s : 0;
  };
  if (stream.isTTY && !process.env.CI) {
    const bar = new cliProgress.SingleBar(
      {
        stream,
        hideCursor: true,
        clearOnComplete: false,
        etaBuffer: 50,
        format: `${label} [{bar}] {percentage}% | {items} ${unit} | {rate} ${unit}/s | ETA {eta_formatted}`,
      },
      cliProgress.Presets.shades_classic,
    );
    bar.start(Math.max(1, total), 0, { items: "0", rate: "0" });
    return {
      update(done, extra) {
        if (extra?.items !== undefined) items = extra.items;
        bar.update(Math.min(done, total), { items: thousands(items), rate: thousands(Math.round(rate())) });
      },
      stop() {
        bar.stop();
      },
    };
  }
  let last = start;
  return {
    update(done, extra) {
      if (extra?.items !== undefined) items = extra.items;
      const now = Date.now();
      if (now - last < 5000) return;
      last = now;
      const r = rate();
      const known = total > 1 && done > 0;
      const eta = known ? ((now - start) / 1000) * (total / done - 1) : NaN;
      const pct = known ? `${Math.min(100, (100 * done) / total).toFixed(0)}% · ` : "";
      stream.write(
        `${label}: ${pct}${thousands(items)} ${unit} · ${thousands(Math.round(r))} ${unit}/s${Number.isFinite(eta) ? ` · ETA ${eta.toFixed(0)} s` : ""}\n`,
      );
    },
    stop() {},
  };
}
