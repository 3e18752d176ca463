// The loss curve as a picture: an SVG line chart (loss per step, with a moving average when noisy and
// the learning rate on a second axis, and the held-out loss as dots where it was evaluated), and a PNG
// of it rendered by sharp.
import sharp from "sharp";

export interface CurvePoint {
  step: number;
  loss: number;
  lr: number;
}

const W = 800,
  H = 420,
  L = 70,
  R = 70,
  T = 40,
  B = 50;

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

function niceTicks(lo: number, hi: number, n: number): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / n;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((k) => k * mag).find((s) => s >= raw)!;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + 1e-12; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

const fmt = (v: number) => (Math.abs(v) >= 1e-2 || v === 0 ? String(Number(v.toPrecision(4))) : v.toExponential(1));

export function lossCurveSvg(
  points: readonly CurvePoint[],
  title: string,
  evalPoints: readonly { step: number; loss: number }[] = [],
): string {
  const pts = points.filter((p) => Number.isFinite(p.loss));
  const evs = evalPoints.filter((p) => Number.isFinite(p.loss));
  const s0 = pts[0]?.step ?? 0,
    s1 = Math.max(pts[pts.length - 1]?.step ?? 1, ...evs.map((p) => p.step), s0 + 1);
  const losses = [...pts, ...evs].map((p) => p.loss);
  const lossMax = Math.max(...losses, 1e-9),
    lossMin = Math.min(...losses, lossMax);
  const pad = (lossMax - lossMin) * 0.05 || 0.5;
  const y0 = Math.max(0, lossMin - pad),
    y1 = lossMax + pad;
  const lrMax = Math.max(...pts.map((p) => p.lr), 0) || 1;
  const x = (s: number) => L + ((s - s0) / (s1 - s0)) * (W - L - R);
  const y = (v: number) => T + (1 - (v - y0) / (y1 - y0)) * (H - T - B);
  const ylr = (v: number) => T + (1 - v / lrMax) * (H - T - B);
  const path = (vals: [number, number][]) => vals.map(([a, b], i) => `${i ? "L" : "M"}${a.toFixed(1)},${b.toFixed(1)}`).join("");
  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="DejaVu Sans, Arial, sans-serif" font-size="12">`,
  );
  parts.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  parts.push(`<text x="${W / 2}" y="22" text-anchor="middle" font-size="15">${esc(title)}</text>`);
  for (const v of niceTicks(y0, y1, 6)) {
    parts.push(`<line x1="${L}" x2="${W - R}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" stroke="#e5e5e5"/>`);
    parts.push(`<text x="${L - 6}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end">${fmt(v)}</text>`);
  }
  for (const s of niceTicks(s0, s1, 8)) {
    parts.push(`<line x1="${x(s).toFixed(1)}" x2="${x(s).toFixed(1)}" y1="${H - B}" y2="${H - B + 5}" stroke="#333"/>`);
    parts.push(`<text x="${x(s).toFixed(1)}" y="${H - B + 18}" text-anchor="middle">${fmt(s)}</text>`);
  }
  for (const v of niceTicks(0, lrMax, 4))
    parts.push(`<text x="${W - R + 6}" y="${(ylr(v) + 4).toFixed(1)}" fill="#c0392b">${fmt(v)}</text>`);
  parts.push(`<rect x="${L}" y="${T}" width="${W - L - R}" height="${H - T - B}" fill="none" stroke="#333"/>`);
  parts.push(`<text x="${W / 2}" y="${H - 12}" text-anchor="middle">step</text>`);
  parts.push(`<text transform="translate(18 ${H / 2}) rotate(-90)" text-anchor="middle">loss</text>`);
  parts.push(`<text transform="translate(${W - 14} ${H / 2}) rotate(90)" text-anchor="middle" fill="#c0392b">learning rate</text>`);
  if (pts.length > 0) {
    parts.push(
      `<path d="${path(pts.map((p) => [x(p.step), ylr(p.lr)]))}" fill="none" stroke="#c0392b" stroke-width="1" stroke-dasharray="4 3"/>`,
    );
    const raw = pts.map((p): [number, number] => [x(p.step), y(p.loss)]);
    const k = Math.max(1, Math.round(pts.length / 40));
    if (k > 1) {
      parts.push(`<path d="${path(raw)}" fill="none" stroke="#9ecae1" stroke-width="1"/>`);
      const smooth = pts.map((p, i): [number, number] => {
        const w = pts.slice(Math.max(0, i - k + 1), i + 1);
        return [x(p.step), y(w.reduce((a, q) => a + q.loss, 0) / w.length)];
      });
      parts.push(`<path d="${path(smooth)}" fill="none" stroke="#08519c" stroke-width="2"/>`);
    } else {
      parts.push(`<path d="${path(raw)}" fill="none" stroke="#08519c" stroke-width="2"/>`);
    }
  }
  if (evs.length > 0) {
    const e = evs.map((p): [number, number] => [x(p.step), y(p.loss)]);
    if (e.length > 1) parts.push(`<path d="${path(e)}" fill="none" stroke="#e6550d" stroke-width="1.5"/>`);
    for (const [a, b] of e) parts.push(`<circle cx="${a.toFixed(1)}" cy="${b.toFixed(1)}" r="3.5" fill="#e6550d"/>`);
    // The legend names both losses once there are two.
    parts.push(`<line x1="${W - R - 150}" x2="${W - R - 130}" y1="${T + 14}" y2="${T + 14}" stroke="#08519c" stroke-width="2"/>`);
    parts.push(`<text x="${W - R - 124}" y="${T + 18}">train loss</text>`);
    parts.push(`<circle cx="${W - R - 140}" cy="${T + 32}" r="3.5" fill="#e6550d"/>`);
    parts.push(`<text x="${W - R - 124}" y="${T + 36}" fill="#e6550d">eval loss</text>`);
  }
  parts.push(`</svg>`);
  return parts.join("\n") + "\n";
}

export async function svgToPng(svg: string): Promise<Buffer> {
  return sharp(Buffer.from(svg)).png().toBuffer();
}
