// Kept equal to package.json "version" (a test checks it), so the bundled CLI needs no file read.
export const VERSION = "0.1.0";
