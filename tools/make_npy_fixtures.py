#!/usr/bin/env python3
"""Fixtures for Flock's .npy/.npz reader and writer, with numpy as the oracle.

    python tools/make_npy_fixtures.py            # (re)write Tests/FlockIOTests/Fixtures/npy/
    python tools/make_npy_fixtures.py --check D  # check the files Flock wrote into D

Writing: every supported dtype, big-endian, Fortran order, scalars, empty
arrays, format 2.0 and 3.0 headers, np.savez, np.savez_compressed, a zip64
archive, and raw DEFLATE streams of each block kind. manifest.json records
what numpy (and zlib) say each file holds: dtype, shape, the row-major values
(NaN, infinities and -0.0 as strings) for small arrays, and the CRC-32 of the
little-endian row-major bytes for all of them.

Checking: NPYTests writes every fixture back out with saveNPY/saveNPZ when
FLOCK_NPY_CHECK_DIR is set. Each file must load in numpy with the manifest's
contents; each .npy must equal np.save's bytes for that array; each .npz must
pass zipfile's CRC test.
"""
import io
import json
import sys
import zipfile
import zlib
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "Tests" / "FlockIOTests" / "Fixtures" / "npy"
MAX_LISTED_VALUES = 64


def encode_value(v):
    if isinstance(v, float):
        if v != v:
            return "nan"
        if v in (float("inf"), float("-inf")):
            return "inf" if v > 0 else "-inf"
        if v == 0 and np.signbit(v):
            return "-0.0"
    return v


def describe(a):
    """What the manifest says about an array: independent of byte order and memory order."""
    le = np.ascontiguousarray(a).astype(a.dtype.newbyteorder("<"))
    d = {
        "dtype": a.dtype.name,
        "shape": list(a.shape),
        "crc32": zlib.crc32(le.tobytes(order="C")),
    }
    if a.size <= MAX_LISTED_VALUES:
        d["values"] = [encode_value(v) for v in le.ravel(order="C").tolist()]
    return d


def npy_fixtures():
    """name -> (array, how to write it)."""
    f4 = np.array([0.0, -0.0, 1.5, -2.25, np.nan, np.inf, -np.inf, 1e-45, 3.4028235e38], dtype="<f4").reshape(3, 3)
    f8 = np.array([np.pi, -1e-310, np.nan, np.inf, -np.inf, 1.7976931348623157e308], dtype="<f8")
    i4 = np.array([[-2147483648, -1, 0], [1, 2147483647, 42]], dtype="<i4")
    u4 = np.array([0, 1, 2147483648, 4294967295], dtype="<u4")
    b1 = np.array([[True, False], [False, True]])
    grid = np.arange(24).reshape(2, 3, 4)
    return {
        "f4.npy": (f4, "save"),
        "f8.npy": (f8, "save"),
        "i4.npy": (i4, "save"),
        "u4.npy": (u4, "save"),
        "b1.npy": (b1, "save"),
        "f4_3d.npy": ((grid * 0.5).astype("<f4"), "save"),
        "f8_long.npy": (np.linspace(-1, 1, 1000), "save"),
        "be_f4.npy": (np.array([[1.5, -2.0, np.nan], [np.inf, 0.1, -0.0]], dtype=">f4"), "save"),
        "be_f8.npy": (np.array([[np.e, -1e300, 5e-324], [np.nan, -np.inf, 7.0]], dtype=">f8"), "save"),
        "be_i4.npy": (np.array([[-2147483648, -2, 3], [256, 65536, 2147483647]], dtype=">i4"), "save"),
        "be_u4.npy": (np.array([[0, 1, 255], [256, 16777216, 4294967295]], dtype=">u4"), "save"),
        "fortran_f4.npy": (np.asfortranarray(grid.astype("<f4")), "save"),
        "fortran_i4.npy": (np.asfortranarray(np.arange(15, dtype="<i4").reshape(3, 5) - 7), "save"),
        "fortran_b1.npy": (np.asfortranarray(np.array([[True, False, True], [False, False, True]])), "save"),
        "fortran_be_f8.npy": (np.asfortranarray(np.arange(6, dtype=">f8").reshape(3, 2) / 3), "save"),
        "scalar_f4.npy": (np.array(2.5, dtype="<f4"), "save"),
        "scalar_f8.npy": (np.array(-1e-300, dtype="<f8"), "save"),
        "scalar_i4.npy": (np.array(-7, dtype="<i4"), "save"),
        "scalar_u4.npy": (np.array(4000000000, dtype="<u4"), "save"),
        "scalar_b1.npy": (np.array(True), "save"),
        "empty_f4.npy": (np.zeros((0,), dtype="<f4"), "save"),
        "empty_i4_3d.npy": (np.zeros((2, 0, 3), dtype="<i4"), "save"),
        "empty_b1_2d.npy": (np.zeros((0, 0), dtype=bool), "save"),
        "v2_f4.npy": (np.arange(6, dtype="<f4").reshape(2, 3), (2, 0)),
        "v3_i4.npy": (np.arange(5, dtype="<i4"), (3, 0)),
    }


def npz_arrays():
    rng = np.random.default_rng(0)
    small = {
        "a": np.arange(6, dtype="<f4").reshape(2, 3) / 4,
        "b": np.array(-3, dtype="<i4"),
        "c": np.array([True, False, True]),
        "d": np.zeros((0,), dtype="<f8"),
        "e": np.array([7, 4294967295], dtype="<u4"),
        "fortran": np.asfortranarray(np.arange(12, dtype="<f8").reshape(3, 4)),
        "big_endian": np.array([1, -2, 3], dtype=">i4"),
    }
    block = rng.integers(0, 2**32, size=7000, dtype=np.uint32)
    large = {
        # Repetitive: dynamic Huffman blocks with long matches.
        "pattern": (np.arange(60000, dtype="<i4") % 251) * (np.arange(60000) % 3 == 0),
        # Uniform random bytes: zlib falls back to stored blocks.
        "noise": rng.integers(0, 2**32, size=20000, dtype=np.uint32),
        # A random block repeated: back-references ~28000 bytes long and far back.
        "repeat": np.tile(block, 4),
        "floats": np.round(rng.standard_normal((100, 50)), 2).astype("<f4"),
    }
    large["pattern"] = large["pattern"].astype("<i4")
    return small, large


def deflate_fixtures():
    """Raw DEFLATE streams (no zlib header): name -> (data, compressobj arguments)."""
    rng = np.random.default_rng(1)
    text = (Path(__file__).read_bytes() * 8)[:40000]
    noise = rng.integers(0, 256, size=150000, dtype=np.uint8).tobytes()
    runs = bytes(np.repeat(rng.integers(0, 4, size=3000, dtype=np.uint8), rng.integers(1, 300, size=3000)))
    return {
        "deflate_fixed.bin": (text, (9, zlib.DEFLATED, -15, 9, zlib.Z_FIXED)),
        "deflate_dynamic.bin": (text + noise[:20000] + text, (9, zlib.DEFLATED, -15, 9, zlib.Z_DEFAULT_STRATEGY)),
        "deflate_huffman_only.bin": (text, (6, zlib.DEFLATED, -15, 8, zlib.Z_HUFFMAN_ONLY)),
        "deflate_rle.bin": (runs, (6, zlib.DEFLATED, -15, 8, zlib.Z_RLE)),
        "deflate_stored.bin": (noise, (0, zlib.DEFLATED, -15, 8, zlib.Z_DEFAULT_STRATEGY)),
        "deflate_empty.bin": (b"", (6, zlib.DEFLATED, -15, 8, zlib.Z_DEFAULT_STRATEGY)),
    }


def write_fixtures():
    OUT.mkdir(parents=True, exist_ok=True)
    for old in OUT.iterdir():
        old.unlink()
    manifest = {"npy": [], "npz": [], "deflate": []}

    for name, (a, how) in npy_fixtures().items():
        path = OUT / name
        if how == "save":
            np.save(path, a)
        else:
            with open(path, "wb") as f:
                np.lib.format.write_array(f, a, version=how)
        # np.save's own output for a little-endian C-ordered array: Flock must match it byte for byte.
        exact = how == "save" and a.flags.c_contiguous and a.dtype.byteorder in "<|="
        manifest["npy"].append({"file": name, "array": describe(np.load(path)), "numpy_bytes": exact})

    small, large = npz_arrays()
    np.savez(OUT / "savez.npz", **small)
    np.savez_compressed(OUT / "savez_compressed.npz", **small, **large)
    # Force zip64 records (normally only past 4 GiB or 65535 members).
    limits = zipfile.ZIP64_LIMIT, zipfile.ZIP_FILECOUNT_LIMIT
    zipfile.ZIP64_LIMIT, zipfile.ZIP_FILECOUNT_LIMIT = 1, 1
    try:
        np.savez(OUT / "zip64.npz", **small)
    finally:
        zipfile.ZIP64_LIMIT, zipfile.ZIP_FILECOUNT_LIMIT = limits
    for name in ["savez.npz", "savez_compressed.npz", "zip64.npz"]:
        with np.load(OUT / name) as z:
            manifest["npz"].append({"file": name, "arrays": {k: describe(z[k]) for k in sorted(z.files)}})

    for name, (data, args) in deflate_fixtures().items():
        c = zlib.compressobj(*args)
        (OUT / name).write_bytes(c.compress(data) + c.flush())
        manifest["deflate"].append({"file": name, "size": len(data), "crc32": zlib.crc32(data)})

    (OUT / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    print(f"wrote {len(list(OUT.iterdir()))} files to {OUT}")


def check(directory):
    """Checks files Flock wrote (same names as the fixtures) against the manifest."""
    manifest = json.loads((OUT / "manifest.json").read_text())
    expected = {e["file"]: e for e in manifest["npy"] + manifest["npz"]}
    failures, checked = [], 0
    for path in sorted(Path(directory).iterdir()):
        entry = expected.get(path.name)
        if entry is None:
            continue
        checked += 1
        if path.suffix == ".npy":
            a = np.load(path)
            buf = io.BytesIO()
            np.save(buf, a)
            if describe(a) != entry["array"]:
                failures.append(f"{path.name}: contents differ from the manifest")
            if buf.getvalue() != path.read_bytes():
                failures.append(f"{path.name}: bytes differ from np.save's")
        else:
            with zipfile.ZipFile(path) as z:
                bad = z.testzip()
                if bad is not None:
                    failures.append(f"{path.name}: CRC error in {bad}")
            with np.load(path) as z:
                got = {k: describe(z[k]) for k in sorted(z.files)}
            if got != entry["arrays"]:
                failures.append(f"{path.name}: contents differ from the manifest")
    for f in failures:
        print("FAIL", f)
    print(f"checked {checked} files, {len(failures)} failures")
    return 0 if checked and not failures else 1


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--check":
        sys.exit(check(sys.argv[2]))
    write_fixtures()
