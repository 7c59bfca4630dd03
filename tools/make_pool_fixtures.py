"""Generates JAX/Flax reference values for Flock's windowed reductions and pooling.

Run from the repository root with the reference environment:
    tools/setup-reference-env && .venv/bin/python tools/make_pool_fixtures.py
Writes Tests/FlockTransformsTests/Fixtures/pooling.json: a list of cases, each
with its function (`lax` reduce_window max/min/sum, or Flax max_pool /
min_pool / avg_pool), parameters, input, forward output, and — for floating
inputs — the gradient of sum(output × ct) and the JVP along a tangent (both
random and stored; for max/min windows with ties the JVP comes from JAX's
Jacobian, see add_case). Values are float64 lists with NaN and infinities as
strings. JAX has no VJP for max/min windows with window dilation; those cases
(and max/min with negative padding, where JAX's VJP fails) carry no gradient (Flock's is checked by identities instead).
CI does not run this script; the output is committed.
"""
import json
import os

import jax
import jax.numpy as jnp
import numpy as np
from flax import linen as nn
from flax.linen import pooling
from jax import lax

jax.config.update("jax_enable_x64", True)

OUT = os.path.join(os.path.dirname(__file__), "..", "Tests", "FlockTransformsTests", "Fixtures", "pooling.json")
rng = np.random.default_rng(20261204)


def enc(a):
    a = np.asarray(a)
    if a.dtype == np.float32:
        # The shortest decimal that round-trips in float32 keeps the file small.
        return [float(str(v)) if np.isfinite(v) else str(float(v)) for v in a.ravel()]
    return [v if np.isfinite(v) else str(v) for v in a.astype(np.float64).ravel().tolist()]


def arr(a):
    a = np.asarray(a)
    return {"shape": list(a.shape), "values": enc(a)}


def make_input(shape, dtype, kind):
    if kind == "ties":
        x = rng.integers(0, 3, size=shape).astype(np.float64)
    elif kind == "special":
        x = np.round(rng.standard_normal(shape), 2)
        flat = x.reshape(-1)
        specials = [np.inf, -np.inf, np.nan, -np.inf]
        for i, s in enumerate(specials):
            flat[(3 * i + 1) % flat.size] = s
    elif kind == "neginf":
        x = np.full(shape, -np.inf)
        x.reshape(-1)[::3] = np.round(rng.standard_normal(x.reshape(-1)[::3].shape), 2)
    elif kind == "posinf":
        x = np.full(shape, np.inf)
        x.reshape(-1)[::3] = np.round(rng.standard_normal(x.reshape(-1)[::3].shape), 2)
    else:
        x = np.round(rng.standard_normal(shape), 3)
    if dtype == "int32":
        x = np.nan_to_num(x, nan=0, posinf=7, neginf=-7)
        x = np.round(x * 5)
    return x.astype(dtype)


cases = []

LAX_OPS = {"max": (-np.inf, lax.max), "min": (np.inf, lax.min), "sum": (0.0, lax.add)}


def lax_case(name, op, shape, window, strides=None, padding="VALID", base=None, wdil=None,
             dtype="float32", kind="normal"):
    x = make_input(shape, dtype, kind)
    init, comp = LAX_OPS[op]
    if dtype == "int32":
        init = {"max": np.iinfo(np.int32).min, "min": np.iinfo(np.int32).max, "sum": 0}[op]
    init = np.array(init, dtype=dtype)

    def f(v):
        return lax.reduce_window(v, init, comp, tuple(window), None if strides is None else tuple(strides),
                                 padding, base, wdil)

    add_case(name, {"fn": "lax", "op": op, "window": window, "strides": strides, "padding": padding,
                    "base_dilation": base, "window_dilation": wdil}, f, x, dtype,
             grad_ok=not (op != "sum" and wdil is not None and any(d != 1 for d in wdil)),
             ties=kind == "ties" and op != "sum")


def flax_case(name, fn, shape, window, strides=None, padding="VALID", count_include_pad=True,
              dtype="float32", kind="normal"):
    x = make_input(shape, dtype, kind)
    pools = {"max_pool": nn.max_pool, "min_pool": pooling.min_pool, "avg_pool": nn.avg_pool}
    kwargs = {"count_include_pad": count_include_pad} if fn == "avg_pool" else {}

    def f(v):
        return pools[fn](v, tuple(window), None if strides is None else tuple(strides), padding, **kwargs)

    add_case(name, {"fn": fn, "window": window, "strides": strides, "padding": padding,
                    "count_include_pad": count_include_pad}, f, x, dtype, grad_ok=True,
             ties=kind == "ties" and fn != "avg_pool")


def add_case(name, params, f, x, dtype, grad_ok, ties=False):
    y = f(jnp.asarray(x))
    case = dict(params)
    case.update({"name": name, "dtype": dtype, "x": arr(x), "out": arr(y)})
    if dtype != "int32":
        ct = np.round(rng.standard_normal(y.shape), 3).astype(dtype)
        t = np.round(rng.standard_normal(x.shape), 3).astype(dtype)
        _, jv = jax.jvp(f, (jnp.asarray(x),), (jnp.asarray(t),))
        if ties:
            # Which tied element jax.jvp takes depends on the loop order XLA
            # picks for the padded variadic reduce_window (not always row-major).
            # The reference is the element JAX's own reverse mode selects
            # (select_and_scatter_add: the first in row-major window order),
            # read off the Jacobian.
            jac = jax.jacrev(f)(jnp.asarray(x))
            jv = np.tensordot(np.asarray(jac), t, axes=t.ndim).astype(dtype)
            case["jvp_from"] = "jacrev"
        case.update({"t": arr(t), "jvp": arr(jv), "ct": arr(ct)})
        try:
            g = jax.grad(lambda v: jnp.sum(f(v) * ct))(jnp.asarray(x)) if grad_ok else None
        except TypeError as e:  # JAX's select_and_scatter_add rejects negative padding
            print(f"{name}: no JAX gradient ({str(e).splitlines()[0]})")
            g = None
        if g is not None:
            case["grad"] = arr(g)
    cases.append(case)


# --- lax.reduce_window: every op over a sweep of geometries ----------------
for op in ["max", "min", "sum"]:
    # 1-D
    lax_case(f"{op}.1d.valid", op, (7,), [3])
    lax_case(f"{op}.1d.stride_gt_window", op, (9,), [2], [3])
    lax_case(f"{op}.1d.same_odd", op, (7,), [4], [2], "SAME")
    lax_case(f"{op}.1d.same_big_window", op, (5,), [7], [1], "SAME")
    lax_case(f"{op}.1d.explicit", op, (6,), [3], [2], [(1, 2)])
    lax_case(f"{op}.1d.negative_pad", op, (8,), [3], [1], [(-2, 1)])
    lax_case(f"{op}.1d.base_dilation", op, (5,), [3], [2], [(1, 1)], base=[2])
    lax_case(f"{op}.1d.window_dilation", op, (9,), [3], [1], [(2, 0)], wdil=[2])
    lax_case(f"{op}.1d.window_too_big", op, (4,), [6])
    lax_case(f"{op}.1d.size1", op, (1,), [1])
    # 2-D
    lax_case(f"{op}.2d.same", op, (5, 6), [2, 3], [2, 1], "SAME")
    lax_case(f"{op}.2d.explicit", op, (5, 5), [3, 3], [2, 2], [(1, 1), (0, 2)])
    lax_case(f"{op}.2d.dilations", op, (4, 5), [2, 2], [1, 2], [(1, 0), (2, 1)], base=[2, 1], wdil=[1, 2])
    lax_case(f"{op}.2d.ties", op, (5, 5), [2, 3], [1, 1], [(1, 0), (0, 1)], kind="ties")
    lax_case(f"{op}.2d.special", op, (4, 6), [2, 2], [1, 2], "SAME", kind="special")
    lax_case(f"{op}.2d.float64", op, (4, 5), [3, 2], [1, 2], "SAME", dtype="float64")
    lax_case(f"{op}.2d.int32", op, (5, 6), [2, 3], [2, 1], "SAME", dtype="int32")
    lax_case(f"{op}.2d.int32_dilated", op, (4, 4), [2, 2], [1, 1], [(1, 1), (0, 0)], base=[1, 2], wdil=[2, 1],
             dtype="int32")
    # 3-D and NHWC layouts
    lax_case(f"{op}.3d.same", op, (3, 4, 5), [2, 2, 2], [1, 2, 2], "SAME")
    lax_case(f"{op}.3d.base_dilation", op, (2, 3, 4), [2, 1, 3], [2, 1, 1], [(0, 1), (0, 0), (1, 1)],
             base=[1, 2, 1])
    lax_case(f"{op}.nhwc.2x2", op, (2, 5, 5, 3), [1, 2, 2, 1], [1, 2, 2, 1])
    lax_case(f"{op}.nhwc.3x3_same_ties", op, (2, 4, 5, 3), [1, 3, 3, 1], [1, 2, 2, 1], "SAME", kind="ties")
    lax_case(f"{op}.nchw.2x2", op, (2, 3, 4, 5), [1, 1, 2, 2], [1, 1, 2, 2], "SAME")

# Windows whose extreme is the identity (all -inf for max, all +inf for min).
lax_case("max.1d.neginf_windows", "max", (9,), [3], [1], "SAME", kind="neginf")
lax_case("max.2d.neginf_dilated", "max", (4, 4), [2, 2], [1, 1], [(1, 1), (1, 0)], base=[2, 1], kind="neginf")
lax_case("min.1d.posinf_windows", "min", (9,), [3], [1], "SAME", kind="posinf")
lax_case("max.1d.special_overlap", "max", (10,), [3], [1], [(1, 1)], kind="special")
lax_case("min.1d.special_overlap", "min", (10,), [3], [1], [(1, 1)], kind="special")

# --- Flax pooling functions -------------------------------------------------
for fn in ["max_pool", "min_pool", "avg_pool"]:
    flax_case(f"{fn}.nhwc.valid", fn, (2, 6, 6, 3), [2, 2], [2, 2])
    flax_case(f"{fn}.nhwc.same_odd", fn, (2, 5, 7, 2), [3, 3], [2, 2], "SAME")
    flax_case(f"{fn}.nhwc.explicit", fn, (1, 5, 4, 2), [2, 3], [1, 2], [(1, 0), (1, 2)])
    flax_case(f"{fn}.nhwc.default_strides", fn, (2, 4, 4, 1), [2, 2])
    flax_case(f"{fn}.nlc.1d", fn, (3, 9, 2), [3], [2], "SAME")
    flax_case(f"{fn}.ndhwc.3d", fn, (1, 4, 4, 4, 2), [2, 2, 2], [2, 2, 2])
    flax_case(f"{fn}.unbatched", fn, (5, 5, 2), [2, 2], [1, 1], "SAME")
    flax_case(f"{fn}.two_batch_dims", fn, (2, 3, 4, 4, 2), [2, 2], [2, 2], "SAME")
    flax_case(f"{fn}.ties", fn, (2, 4, 4, 2), [2, 2], [1, 1], "SAME", kind="ties")
    flax_case(f"{fn}.float64", fn, (1, 5, 5, 2), [3, 3], [2, 2], "SAME", dtype="float64")
for name, shape, pad in [("same", (2, 5, 7, 2), "SAME"), ("explicit", (1, 5, 4, 2), [(1, 0), (1, 2)]),
                         ("unbatched", (5, 5, 2), "SAME"), ("two_batch_dims", (2, 3, 4, 4, 2), "SAME"),
                         ("1d", (3, 9, 2), "SAME")]:
    window = [3] if name == "1d" else [3, 3] if name != "explicit" else [2, 3]
    strides = [2] if name == "1d" else [2, 2] if name != "explicit" else [1, 2]
    flax_case(f"avg_pool.exclude_pad.{name}", "avg_pool", shape, window, strides, pad, count_include_pad=False)

with open(OUT, "w") as fh:
    json.dump(cases, fh, separators=(",", ":"))
print(f"wrote {len(cases)} cases to {OUT} ({os.path.getsize(OUT) // 1024} KB)")
