#!/usr/bin/env python3
"""Writes Tests/FlockCoreTests/Fixtures/random.json: JAX's outputs of jax.random
for a table of cases, compared bit for bit by Tests/FlockCoreTests/RandomTests.swift.

Run with the project's virtual environment (jax 0.10.2):

    /work/main/.venv/bin/python tools/make_random_fixtures.py

Every array (inputs and outputs) is stored as {"dtype", "shape", "hex"}, "hex"
being the raw little-endian bytes, so that comparisons are exact and JSON never
has to spell infinities. 64-bit mode is enabled so that float64 cases exist and
seeds keep all 64 bits; every other dtype is given explicitly, so results equal
those of JAX's default 32-bit mode (JAX's x32 mode differs only for seeds outside
[0, 2**32), whose high word it drops: see the "key_x32" cases).
"""

import json
import os
import sys

import jax
import jax.numpy as jnp
import jax.scipy.special
import numpy as np
from jax import random

jax.config.update("jax_enable_x64", True)

OUT = os.path.join(os.path.dirname(__file__), "..", "Tests", "FlockCoreTests", "Fixtures", "random.json")


def arr(x, dtype=None):
    a = np.asarray(x, dtype=dtype)
    if a.dtype == np.int64:
        a = a.astype(np.int32)
    return {"dtype": str(a.dtype), "shape": list(a.shape), "hex": a.astype(a.dtype.newbyteorder("<")).tobytes().hex()}


def f32(x):
    return arr(np.asarray(x, np.float32))


def f64(x):
    return arr(np.asarray(x, np.float64))


def i32(x):
    return arr(np.asarray(x, np.int32))


# (fn, params) rows; each runs in both threefry modes unless "modes" says otherwise.
CASES = []


def case(fn, seed, **params):
    CASES.append((fn, seed, params))


for seed in [0, 1, 42, -1, -5, 2**31 - 1, 2**31, 2**32 + 7, 2**40 + 3, -(2**40), 2**63 - 1, -(2**63)]:
    case("key", seed)
for seed in [0, 42, 2**31, 2**32 - 1]:
    case("key_x32", seed)

for seed in [0, 42, -7]:
    for num in [2, 3, 5]:
        case("split", seed, num=num)
    case("split", seed, splitShape=[2, 3])
case("split", 0, num=1)

for seed in [0, 42]:
    for data in [0, 1, 7, 2**31, 2**32 - 1]:
        case("foldIn", seed, data=data)

for seed in [0, 42]:
    for shape in [[], [1], [3], [7], [4, 5], [2, 3, 4]]:
        case("bits", seed, shape=shape)
case("bits", 3, shape=[1000])

for seed in [0, 42]:
    for shape in [[], [5], [3, 4]]:
        case("uniform", seed, shape=shape, dtype="float32")
    case("uniform", seed, shape=[1000], dtype="float32", minval=f32(-2.5), maxval=f32(3.7))
    case("uniform", seed, shape=[500], dtype="float32", minval=f32(0.1), maxval=f32(0.3))
    case("uniform", seed, shape=[3, 4], dtype="float32", minval=f32([-1, 0, 1, 2]), maxval=f32(10))
    case("uniform", seed, shape=[7], dtype="float64")
    case("uniform", seed, shape=[2, 3], dtype="float64")
    case("uniform", seed, shape=[1000], dtype="float64", minval=f64(-1.0), maxval=f64(1000.0))
    case("uniform", seed, shape=[500], dtype="float64", minval=f64(0.1), maxval=f64(0.3))

for seed in [0, 42]:
    case("normal", seed, shape=[1000], dtype="float32")
    case("normal", seed, shape=[3, 5], dtype="float32")
    case("normal", seed, shape=[], dtype="float32")
    case("normal", seed, shape=[1000], dtype="float64")
case("normal", 7, shape=[20000], dtype="float32")
case("normal", 7, shape=[10000], dtype="float64")

for seed in [0, 42]:
    case("truncatedNormal", seed, shape=[1000], dtype="float32", lower=f32(-2), upper=f32(2))
    case("truncatedNormal", seed, shape=[300], dtype="float32", lower=f32(-np.inf), upper=f32(1))
    case("truncatedNormal", seed, shape=[300], dtype="float32", lower=f32(0.5), upper=f32(3))
    case("truncatedNormal", seed, shape=[2, 3], dtype="float32", lower=f32([-1, 0, 1]), upper=f32(np.inf))
    case("truncatedNormal", seed, shape=None, dtype="float32", lower=f32([-3, -1, 0, 2]), upper=f32([3, 1, 0.5, 2.5]))
    case("truncatedNormal", seed, shape=[500], dtype="float64", lower=f64(-1.5), upper=f64(2))
case("truncatedNormal", 7, shape=[20000], dtype="float32", lower=f32(-2), upper=f32(2))
# Many distinct bounds: erf of each bound enters the result.
bounds = np.random.default_rng(99).uniform(-4, 4, size=(2, 2000))
for dt, conv in [("float32", f32), ("float64", f64)]:
    case("truncatedNormal", 7, shape=None, dtype=dt, lower=conv(bounds.min(0) - 0.01), upper=conv(bounds.max(0)))

for seed in [0, 42]:
    case("bernoulli", seed, shape=[100], p=f32(0.3))
    case("bernoulli", seed, shape=None, p=f32([0.0, 0.1, 0.5, 0.9, 1.0]))
    case("bernoulli", seed, shape=[3, 5], p=f32([0.2, 0.4, 0.6, 0.8, 0.99]))
    case("bernoulli", seed, shape=[50], p=f64(0.7))

rng = np.random.default_rng(1234)
logits46 = rng.normal(size=(4, 6)).astype(np.float32)
for seed in [0, 42]:
    case("categorical", seed, logits=f32(np.log(np.arange(1, 11) / 55.0)), axis=-1)
    case("categorical", seed, logits=f32(logits46), axis=-1)
    case("categorical", seed, logits=f32(logits46), axis=0)
    case("categorical", seed, logits=f32(logits46), axis=1, shape=[3, 4])
    case("categorical", seed, logits=f32(np.zeros(1000)), axis=-1, shape=[50])
    case("categorical", seed, logits=f64(logits46), axis=-1)

for seed in [0, 42]:
    for n in [0, 1, 2, 10, 100]:
        case("permutation", seed, n=n)
    case("permutation", seed, x=f32(np.arange(18).reshape(6, 3)), axis=0)
    case("permutation", seed, x=i32(np.arange(18).reshape(3, 6)), axis=1)
    case("permutation", seed, x=f32(np.arange(20).reshape(4, 5)), axis=1, independent=True)
    case("permutation", seed, x=f32(np.arange(20).reshape(4, 5)), axis=0, independent=True)
case("permutation", 3, n=2000)  # two sorting rounds

for seed in [0, 42]:
    case("randint", seed, shape=[20], minval=i32(0), maxval=i32(10))
    case("randint", seed, shape=[100], minval=i32(-5), maxval=i32(1000))
    case("randint", seed, shape=[4], minval=i32(3), maxval=i32(3))
    case("randint", seed, shape=[50], minval=i32(-(2**31)), maxval=i32(2**31 - 1))
    case("randint", seed, shape=[2, 3], minval=i32([0, 10, 100]), maxval=i32(1000))

for seed in [0, 42]:
    case("gumbel", seed, shape=[1000], dtype="float32")

# erf_inv itself (normal and truncated_normal rest on it), across all branches
# of its approximations: the centre, near ±1 and the far tails.
tails = 1 - np.logspace(-1, -16, 400)
erf_inv_inputs = np.concatenate([np.random.default_rng(5).uniform(-1, 1, 2000), tails, -tails, [0.0, 1.0, -1.0]])
case("erfInv", 0, x=f32(erf_inv_inputs))
case("erfInv", 0, x=f64(erf_inv_inputs))


def decode(a):
    return np.frombuffer(bytes.fromhex(a["hex"]), dtype=np.dtype(a["dtype"]).newbyteorder("<")).reshape(a["shape"])


def run(fn, seed, p):
    if fn == "key_x32":
        with jax.enable_x64(False):
            return random.PRNGKey(seed)
    key = random.PRNGKey(seed)
    dtype = p.get("dtype")
    shape = tuple(p["shape"]) if p.get("shape") is not None else None
    if fn == "key":
        return key
    if fn == "split":
        return random.split(key, tuple(p["splitShape"]) if "splitShape" in p else p["num"])
    if fn == "foldIn":
        return random.fold_in(key, np.uint32(p["data"]))
    if fn == "bits":
        return random.bits(key, shape, jnp.uint32)
    if fn == "uniform":
        kw = {k: decode(p[k]) for k in ("minval", "maxval") if k in p}
        return random.uniform(key, shape, dtype, **kw)
    if fn == "normal":
        return random.normal(key, shape, dtype)
    if fn == "truncatedNormal":
        return random.truncated_normal(key, decode(p["lower"]), decode(p["upper"]), shape, dtype)
    if fn == "bernoulli":
        return random.bernoulli(key, decode(p["p"]), shape)
    if fn == "categorical":
        return random.categorical(key, decode(p["logits"]), p["axis"], shape)
    if fn == "permutation":
        if "n" in p:
            return random.permutation(key, p["n"])
        return random.permutation(key, decode(p["x"]), p["axis"], p.get("independent", False))
    if fn == "randint":
        return random.randint(key, shape, decode(p["minval"]), decode(p["maxval"]), jnp.int32)
    if fn == "gumbel":
        return random.gumbel(key, shape, dtype)
    if fn == "erfInv":
        return jax.scipy.special.erfinv(decode(p["x"]))
    raise ValueError(fn)


def main():
    assert jax.__version__ == "0.10.2", f"fixtures are for jax 0.10.2, found {jax.__version__}"
    out = []
    for partitionable in [True, False]:
        jax.config.update("jax_threefry_partitionable", partitionable)
        jax.clear_caches()
        for fn, seed, params in CASES:
            result = np.asarray(run(fn, seed, params))
            out.append({"fn": fn, "seed": seed, "partitionable": partitionable, **params, "out": arr(result)})
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        json.dump({"jax": jax.__version__, "cases": out}, f, indent=None, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {len(out)} cases to {os.path.normpath(OUT)}", file=sys.stderr)


if __name__ == "__main__":
    main()
