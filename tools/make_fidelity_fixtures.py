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

for n in (1, 2, 15, 16, 17, 31, 33, 255, 257, 300, 1500):
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


# MARK: - Cumulative reductions (XLA's reduce-window order: exact for prod/max/min)

for n in (1, 5, 16, 17, 40, 300):
    x = rand((n,), f32, seed=100 + n, lo=0.5, hi=1.5)
    for rev in (False, True):
        add(f"cumprod/n={n}/reverse={rev}", "lax.cumprod", [x], lambda x, r=rev: lax.cumprod(x, axis=0, reverse=r),
            {"axis": 0, "reverse": rev}, **EXACT)
        y = rand((n,), f32, seed=200 + n)
        add(f"cummax/n={n}/reverse={rev}", "lax.cummax", [y], lambda x, r=rev: lax.cummax(x, axis=0, reverse=r),
            {"axis": 0, "reverse": rev}, **EXACT)
        add(f"cummin/n={n}/reverse={rev}", "lax.cummin", [y], lambda x, r=rev: lax.cummin(x, axis=0, reverse=r),
            {"axis": 0, "reverse": rev}, **EXACT)
for axis in (0, 1):
    x = rand((20, 3), f32, seed=9, lo=0.5, hi=1.5)
    add(f"cumprod/2d/axis={axis}", "cumprod", [x], lambda x, a=axis: jnp.cumprod(x, axis=a), {"axis": axis}, **EXACT)
    add(f"cummax/2d/axis={axis}", "lax.cummax", [x], lambda x, a=axis: lax.cummax(x, axis=a), {"axis": axis, "reverse": False}, **EXACT)
add("cumprod/int32", "cumprod", [arr([1, -2, 3, 4, -5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18], i32)],
    lambda x: jnp.cumprod(x), {"axis": 0}, **EXACT)
add("cummax/int32", "lax.cummax", [arr([3, -2, 7, 7, 1, 9, -100, 20] * 3, i32)], lambda x: lax.cummax(x, axis=0),
    {"axis": 0, "reverse": False}, **EXACT)
add("cummin/uint32", "lax.cummin", [arr([3, 2, 7, 0, 1, 9] * 4, u32)], lambda x: lax.cummin(x, axis=0),
    {"axis": 0, "reverse": False}, **EXACT)
add("cummax/nan_inf", "lax.cummax", [arr([1.0, -inf, 3.0, nan, 5.0, inf] * 3, f32)], lambda x: lax.cummax(x, axis=0),
    {"axis": 0, "reverse": False}, **EXACT)
add("cumprod/zeros_inf", "cumprod", [arr([2.0, 0.0, inf, -1.0, nan] * 4, f32)], lambda x: jnp.cumprod(x), {"axis": 0}, **EXACT)

# MARK: - einsum (one to three operands, explicit and implicit output, ellipsis, broadcasting)

EINSUM = [
    ("ij,jk->ik", [(3, 4), (4, 5)]), ("ij,jk", [(3, 4), (4, 5)]), ("ij->ji", [(3, 4)]), ("ij->", [(3, 4)]),
    ("ij->i", [(3, 4)]), ("ij->j", [(3, 4)]), ("ij", [(3, 4)]), ("ji", [(3, 4)]), ("i,i->", [(5,), (5,)]),
    ("i,i", [(5,), (5,)]), ("i,j->ij", [(3,), (4,)]), ("i,j", [(3,), (4,)]), ("ij,j->i", [(3, 4), (4,)]),
    ("ij,ij->ij", [(3, 4), (3, 4)]), ("ij,ij->", [(3, 4), (3, 4)]), ("ij,ji->", [(3, 4), (4, 3)]),
    ("bij,bjk->bik", [(2, 3, 4), (2, 4, 5)]), ("bij,bjk", [(2, 3, 4), (2, 4, 5)]),
    ("bhqd,bhkd->bhqk", [(2, 3, 4, 5), (2, 3, 6, 5)]), ("bhqk,bhkd->bhqd", [(2, 3, 4, 6), (2, 3, 6, 5)]),
    ("...ij,...jk->...ik", [(2, 3, 4), (2, 4, 5)]), ("...ij,...jk->...ik", [(2, 1, 3, 4), (5, 4, 2)]),
    ("...i,...i->...", [(2, 3, 4), (2, 3, 4)]), ("...i,i", [(2, 3, 4), (4,)]), ("i...->...", [(3, 2, 4)]),
    ("...ij->...ji", [(2, 3, 4)]), ("...", [(2, 3)]), ("ij...,jk->ik...", [(3, 4, 2), (4, 5)]),
    ("ijk,kl->il", [(2, 3, 4), (4, 5)]), ("abc,cd,de->abe", [(2, 3, 4), (4, 5), (5, 6)]),
    ("ij,jk,kl->il", [(3, 4), (4, 5), (5, 6)]), ("ij,jk,kl", [(3, 4), (4, 5), (5, 2)]),
    ("i,j,k->ijk", [(2,), (3,), (4,)]), ("bi,bj,bk->b", [(3, 2), (3, 4), (3, 5)]),
    ("ij,kl->ijkl", [(2, 3), (4, 5)]), ("ij,kj->ik", [(3, 4), (5, 4)]), ("ab,ab,ab->a", [(3, 4), (3, 4), (3, 4)]),
    ("ijk->kji", [(2, 3, 4)]), ("ijk->k", [(2, 3, 4)]), ("ij,i->j", [(3, 4), (3,)]), ("i,ij,j->", [(3,), (3, 4), (4,)]),
    ("ij,jk->ik", [(1, 4), (4, 1)]), ("ij,jk->ik", [(0, 4), (4, 3)]), ("ij,jk->ik", [(3, 0), (0, 2)]),
    (" ij , jk -> ik ", [(3, 4), (4, 5)]), ("BI,IJ->BJ", [(3, 4), (4, 2)]),
]
for k, (sub, shapes) in enumerate(EINSUM):
    ops = [rand(sh, f32, seed=300 + 7 * k + j) for j, sh in enumerate(shapes)]
    add(f"einsum/{sub.replace(' ', '_')}/{'x'.join(map(str, shapes[0]))}/{k}", "einsum", ops,
        lambda *a, s=sub: jnp.einsum(s, *a), {"subscripts": sub}, rtol=2e-6, atol=1e-6)
ops = [rand((3, 4), f64, seed=1), rand((4, 2), f64, seed=2)]
add("einsum/float64", "einsum", ops, lambda *a: jnp.einsum("ij,jk->ik", *a), {"subscripts": "ij,jk->ik"})
ops = [arr([[1, 2], [3, 4]], i32), arr([[5, 6], [7, 8]], i32)]
add("einsum/int32", "einsum", ops, lambda *a: jnp.einsum("ij,jk->ik", *a), {"subscripts": "ij,jk->ik"}, **EXACT)
ops = [arr([[1.0, inf], [nan, 2.0]], f32), arr([[1.0, 0.0], [2.0, 3.0]], f32)]
add("einsum/nan_inf", "einsum", ops, lambda *a: jnp.einsum("ij,jk->ik", *a), {"subscripts": "ij,jk->ik"})

# MARK: - tile, repeat, roll, hstack, vstack, tensordot, vdot, kron, trace, diagonal

for k, (shape, reps) in enumerate([((3,), [2]), ((2, 3), [2, 1]), ((2, 3), [3]), ((3,), [2, 2]), ((2, 1, 2), [1, 3, 2]),
                                   ((2, 3), [0, 2]), ((), [3])]):
    add(f"tile/{k}", "tile", [rand(shape, f32, seed=500 + k)], lambda x, r=reps: jnp.tile(x, r), {"reps": reps}, **EXACT)
for k, (shape, n, axis) in enumerate([((3,), 2, None), ((2, 3), 2, None), ((2, 3), 3, 0), ((2, 3), 2, 1), ((2, 3), 2, -1),
                                      ((2, 3), 0, 1), ((2, 2, 2), 1, 2)]):
    add(f"repeat/{k}", "repeat", [rand(shape, f32, seed=520 + k)], lambda x, n=n, a=axis: jnp.repeat(x, n, axis=a),
        {"repeats": n, "axis": axis}, **EXACT)
for k, (shape, shift, axis) in enumerate([((5,), 1, None), ((5,), -2, None), ((5,), 7, 0), ((2, 3), 1, None), ((2, 3), 1, 1),
                                          ((2, 3), -1, 0), ((2, 3), 0, 1), ((3, 4), 5, -1), ((0,), 2, 0)]):
    add(f"roll/{k}", "roll", [rand(shape, f32, seed=540 + k)], lambda x, s=shift, a=axis: jnp.roll(x, s, axis=a),
        {"shift": shift, "axis": axis}, **EXACT)
for k, shapes in enumerate([[(3,), (2,)], [(2, 3), (2, 1)], [(2, 2, 2), (2, 1, 2)]]):
    ops = [rand(sh, f32, seed=560 + k * 3 + j) for j, sh in enumerate(shapes)]
    add(f"hstack/{k}", "hstack", ops, lambda *a: jnp.hstack(a), **EXACT)
for k, shapes in enumerate([[(3,), (3,)], [(2, 3), (1, 3)], [(3,), (2, 3)]]):
    ops = [rand(sh, f32, seed=570 + k * 3 + j) for j, sh in enumerate(shapes)]
    add(f"vstack/{k}", "vstack", ops, lambda *a: jnp.vstack(a), **EXACT)
for k, (sa, sb, axes) in enumerate([((3, 4), (4, 5), 1), ((2, 3, 4), (3, 4, 5), 2), ((3,), (4,), 0), ((2, 3), (2, 3), 2)]):
    ops = [rand(sa, f32, seed=580 + k), rand(sb, f32, seed=590 + k)]
    add(f"tensordot/int/{k}", "tensordot", ops, lambda a, b, n=axes: jnp.tensordot(a, b, axes=n), {"axes": axes},
        rtol=2e-6, atol=1e-6)
for k, (sa, sb, la, lb) in enumerate([((2, 3, 4), (4, 3, 5), [1, 2], [1, 0]), ((3, 4), (5, 3), [0], [1]),
                                      ((2, 3), (3, 2), [-1], [0])]):
    ops = [rand(sa, f32, seed=600 + k), rand(sb, f32, seed=610 + k)]
    add(f"tensordot/lists/{k}", "tensordot_lists", ops, lambda a, b, x=la, y=lb: jnp.tensordot(a, b, axes=(x, y)),
        {"a_axes": la, "b_axes": lb}, rtol=2e-6, atol=1e-6)
for k, (sa, sb) in enumerate([((5,), (5,)), ((2, 3), (3, 2)), ((2, 3), (6,))]):
    ops = [rand(sa, f32, seed=620 + k), rand(sb, f32, seed=630 + k)]
    add(f"vdot/{k}", "vdot", ops, jnp.vdot, rtol=2e-6, atol=1e-6)
for k, (sa, sb) in enumerate([((2,), (3,)), ((2, 2), (2, 3)), ((2, 3), (3,)), ((1, 2, 2), (2, 1, 2))]):
    ops = [rand(sa, f32, seed=640 + k), rand(sb, f32, seed=650 + k)]
    add(f"kron/{k}", "kron", ops, jnp.kron, **EXACT)
for k, (shape, off) in enumerate([((3, 3), 0), ((3, 4), 1), ((4, 3), -1), ((3, 3), 5)]):
    x = rand(shape, f32, seed=660 + k)
    add(f"trace/{k}", "trace", [x], lambda x, o=off: jnp.trace(x, offset=o), {"offset": off}, rtol=2e-6, atol=1e-6)
    add(f"diagonal/{k}", "diagonal", [x], lambda x, o=off: jnp.diagonal(x, offset=o), {"offset": off}, **EXACT)

# MARK: - Matrix helpers

m = rand((4, 5), f32, seed=31)
b3 = rand((2, 3, 4), f32, seed=32)
for k in (-2, -1, 0, 1, 3, 7):
    add(f"tril/k={k}", "tril", [m], lambda x, k=k: jnp.tril(x, k), {"k": k}, **EXACT)
    add(f"triu/k={k}", "triu", [m], lambda x, k=k: jnp.triu(x, k), {"k": k}, **EXACT)
    add(f"diag/2d/k={k}", "diag", [m], lambda x, k=k: jnp.diag(x, k), {"k": k}, **EXACT)
    add(f"diag/1d/k={k}", "diag", [arr([1.5, -2.0, 3.0], f32)], lambda x, k=k: jnp.diag(x, k), {"k": k}, **EXACT)
add("tril/batched", "tril", [b3], lambda x: jnp.tril(x), {"k": 0}, **EXACT)
add("triu/batched/int32", "triu", [arr(np.arange(24).reshape(2, 3, 4), i32)], lambda x: jnp.triu(x, 1), {"k": 1}, **EXACT)
add("diag/1d/empty", "diag", [np.zeros((0,), f32)], lambda x: jnp.diag(x), {"k": 0}, **EXACT)
add("diag/2d/size1", "diag", [arr([[4.0]], f32)], lambda x: jnp.diag(x), {"k": 0}, **EXACT)
for indexing in ("xy", "ij"):
    vs = [arr([1.0, 2.0, 3.0], f32), arr([10, 20], i32), arr([0.5, 1.5, 2.5, 3.5], f32)]
    add(f"meshgrid/2/{indexing}", "meshgrid", vs[:2], lambda a, b, i=indexing: jnp.meshgrid(a, b, indexing=i),
        {"indexing": indexing}, **EXACT)
    add(f"meshgrid/3/{indexing}", "meshgrid", vs, lambda a, b, c, i=indexing: jnp.meshgrid(a, b, c, indexing=i),
        {"indexing": indexing}, **EXACT)
    add(f"meshgrid/1/{indexing}", "meshgrid", vs[:1], lambda a, i=indexing: jnp.meshgrid(a, indexing=i),
        {"indexing": indexing}, **EXACT)

# MARK: - isclose / allclose

ca = arr([1.0, 1.0, nan, inf, -inf, inf, 0.0, 1e-9, 100.0, 100.0], f32)
cb = arr([1.0, 1.00001, nan, inf, inf, 1e38, 1e-8, 0.0, 100.001, 100.01], f32)
for eq in (False, True):
    add(f"isclose/equal_nan={eq}", "isclose", [ca, cb], lambda a, b, e=eq: jnp.isclose(a, b, equal_nan=e),
        {"rtol": 1e-5, "atol": 1e-8, "equal_nan": eq}, **EXACT)
    add(f"allclose/equal_nan={eq}", "allclose", [ca[:1], cb[:1]], lambda a, b, e=eq: jnp.allclose(a, b, equal_nan=e),
        {"rtol": 1e-5, "atol": 1e-8, "equal_nan": eq}, **EXACT)
add("isclose/tolerances", "isclose", [ca, cb], lambda a, b: jnp.isclose(a, b, rtol=1e-3, atol=1e-6),
    {"rtol": 1e-3, "atol": 1e-6, "equal_nan": False}, **EXACT)
add("isclose/int32", "isclose", [arr([1, 2, 3], i32), arr([1, 3, 3], i32)], lambda a, b: jnp.isclose(a, b),
    {"rtol": 1e-5, "atol": 1e-8, "equal_nan": False}, **EXACT)
add("allclose/false", "allclose", [ca[1:2], cb[1:2] * 2], lambda a, b: jnp.allclose(a, b),
    {"rtol": 1e-5, "atol": 1e-8, "equal_nan": False}, **EXACT)

# MARK: - Integer powers (lax.integer_pow: exact, wrapping)

ib = arr([0, 1, -1, 2, -3, 7, 46341, -46341, 1000], i32)
for n in (0, 1, 2, 3, 4, 5, 7):
    add(f"power/int32/n={n}", "power_int", [ib], lambda x, n=n: jnp.power(x, n), {"n": n}, **EXACT)
fb = arr([0.0, -0.0, 1.5, -2.0, 3.0, inf, -inf, nan, 1e20], f32)
for n in (0, 1, 2, 3, 5, -1, -2):
    add(f"power/float32/n={n}", "power_int", [fb], lambda x, n=n: x ** n, {"n": n}, **EXACT)

# MARK: - Norms (jnp.linalg.norm)

nv = arr([3.0, -4.0, 0.0, 1.5, -0.5], f32)
nm = rand((3, 4), f32, seed=41)
n3 = rand((2, 3, 4), f32, seed=42)
TOL = dict(rtol=2e-6, atol=1e-7)
for ord_ in (None, 1, 2, 3, 0.5, 0, inf, -inf, -1):
    add(f"norm/vector/ord={ord_}", "norm", [nv], lambda x, o=ord_: jnp.linalg.norm(x, ord=o),
        {"ord": ord_, "axes": None, "keepdims": False}, **TOL)
    add(f"norm/rows/ord={ord_}", "norm", [nm], lambda x, o=ord_: jnp.linalg.norm(x, ord=o, axis=1),
        {"ord": ord_, "axes": [1], "keepdims": False}, **TOL)
for ord_ in (None, "fro", 1, -1, inf, -inf):
    add(f"norm/matrix/ord={ord_}", "norm", [nm], lambda x, o=ord_: jnp.linalg.norm(x, ord=o),
        {"ord": ord_, "axes": None, "keepdims": False}, **TOL)
    add(f"norm/batched/ord={ord_}/keepdims", "norm", [n3], lambda x, o=ord_: jnp.linalg.norm(x, ord=o, axis=(2, 1), keepdims=True),
        {"ord": ord_, "axes": [2, 1], "keepdims": True}, **TOL)
add("norm/flat3d", "norm", [n3], lambda x: jnp.linalg.norm(x), {"ord": None, "axes": None, "keepdims": False}, **TOL)
add("norm/int32", "norm", [arr([3, 4], i32)], lambda x: jnp.linalg.norm(x), {"ord": None, "axes": None, "keepdims": False}, **TOL)
add("norm/inf_nan", "norm", [arr([1.0, inf, nan], f32)], lambda x: jnp.linalg.norm(x, ord=1),
    {"ord": 1, "axes": None, "keepdims": False}, **TOL)

# MARK: - jax.random.choice (the same key gives the same sample)

import jax  # noqa: E402

pop = arr(np.arange(10) * 1.5, f32)
mat = arr(np.arange(12).reshape(3, 4), i32)
probs = arr([0.05, 0.1, 0.3, 0.0, 0.15, 0.1, 0.05, 0.1, 0.1, 0.05], f32)
for seed in (0, 7):
    for replace in (True, False):
        for shape in ((), (3,), (2, 2)):
            add(f"choice/seed={seed}/replace={replace}/shape={shape}", "random.choice", [pop],
                lambda a, s=seed, r=replace, sh=shape: jax.random.choice(jax.random.key(s), a, sh, replace=r),
                {"seed": seed, "shape": list(shape), "replace": replace, "axis": 0}, **EXACT)
            add(f"choice/p/seed={seed}/replace={replace}/shape={shape}", "random.choice_p", [pop, probs],
                lambda a, q, s=seed, r=replace, sh=shape: jax.random.choice(jax.random.key(s), a, sh, replace=r, p=q),
                {"seed": seed, "shape": list(shape), "replace": replace, "axis": 0}, **EXACT)
        add(f"choice/axis=1/seed={seed}/replace={replace}", "random.choice", [mat],
            lambda a, s=seed, r=replace: jax.random.choice(jax.random.key(s), a, (3,), replace=r, axis=1),
            {"seed": seed, "shape": [3], "replace": replace, "axis": 1}, **EXACT)
        add(f"choice/int/seed={seed}/replace={replace}", "random.choice_n", [],
            lambda s=seed, r=replace: jax.random.choice(jax.random.key(s), 20, (5,), replace=r),
            {"seed": seed, "shape": [5], "replace": replace, "n": 20}, **EXACT)

# MARK: - More activations and small helpers

act = arr([-inf, -5.0, -1.5, -1.0, -0.5, -0.0, 0.0, 0.25, 1.0, 1.5, 4.0, inf, nan], f32)
add("hard_tanh", "hard_tanh", [act], jax.nn.hard_tanh, {})
for alpha in (1.0, 0.5):
    add(f"celu/alpha={alpha}", "celu", [act], lambda x, a=alpha: jax.nn.celu(x, a), {"alpha": alpha})
add("selu", "selu", [act], jax.nn.selu, {})
add("elu", "elu", [act], jax.nn.elu, {"alpha": 1.0})
add("elu/alpha=0.3", "elu", [act], lambda x: jax.nn.elu(x, 0.3), {"alpha": 0.3})
add("leaky_relu", "leaky_relu", [act], jax.nn.leaky_relu, {"negative_slope": 0.01})
add("leaky_relu/0.2", "leaky_relu", [act], lambda x: jax.nn.leaky_relu(x, 0.2), {"negative_slope": 0.2})
add("relu6", "relu6", [act * 4], jax.nn.relu6, {}, **EXACT)
add("trunc", "trunc", [arr([-2.5, -0.5, -0.0, 0.0, 0.7, 3.9, inf, -inf, nan, 1e20], f32)], jnp.trunc, {}, **EXACT)
add("trunc/int32", "trunc", [arr([-3, 4], i32)], jnp.trunc, {}, **EXACT)
add("count_nonzero", "count_nonzero", [arr([[0.0, 1.0, nan], [-0.0, 2.0, 0.0]], f32)], lambda x: jnp.count_nonzero(x),
    {"axes": None}, **EXACT)
add("count_nonzero/axis", "count_nonzero", [arr([[0, 1, 3], [0, 2, 0]], i32)], lambda x: jnp.count_nonzero(x, axis=1),
    {"axes": [1]}, **EXACT)
add("full_like", "full_like", [arr([[1, 2]], i32)], lambda x: jnp.full_like(x, 7), {"value": 7}, **EXACT)

if __name__ == "__main__":
    OUT.write_text("[\n" + ",\n".join(json.dumps(c, separators=(",", ":"), allow_nan=False) for c in mf.CASES) + "\n]\n")
    print(f"{len(mf.CASES)} cases -> {OUT}")
