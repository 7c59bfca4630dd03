#!/usr/bin/env python3
"""Generates Tests/FlockCoreTests/Fixtures/fidelity.json: JAX's values for the
places where Flock must match JAX beyond the basic ops of make_fixtures.py —
long accumulations (cumsum in XLA CPU's order) and the functions a JAX user
reaches for (cumulative reductions, norms, einsum, ...).

Same case format as ops.json (see make_fixtures.py); FidelityFixtureTests.swift
runs each case's `fn` in Flock.

Usage: .venv/bin/python tools/make_fidelity_fixtures.py
"""

import json
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import make_fixtures as mf  # noqa: E402  (its cases are built on import; we start afresh)

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
from jax import lax  # noqa: E402

mf.CASES.clear()
mf.NAMES.clear()
add, arr, rand, EXACT = mf.add, mf.arr, mf.rand, mf.EXACT
f32, f64, i32, u32, b8 = mf.f32, mf.f64, mf.i32, mf.u32, mf.b8
nan, inf = mf.nan, mf.inf
OUT = pathlib.Path(__file__).resolve().parent.parent / "Tests/FlockCoreTests/Fixtures/fidelity.json"

# MARK: - cumsum in XLA's order (rows of 16, the row totals scanned recursively)

for n in (1, 2, 15, 16, 17, 31, 33, 255, 257, 300, 4097, 5000):
    x = rand((n,), f32, seed=n, lo=-1.0, hi=3.0)
    add(f"cumsum/order/n={n}", "lax.cumsum", [x], lambda x: lax.cumsum(x, axis=0), {"axis": 0, "reverse": False}, **EXACT)
    add(f"cumsum/order/n={n}/reverse", "lax.cumsum", [x], lambda x: lax.cumsum(x, axis=0, reverse=True),
        {"axis": 0, "reverse": True}, **EXACT)
for axis in (0, 1):
    for rev in (False, True):
        x = rand((300, 5), f32, seed=7, lo=-1.0, hi=3.0)
        add(f"cumsum/order/2d/axis={axis}/reverse={rev}", "lax.cumsum", [x],
            lambda x, a=axis, r=rev: lax.cumsum(x, axis=a, reverse=r), {"axis": axis, "reverse": rev}, **EXACT)
add("cumsum/order/float64", "lax.cumsum", [rand((1000,), f64, 3)], lambda x: lax.cumsum(x, axis=0),
    {"axis": 0, "reverse": False}, **EXACT)
add("cumsum/order/signed_zeros", "lax.cumsum", [arr([-0.0] * 20, f32)], lambda x: lax.cumsum(x, axis=0),
    {"axis": 0, "reverse": False}, **EXACT)
add("cumsum/order/signed_zeros/reverse", "lax.cumsum", [arr([-0.0] * 20, f32)], lambda x: lax.cumsum(x, axis=0, reverse=True),
    {"axis": 0, "reverse": True}, **EXACT)
add("cumsum/order/nan_inf", "lax.cumsum", [arr([1.0, inf] + [2.0] * 20 + [-inf, nan, 3.0], f32)],
    lambda x: lax.cumsum(x, axis=0), {"axis": 0, "reverse": False}, **EXACT)

if __name__ == "__main__":
    OUT.write_text("[\n" + ",\n".join(json.dumps(c, separators=(",", ":"), allow_nan=False) for c in mf.CASES) + "\n]\n")
    print(f"{len(mf.CASES)} cases -> {OUT}")
