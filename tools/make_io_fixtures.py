#!/usr/bin/env python3
"""Fixtures for Flock's safetensors, IDX and CSV readers/writers and for its
checkpoints, with the Python `safetensors` package and numpy as oracles.

    python tools/make_io_fixtures.py     # (re)write Tests/FlockIOTests/Fixtures/io/
                                         #       and Tests/FlockNNTests/Fixtures/checkpoint/
    python tools/make_io_fixtures.py --check D   # load the files Flock wrote into D
                                         # (FLOCK_IO_CHECK_DIR=D swift test --filter exportForPythonCheck)

safetensors: every dtype Flock has (F64, F32, U32, I32, BOOL) with edge values,
scalars, empty tensors, many tensors in one file (the writer's ordering), with
and without metadata, escaped and non-ASCII names; all written by
`safetensors.numpy.save_file`, so Flock's writer must reproduce their bytes.
Malformed files (truncated, overlapping, gaps, duplicate names, bad dtypes,
huge shapes, ...) are listed with the message Flock must give, and the script
asserts that Python's loader rejects them too.

IDX: each type code 0x08-0x0E, big-endian, plain and gzip. CSV: header or
not, delimiters, nan/inf, CRLF, blank lines; values as np.loadtxt reads them.

checkpoint: a checkpoint written from Python in Flock's layout (tensor names
from key paths, metadata with the CRC-32 described in Sources/NN/Checkpoint).
"""
import gzip
import json
import struct
import sys
import zlib
from pathlib import Path

import numpy as np
import safetensors.numpy as stn
from safetensors import safe_open

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_npy_fixtures import describe  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "Tests" / "FlockIOTests" / "Fixtures" / "io"
CHECKPOINT_OUT = ROOT / "Tests" / "FlockNNTests" / "Fixtures" / "checkpoint"


def safetensors_fixtures():
    """name -> (tensors, metadata)."""
    rng = np.random.default_rng(3)
    f4 = np.array([0.0, -0.0, 1.5, -2.25, np.nan, np.inf, -np.inf, 1e-45, 3.4028235e38], dtype="<f4").reshape(3, 3)
    f8 = np.array([np.pi, -1e-310, np.nan, np.inf, -np.inf, 1.7976931348623157e308], dtype="<f8")
    i4 = np.array([[-2147483648, -1, 0], [1, 2147483647, 42]], dtype="<i4")
    u4 = np.array([0, 1, 2147483648, 4294967295], dtype="<u4")
    b1 = np.array([[True, False, True], [False, True, True]])
    return {
        "f32.safetensors": ({"x": f4}, None),
        "f64.safetensors": ({"x": f8}, None),
        "i32.safetensors": ({"x": i4}, None),
        "u32.safetensors": ({"x": u4}, None),
        "bool.safetensors": ({"x": b1}, None),
        "odd_bool.safetensors": ({"m": np.array([True, False, True])}, {"note": "3 bytes of data"}),
        "scalars.safetensors": (
            {"s_f4": np.array(2.5, "<f4"), "s_f8": np.array(-1e-300, "<f8"), "s_i4": np.array(-7, "<i4"),
             "s_u4": np.array(4000000000, "<u4"), "s_b": np.array(True)}, None),
        "empty.safetensors": (
            {"e0": np.zeros((0,), "<f4"), "e1": np.zeros((2, 0, 3), "<i4"), "e2": np.zeros((0, 0), bool),
             "one": np.ones((1,), "<f8")}, {}),
        "no_tensors.safetensors": ({}, None),
        "mixed.safetensors": (
            {"layers.0.weight": rng.standard_normal((4, 3)).astype("<f4"),
             "layers.0.bias": np.zeros(3, "<f4"),
             "layers.1.weight": rng.standard_normal((3, 2)),
             "step": np.array(1000, "<i4"),
             "key": np.array([0, 42], "<u4"),
             "mask": np.array([True, False]),
             "b": np.arange(5, dtype="<u4"),
             "a": np.arange(7, dtype="<i4") - 3,
             "Z": np.arange(2, dtype="<f4")},
            {"format": "np"}),
        # Rust's HashMap orders several metadata keys differently on every run: no byte identity here.
        "metadata.safetensors": ({"x": np.arange(3, dtype="<f4")}, {"format": "np", "step": "1000", "z": "", "a": "b"}),
        "names.safetensors": (
            {"caf\u00e9": np.array([1.0], "<f4"), 'quote"back\\slash/': np.array([2.0], "<f4"),
             "tab\tnew\nline\u0001": np.array([3.0], "<f4"), "\u65e5\u672c": np.array([4], "<i4")},
            {"k\u00e9y": 'v"a\\l\nue\u007f\u2028'}),
        "large.safetensors": ({"w": rng.standard_normal((64, 33)).astype("<f4"), "v": rng.standard_normal(17)}, None),
    }


def header_file(header, data=b"", pad=True, length=None):
    """A safetensors file from a header dict or raw header bytes and data bytes."""
    text = header if isinstance(header, bytes) else json.dumps(header, separators=(",", ":")).encode()
    if pad:
        text += b" " * ((8 - len(text) % 8) % 8)
    n = len(text) if length is None else length
    return struct.pack("<Q", n) + text + data


def bad_safetensors_fixtures():
    """name -> (file bytes, fragment of Flock's message)."""
    good = stn.save({"a": np.arange(4, dtype="<f4"), "b": np.arange(2, dtype="<i4")})
    ent = lambda dtype, shape, b, e: {"dtype": dtype, "shape": shape, "data_offsets": [b, e]}
    d16 = bytes(16)
    return {
        "bad_short.safetensors": (b"\x08\x00\x00", "shorter than the 8-byte header length"),
        "bad_header_past_end.safetensors": (header_file({}, length=100), "runs past the end"),
        "bad_header_huge.safetensors": (struct.pack("<Q", 2**40) + b"{}", "exceeds the 100000000-byte limit"),
        "bad_not_object.safetensors": (header_file(b"[1,2]"), "does not start with '{'"),
        "bad_json.safetensors": (header_file(b'{"a":{"dtype":"F32",'), "malformed JSON header"),
        "bad_truncated_data.safetensors": (good[:-3], "truncated file"),
        "bad_trailing_bytes.safetensors": (good + b"\0\0\0\0", "trailing bytes"),
        "bad_overlap.safetensors": (
            header_file({"a": ent("F32", [2], 0, 8), "b": ent("F32", [2], 4, 12)}, bytes(12)), "overlaps the tensor"),
        "bad_gap.safetensors": (
            header_file({"a": ent("F32", [2], 0, 8), "b": ent("F32", [1], 12, 16)}, d16), "leaves a gap"),
        "bad_not_from_zero.safetensors": (header_file({"a": ent("F32", [2], 8, 16)}, d16), "at the start of the data"),
        "bad_duplicate.safetensors": (
            header_file(b'{"a":' + json.dumps(ent("F32", [2], 0, 8)).encode() + b',"a":'
                        + json.dumps(ent("F32", [2], 8, 16)).encode() + b"}", d16), 'duplicate key "a"'),
        "bad_f8.safetensors": (header_file({"h": ent("F8_E4M3", [16], 0, 16)}, d16), "unsupported dtype F8_E4M3"),
        "bad_dtype.safetensors": (header_file({"h": ent("Q7", [4], 0, 16)}, d16), "unknown dtype 'Q7'"),
        "bad_size.safetensors": (header_file({"a": ent("F32", [3], 0, 16)}, d16), "needs 12 bytes"),
        "bad_huge_shape.safetensors": (
            header_file({"a": ent("F32", [2**40, 2**40], 0, 16)}, d16), "has too many elements"),
        "bad_negative_dim.safetensors": (header_file({"a": ent("F32", [-4], 0, 16)}, d16), "not a non-negative integer"),
        "bad_offsets_past_end.safetensors": (
            header_file({"a": ent("F32", [4], 0, 16), "b": ent("F32", [4], 16, 32)}, d16), "run past the 16 bytes"),
        "bad_reversed_offsets.safetensors": (header_file({"a": ent("F32", [0], 16, 0)}, d16), "not 0 ≤ begin ≤ end"),
        "bad_metadata_value.safetensors": (header_file({"__metadata__": {"k": 3}}), "metadata 'k' must be a string"),
        "bad_missing_shape.safetensors": (
            header_file({"a": {"dtype": "F32", "data_offsets": [0, 16]}}, d16), "missing 'shape'"),
    }


def idx_fixtures():
    """name -> (array as numpy describes it, raw IDX bytes)."""
    rng = np.random.default_rng(4)
    cases = {
        "u8.idx": (0x08, rng.integers(0, 256, (3, 4, 5)).astype(">u1")),
        "i8.idx": (0x09, np.array([-128, -1, 0, 1, 127], ">i1")),
        "i16.idx": (0x0B, np.array([[-32768, -2], [258, 32767]], ">i2")),
        "i32.idx": (0x0C, np.array([-2147483648, -1, 65536, 2147483647], ">i4")),
        "f32.idx": (0x0D, np.array([[1.5, -0.0, np.nan], [np.inf, 1e-45, -3.25]], ">f4")),
        "f64.idx": (0x0E, np.array([np.pi, -1e-310, np.inf], ">f8")),
        "labels.idx": (0x08, rng.integers(0, 10, 60).astype(">u1")),
        "empty.idx": (0x08, np.zeros((0, 28, 28), ">u1")),
        "scalar.idx": (0x0C, np.array(5, ">i4")),
    }
    out = {}
    for name, (code, a) in cases.items():
        raw = bytes([0, 0, code, a.ndim]) + b"".join(struct.pack(">I", n) for n in a.shape) + a.tobytes()
        flock = a.astype({1: "<i4", 2: "<i4", 4: "<i4" if a.dtype.kind in "iu" else "<f4", 8: "<f8"}[a.dtype.itemsize])
        out[name] = (flock, raw)
    u8, raw = out["u8.idx"]
    out["u8.idx.gz"] = (u8, gzip.compress(raw, mtime=0))
    labels, raw = out["labels.idx"]
    out["labels_named.idx.gz"] = (labels, gzip_with_name(raw))
    return out


def gzip_with_name(raw):
    """gzip with the FNAME and FCOMMENT fields set, as the gzip tool writes them."""
    body = zlib.compressobj(9, zlib.DEFLATED, -15)
    data = body.compress(raw) + body.flush()
    header = b"\x1f\x8b\x08" + bytes([0x08 | 0x10]) + b"\0\0\0\0\0\x03" + b"labels.idx\0" + b"comment\0"
    return header + data + struct.pack("<II", zlib.crc32(raw), len(raw))


def csv_fixtures():
    """name -> (text, delimiter, header flag given to Flock, dtype, loadtxt arguments)."""
    rng = np.random.default_rng(5)
    table = rng.standard_normal((20, 4)).round(6)
    body = "\n".join(",".join(repr(float(v)) for v in row) for row in table) + "\n"
    return {
        "header.csv": ("x,y,z,label\n" + body, ",", None, "float32", {"skiprows": 1}),
        "no_header.csv": (body, ",", None, "float64", {}),
        "forced_header.csv": ("1,2\n3,4\n5,6\n", ",", True, "float32", {"skiprows": 1}),
        "semicolon.csv": ("a;b\n1.5;-2\n 3 ; 4e-3 \n", ";", True, "float64", {"skiprows": 1, "delimiter": ";"}),
        "tabs.tsv": ("1\t2\t3\n4\t5\t6\n", "\t", False, "int32", {"delimiter": "\t", "dtype": "int32"}),
        "special.csv": ("v,w\nnan,inf\n-inf,NaN\n+1e38,-0.0\n1e-46,3.4028236e38\n", ",", None, "float32",
                        {"skiprows": 1}),
        "crlf_blank.csv": ("p,q\r\n1,2\r\n\r\n3,4\r\n", ",", None, "float64", {"skiprows": 1}),
        "quoted_header.csv": ('"a","b"\n7,8\n', ",", None, "int32", {"skiprows": 1, "dtype": "int32"}),
        "single_column.csv": ("v\n1\n2\n3\n", ",", None, "float32", {"skiprows": 1, "ndmin": 2}),
    }


def bad_csv_fixtures():
    """name -> (text, delimiter, header, dtype, fragment of Flock's message)."""
    return {
        "bad_value.csv": ("a,b,c\n1,2,3\n4,x5,6\n", ",", None, "float32", "line 3, column 2 ('b'): 'x5' is not a number"),
        "bad_value_no_header.csv": ("1;2\n3;\n", ";", False, "float64", "line 2, column 2: '' is not a number"),
        "bad_columns.csv": ("1,2,3\n4,5\n", ",", None, "float32", "line 2 has 2 columns, expected 3"),
        "bad_int.csv": ("1,2\n3,4.5\n", ",", False, "int32", "line 2, column 2: '4.5' is not an int32"),
    }


def checkpoint_fixture():
    """A checkpoint of {dense: {w, b}, layers: [{weight}], step, key} written in Flock's layout."""
    rng = np.random.default_rng(6)
    tensors = {
        "params.dense.w": rng.standard_normal((3, 2)).astype("<f4"),
        "params.dense.b": np.array([0.5, -0.5], "<f4"),
        "params.layers.0.weight": rng.standard_normal((2, 2)),
        "params.layers.1.weight": rng.standard_normal((2, 1)),
        "step": np.array(7, "<i4"),
        "key": np.array([0, 1234], "<u4"),
    }
    user = {"note": "written by tools/make_io_fixtures.py"}
    data = stn.save(tensors)
    n = struct.unpack("<Q", data[:8])[0]
    crc = checkpoint_crc(data[8 + n:], user)
    metadata = dict(user, **{"flock.format": "checkpoint-1", "flock.crc32": f"{crc:08x}"})
    path = CHECKPOINT_OUT / "python_checkpoint.safetensors"
    stn.save_file(tensors, path, metadata=metadata)
    manifest = {name: describe(a) for name, a in tensors.items()}
    (CHECKPOINT_OUT / "manifest.json").write_text(json.dumps({"tensors": manifest, "metadata": user}, indent=1) + "\n")


def checkpoint_crc(data_section, user_metadata):
    """CRC-32 of the data bytes followed by `key=value\\n` of each user metadata entry, sorted by key."""
    crc = zlib.crc32(data_section)
    for k in sorted(user_metadata, key=lambda s: s.encode()):
        crc = zlib.crc32(f"{k}={user_metadata[k]}\n".encode(), crc)
    return crc


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    CHECKPOINT_OUT.mkdir(parents=True, exist_ok=True)
    for old in list(OUT.iterdir()) + list(CHECKPOINT_OUT.iterdir()):
        old.unlink()
    manifest = {"safetensors": [], "bad_safetensors": [], "idx": [], "csv": [], "bad_csv": []}
    for name, (tensors, metadata) in safetensors_fixtures().items():
        stn.save_file(tensors, OUT / name, metadata=metadata)
        back = stn.load_file(OUT / name)
        assert back.keys() == tensors.keys()
        manifest["safetensors"].append({
            "file": name, "metadata": metadata, "python_bytes": metadata is None or len(metadata) <= 1,
            "tensors": {k: describe(np.asarray(v)) for k, v in tensors.items()},
        })
    for name, (data, fragment) in bad_safetensors_fixtures().items():
        try:
            stn.load(data)
            python_rejects = False
        except Exception:
            python_rejects = True
        (OUT / name).write_bytes(data)
        manifest["bad_safetensors"].append({"file": name, "message": fragment, "python_rejects": python_rejects})
        # Python accepts a duplicate name (serde keeps the last one) and an unknown dtype never reaches it.
        assert python_rejects or name in ("bad_duplicate.safetensors", "bad_f16.safetensors", "bad_metadata_value.safetensors"), name
    for name, (array, raw) in idx_fixtures().items():
        (OUT / name).write_bytes(raw)
        manifest["idx"].append({"file": name, "array": describe(array)})
    for name, (text, delimiter, header, dtype, loadtxt) in csv_fixtures().items():
        (OUT / name).write_text(text, newline="")
        args = {"delimiter": ",", "dtype": dtype, "ndmin": 2, **loadtxt}
        array = np.loadtxt(OUT / name, **args)
        names = text.splitlines()[0].split(delimiter) if "skiprows" in loadtxt else None
        if names:
            names = [n.strip().strip('"') for n in names]
        manifest["csv"].append({"file": name, "delimiter": delimiter, "header": header, "dtype": dtype,
                                "column_names": names, "array": describe(array)})
    for name, (text, delimiter, header, dtype, fragment) in bad_csv_fixtures().items():
        (OUT / name).write_text(text, newline="")
        manifest["bad_csv"].append({"file": name, "delimiter": delimiter, "header": header, "dtype": dtype,
                                    "message": fragment})
    (OUT / "manifest.json").write_text(json.dumps(manifest, indent=1, ensure_ascii=False) + "\n")
    checkpoint_fixture()
    total = sum(p.stat().st_size for p in list(OUT.iterdir()) + list(CHECKPOINT_OUT.iterdir()))
    print(f"wrote {len(list(OUT.iterdir()))} files to {OUT} and the checkpoint fixture; {total} bytes")


def check(directory):
    """Loads the files SafetensorsTests wrote (FLOCK_IO_CHECK_DIR) with the Python package."""
    manifest = json.loads((OUT / "manifest.json").read_text())
    for entry in manifest["safetensors"]:
        path = Path(directory) / entry["file"]
        tensors = stn.load_file(path)
        assert {k: describe(v) for k, v in tensors.items()} == entry["tensors"], path
        with safe_open(path, "np") as g:
            assert (g.metadata() or None) == (entry["metadata"] or None), path
    checkpoint = Path(directory) / "flock_checkpoint.safetensors"
    if checkpoint.exists():
        data = checkpoint.read_bytes()
        n = struct.unpack("<Q", data[:8])[0]
        with safe_open(checkpoint, "np") as g:
            metadata = g.metadata()
        user = {k: v for k, v in metadata.items() if not k.startswith("flock.")}
        assert metadata["flock.crc32"] == f"{checkpoint_crc(data[8 + n:], user):08x}", metadata
        names = sorted(stn.load_file(checkpoint))
        assert names == sorted(["params.dense.w", "params.dense.b", "params.layers.0.weight",
                                "params.layers.1.weight", "step", "key"]), names
        print(f"checked {checkpoint}: names, metadata {user} and checksum")
    print(f"checked {len(manifest['safetensors'])} files in {directory}")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--check":
        check(sys.argv[2])
    else:
        main()
