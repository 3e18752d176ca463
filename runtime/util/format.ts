import path from "node:path";
// Number formatting without Intl (whose first use costs ~10 ms of start-up).

/** 7062902784 → "7,062,902,784" */
export function thousands(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  const neg = n < 0;
  const [int, frac] = Math.abs(n).toString().split(".") as [string, string | undefined];
  const grouped = int.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  return (neg ? "-" : "") + grouped + (frac ? "." + frac : "");
}

/** A path as a person reads it in a message: relative to the working directory when inside it, else absolute. */
export function shownPath(file: string): string {
  const r = path.relative(process.cwd(), file);
  return r === "" || r.startsWith("..") || path.isAbsolute(r) ? file : r;
}
