"""Generates JAX reference values for Flock's gather/scatter tests.

Run from the repository root with the reference environment:
    tools/setup-reference-env && .venv/bin/python tools/make_gather_fixtures.py
Writes Tests/FlockTransformsTests/Fixtures/gather.json: {"arrays": [...],
"cases": [...]}, each case {"name", "fn", "params", "inputs", "output", "grads"}
naming arrays by their index in "arrays" (each distinct array stored once); an
array is {"shape", "dtype", "values"} (NaN and infinities as strings). The sweep covers every index mode of take,
take_along_axis, x[idx], .at[].get and every .at[] update, over negative,
repeated, out-of-bounds, empty and multi-dimensional indices, float32,
float64 and int32 operands, and gradients. CI does not run this script; the
output is committed.
"""
import itertools
import json
import os

import jax
import jax.numpy as jnp
import numpy as np

jax.config.update("jax_enable_x64", True)

OUT = os.path.join(os.path.dirname(__file__), "..", "Tests", "FlockTransformsTests", "Fixtures", "gather.json")
cases = []


def arr(a):
    a = np.asarray(a)
    vals = []
    # float32 values by their shortest float32 spelling (it parses back to the same float).
    flat = [float(str(v)) for v in a.ravel()] if a.dtype == np.float32 else a.astype(np.float64).ravel().tolist()
    for v in flat:
        vals.append(v if np.isfinite(v) else str(v))
    return {"shape": list(a.shape), "dtype": str(a.dtype), "values": vals}


def operand(shape, dtype, seed):
    rng = np.random.default_rng(seed)
    if dtype == "int32":
        return rng.integers(-50, 50, size=shape).astype(np.int32)
    return rng.normal(size=shape).round(2).astype(dtype)


arrays, array_ids = [], {}


def ref(a):
    """The index of `a` in the shared array table (each distinct array stored once)."""
    key = json.dumps(arr(a))
    if key not in array_ids:
        array_ids[key] = len(arrays)
        arrays.append(arr(a))
    return array_ids[key]


def put(name, fn, params, inputs, out, grads=()):
    cases.append({"name": name, "fn": fn, "params": params, "inputs": [ref(i) for i in inputs],
                  "output": ref(out), "grads": [ref(g) for g in grads]})


# Index sets along an axis of size 5 (1-D) and 2-D index arrays.
INDEX_SETS = {
    "inbounds": [3, 0, 4],
    "negative": [-1, -5, 2],
    "repeated": [1, 3, 1, 1],
    "oob_high": [1, 5, 7],
    "oob_low": [0, -6, -9],
    "mixed": [4, -1, 6, -7, 2],
    "empty": [],
    "single": [2],
    "matrix": [[0, 4, -2], [6, 1, 1]],
}
DTYPES = ["float32", "float64", "int32"]

# take: every mode, every axis of a [5, 5] operand and the flattened one (axis None).
for (iname, idx), dtype in itertools.product(INDEX_SETS.items(), DTYPES):
    x = operand((5, 5), dtype, 1)
    i = np.asarray(idx, dtype=np.int32)
    for mode, axis in itertools.product(["fill", "clip", "wrap"], [0, 1, -1, None]):
        out = jnp.take(x, i, axis=axis, mode=mode)
        put(f"take/{iname}/{dtype}/{mode}/axis{axis}", "take", {"mode": mode, "axis": axis}, [x, i], out)
    if dtype != "int32":
        out = jnp.take(x, i, axis=0, mode="fill", fill_value=-3.5)
        put(f"take/{iname}/{dtype}/fill-3.5", "take", {"mode": "fill", "axis": 0, "fill_value": -3.5}, [x, i], out)
    else:
        out = jnp.take(x, i, axis=1, mode="fill", fill_value=7)
        put(f"take/{iname}/{dtype}/fill7", "take", {"mode": "fill", "axis": 1, "fill_value": 7}, [x, i], out)

# take_along_axis: indices of the operand's rank.
for dtype, mode, axis in itertools.product(DTYPES, ["fill", "clip", "drop", "promise_in_bounds_inbounds"], [0, 1]):
    x = operand((4, 5), dtype, 2)
    if mode == "promise_in_bounds_inbounds":
        i = np.array([[0, 3, 1, 2, 3], [3, 2, 2, 0, 1]] if axis == 0 else [[4, 0], [1, 1], [3, 2], [0, 4]], dtype=np.int32)
        m = "promise_in_bounds"
    else:
        i = np.array([[0, -1, 4, 2, -5], [9, 1, -4, 3, 0]] if axis == 0 else [[4, -1], [7, 0], [-6, 2], [3, 5]], dtype=np.int32)
        m = mode
    out = jnp.take_along_axis(x, i, axis=axis, mode=m)
    put(f"take_along_axis/{dtype}/{m}/axis{axis}", "take_along_axis", {"mode": m, "axis": axis}, [x, i], out)

# x[idx] (JAX's default gather: promise_in_bounds, clamping on CPU) and
# .at[idx].get(mode, fill_value), with the index array in several positions.
PATTERNS = {
    "row": lambda a, i: jnp.asarray(a)[i],
    "col": lambda a, i: jnp.asarray(a)[:, i],
    "pair": lambda a, i: jnp.asarray(a)[i, i[::-1] if i.ndim == 1 else i],
}
AT = {
    "row": lambda a, i: jnp.asarray(a).at[i],
    "col": lambda a, i: jnp.asarray(a).at[:, i],
    "pair": lambda a, i: jnp.asarray(a).at[i, i[::-1] if i.ndim == 1 else i],
}
for (iname, idx), dtype, pattern in itertools.product(INDEX_SETS.items(), DTYPES, PATTERNS):
    x = operand((5, 5), dtype, 3)
    i = np.asarray(idx, dtype=np.int32)
    if iname in ("inbounds", "negative", "repeated", "matrix", "mixed", "empty"):
        put(f"index/{iname}/{dtype}/{pattern}", "index", {"pattern": pattern}, [x, i], PATTERNS[pattern](x, i))
    for mode in ["fill", "clip", "drop", "promise_in_bounds"]:
        if mode == "promise_in_bounds" and iname not in ("inbounds", "negative", "repeated", "empty", "matrix"):
            continue
        out = AT[pattern](x, i).get(mode=mode)
        put(f"at_get/{iname}/{dtype}/{pattern}/{mode}", "at_get", {"pattern": pattern, "mode": mode}, [x, i], out)
    fill = 2.25 if dtype != "int32" else -4
    out = AT[pattern](x, i).get(mode="fill", fill_value=fill)
    put(f"at_get/{iname}/{dtype}/{pattern}/fill{fill}", "at_get",
        {"pattern": pattern, "mode": "fill", "fill_value": fill}, [x, i], out)

# .at[idx].set/add/subtract/multiply/min/max: default mode (drop) and every
# other mode; values broadcast from a scalar and given in full.
OPS = ["set", "add", "subtract", "multiply", "min", "max"]
for (iname, idx), dtype, pattern, op in itertools.product(INDEX_SETS.items(), DTYPES, AT, OPS):
    if pattern == "pair" and dtype != "float32":
        continue
    if op == "set" and iname in ("repeated", "matrix"):
        continue  # which repeated update wins is unspecified in JAX
    x = operand((5, 5), dtype, 4)
    i = np.asarray(idx, dtype=np.int32)
    shape = AT[pattern](x, i).get(mode="clip").shape
    v = operand(shape, dtype, 5)
    for mode in [None, "clip", "drop", "fill"]:
        if mode == "clip" and op == "set" and iname in ("oob_high", "oob_low", "mixed"):
            continue  # clipped indices repeat: the winner is unspecified
        at = AT[pattern](x, i)
        out = getattr(at, op)(v) if mode is None else getattr(at, op)(v, mode=mode)
        put(f"at/{op}/{iname}/{dtype}/{pattern}/{mode}", "at", {"pattern": pattern, "op": op, "mode": mode}, [x, i, v], out)
    if pattern == "row":
        s = np.asarray(3, dtype=dtype)
        put(f"at/{op}/{iname}/{dtype}/scalar", "at", {"pattern": "row", "op": op, "mode": None}, [x, i, s],
            getattr(AT["row"](x, i), op)(s))

# Gradients (float64): take in each mode, x[idx], and every differentiable
# .at[] update with respect to the operand and the values.
for iname in ["inbounds", "negative", "repeated", "oob_high", "mixed", "matrix", "empty"]:
    i = np.asarray(INDEX_SETS[iname], dtype=np.int32)
    x = operand((5, 4), "float64", 6)
    for mode, axis in itertools.product(["fill", "clip", "wrap"], [0, 1]):
        f = lambda a: jnp.take(a, i, axis=axis, mode=mode)
        w = operand(f(x).shape, "float64", 7)
        g = jax.grad(lambda a: jnp.sum(f(a) * w))(x)
        put(f"grad_take/{iname}/{mode}/axis{axis}", "grad_take", {"mode": mode, "axis": axis}, [x, i, w], f(x), [g])
    if iname in ("inbounds", "negative", "repeated", "matrix", "empty"):
        f = lambda a: jnp.asarray(a)[i]
        w = operand(f(x).shape, "float64", 8)
        g = jax.grad(lambda a: jnp.sum(f(a) * w))(x)
        put(f"grad_index/{iname}", "grad_index", {}, [x, i, w], f(x), [g])
    for op in OPS:
        if op == "set" and iname in ("repeated", "matrix"):
            continue
        xx = operand((5, 4), "float64", 9)
        v = operand(AT["row"](xx, i).get(mode="clip").shape, "float64", 10)
        if op in ("min", "max"):
            v = v.copy()
            v.ravel()[::3] = xx[np.clip(i, -5, 4)].ravel()[::3] if v.size else v.ravel()[::3]  # ties
        f = lambda a, b: getattr(jnp.asarray(a).at[i], op)(b)
        w = operand(xx.shape, "float64", 11)
        argnums = (0,) if op == "multiply" else (0, 1)
        gs = jax.grad(lambda a, b: jnp.sum(f(a, b) * w), argnums=argnums)(xx, v)
        put(f"grad_at/{op}/{iname}", "grad_at", {"op": op}, [xx, i, v, w], f(xx, v), list(gs))

with open(OUT, "w") as fh:
    json.dump({"arrays": arrays, "cases": cases}, fh, separators=(",", ":"))
print(f"{len(cases)} cases, {os.path.getsize(OUT) // 1024} KB -> {OUT}")
