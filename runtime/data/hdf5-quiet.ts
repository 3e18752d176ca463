// HDF5's C library writes its whole error stack to standard error (h5wasm's file system sends file
// descriptor 2 straight to the process's stderr) before, or instead of, h5wasm throwing. llavac reports
// such failures itself, naming the file, so the stack is kept here, its innermost message available for
// those reports, instead of being printed.

interface EmscriptenFs {
  write(stream: { fd: number }, buffer: Uint8Array, offset: number, length: number, ...rest: unknown[]): number;
}

let text = "";

/** Route the module's stderr into the kept stack. Called once h5wasm's module is ready. */
export function quietHdf5(fs: EmscriptenFs): void {
  const write = fs.write;
  fs.write = function (stream, buffer, offset, length, ...rest) {
    if (stream.fd !== 2) return write.call(this, stream, buffer, offset, length, ...rest);
    text += Buffer.from(buffer.subarray(offset, offset + length)).toString("utf8");
    const start = text.lastIndexOf("HDF5-DIAG");
    if (start > 0) text = text.slice(start); // keep the last stack only
    if (text.length > 1 << 16) text = text.slice(-(1 << 16));
    return length;
  };
}

/** The innermost message of the last HDF5 error stack (e.g. "file signature not found"). */
export function lastHdf5Error(): string | undefined {
  const frames = text.split("\n").filter((l) => /^\s+#\d+:/.test(l));
  const last = frames[frames.length - 1];
  return last?.trim().replace(/^#\d+:\s*\S+ line \d+ in [^:]+:\s*/, "");
}
