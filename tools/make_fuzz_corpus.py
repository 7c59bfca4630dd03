"""Writes the seed corpora of the parser fuzzers: fuzz/corpus/<parser>/.

A few small valid files per parser, written by the reference writers (numpy,
safetensors, gzip), covering each dtype, byte order, format version and
layout the readers accept, plus edge cases (empty arrays, scalars, no header).
Run from the repository root: .venv/bin/python tools/make_fuzz_corpus.py
"""
import gzip
import io
import os
import struct

import numpy as np
from safetensors.numpy import save as save_safetensors

ROOT = os.path.join(os.path.dirname(__file__), "..", "fuzz", "corpus")


def write(parser, name, data):
    folder = os.path.join(ROOT, parser)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data)


def npy_bytes(a, version=None):
    buf = io.BytesIO()
    if version is None:
        np.save(buf, a)
    else:
        np.lib.format.write_array(buf, a, version=version)
    return buf.getvalue()


rng = np.random.default_rng(0)
# .npy: every dtype, both byte orders, Fortran order, versions 1.0/2.0/3.0, scalars and empty arrays.
write("npy", "f4-vector.npy", npy_bytes(np.arange(5, dtype="<f4")))
write("npy", "f8-fortran.npy", npy_bytes(np.asfortranarray(rng.standard_normal((3, 4)))))
write("npy", "i4-scalar.npy", npy_bytes(np.array(-7, dtype="<i4")))
write("npy", "u4-empty.npy", npy_bytes(np.zeros((0, 3), dtype="<u4")))
write("npy", "bool-matrix.npy", npy_bytes(np.array([[True, False], [False, True]])))
write("npy", "f4-big-endian.npy", npy_bytes(np.array([1.5, -2.0, np.inf], dtype=">f4")))
write("npy", "i4-v2.npy", npy_bytes(np.arange(6, dtype="<i4").reshape(2, 3), version=(2, 0)))
write("npy", "f8-v3-rank3.npy", npy_bytes(np.linspace(0, 1, 8).reshape(2, 2, 2), version=(3, 0)))

# .npz: stored and deflated members, several arrays, an empty archive.
for name, save in [("stored.npz", np.savez), ("deflated.npz", np.savez_compressed)]:
    buf = io.BytesIO()
    save(buf, x=np.arange(12, dtype="<f4").reshape(3, 4), y=np.array([1, 2], dtype="<i4"), z=np.array(True))
    write("npz", name, buf.getvalue())
buf = io.BytesIO()
np.savez(buf)
write("npz", "empty.npz", buf.getvalue())
buf = io.BytesIO()
np.savez_compressed(buf, big=np.tile(np.arange(4, dtype="<f8"), 64))
write("npz", "repetitive-deflated.npz", buf.getvalue())

# safetensors: each dtype Flock reads, metadata, an empty file, a scalar and an empty tensor.
write("safetensors", "mixed.safetensors", save_safetensors(
    {"w": np.arange(6, dtype=np.float32).reshape(2, 3), "b": np.array([1.0, 2.0]),
     "i": np.array([-1, 2], dtype=np.int32), "u": np.array([3], dtype=np.uint32),
     "m": np.array([True, False])}, metadata={"format": "np", "step": "10"}))
write("safetensors", "empty.safetensors", save_safetensors({}))
write("safetensors", "scalar-and-empty.safetensors", save_safetensors(
    {"s": np.array(3.5, dtype=np.float32), "e": np.zeros((0, 4), dtype=np.float32)}))


def idx_bytes(code, shape, payload):
    return bytes([0, 0, code, len(shape)]) + b"".join(struct.pack(">I", d) for d in shape) + payload


# IDX (MNIST): each type code, rank 0 to 3, one gzip-compressed file.
images = (np.arange(18) * 13 % 256).astype(np.uint8)
write("idx", "ubyte-images.idx", idx_bytes(0x08, (2, 3, 3), images.tobytes()))
write("idx", "sbyte-labels.idx", idx_bytes(0x09, (4,), np.array([-1, 0, 1, 127], dtype=np.int8).tobytes()))
write("idx", "short.idx", idx_bytes(0x0B, (2, 2), np.array([1, -2, 300, -32768], dtype=">i2").tobytes()))
write("idx", "int.idx", idx_bytes(0x0C, (3,), np.array([1, -2, 2**31 - 1], dtype=">i4").tobytes()))
write("idx", "float.idx", idx_bytes(0x0D, (2,), np.array([1.5, -np.inf], dtype=">f4").tobytes()))
write("idx", "double-scalar.idx", idx_bytes(0x0E, (), np.array([2.25], dtype=">f8").tobytes()))
write("idx", "ubyte-images.idx.gz", gzip.compress(idx_bytes(0x08, (2, 3, 3), images.tobytes()), mtime=0))

# CSV: header or not, delimiters, signs and exponents, blank and CRLF lines.
write("csv", "header.csv", b"x,y,label\n1,2.5,0\n-3,4e-2,1\n5.,-.5,2\n")
write("csv", "no-header.csv", b"1,2,3\n4,5,6\n")
write("csv", "semicolon.csv", b"a;b\n1;2\n3;4\n")
write("csv", "crlf-blank.csv", b"p,q\r\n1,2\r\n\r\n3,4\r\n")
write("csv", "special.csv", b"v\nnan\ninf\n-inf\n1e308\n-0\n")
write("csv", "one-column.csv", b"7\n8\n9\n")
