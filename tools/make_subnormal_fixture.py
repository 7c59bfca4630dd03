#!/usr/bin/env python3
"""Generates Tests/FlockTransformsTests/Fixtures/subnormals.json: what JAX on
this CPU does with float32 subnormals, per operation family, eager and jitted.

XLA runs its CPU kernels with denormals-are-zero and flush-to-zero, so
arithmetic, comparisons and reductions read subnormal inputs as ±0 and
flush subnormal results, while operations that only move bits (negation,
abs, select, reshape, transpose, slicing, concatenation, gathers) keep them.
For every case the file holds the input and output bit patterns from JAX
(eager and jit) and from numpy (IEEE gradual underflow), so a test can tell
which families flush: `"flushes": true` where JAX differs from IEEE.

Usage: .venv/bin/python tools/make_subnormal_fixture.py
"""

import json
import pathlib

import jax
import jax.numpy as jnp
import numpy as np

OUT = pathlib.Path(__file__).resolve().parent.parent / "Tests/FlockTransformsTests/Fixtures/subnormals.json"
f32 = np.float32
X = np.array([1e-45, -1e-45, 1e-40, -1e-40, 5.9e-39, -5.9e-39, 1.1754942e-38, 1.17549435e-38, -1.17549435e-38,
              0.0, -0.0, 1.0, -1.0, 2.5e-38, 1e-20, -3e-20, np.nan, np.inf], f32)
Y = np.array([2e-40, 1e-45, 0.5, 1e-40, -5.9e-39, 2.0, -1.1754942e-38, -1e-45, 1.17549435e-38,
              1e-40, 3.0, 1e-40, 1e-20, -1e-38, 3e-20, 1e-20, 1.0, 1e-40], f32)
MASK = np.array([i % 3 != 0 for i in range(len(X))])

# name: (jax function of (x, y), numpy IEEE reference of (x, y))
CASES = {
    # Bit moves: JAX keeps subnormals.
    "neg": (lambda x, y: -x, lambda x, y: -x),
    "abs": (lambda x, y: jnp.abs(x), lambda x, y: np.abs(x)),
    "select": (lambda x, y: jnp.where(jnp.asarray(MASK), x, y), lambda x, y: np.where(MASK, x, y)),
    "reshape_transpose": (lambda x, y: x.reshape(3, 6).T, lambda x, y: x.reshape(3, 6).T),
    "concatenate": (lambda x, y: jnp.concatenate([x, y[::-1]]), lambda x, y: np.concatenate([x, y[::-1]])),
    "slice_reverse": (lambda x, y: x[::-1][2:14], lambda x, y: x[::-1][2:14]),
    "broadcast": (lambda x, y: jnp.broadcast_to(x[None], (2, 18)), lambda x, y: np.broadcast_to(x[None], (2, 18))),
    "take": (lambda x, y: jnp.take(x, jnp.array([3, 2, 1, 0, 17, 5])), lambda x, y: np.take(x, [3, 2, 1, 0, 17, 5])),
    # Arithmetic, comparisons, reductions: JAX flushes.
    "add": (lambda x, y: x + y, lambda x, y: x + y),
    "sub": (lambda x, y: x - y, lambda x, y: x - y),
    "mul": (lambda x, y: x * y, lambda x, y: x * y),
    "div": (lambda x, y: x / y, lambda x, y: x / y),
    "max": (lambda x, y: jnp.maximum(x, y), lambda x, y: np.maximum(x, y)),
    "min": (lambda x, y: jnp.minimum(x, y), lambda x, y: np.minimum(x, y)),
    "greater": (lambda x, y: x > y, lambda x, y: x > y),
    "equal_zero": (lambda x, y: x == 0, lambda x, y: x == 0),
    "sign": (lambda x, y: jnp.sign(x), lambda x, y: np.where(x == 0, x, np.sign(x))),  # lax.sign keeps -0
    "floor": (lambda x, y: jnp.floor(x), lambda x, y: np.floor(x)),
    "sqrt": (lambda x, y: jnp.sqrt(x), lambda x, y: np.sqrt(x)),
    "sum": (lambda x, y: jnp.sum(y[jnp.array([0, 1, 3, 4])]), lambda x, y: np.sum(y[[0, 1, 3, 4]], dtype=f32)),
    "cumsum": (lambda x, y: jnp.cumsum(x[:8]), lambda x, y: np.cumsum(x[:8], dtype=f32)),
    # More of each kind: rounding, clamping, reductions over subnormals, products,
    # powers, the float functions at subnormal inputs, cumulative max and product.
    "ceil": (lambda x, y: jnp.ceil(x), lambda x, y: np.ceil(x)),
    "round": (lambda x, y: jnp.round(x), lambda x, y: np.round(x)),
    "clip": (lambda x, y: jnp.clip(x, -1e-40, 2e-40), lambda x, y: np.clip(x, f32(-1e-40), f32(2e-40))),
    "square": (lambda x, y: x * x, lambda x, y: x * x),
    "half": (lambda x, y: x * 0.5, lambda x, y: x * f32(0.5)),
    "reduce_max": (lambda x, y: jnp.max(x[:6]), lambda x, y: np.max(x[:6])),
    "reduce_min": (lambda x, y: jnp.min(x[:6]), lambda x, y: np.min(x[:6])),
    "prod": (lambda x, y: jnp.prod(y[jnp.array([0, 2])]), lambda x, y: np.prod(y[[0, 2]], dtype=f32)),
    "mean": (lambda x, y: jnp.mean(x[:4]), lambda x, y: np.mean(x[:4], dtype=f32)),
    "dot": (lambda x, y: jnp.dot(y[:6], x[:6]), lambda x, y: np.dot(y[:6].astype(np.float64), x[:6]).astype(f32)),
    "exp": (lambda x, y: jnp.exp(x), lambda x, y: np.exp(x)),
    "log": (lambda x, y: jnp.log(x), lambda x, y: np.log(x)),
    "rsqrt": (lambda x, y: jax.lax.rsqrt(x), lambda x, y: f32(1) / np.sqrt(x)),
    "logistic": (lambda x, y: jax.nn.sigmoid(-jnp.abs(x) * 100), lambda x, y: f32(1) / (f32(1) + np.exp(np.abs(x) * 100))),
    "cummax": (lambda x, y: jax.lax.cummax(x[:8]), lambda x, y: np.maximum.accumulate(x[:8])),
    "less_equal": (lambda x, y: x <= y, lambda x, y: x <= y),
}


def bits(a):
    a = np.asarray(a)
    if a.dtype == np.bool_:
        return a.astype(np.uint32).ravel().tolist()
    return np.ascontiguousarray(a, f32).view(np.uint32).ravel().tolist()


def main():
    out = {"x": bits(X), "y": bits(Y), "cases": {}}
    for name, (f, ref) in CASES.items():
        x, y = jnp.asarray(X), jnp.asarray(Y)
        with np.errstate(all="ignore"):
            ieee = bits(ref(X, Y))
        eager, jitted = bits(f(x, y)), bits(jax.jit(f)(x, y))
        out["cases"][name] = {"eager": eager, "jit": jitted, "ieee": ieee, "flushes": eager != ieee or jitted != ieee}
    OUT.write_text(json.dumps(out, separators=(",", ":")) + "\n")
    kept = [n for n, c in out["cases"].items() if not c["flushes"]]
    print(f"wrote {OUT}: {len(CASES)} families; JAX keeps subnormals in {kept}")


if __name__ == "__main__":
    main()
