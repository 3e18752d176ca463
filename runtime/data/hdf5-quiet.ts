// HDF5's C library prints its whole error stack to stderr (through console.error, which h5wasm binds when
// it loads) before h5wasm throws. llavac reports such failures itself, naming the file, so the stack is
// kept here, its last line available for messages, instead of being printed. Other output is untouched.
// Imported before h5wasm (see hdf5.ts), so that the binding h5wasm takes is this filter.
const print = console.error.bind(console);
let stack: string[] = [];
let inStack = false;

console.error = (...args: unknown[]) => {
  const line = args.map(String).join(" ");
  if (line.startsWith("HDF5-DIAG")) { inStack = true; stack = []; return; }
  if (inStack && /^\s+(#\d+|major:|minor:)/.test(line)) { stack.push(line.trim()); return; }
  inStack = false;
  print(...args);
};

/** The innermost message of the last HDF5 error stack (e.g. "file signature not found"). */
export function lastHdf5Error(): string | undefined {
  const frames = stack.filter((l) => l.startsWith("#"));
  const last = frames[frames.length - 1];
  return last?.replace(/^#\d+:\s*\S+ line \d+ in [^:]+:\s*/, "");
}
