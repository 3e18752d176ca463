"""Read llavac's HDF5 files with h5py (what the Cerebras reader uses) and print what it sees as JSON."""
import glob
import json
import sys

import h5py

out = []
for path in sorted(glob.glob(sys.argv[1] + "/*.h5")):
    with h5py.File(path, "r") as f:
        d, p = f["data"], f["img_path"]
        out.append({
            "file": path.rsplit("/", 1)[1],
            "dtype": str(d.dtype), "shape": list(d.shape), "chunks": list(d.chunks), "compression": d.compression,
            "n_examples": int(f.attrs["n_examples"]),
            "img_path_dtype": str(p.dtype), "img_path_shape": list(p.shape),
            "img_path": [x[0].decode("utf-8") for x in p[:]],
            "first_row_sum": int(d[0, 0].sum()), "loss_sum": int(d[:, 1].sum()),
        })
print(json.dumps(out))
