// Paths that come from data files are untrusted: they must stay inside the folder they are relative to.
import path from "node:path";

/** Why `rel` may not be used under a root folder, or undefined when it is safe. */
export function unsafeRelativePath(rel: string): string | undefined {
  if (rel.length === 0) return "empty path";
  if (rel.includes("\0")) return "NUL byte in path";
  if (path.isAbsolute(rel) || /^[A-Za-z]:[\\/]/.test(rel) || rel.startsWith("\\")) return "absolute path";
  const parts = rel.split(/[\\/]+/);
  if (parts.includes("..")) return "`..` escapes the root folder";
  return undefined;
}

/** Join a checked relative path to its root; throws if it would escape. */
export function resolveInside(root: string, rel: string): string {
  const why = unsafeRelativePath(rel);
  if (why) throw new Error(`${rel}: ${why}`);
  const full = path.resolve(root, rel);
  const base = path.resolve(root);
  if (full !== base && !full.startsWith(base + path.sep)) throw new Error(`${rel}: escapes ${root}`);
  return full;
}
