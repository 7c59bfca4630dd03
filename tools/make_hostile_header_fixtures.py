"""Hand-built hostile headers and the reference readers' verdicts on them.

For .npy headers numpy (np.load) is the oracle; for safetensors headers the
Python `safetensors` package is. Each record holds the header text, how many
data bytes follow it, and whether the reference reader rejects the file (with
its message), so the Swift tests can check Flock rejects exactly what the
reference rejects — shapes such as (0, 2**63-1) and (2**62, 0) that numpy
calls too big, negative or absurd dimensions, and headers claiming a terabyte.

Run from the repository root: .venv/bin/python tools/make_hostile_header_fixtures.py
Writes Tests/FlockIOTests/Fixtures/io/hostile_headers.json.
"""
import io
import json
import os
import struct

import numpy as np
from safetensors.numpy import load as load_safetensors

OUT = os.path.join(os.path.dirname(__file__), "..", "Tests", "FlockIOTests", "Fixtures", "io", "hostile_headers.json")


def npy_file(header, data_bytes):
    # The same framing as numpy's writer: magic, version 1.0, length, dict padded to 64 bytes.
    text = header.encode("latin1")
    pad = 64 - (10 + len(text) + 1) % 64
    text = text + b" " * pad + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text + b"\0" * data_bytes


def verdict(load):
    try:
        a = load()
        return {"rejects": False, "message": "", "shape": list(np.asarray(a).shape)}
    except Exception as e:  # the reference's own words, for the report
        return {"rejects": True, "message": f"{type(e).__name__}: {e}"[:200], "shape": None}


npy_cases = [
    ("(0, 9223372036854775807)", 0), ("(9223372036854775807, 0)", 0), ("(4611686018427387904, 0)", 0),
    ("(0, 4611686018427387904)", 0), ("(0, 2305843009213693952)", 0), ("(2305843009213693951, 0)", 0),
    ("(0, 4294967296, 4294967296)", 0), ("(4294967296, 4294967296)", 8), ("(-1, 3)", 0), ("(3, -1)", 0),
    ("(-9223372036854775808,)", 0), ("(9223372036854775808,)", 0), ("(99999999999999999999,)", 0),
    ("(274877906944,)", 0), ("(274877906944,)", 64), ("(1024, 1024, 1024, 256)", 0),
    ("(2, 3)", 24), ("(0, 5)", 0), ("(0, 1000000000000)", 0), ("()", 4),
]
records = []
for shape, data in npy_cases:
    header = "{'descr': '<f4', 'fortran_order': False, 'shape': %s, }" % shape
    bytes_ = npy_file(header, data)
    records.append({"format": "npy", "header": header, "dataBytes": data,
                    **verdict(lambda: np.load(io.BytesIO(bytes_), allow_pickle=False))})


def safetensors_file(header, data_bytes):
    text = header.encode()
    return struct.pack("<Q", len(text)) + text + b"\0" * data_bytes


st_cases = [
    ('{"x":{"dtype":"F32","shape":[0,9223372036854775807],"data_offsets":[0,0]}}', 0),
    ('{"x":{"dtype":"F32","shape":[4611686018427387904,0],"data_offsets":[0,0]}}', 0),
    ('{"x":{"dtype":"F32","shape":[274877906944],"data_offsets":[0,1099511627776]}}', 0),
    ('{"x":{"dtype":"F32","shape":[-1],"data_offsets":[0,0]}}', 0),
    ('{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}', 8),
    ('{"x":{"dtype":"F32","shape":[0,5],"data_offsets":[0,0]}}', 0),
]
for header, data in st_cases:
    bytes_ = safetensors_file(header, data)
    v = verdict(lambda: load_safetensors(bytes_))
    if not v["rejects"]:
        v["shape"] = None
    records.append({"format": "safetensors", "header": header, "dataBytes": data, **v})

with open(OUT, "w") as f:
    json.dump(records, f, indent=1)
    f.write("\n")
for r in records:
    print(r["format"], r["header"][-60:], r["dataBytes"], "REJECTS" if r["rejects"] else "accepts", r["message"][:80])
