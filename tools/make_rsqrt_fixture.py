#!/usr/bin/env python3
"""Generates Tests/FlockTransformsTests/Fixtures/rsqrt.json: JAX's float32
`lax.rsqrt` and its derivative (jit on CPU) at 6k points, as float32 bit
patterns, for a bit-exact test of Flock's rsqrt.

XLA's CPU rsqrt is the CPU's estimate (`vrsqrtps`) refined by Newton steps
(one on AMD, two on other CPUs with AVX), so its last bit depends on the CPU
vendor: the file records the number of steps of the machine that made it, and
the test is bit-exact only on a machine of the same kind.

Points: every binade's first, middle and last value from the smallest
subnormal to the largest float, 4096 random positive bit patterns (normal and
subnormal), an even grid of [0, 4], and ±0, ±inf, NaN, negatives.

Usage: .venv/bin/python tools/make_rsqrt_fixture.py
"""

import json
import pathlib

import jax
import jax.numpy as jnp
import numpy as np

OUT = pathlib.Path(__file__).resolve().parent.parent / "Tests/FlockTransformsTests/Fixtures/rsqrt.json"


def newton_steps():
    """XLA's rule (xla/codegen/intrinsic/rsqrt.cc): 1 step on AMD, else 2."""
    for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("vendor_id"):
            return 1 if "AMD" in line else 2
    return 2


def main():
    rng = np.random.default_rng(20261204)
    binades = []
    for e in range(0, 255):  # exponent field 0 = subnormals
        base = e << 23
        binades += [base | 1, base | (1 << 22), base | 0x7FFFFF]
    random_bits = rng.integers(1, 0x7F800000, size=4096, dtype=np.int64)
    bits = np.concatenate([np.array(binades, np.int64), random_bits]).astype(np.uint32)
    x = np.concatenate([
        bits.view(np.float32),
        np.linspace(0, 4, 1025, dtype=np.float32),
        np.array([0.0, -0.0, np.inf, -np.inf, np.nan, -1.0, -1e-40, -3.4e38], np.float32),
    ])
    value = jax.jit(jax.lax.rsqrt)(x)
    derivative = jax.jit(jax.vmap(jax.grad(jax.lax.rsqrt)))(x)

    def b(a):
        return np.asarray(a, np.float32).view(np.uint32).tolist()

    out = {"newtonSteps": newton_steps(), "x": b(x), "value": b(value), "derivative": b(derivative)}
    OUT.write_text(json.dumps(out, separators=(",", ":")) + "\n")
    print(f"wrote {OUT} ({OUT.stat().st_size // 1024} KB, {len(x)} points, {out['newtonSteps']} Newton steps)")


if __name__ == "__main__":
    main()
