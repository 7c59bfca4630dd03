"""Generates JAX reference values for Flock's pytree-shaped transforms.

Run from the repository root with the reference environment:
    .venv/bin/python tools/make_pytree_fixtures.py
Writes Tests/FlockTransformsTests/Fixtures/pytrees.json:
  "arrays": name -> {"shape", "values"} (float64 values; NaN/inf as strings),
            inputs ("in.*") and JAX's outputs;
  "keystr": case -> the keystr of every leaf, in leaf order.
Inputs are small deterministic arrays; every output is JAX's (x64 off, float32).
CI does not run this script; the output is committed.
"""
import dataclasses
import json
import os

import jax
import jax.numpy as jnp
import numpy as np

OUT = os.path.join(os.path.dirname(__file__), "..", "Tests", "FlockTransformsTests", "Fixtures", "pytrees.json")
arrays, keystrs = {}, {}


def put(name, value):
    a = np.asarray(value, dtype=np.float64)
    vals = [v if np.isfinite(v) else str(v) for v in a.ravel().tolist()]
    arrays[name] = {"shape": list(a.shape), "values": vals}


def put_tree(prefix, tree):
    """Every leaf under `prefix` + its keystr (so `jac.w` for a dict key `w`)."""
    for path, leaf in jax.tree_util.tree_leaves_with_path(tree):
        put(prefix + jax.tree_util.keystr(path), leaf)


def inp(name, shape, scale=1.0, shift=0.0):
    n = int(np.prod(shape))
    v = (np.sin(np.arange(n, dtype=np.float64) * 1.37 + shift) * scale).astype(np.float32).reshape(shape)
    put("in." + name, v)
    return jnp.asarray(v)


# --- key paths ------------------------------------------------------------------
@dataclasses.dataclass
class Dense:
    w: jax.Array
    b: jax.Array


jax.tree_util.register_dataclass(Dense, data_fields=["w", "b"], meta_fields=[])
one = jnp.zeros(())
trees = {
    "dict_of_lists": {"b": [one, one], "a": one},
    "nested_dicts": {"layer1": {"w": one, "b": one}, "layer0": {"w": one}},
    "list_of_dicts": [{"k": one}, {"k": one, "j": one}],
    "struct_in_dict": {"dense": Dense(one, one), "scale": one},
    "list_of_structs": [Dense(one, one), Dense(one, one)],
    "leaf": one,
    "empty_list_beside_leaf": {"e": [], "x": one},
}
for name, t in trees.items():
    keystrs[name] = [jax.tree_util.keystr(p) for p, _ in jax.tree_util.tree_leaves_with_path(t)]

# --- vmap with per-argument pytree-prefix in_axes / out_axes ----------------------
P = {"w": inp("w", [3, 2]), "b": inp("b", [2], shift=1.0)}
X = inp("x", [5, 3], shift=2.0)
Y = inp("y", [5, 2], shift=3.0)
B5 = inp("b5", [5, 2], shift=4.0)


def loss(p, x, y):
    return jnp.sum((x @ p["w"] + p["b"] - y) ** 2)


put("vmap.params_none", jax.vmap(loss, in_axes=(None, 0, 0))(P, X, Y))
put("vmap.dict_prefix", jax.vmap(lambda p, x: x @ p["w"] + p["b"], in_axes=({"w": None, "b": 0}, 0))({"w": P["w"], "b": B5}, X))
XT = inp("xt", [3, 5], shift=5.0)
put("vmap.axis1_and_none", jax.vmap(loss, in_axes=(None, 1, 0))(P, XT, Y))
put("vmap.negative_axis", jax.vmap(loss, in_axes=(None, -1, 0))(P, XT, Y))
U = inp("u", [4, 2], shift=6.0)
V = inp("v", [2, 4], shift=7.0)
S = inp("s", [], shift=8.0)
put("vmap.list_prefix", jax.vmap(lambda uv, s: uv[0] * uv[1] * s, in_axes=([0, 1], None))([U, V], S))
out = jax.vmap(lambda x: {"a": x * 2, "b": jnp.sum(x)}, in_axes=0, out_axes={"a": 1, "b": 0})(X)
put_tree("vmap.out_prefix", out)
out = jax.vmap(lambda p, x: {"y": x @ p["w"], "p": p}, in_axes=(None, 0), out_axes={"y": 0, "p": None})(P, X)
put_tree("vmap.out_unmapped", out)
# per-example gradients: params unmapped, data mapped, gradient tree stacked
put_tree("vmap.per_example_grad", jax.vmap(jax.grad(loss), in_axes=(None, 0, 0))(P, X, Y))

# --- jacobians / hessians over pytrees with argnums ------------------------------------
X3 = inp("x3", [3], shift=9.0)


def g(p, x):
    return jnp.tanh(x @ p["w"] + p["b"])


def h(p, x):
    return jnp.sum(jnp.tanh(x @ p["w"] + p["b"]) ** 2) + jnp.sum(x ** 3)


put_tree("jacfwd.arg0", jax.jacfwd(g, argnums=0)(P, X3))
put_tree("jacrev.arg0", jax.jacrev(g, argnums=0)(P, X3))
put_tree("jacfwd.arg1", jax.jacfwd(g, argnums=1)(P, X3))
put_tree("jacrev.both", jax.jacrev(g, argnums=(0, 1))(P, X3))
put_tree("jacfwd.both", jax.jacfwd(g, argnums=(0, 1))(P, X3))
put_tree("hessian.arg0", jax.hessian(h, argnums=0)(P, X3))
put_tree("hessian.arg1", jax.hessian(h, argnums=1)(P, X3))
put_tree("grad.arg2of3", jax.grad(lambda p, x, y: loss(p, x, y), argnums=2)(P, X, Y))
put_tree("grad.arg02of3", jax.grad(lambda p, x, y: loss(p, x, y), argnums=(0, 2))(P, X, Y))
prim, tan = jax.jvp(lambda p, x: g(p, x), (P, X3), (jax.tree.map(jnp.ones_like, P), jnp.ones_like(X3)))
put("jvp.two_args.out", prim)
put("jvp.two_args.tangent", tan)
out, pull = jax.vjp(g, P, X3)
put_tree("vjp.two_args", pull(jnp.ones_like(out)))

# --- jit returning tuples of pytrees ------------------------------------------------
put_tree("jit.tuple2", jax.jit(lambda u, v: (u + v.T, u * v.T))(U, V))
put_tree("jit.value_and_grad", jax.jit(lambda p, x, y: jax.value_and_grad(loss)(p, x, y))(P, X, Y))
put_tree("jit.tuple3", jax.jit(lambda p, x: (x @ p["w"], [p["b"] * 2, jnp.sum(x)], {"g": jax.grad(loss)(p, x, Y)}))(P, X))
put_tree("jit.vmap_tuple", jax.jit(lambda p, x, y: jax.vmap(lambda x, y: (loss(p, x, y), x @ p["w"]))(x, y))(P, X, Y))
put_tree("jit.one_arg", jax.jit(lambda x: (jnp.tanh(x), jnp.sum(x, axis=0), x))(X))

# --- einsum with a repeated letter in one operand ---------------------------------
M = inp("m", [3, 3], shift=10.0)
T = inp("t", [3, 3, 4], shift=11.0)
T2 = inp("t2", [4, 3, 3], shift=12.0)
N = inp("n", [3, 3], shift=13.0)
for name, spec, ops in [
    ("ii->i", "ii->i", [M]), ("ii->", "ii->", [M]), ("ii", "ii", [M]), ("iij->j", "iij->j", [T]),
    ("iij->ij", "iij->ij", [T]), ("jii->ij", "jii->ij", [T2]), ("ii,ij->j", "ii,ij->j", [M, N]),
    ("ij,jj->i", "ij,jj->i", [N, M]), ("iij,i->j", "iij,i->j", [T, X3]),
]:
    put("einsum." + name, jnp.einsum(spec, *ops))

with open(OUT, "w") as fh:
    json.dump({"arrays": arrays, "keystr": keystrs}, fh, indent=0, sort_keys=True)
print(f"wrote {len(arrays)} arrays and {len(keystrs)} key-path cases to {OUT}")
