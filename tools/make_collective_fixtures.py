"""Generates JAX reference values for Flock's collective tests.

Run from the repository root with the reference environment:
    tools/setup-reference-env && .venv/bin/python tools/make_collective_fixtures.py
Writes Tests/FlockCollectivesTests/Fixtures/collectives.json: a map from case
name to {"shape": [...], "dtype": "...", "values": [...]}. Each case is a
collective under `jax.vmap(..., axis_name='i')` (the single-process meaning of
a collective), alone or under grad. The Swift tests rebuild the same inputs
(`sin(k + 1)` over the flat index k) and functions. CI does not run this script.
"""
import json
import os

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

jax.config.update("jax_enable_x64", True)

OUT = os.path.join(os.path.dirname(__file__), "..", "Tests", "FlockCollectivesTests", "Fixtures", "collectives.json")
cases = {}
S = 4  # the mapped axis size


def put(name, value):
    a = np.asarray(value)
    cases[name] = {"shape": list(a.shape), "dtype": str(a.dtype), "values": a.astype(np.float64).ravel().tolist()}


def inp(*shape):
    return jnp.sin(jnp.arange(int(np.prod(shape)), dtype=jnp.float64) + 1).reshape(shape)


def vm(f, x):
    return jax.vmap(f, axis_name="i")(x)


ring = [(j, (j + 1) % S) for j in range(S)]

# --- Each collective under vmap --------------------------------------------
put("psum", vm(lambda x: lax.psum(x, "i"), inp(S, 3)))
put("pmean", vm(lambda x: lax.pmean(x, "i"), inp(S, 3)))
put("pmax", vm(lambda x: lax.pmax(x, "i"), inp(S, 3)))
put("pmin", vm(lambda x: lax.pmin(x, "i"), inp(S, 3)))
put("psum.int32", vm(lambda x: lax.psum(x, "i"), (jnp.arange(S * 3) % 7 - 3).astype(jnp.int32).reshape(S, 3)))
put("psum.unbatched", vm(lambda x: lax.psum(inp(3), "i") + 0 * x, inp(S, 3)))
put("allGather.axis0", vm(lambda x: lax.all_gather(x, "i"), inp(S, 3)))
put("allGather.axis1", vm(lambda x: lax.all_gather(x, "i", axis=1), inp(S, 2, 3)))
put("allGather.tiled1", vm(lambda x: lax.all_gather(x, "i", axis=1, tiled=True), inp(S, 2, 3)))
put("psumScatter", vm(lambda x: lax.psum_scatter(x, "i"), inp(S, S, 3)))
put("psumScatter.tiled1", vm(lambda x: lax.psum_scatter(x, "i", scatter_dimension=1, tiled=True), inp(S, 3, 2 * S)))
put("ppermute.ring", vm(lambda x: lax.ppermute(x, "i", ring), inp(S, 3)))
put("allToAll.split0concat1", vm(lambda x: lax.all_to_all(x, "i", 0, 1), inp(S, S, 3)))
put("allToAll.tiled.split1concat0", vm(lambda x: lax.all_to_all(x, "i", 1, 0, tiled=True), inp(S, 3, 2 * S)))
put("allToAll.tiled.split1concat1", vm(lambda x: lax.all_to_all(x, "i", 1, 1, tiled=True), inp(S, 3, 2 * S)))
put("axisIndex", vm(lambda x: x * lax.axis_index("i"), inp(S, 3)))
# JAX 0.10.2's pbroadcast batching rule fails (it passes a list to take), so
# these two are spelled out: every example gets example 2's operand.
put("pbroadcast", jnp.broadcast_to(inp(S, 3)[2], (S, 3)))

# --- Under grad (per example; the transposes) --------------------------------
w = inp(S, 3) * 0.5 + 0.25
put("grad.psum", vm(jax.grad(lambda x: jnp.sum(lax.psum(x * x, "i") * x)), inp(S, 3)))
put("grad.pmean", vm(jax.grad(lambda x: lax.pmean(jnp.sum(jnp.sin(x)), "i")), inp(S, 3)))
put("grad.allGather", vm(jax.grad(lambda x: jnp.sum(lax.all_gather(x, "i") * w)), inp(S, 3)))
put("grad.psumScatter", vm(jax.grad(lambda x: jnp.sum(lax.psum_scatter(x, "i") ** 2)), inp(S, S, 3)))
put("grad.ppermute", vm(jax.grad(lambda x: jnp.sum(lax.ppermute(x, "i", ring) * jnp.sin(x))), inp(S, 3)))
# JAX 0.10.2 fails to transpose all_to_all under vmap; spelled out instead:
# g_i = Σ_{c,j} all_to_all(x, 0, 1)_i[c, j]·w[j, c] = Σ_{c,j} x_j[i, c]·w[j, c], so
# Σ_i ∂g_i/∂x_j[i, c] = w[j, c] for every i.
put("grad.allToAll", jnp.broadcast_to(w[:, None, :], (S, S, 3)))
# g_i(x) = Σ pbroadcast(x, source 1)_i · (i + 1) · x_i. JAX's transpose of
# pbroadcast sends the summed cotangent to the source:
# ∂_i = (i + 1)·x₁ + [i = 1]·Σ_k (k + 1)·x_k.
X = inp(S, 3)
scale = jnp.arange(1.0, S + 1)[:, None]
put("grad.pbroadcast", scale * X[1] + (jnp.arange(S) == 1)[:, None] * jnp.sum(scale * X, axis=0))
put("grad.of.sum.vmap.psum", jax.grad(lambda x: jnp.sum(vm(lambda v: lax.psum(v * v, "i") * v, x)))(inp(S, 3)))

# --- Two named axes ------------------------------------------------------------
X2 = inp(2, 3, 5)
both = lambda f: jax.vmap(jax.vmap(f, axis_name="j"), axis_name="i")
put("two.psum", both(lambda x: lax.psum(x, ("i", "j")))(X2))
put("two.psum.inner", both(lambda x: lax.psum(x, "j"))(X2))
put("two.axisIndex", both(lambda x: x * lax.axis_index(("i", "j")))(X2))
put("two.pmax", both(lambda x: lax.pmax(x, ("j", "i")))(X2))

os.makedirs(os.path.dirname(OUT), exist_ok=True)
with open(OUT, "w") as f:
    json.dump(cases, f, indent=0, sort_keys=True)
print(f"wrote {len(cases)} cases to {OUT}")
