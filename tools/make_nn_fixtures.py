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



# MARK: - Layers

import flax.linen  # noqa: E402
from flax import nnx  # noqa: E402


def flat(tree):
    """{"layers.0.kernel": array} for an nnx State or a dict of arrays."""
    out = {}
    for path, leaf in jax.tree_util.tree_flatten_with_path(tree)[0]:
        names = []
        for k in path:
            if isinstance(k, jax.tree_util.GetAttrKey) and k.name == "value":
                continue  # an nnx Variable's payload, not a path component
            names.append(str(getattr(k, "key", getattr(k, "idx", getattr(k, "name", None)))))
        out[".".join(names)] = np.asarray(leaf)
    return out


def rand(key, shape, dtype=jnp.float32, scale=1.0):
    return jax.random.normal(key, shape, dtype) * scale


class LayerWriter(Writer):
    def layer(self, case, module, inputs, call, seed, *, extra=None):
        """Stores flax's init of `module`, new random parameters, the forward
        output, a cotangent and the gradients w.r.t. parameters and inputs."""
        graphdef, params, rest = nnx.split(module, nnx.Param, ...)

        def f(p, xs):
            return call(nnx.merge(graphdef, p, rest), *xs)

        self.functional(case, params, inputs, f, seed, extra=extra)

    def functional(self, case, params, inputs, f, seed, *, extra=None):
        """As `layer`, for a pure function f(params, inputs) and flax's initial `params`."""
        init = flat(params)
        keys = iter(jax.random.split(jax.random.PRNGKey(1000 + seed), 64))
        # Fresh parameters (non-zero biases, non-unit scales) so every term matters.
        leaves, tree = jax.tree_util.tree_flatten(params)
        leaves = [rand(next(keys), l.shape, l.dtype, 0.5) + (1.0 if l.ndim == 1 else 0.0) for l in leaves]
        params = jax.tree_util.tree_unflatten(tree, leaves)
        out = f(params, inputs)
        ct = rand(next(keys), out.shape, out.dtype)
        differentiable = [i for i, x in enumerate(inputs) if jnp.issubdtype(x.dtype, jnp.floating)]

        def loss(p, xs_float):
            xs = list(inputs)
            for i, x in zip(differentiable, xs_float):
                xs[i] = x
            return jnp.sum(f(p, xs) * ct)

        gp, gx = jax.grad(loss, argnums=(0, 1))(params, [inputs[i] for i in differentiable])
        arrays = {"out": out, "ct": ct}
        for i, x in enumerate(inputs):
            arrays[f"x{i}"] = x
        for i, g in zip(differentiable, gx):
            arrays[f"gx{i}"] = g
        for k, v in init.items():
            arrays[f"init.{k}"] = v
        for k, v in flat(params).items():
            arrays[f"param.{k}"] = v
        for k, v in flat(gp).items():
            arrays[f"grad.{k}"] = v
        for k, v in (extra(params) if callable(extra) else (extra or {})).items():
            arrays[k] = v
        self.add(dict(case, seed=seed), **arrays)


def layer_fixtures():
    w = LayerWriter("layers")
    seed = iter(range(10_000))

    def key(s):
        return jax.random.PRNGKey(s)

    # Linear (nnx.Linear = linen Dense): input ranks 1–3, with and without bias.
    for (fin, fout, xshape, use_bias) in [(3, 4, (2, 3), True), (5, 2, (5,), True), (4, 6, (2, 3, 4), False),
                                          (1, 1, (4, 1), True)]:
        s = next(seed)
        m = nnx.Linear(fin, fout, use_bias=use_bias, rngs=nnx.Rngs(s))
        w.layer(dict(layer="Linear", inFeatures=fin, outFeatures=fout, useBias=use_bias), m,
                [rand(key(s), xshape)], lambda m, x: m(x), s)

    # MLP: nnx.Linear layers sharing one Rngs, relu between.
    class MLP(nnx.Module):
        def __init__(self, sizes, rngs):
            self.layers = nnx.List([nnx.Linear(a, b, rngs=rngs) for a, b in zip(sizes, sizes[1:])])

        def __call__(self, x):
            for i, layer in enumerate(self.layers):
                x = layer(x)
                if i < len(self.layers) - 1:
                    x = jax.nn.relu(x)
            return x

    for sizes in [(4, 8, 3), (3, 5, 5, 2)]:
        s = next(seed)
        w.layer(dict(layer="MLP", sizes=sizes), MLP(sizes, nnx.Rngs(s)), [rand(key(s), (3, sizes[0]))],
                lambda m, x: m(x), s)

    # LayerNorm / RMSNorm: epsilon, without bias or scale, ranks 2–3.
    for (features, xshape, eps, use_bias, use_scale) in [(4, (3, 4), 1e-6, True, True), (5, (2, 3, 5), 1e-3, True, True),
                                                          (3, (2, 3), 1e-6, False, True), (3, (4, 3), 1e-5, True, False),
                                                          (6, (2, 6), 0.5, False, False), (1, (3, 1), 1e-6, True, True)]:
        s = next(seed)
        m = nnx.LayerNorm(features, epsilon=eps, use_bias=use_bias, use_scale=use_scale, rngs=nnx.Rngs(s))
        w.layer(dict(layer="LayerNorm", features=features, epsilon=eps, useBias=use_bias, useScale=use_scale), m,
                [rand(key(s), xshape, scale=3.0) + 1.0], lambda m, x: m(x), s)
    for (features, xshape, eps, use_scale) in [(4, (3, 4), 1e-6, True), (5, (2, 3, 5), 1e-2, True), (3, (2, 3), 1e-6, False)]:
        s = next(seed)
        m = nnx.RMSNorm(features, epsilon=eps, use_scale=use_scale, rngs=nnx.Rngs(s))
        w.layer(dict(layer="RMSNorm", features=features, epsilon=eps, useScale=use_scale), m,
                [rand(key(s), xshape, scale=2.0)], lambda m, x: m(x), s)

    # BatchNorm: training (batch statistics, updated running statistics) and evaluation.
    for (features, xshape, momentum, eps, ura) in [(3, (8, 3), 0.99, 1e-5, False), (4, (2, 3, 3, 4), 0.9, 1e-3, False),
                                                   (3, (8, 3), 0.99, 1e-5, True), (2, (5, 2), 0.5, 1e-5, True)]:
        s = next(seed)
        m = nnx.BatchNorm(features, momentum=momentum, epsilon=eps, rngs=nnx.Rngs(s))
        m.mean[...] = rand(key(s + 500), (features,), scale=0.5)
        m.var[...] = jnp.exp(rand(key(s + 501), (features,), scale=0.5))
        x = rand(key(s), xshape, scale=2.0) + 0.5
        _, params, stats = nnx.split(m, nnx.Param, nnx.BatchStat)
        stats = {"mean": m.mean[...], "var": m.var[...]}
        linen = flax.linen.BatchNorm(use_running_average=ura, momentum=momentum, epsilon=eps)

        def apply(p, xs, linen=linen, stats=stats):
            return linen.apply({"params": p, "batch_stats": stats}, xs[0], mutable=["batch_stats"])

        def extra(p, apply=apply, x=x, stats=stats):
            _, updated = apply(p, [x])
            out = {f"state.{k}": v for k, v in stats.items()}
            out.update({f"newState.{k}": v for k, v in updated["batch_stats"].items()})
            return out

        w.functional(dict(layer="BatchNorm", features=features, momentum=momentum, epsilon=eps, useRunningAverage=ura),
                     nnx.to_pure_dict(params), [x], lambda p, xs, apply=apply: apply(p, xs)[0], s, extra=extra)

    # Dropout: rates, a shared mask along broadcast dims, the key passed directly.
    for (rate, xshape, bdims) in [(0.5, (4, 6), ()), (0.1, (3, 5), ()), (0.9, (2, 3, 4), (1,)), (0.0, (3, 3), ()),
                                  (1.0, (2, 2), ()), (0.3, (2, 3, 4), (0, 2))]:
        s = next(seed)
        m = nnx.Dropout(rate, broadcast_dims=bdims)
        k = jax.random.PRNGKey(s + 700)
        w.layer(dict(layer="Dropout", rate=rate, broadcastDims=list(bdims), deterministic=False, keySeed=s + 700), m,
                [rand(key(s), xshape)], lambda m, x, k=k: m(x, deterministic=False, rngs=k), s)
    s = next(seed)
    w.layer(dict(layer="Dropout", rate=0.5, broadcastDims=[], deterministic=True, keySeed=0), nnx.Dropout(0.5),
            [rand(key(s), (3, 4))], lambda m, x: m(x, deterministic=True), s)

    # Embedding: lookup (gradient scatters into the table) and attend.
    for (num, features, ishape) in [(10, 4, (3,)), (7, 3, (2, 5)), (1, 2, (4,))]:
        s = next(seed)
        m = nnx.Embed(num, features, rngs=nnx.Rngs(s))
        idx = jax.random.randint(key(s), ishape, 0, num)
        w.layer(dict(layer="Embedding", numEmbeddings=num, features=features, method="call"), m, [idx],
                lambda m, i: m(i), s)
        s = next(seed)
        m = nnx.Embed(num, features, rngs=nnx.Rngs(s))
        w.layer(dict(layer="Embedding", numEmbeddings=num, features=features, method="attend"), m,
                [rand(key(s), ishape + (features,))], lambda m, q: m.attend(q), s)

    # Conv (NHWC, kernel [k…, in / groups, out]): 1-D, 2-D, 3-D; strides; SAME / VALID /
    # explicit / int padding; input and kernel dilation; feature groups; batch dims 0, 1, 2.
    conv_cases = [
        dict(inF=3, outF=4, k=(3,), strides=1, padding="SAME", x=(2, 7, 3)),
        dict(inF=3, outF=2, k=(3,), strides=2, padding="VALID", kdil=2, x=(2, 9, 3)),
        dict(inF=2, outF=3, k=(3, 3), strides=1, padding="SAME", x=(2, 5, 5, 2)),
        dict(inF=2, outF=3, k=(2, 3), strides=(2, 1), padding=[(1, 0), (2, 1)], x=(1, 6, 5, 2)),
        dict(inF=2, outF=2, k=(2, 2), strides=1, padding=[(0, 0), (1, 0)], idil=(2, 1), kdil=(1, 2), x=(2, 4, 5, 2)),
        dict(inF=2, outF=3, k=(3, 3), strides=2, padding=[(2, 2), (1, 2)], idil=2, x=(1, 4, 4, 2)),
        dict(inF=4, outF=6, k=(2, 2), strides=1, padding="SAME", groups=2, x=(2, 4, 4, 4)),
        dict(inF=3, outF=3, k=(3, 3), strides=1, padding="SAME", groups=3, x=(1, 5, 4, 3)),
        dict(inF=2, outF=2, k=(3, 3), strides=1, padding=1, bias=False, x=(2, 4, 4, 2)),
        dict(inF=2, outF=2, k=(2, 2, 2), strides=2, padding="SAME", x=(1, 4, 5, 3, 2)),
        dict(inF=2, outF=3, k=(3, 3), strides=1, padding="SAME", x=(5, 5, 2)),
        dict(inF=2, outF=3, k=(3, 3), strides=(1, 2), padding="VALID", x=(2, 2, 4, 5, 2)),
        dict(inF=1, outF=2, k=(1, 1), strides=1, padding="SAME", x=(2, 3, 3, 1)),
    ]
    for c in conv_cases:
        s = next(seed)
        m = nnx.Conv(c["inF"], c["outF"], c["k"], c["strides"], padding=c["padding"], input_dilation=c.get("idil", 1),
                     kernel_dilation=c.get("kdil", 1), feature_group_count=c.get("groups", 1),
                     use_bias=c.get("bias", True), rngs=nnx.Rngs(s))
        n = len(c["k"])

        def per_dim(v):
            return list(v) if isinstance(v, (tuple, list)) else [v] * n

        pad = c["padding"]
        if isinstance(pad, int):
            pad = [[pad, pad]] * n
        elif isinstance(pad, list):
            pad = [list(p) for p in pad]
        w.layer(dict(layer="Conv", inFeatures=c["inF"], outFeatures=c["outF"], kernelSize=list(c["k"]),
                     strides=per_dim(c["strides"]), padding=pad, inputDilation=per_dim(c.get("idil", 1)),
                     kernelDilation=per_dim(c.get("kdil", 1)), featureGroupCount=c.get("groups", 1),
                     useBias=c.get("bias", True)), m, [rand(key(s), c["x"])], lambda m, x: m(x), s)

    # MultiHeadAttention (nnx): self and cross attention, causal and padding masks
    # (built by nnx.make_causal_mask / make_attention_mask and stored as inputs),
    # qkv/out feature sizes, no bias, dropout on the attention weights, no batch dim.
    mha_cases = [
        dict(heads=2, F=8, q=(2, 5, 8)),
        dict(heads=3, F=6, q=(2, 4, 6), causal=True),
        dict(heads=2, F=8, q=(2, 3, 8), kv=(2, 5, 8), qlen=[3, 2], klen=[5, 3]),
        dict(heads=2, F=6, q=(2, 4, 6), causal=True, qlen=[4, 3], klen=[4, 2]),
        dict(heads=4, F=6, qkv=12, out=5, q=(1, 3, 6)),
        dict(heads=2, F=4, q=(2, 3, 4), bias=False),
        dict(heads=2, F=4, q=(6, 4), causal=True),
        dict(heads=2, F=4, q=(2, 5, 4), causal=True, dropout=0.3),
        dict(heads=1, F=3, q=(2, 2, 3, 3)),
    ]
    for c in mha_cases:
        s = next(seed)
        m = nnx.MultiHeadAttention(c["heads"], c["F"], qkv_features=c.get("qkv"), out_features=c.get("out"),
                                   use_bias=c.get("bias", True), dropout_rate=c.get("dropout", 0.0), decode=False,
                                   rngs=nnx.Rngs(s))
        kq, kkv = jax.random.split(key(s))
        xq = rand(kq, c["q"])
        inputs = [xq]
        kv = None
        if "kv" in c:
            kv = rand(kkv, c["kv"])
            inputs.append(kv)
        mask = None
        if c.get("causal"):
            mask = nnx.make_causal_mask(jnp.zeros(c["q"][:-1]))
        if "qlen" in c:
            lk = (c["kv"] if "kv" in c else c["q"])[-2]
            qvalid = jnp.arange(c["q"][-2])[None, :] < jnp.array(c["qlen"])[:, None]
            kvalid = jnp.arange(lk)[None, :] < jnp.array(c["klen"])[:, None]
            pad = nnx.make_attention_mask(qvalid, kvalid)
            inputs += [qvalid, kvalid]
            mask = pad if mask is None else nnx.combine_masks(mask, pad)
        dropout_seed = s + 900
        deterministic = "dropout" not in c
        case = dict(layer="MultiHeadAttention", numHeads=c["heads"], inFeatures=c["F"],
                    qkvFeatures=c.get("qkv", c["F"]), outFeatures=c.get("out", c["F"]), useBias=c.get("bias", True),
                    dropoutRate=c.get("dropout", 0.0), causal=bool(c.get("causal")), padding="qlen" in c,
                    crossAttention="kv" in c, deterministic=deterministic, dropoutSeed=dropout_seed)

        def call(m, *xs, c=c, mask=mask, deterministic=deterministic, dropout_seed=dropout_seed):
            kv = xs[1] if "kv" in c else None
            rngs = None if deterministic else nnx.Rngs(dropout=jax.random.PRNGKey(dropout_seed))
            return m(xs[0], kv, mask=mask, deterministic=deterministic, rngs=rngs)

        extra = {"mask": mask} if mask is not None else {}
        w.layer(case, m, inputs, call, s, extra=extra)

    w.write()


def pooling_fixtures():
    """MaxPool / AvgPool layers against flax.linen.max_pool / avg_pool: 1-, 2-
    and 3-D windows, strides, SAME / VALID / explicit padding, count_include_pad,
    no batch dimension and two batch dimensions; output and input gradient."""
    import flax.linen as linen
    w = LayerWriter("pooling")
    cases = [
        dict(window=(2,), strides=(2,), padding="VALID", x=(2, 7, 3)),
        dict(window=(3,), strides=None, padding="SAME", x=(2, 5, 1)),
        dict(window=(2, 2), strides=(2, 2), padding="VALID", x=(2, 8, 8, 3)),
        dict(window=(2, 2), strides=(2, 2), padding="SAME", x=(2, 5, 7, 2)),
        dict(window=(3, 3), strides=(1, 1), padding="SAME", x=(1, 4, 4, 2)),
        dict(window=(3, 2), strides=(2, 1), padding=[(1, 0), (2, 1)], x=(2, 6, 5, 2)),
        dict(window=(3, 3), strides=(2, 2), padding=[(1, 1), (1, 1)], x=(1, 5, 5, 1)),
        dict(window=(1, 1), strides=None, padding="VALID", x=(2, 3, 3, 2)),
        dict(window=(4, 4), strides=None, padding="VALID", x=(1, 4, 4, 3)),
        dict(window=(2, 2, 2), strides=(1, 2, 2), padding="SAME", x=(1, 3, 4, 5, 2)),
        dict(window=(2, 2), strides=(2, 2), padding="SAME", x=(5, 5, 2)),
        dict(window=(2, 3), strides=(1, 2), padding="VALID", x=(2, 2, 4, 5, 2)),
    ]
    for s, c in enumerate(cases):
        x = rand(jax.random.PRNGKey(5000 + s), c["x"])
        pad = c["padding"] if isinstance(c["padding"], str) else [list(p) for p in c["padding"]]
        for kind, include in [("MaxPool", None), ("AvgPool", True), ("AvgPool", False)]:
            def f(p, xs, c=c, kind=kind, include=include):
                padding = c["padding"] if isinstance(c["padding"], str) else tuple(tuple(q) for q in c["padding"])
                if kind == "MaxPool":
                    return linen.max_pool(xs[0], c["window"], c["strides"], padding)
                return linen.avg_pool(xs[0], c["window"], c["strides"], padding, count_include_pad=include)
            case = dict(layer=kind, windowShape=list(c["window"]), padding=pad)
            if c["strides"] is not None:
                case["strides"] = list(c["strides"])
            if include is not None:
                case["countIncludePad"] = include
            w.functional(case, {}, [x], f, s)
    w.write()


if __name__ == "__main__":
    import sys
    parts = sys.argv[1:] or ["initializers", "layers"]
    if "initializers" in parts:
        initializer_fixtures()
    # Layers in JAX's default 32-bit mode (x64 changes, e.g., dropout's draws).
    jax.config.update("jax_enable_x64", False)
    if "layers" in parts:
        layer_fixtures()
    if "pooling" in parts:
        pooling_fixtures()
