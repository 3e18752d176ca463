// What the training thread needs to know of a sample without the libraries that read one (h5wasm, sharp):
// the rows each HDF5 sample holds and the loader's error. Reading happens in the loader's worker thread, so
// the training thread does not load the HDF5 library at all.

/** Rows per sample in the `data` dataset: input_ids, loss mask, labels, key-padding mask. */
export const ROWS = 4;

export class LoaderError extends Error {}
