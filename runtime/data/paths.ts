// Paths that come from data files are untrusted: they must stay inside the folder they are relative to.
import { realpathSync } from "node:fs";
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

/**
 * Whether an existing file, with every symlink followed, is still inside `root` (itself resolved). A
 * relative path without `..` can still leave the root through a symlink inside it.
 */
export function staysInside(root: string, full: string): boolean {
  try {
    const base = realpathSync(root),
      real = realpathSync(full);
    return real === base || real.startsWith(base.endsWith(path.sep) ? base : base + path.sep);
  } catch {
    return false;
  }
}
