#!/usr/bin/env python3
"""Generates Tests/FlockTransformsTests/Fixtures/ulp_sweep.json: for each
elementwise float32 function, JAX's values and derivatives (jit on CPU) over a
sweep of its domain -- an even grid, magnitudes from the smallest subnormal to
the largest float on both sides, and ±0, ±inf, NaN -- plus the exact values
(the same function in float64, rounded to float32) so a test can tell a
difference of accuracy from XLA's flushing of subnormals (it runs with
denormals-are-zero and flush-to-zero in some kernels; Flock keeps IEEE
gradual underflow).

Every number is a float32 bit pattern. At least 481 points per function.

Usage: .venv/bin/python tools/make_ulp_sweep.py
"""

import json
import pathlib

import jax
import jax.numpy as jnp
import numpy as np

jax.config.update("jax_enable_x64", True)

OUT = pathlib.Path(__file__).resolve().parent.parent / "Tests/FlockTransformsTests/Fixtures/ulp_sweep.json"
F32_MAX = float(np.finfo(np.float32).max)

# name: (function, grid low, grid high, largest magnitude of the log sweep[, grid points])
FUNCTIONS = {
    "tanh": (jnp.tanh, -12.0, 12.0, F32_MAX),
    "exp": (jnp.exp, -104.0, 89.0, 200.0),
    "log": (jnp.log, 0.0, 100.0, F32_MAX),
    "log1p": (jnp.log1p, -1.0, 10.0, F32_MAX),
    "expm1": (jnp.expm1, -20.0, 89.0, 200.0),
    "sigmoid": (jax.nn.sigmoid, -100.0, 100.0, F32_MAX),
    "sin": (jnp.sin, -100.0, 100.0, 1e5),
    "cos": (jnp.cos, -100.0, 100.0, 1e5),
    "sqrt": (jnp.sqrt, 0.0, 100.0, F32_MAX),
    "rsqrt": (jax.lax.rsqrt, 0.0, 100.0, F32_MAX),
    "softplus": (jax.nn.softplus, -100.0, 100.0, F32_MAX),
    "erf": (jax.scipy.special.erf, -5.0, 5.0, 1e3),
    "erfc": (jax.scipy.special.erfc, -5.0, 12.0, 1e3),
    # Densely: as x -> -inf, 1 + tanh(...) cancels and magnifies any rounding
    # that differs from XLA's (its fused multiply-adds) into thousands of ulp.
    "gelu_tanh": (lambda x: jax.nn.gelu(x, approximate=True), -12.0, 10.0, 1e4, 2001),
    "gelu_erf": (lambda x: jax.nn.gelu(x, approximate=False), -12.0, 10.0, 1e4),
    "silu": (jax.nn.silu, -100.0, 100.0, 1e4),
}

SPECIALS = np.array(
    [0.0, -0.0, np.inf, -np.inf, np.nan, 1e-45, -1e-45, 1e-40, -1e-40, 5.9e-39, 1.1754942e-38,
     1.17549435e-38, -1.17549435e-38, F32_MAX, -F32_MAX, 1.0, -1.0, 0.5, 2.0],
    np.float32,
)


def sweep(low, high, magnitude, points=401):
    grid = np.linspace(low, high, points, dtype=np.float64)
    logs = np.logspace(-45, np.log10(magnitude), 40, dtype=np.float64)
    return np.concatenate([grid, logs, -logs]).astype(np.float32)


def bits(a):
    return [int(v) for v in np.asarray(a, np.float32).reshape(-1).view(np.uint32)]


def main():
    np.seterr(over="ignore")
    out = {}
    for name, (f, low, high, magnitude, *points) in FUNCTIONS.items():
        x = np.concatenate([sweep(low, high, magnitude, *points), SPECIALS])
        x32 = jnp.asarray(x, jnp.float32)
        x64 = jnp.asarray(x.astype(np.float64))
        derivative = jax.jit(jax.vmap(jax.grad(f)))
        out[name] = {
            "x": bits(x),
            "value": bits(jax.jit(f)(x32)),
            "derivative": bits(derivative(x32)),
            "exactValue": bits(np.asarray(jax.jit(f)(x64)).astype(np.float32)),
            "exactDerivative": bits(np.asarray(derivative(x64)).astype(np.float32)),
        }
        assert len(x) >= 481
    OUT.write_text(json.dumps(out, separators=(",", ":")) + "\n")
    print(f"wrote {OUT} ({OUT.stat().st_size // 1024} KB, {len(out)} functions)")


if __name__ == "__main__":
    main()
