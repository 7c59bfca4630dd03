"""Fixtures for FlockNN (Tests/FlockNNTests/Fixtures): initialisers and layers.

Run from the repository root with the reference environment:

    .venv/bin/python tools/make_nn_fixtures.py

Writes, for each part, `<part>.json` (the cases: what to call, with which
options) and `<part>.npz` (their arrays, keyed `<case index>/<name>`):

- initializers: every jax.nn.initializers function over several shapes
  (dense, conv 1-D/2-D/3-D, with in/out/batch axes), keys and dtypes.
- layers: every flax layer's forward output and the gradients of
  sum(output · cotangent) with respect to its parameters and its input, with
  parameters drawn here and stored, so that Swift loads the same ones; and
  the parameters flax.nnx initialises from a key (to check Flock's init).
"""
import json
import os

import jax

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
from jax.nn import initializers as I  # noqa: E402

OUT = os.path.join(os.path.dirname(__file__), "..", "Tests", "FlockNNTests", "Fixtures")


class Writer:
    """Collects cases and their arrays, then writes <name>.json and <name>.npz."""

    def __init__(self, name):
        self.name, self.cases, self.arrays = name, [], {}

    def add(self, case, **arrays):
        index = len(self.cases)
        case = dict(case, arrays=sorted(arrays))
        self.cases.append(case)
        for k, v in arrays.items():
            self.arrays[f"{index}/{k}"] = np.asarray(v)

    def write(self):
        with open(os.path.join(OUT, self.name + ".json"), "w") as f:
            json.dump(self.cases, f, indent=0)
        np.savez_compressed(os.path.join(OUT, self.name + ".npz"), **self.arrays)
        size = os.path.getsize(os.path.join(OUT, self.name + ".npz"))
        print(f"{self.name}: {len(self.cases)} cases, {len(self.arrays)} arrays, {size} bytes")


# MARK: - Initialisers

def initializer_fixtures():
    w = Writer("initializers")
    dense = [(3, 5), (6, 4), (1, 1), (7, 1)]
    conv = [(3, 16, 8), (3, 3, 4, 6), (2, 3, 1, 2, 5)]
    odd = [(2, 3, 4, 5)]
    shapes = dense + conv + odd
    axes_cases = [
        dict(inAxis=[-2], outAxis=[-1], batchAxis=[]),
        dict(inAxis=[0], outAxis=[2], batchAxis=[1]),       # for rank ≥ 3 shapes
        dict(inAxis=[0, 1], outAxis=[-1], batchAxis=[]),    # several input axes
    ]
    seeds = [0, 7, 123456789]
    # The variance-scaling family: every mode × distribution, with and without explicit axes.
    for mode in ["fan_in", "fan_out", "fan_avg", "fan_geo_avg"]:
        for dist in ["truncated_normal", "normal", "uniform"]:
            for shape in shapes:
                for ai, axes in enumerate(axes_cases):
                    if ai > 0 and len(shape) < 3:
                        continue
                    scale = [1.0, 2.0, 0.3][len(w.cases) % 3]
                    seed = seeds[(len(w.cases)) % len(seeds)]
                    dtype = "float64" if len(w.cases) % 4 == 3 else "float32"
                    init = I.variance_scaling(scale, mode, dist, in_axis=tuple(axes["inAxis"]),
                                              out_axis=tuple(axes["outAxis"]), batch_axis=tuple(axes["batchAxis"]))
                    out = init(jax.random.PRNGKey(seed), shape, jnp.dtype(dtype))
                    w.add(dict(fn="variance_scaling", scale=scale, mode=mode, distribution=dist, shape=shape,
                               dtype=dtype, seed=seed, **axes), out=out)
    named = {
        "lecun_normal": I.lecun_normal, "lecun_uniform": I.lecun_uniform,
        "glorot_normal": I.glorot_normal, "glorot_uniform": I.glorot_uniform,
        "he_normal": I.he_normal, "he_uniform": I.he_uniform,
    }
    for name, make in named.items():
        for shape in shapes:
            for dtype in ["float32", "float64"]:
                for seed in [seeds[len(w.cases) % 3]]:
                    out = make()(jax.random.PRNGKey(seed), shape, jnp.dtype(dtype))
                    w.add(dict(fn=name, shape=shape, dtype=dtype, seed=seed), out=out)
        # explicit axes on a conv kernel
        out = make(in_axis=0, out_axis=2, batch_axis=1)(jax.random.PRNGKey(3), (3, 4, 5), jnp.float32)
        w.add(dict(fn=name, shape=(3, 4, 5), dtype="float32", seed=3, inAxis=[0], outAxis=[2], batchAxis=[1]), out=out)
    for dtype in ["float32", "float64"]:
        for shape in [(), (0,), (3,), (2, 3)]:
            w.add(dict(fn="zeros", shape=shape, dtype=dtype, seed=0), out=I.zeros(jax.random.PRNGKey(0), shape, jnp.dtype(dtype)))
            w.add(dict(fn="ones", shape=shape, dtype=dtype, seed=0), out=I.ones(jax.random.PRNGKey(0), shape, jnp.dtype(dtype)))
            for value in [0.1, -3.0, 0.0]:
                w.add(dict(fn="constant", value=value, shape=shape, dtype=dtype, seed=0),
                      out=I.constant(value)(jax.random.PRNGKey(0), shape, jnp.dtype(dtype)))
        for shape in [(1,), (5,), (4, 3), (2, 3, 4)]:
            for seed in seeds:
                for stddev in [[1e-2, 1.0, 0.5][len(w.cases) % 3]]:
                    k = jax.random.PRNGKey(seed)
                    w.add(dict(fn="normal", stddev=stddev, shape=shape, dtype=dtype, seed=seed),
                          out=I.normal(stddev)(k, shape, jnp.dtype(dtype)))
                    w.add(dict(fn="uniform", scale=stddev, shape=shape, dtype=dtype, seed=seed),
                          out=I.uniform(stddev)(k, shape, jnp.dtype(dtype)))
                    w.add(dict(fn="truncated_normal", stddev=stddev, lower=-2.0, upper=2.0, shape=shape, dtype=dtype,
                               seed=seed), out=I.truncated_normal(stddev)(k, shape, jnp.dtype(dtype)))
                w.add(dict(fn="truncated_normal", stddev=0.3, lower=-1.0, upper=3.0, shape=shape, dtype=dtype, seed=seed),
                      out=I.truncated_normal(0.3, lower=-1.0, upper=3.0)(jax.random.PRNGKey(seed), shape, jnp.dtype(dtype)))
        for shape, column_axis in [((4, 4), -1), ((6, 3), -1), ((3, 6), -1), ((2, 3, 4), -1), ((3, 3, 2, 5), -1),
                                   ((5, 2), 0), ((2, 3, 4), 1), ((1, 1), -1), ((1, 7), -1)]:
            for seed in seeds[:2]:
                for scale in [1.0, 0.5]:
                    out = I.orthogonal(scale, column_axis)(jax.random.PRNGKey(seed), shape, jnp.dtype(dtype))
                    w.add(dict(fn="orthogonal", scale=scale, columnAxis=column_axis, shape=shape, dtype=dtype,
                               seed=seed), out=out)
    w.write()


if __name__ == "__main__":
    import sys
    parts = sys.argv[1:] or ["initializers", "layers"]
    if "initializers" in parts:
        initializer_fixtures()
    if "layers" in parts and "layer_fixtures" in globals():
        layer_fixtures()  # noqa: F821
