"""Generates optax reference values for FlockOptim's tests.

Run from the repository root with the reference environment:
    tools/setup-reference-env && .venv/bin/python tools/make_optim_fixtures.py
Writes Tests/FlockOptimTests/Fixtures/optim.json:
  - "optimizers": each case is a spec (a small JSON language the Swift test
    builds the same transformation from), the initial params (a dict of three
    leaves: a matrix, a zero vector and a scalar), a sequence of gradients, and
    per step optax's updates and new params, plus the final state's leaves in
    optax's order;
  - "schedules": each schedule's values at many steps, boundaries included;
  - "global_norm": optax.global_norm of the first gradients.
Floats are written as float64 values (NaN and infinities as strings).
CI does not run this script; the output is committed.
"""
import json
import os

import jax
import jax.numpy as jnp
import numpy as np
import optax

OUT = os.path.join(os.path.dirname(__file__), "..", "Tests", "FlockOptimTests", "Fixtures", "optim.json")


def enc(a):
    a = np.asarray(a)
    vals = [v if np.isfinite(v) else str(v) for v in a.astype(np.float64).ravel().tolist()]
    return {"shape": list(a.shape), "dtype": str(a.dtype), "values": vals}


def tree_enc(t):
    return {k: enc(v) for k, v in t.items()}


# --- Building optax transformations from specs ------------------------------

def schedule(spec):
    if not isinstance(spec, dict):
        return spec
    kind, kw = spec["schedule"], {k: v for k, v in spec.items() if k != "schedule"}
    if kind == "piecewise_constant":
        kw["boundaries_and_scales"] = {int(k): v for k, v in kw["boundaries_and_scales"].items()}
    return {
        "constant": optax.constant_schedule,
        "linear": optax.linear_schedule,
        "polynomial": optax.polynomial_schedule,
        "cosine_decay": optax.cosine_decay_schedule,
        "warmup_cosine_decay": optax.warmup_cosine_decay_schedule,
        "exponential_decay": optax.exponential_decay,
        "piecewise_constant": optax.piecewise_constant_schedule,
    }[kind](**kw)


def mask(name):
    if name is None:
        return None
    assert name == "ndim>1"
    return lambda p: jax.tree.map(lambda x: x.ndim > 1, p)


def build(spec):
    kind = spec["kind"]
    kw = {k: v for k, v in spec.items() if k not in ("kind", "items", "inner")}
    for key in ("learning_rate", "weight_decay"):
        if key in kw:
            kw[key] = schedule(kw[key])
    if "mask" in kw:
        kw["mask"] = mask(kw["mask"])
    if kind == "chain":
        return optax.chain(*[build(s) for s in spec["items"]])
    if kind == "multi_steps":
        return optax.MultiSteps(build(spec["inner"]), **kw).gradient_transformation()
    if kind == "masked_decay":
        return optax.masked(optax.add_decayed_weights(kw["weight_decay"]), mask(kw["where"]))
    return {
        "sgd": optax.sgd, "adam": optax.adam, "adamw": optax.adamw, "adagrad": optax.adagrad,
        "rmsprop": optax.rmsprop, "lion": optax.lion, "lamb": optax.lamb,
        "clip": optax.clip, "clip_by_global_norm": optax.clip_by_global_norm,
        "scale_by_adam": optax.scale_by_adam, "scale_by_learning_rate": optax.scale_by_learning_rate,
        "scale_by_trust_ratio": optax.scale_by_trust_ratio, "trace": optax.trace,
        "scale": optax.scale, "scale_by_rms": optax.scale_by_rms, "scale_by_stddev": optax.scale_by_stddev,
        "scale_by_rss": optax.scale_by_rss, "scale_by_lion": optax.scale_by_lion,
        "add_decayed_weights": optax.add_decayed_weights, "identity": optax.identity,
    }[kind](**kw)


# --- Optimiser runs -----------------------------------------------------------

STEPS = 6
rng = np.random.default_rng(0)
PARAMS = {
    "w": rng.normal(size=(2, 3)).astype(np.float32),
    "b": np.zeros((3,), np.float32),  # zero norm: trust ratio 1, no decay effect
    "s": np.float32(0.7).reshape(()),
}


def grad_sequence(seed, scale=1.0):
    r = np.random.default_rng(seed)
    seq = []
    for step in range(STEPS):
        g = {k: (r.normal(size=v.shape) * scale).astype(np.float32) for k, v in PARAMS.items()}
        if step == 2:
            g["b"] = np.zeros_like(g["b"])  # a zero gradient (Adagrad's where, trust ratio 1)
        seq.append(g)
    return seq


def run(name, spec, grad_seed=1, grad_scale=1.0):
    tx = build(spec)
    params = {k: jnp.asarray(v) for k, v in PARAMS.items()}
    state = tx.init(params)
    grads = grad_sequence(grad_seed, grad_scale)
    steps = []
    for g in grads:
        g = {k: jnp.asarray(v) for k, v in g.items()}
        updates, state = tx.update(g, state, params)
        params = optax.apply_updates(params, updates)
        steps.append({"grads": tree_enc(g), "updates": tree_enc(updates), "params": tree_enc(params)})
    return {"name": name, "spec": spec, "params": tree_enc(PARAMS), "steps": steps,
            "state": [enc(x) for x in jax.tree.leaves(state)]}


sched_exp = {"schedule": "exponential_decay", "init_value": 0.1, "transition_steps": 2, "decay_rate": 0.5}
sched_warm = {"schedule": "warmup_cosine_decay", "init_value": 0.0, "peak_value": 0.05, "warmup_steps": 2, "decay_steps": 5}
sched_pw = {"schedule": "piecewise_constant", "init_value": 0.01, "boundaries_and_scales": {"2": 0.5, "4": 0.1}}
wd_sched = {"schedule": "linear", "init_value": 0.1, "end_value": 0.0, "transition_steps": 4}

OPTIMIZERS = [
    ("sgd", {"kind": "sgd", "learning_rate": 0.1}),
    ("sgd_momentum", {"kind": "sgd", "learning_rate": 0.1, "momentum": 0.9}),
    ("sgd_nesterov", {"kind": "sgd", "learning_rate": 0.05, "momentum": 0.8, "nesterov": True}),
    ("sgd_schedule", {"kind": "sgd", "learning_rate": sched_exp, "momentum": 0.9}),
    ("adam", {"kind": "adam", "learning_rate": 0.01}),
    ("adam_b1_b2_eps", {"kind": "adam", "learning_rate": 0.02, "b1": 0.5, "b2": 0.9, "eps": 1e-3}),
    ("adam_eps_root", {"kind": "adam", "learning_rate": 0.01, "eps": 0.0, "eps_root": 1e-8}),
    ("adam_nesterov", {"kind": "adam", "learning_rate": 0.01, "nesterov": True}),
    ("adam_warmup_cosine", {"kind": "adam", "learning_rate": sched_warm}),
    ("adam_piecewise", {"kind": "adam", "learning_rate": sched_pw, "b2": 0.99}),
    ("adamw", {"kind": "adamw", "learning_rate": 0.01}),
    ("adamw_mask", {"kind": "adamw", "learning_rate": 0.01, "weight_decay": 0.1, "mask": "ndim>1"}),
    ("adamw_wd_schedule", {"kind": "adamw", "learning_rate": 0.01, "weight_decay": wd_sched}),
    ("adamw_nesterov", {"kind": "adamw", "learning_rate": sched_exp, "weight_decay": 0.05, "nesterov": True, "b1": 0.8}),
    ("adagrad", {"kind": "adagrad", "learning_rate": 0.1}),
    ("adagrad_zero_init", {"kind": "adagrad", "learning_rate": 0.1, "initial_accumulator_value": 0.0, "eps": 1e-5}),
    ("rmsprop", {"kind": "rmsprop", "learning_rate": 0.01}),
    ("rmsprop_centered", {"kind": "rmsprop", "learning_rate": 0.01, "centered": True}),
    ("rmsprop_centered_nesterov", {"kind": "rmsprop", "learning_rate": 0.01, "centered": True, "momentum": 0.9, "nesterov": True}),
    ("rmsprop_eps_outside_bias", {"kind": "rmsprop", "learning_rate": 0.01, "eps_in_sqrt": False, "bias_correction": True, "decay": 0.8}),
    ("rmsprop_momentum_scale", {"kind": "rmsprop", "learning_rate": 0.01, "momentum": 0.9, "initial_scale": 1.0}),
    ("rmsprop_centered_bias", {"kind": "rmsprop", "learning_rate": 0.01, "centered": True, "bias_correction": True, "eps_in_sqrt": False, "initial_scale": 0.5}),
    ("lion", {"kind": "lion", "learning_rate": 0.001}),
    ("lion_mask", {"kind": "lion", "learning_rate": 0.003, "b1": 0.95, "b2": 0.98, "weight_decay": 0.1, "mask": "ndim>1"}),
    ("lamb", {"kind": "lamb", "learning_rate": 0.01}),
    ("lamb_decay_mask", {"kind": "lamb", "learning_rate": 0.01, "weight_decay": 0.01, "mask": "ndim>1", "b1": 0.8, "eps": 1e-4}),
    ("clip_global_norm_sgd", {"kind": "chain", "items": [{"kind": "clip_by_global_norm", "max_norm": 1.0}, {"kind": "sgd", "learning_rate": 0.1}]}),
    ("clip_global_norm_unclipped", {"kind": "chain", "items": [{"kind": "clip_by_global_norm", "max_norm": 100.0}, {"kind": "adam", "learning_rate": 0.01}]}),
    ("clip_sgd", {"kind": "chain", "items": [{"kind": "clip", "max_delta": 0.5}, {"kind": "sgd", "learning_rate": 0.1}]}),
    ("adam_by_blocks", {"kind": "chain", "items": [{"kind": "scale_by_adam", "b1": 0.8}, {"kind": "scale_by_learning_rate", "learning_rate": 0.01}]}),
    ("trust_ratio_min_norm", {"kind": "chain", "items": [{"kind": "scale_by_trust_ratio", "min_norm": 0.5, "trust_coefficient": 0.1, "eps": 1e-3}, {"kind": "scale", "step_size": -0.1}]}),
    ("lr_no_flip_schedule", {"kind": "chain", "items": [{"kind": "trace", "decay": 0.5}, {"kind": "scale_by_learning_rate", "learning_rate": sched_exp, "flip_sign": False}]}),
    ("masked_decay", {"kind": "chain", "items": [{"kind": "masked_decay", "weight_decay": 0.5, "where": "ndim>1"}, {"kind": "sgd", "learning_rate": 0.1}]}),
    ("multi_steps_adam", {"kind": "multi_steps", "every_k_schedule": 3, "inner": {"kind": "adam", "learning_rate": 0.01}}),
    ("multi_steps_sum_momentum", {"kind": "multi_steps", "every_k_schedule": 2, "use_grad_mean": False, "inner": {"kind": "sgd", "learning_rate": 0.1, "momentum": 0.9}}),
    ("multi_steps_one", {"kind": "multi_steps", "every_k_schedule": 1, "inner": {"kind": "rmsprop", "learning_rate": 0.01, "centered": True}}),
]

optimizers = [run(n, s) for n, s in OPTIMIZERS]
# Large and tiny gradients for the moment-based optimisers.
optimizers += [run(n + "_large_grads", s, grad_seed=2, grad_scale=1e3) for n, s in OPTIMIZERS if n in ("adam", "rmsprop_centered", "lamb", "clip_global_norm_sgd")]
optimizers += [run(n + "_tiny_grads", s, grad_seed=3, grad_scale=1e-6) for n, s in OPTIMIZERS if n in ("adam", "adagrad", "rmsprop")]

# --- Schedules ----------------------------------------------------------------

STEPS_TO_CHECK = list(range(0, 25)) + [29, 30, 31, 50, 99, 100, 101, 1000, 100000]
SCHEDULES = [
    ("constant", {"schedule": "constant", "value": 0.5}),
    ("linear", {"schedule": "linear", "init_value": 1.0, "end_value": 0.1, "transition_steps": 10}),
    ("linear_begin_up", {"schedule": "linear", "init_value": 0.0, "end_value": 2.0, "transition_steps": 7, "transition_begin": 5}),
    ("linear_zero_steps", {"schedule": "linear", "init_value": 0.3, "end_value": 2.0, "transition_steps": 0}),
    ("polynomial_2", {"schedule": "polynomial", "init_value": 1.0, "end_value": 0.0, "power": 2, "transition_steps": 20}),
    ("polynomial_half", {"schedule": "polynomial", "init_value": 0.5, "end_value": 0.1, "power": 0.5, "transition_steps": 12, "transition_begin": 3}),
    ("cosine", {"schedule": "cosine_decay", "init_value": 1.0, "decay_steps": 10}),
    ("cosine_alpha_exponent", {"schedule": "cosine_decay", "init_value": 0.1, "decay_steps": 30, "alpha": 0.1, "exponent": 2.0}),
    ("warmup_cosine", {"schedule": "warmup_cosine_decay", "init_value": 0.0, "peak_value": 1.0, "warmup_steps": 5, "decay_steps": 20}),
    ("warmup_cosine_end", {"schedule": "warmup_cosine_decay", "init_value": 0.01, "peak_value": 0.1, "warmup_steps": 10, "decay_steps": 100, "end_value": 0.001, "exponent": 1.5}),
    ("exponential", {"schedule": "exponential_decay", "init_value": 1.0, "transition_steps": 5, "decay_rate": 0.5}),
    ("exponential_staircase", {"schedule": "exponential_decay", "init_value": 1.0, "transition_steps": 4, "decay_rate": 0.5, "staircase": True}),
    ("exponential_begin_end", {"schedule": "exponential_decay", "init_value": 0.8, "transition_steps": 3, "decay_rate": 0.7, "transition_begin": 3, "end_value": 0.2}),
    ("exponential_growth_end", {"schedule": "exponential_decay", "init_value": 0.1, "transition_steps": 2, "decay_rate": 2.0, "end_value": 4.0, "staircase": True}),
    ("exponential_zero_steps", {"schedule": "exponential_decay", "init_value": 0.25, "transition_steps": 0, "decay_rate": 0.5}),
    ("piecewise", {"schedule": "piecewise_constant", "init_value": 1.0, "boundaries_and_scales": {"5": 0.5, "10": 0.1}}),
    ("piecewise_zero_scale", {"schedule": "piecewise_constant", "init_value": 0.3, "boundaries_and_scales": {"3": 2.0, "8": 0.0}}),
    ("piecewise_empty", {"schedule": "piecewise_constant", "init_value": 0.3, "boundaries_and_scales": {}}),
]

schedules = []
for name, spec in SCHEDULES:
    f = schedule(spec)
    vals = [np.float32(jnp.asarray(f(jnp.asarray(s, jnp.int32)), jnp.float32)) for s in STEPS_TO_CHECK]
    schedules.append({"name": name, "spec": spec, "steps": STEPS_TO_CHECK, "values": enc(np.array(vals, np.float32))})

g0 = {k: jnp.asarray(v) for k, v in grad_sequence(1)[0].items()}
out = {"optimizers": optimizers, "schedules": schedules, "global_norm": {"grads": tree_enc(g0), "norm": enc(optax.global_norm(g0))}}
with open(OUT, "w") as f:
    json.dump(out, f, separators=(",", ":"))
print(f"wrote {OUT}: {len(optimizers)} optimizer runs, {len(schedules)} schedules, {os.path.getsize(OUT)} bytes")

# --- Losses and metrics (FlockNN) -------------------------------------------------
# Each case: a function name, its array arguments, scalar keyword arguments
# and optax's (or, for the metrics, jnp's) per-example output.

LOSSES_OUT = os.path.join(os.path.dirname(__file__), "..", "Tests", "FlockNNTests", "Fixtures", "losses.json")
r = np.random.default_rng(7)
loss_cases = []


def loss_case(name, fn, args, kwargs, out):
    loss_cases.append({"name": name, "fn": fn, "args": {k: enc(v) for k, v in args.items()}, "kwargs": kwargs, "out": enc(out)})


def f32(*shape, scale=1.0):
    return (r.normal(size=shape) * scale).astype(np.float32)


big = np.array([[100.0, -100.0, 0.0, 3.0], [-100.0, -100.0, -100.0, -100.0], [100.0, 100.0, -100.0, 0.0]], np.float32)
logit_sets = {"random": f32(5, 4), "large": big, "ties": np.array([[1, 1, 0, 1], [2, 2, 2, 2], [0, 3, 3, -1]], np.float32),
              "rank3": f32(2, 3, 5, scale=3.0)}
for lname, logits in logit_sets.items():
    ncls = logits.shape[-1]
    ints = r.integers(0, ncls, size=logits.shape[:-1]).astype(np.int32)
    onehot = np.asarray(jax.nn.one_hot(ints, ncls), np.float32)
    probs = r.dirichlet(np.ones(ncls), size=logits.shape[:-1]).astype(np.float32)
    probs_with_zeros = np.where(r.random(probs.shape) < 0.4, 0.0, probs).astype(np.float32)
    loss_case(f"sce_int_{lname}", "softmax_cross_entropy_int", {"logits": logits, "labels": ints}, {},
              optax.softmax_cross_entropy_with_integer_labels(logits, ints))
    for alpha in (0.0, 0.1):
        sm = optax.smooth_labels(onehot, alpha)
        loss_case(f"smooth_labels_{lname}_{alpha}", "smooth_labels", {"labels": onehot}, {"alpha": alpha}, sm)
        loss_case(f"sce_onehot_smoothed_{lname}_{alpha}", "softmax_cross_entropy", {"logits": logits, "labels": sm}, {},
                  optax.softmax_cross_entropy(logits, sm))
    loss_case(f"sce_probs_{lname}", "softmax_cross_entropy", {"logits": logits, "labels": probs_with_zeros}, {},
              optax.softmax_cross_entropy(logits, probs_with_zeros))
    where = r.random(logits.shape) < 0.7
    where[..., 0] = True  # every row keeps a class…
    where_rows = where.copy()
    where_rows.reshape(-1, ncls)[0] = False  # …except one fully masked row
    for wname, w in (("mask", where), ("mask_empty_row", where_rows)):
        lab = np.where(w, probs, 0.0).astype(np.float32)
        loss_case(f"sce_probs_{wname}_{lname}", "softmax_cross_entropy", {"logits": logits, "labels": lab, "where": w}, {},
                  optax.softmax_cross_entropy(logits, lab, where=w))
        loss_case(f"sce_int_{wname}_{lname}", "softmax_cross_entropy_int", {"logits": logits, "labels": ints, "where": w}, {},
                  optax.softmax_cross_entropy_with_integer_labels(logits, ints, where=w))
    loss_case(f"accuracy_{lname}", "accuracy", {"logits": logits, "labels": ints}, {},
              (jnp.argmax(logits, -1) == ints).astype(jnp.float32))
    for k in (1, 2, 3):
        top = jax.lax.top_k(logits, k)[1]
        loss_case(f"top{k}_accuracy_{lname}", "top_k_accuracy", {"logits": logits, "labels": ints}, {"k": k},
                  jnp.any(top == ints[..., None], axis=-1).astype(jnp.float32))
    # labels chosen at the tied and the extreme positions
    for pos in range(ncls):
        lab = np.full(logits.shape[:-1], pos, np.int32)
        top = jax.lax.top_k(logits, 2)[1]
        loss_case(f"top2_accuracy_{lname}_label{pos}", "top_k_accuracy", {"logits": logits, "labels": lab}, {"k": 2},
                  jnp.any(top == lab[..., None], axis=-1).astype(jnp.float32))

# a rank-1 `where` over classes, broadcast to every row
lg = logit_sets["random"]
wc = np.array([True, False, True, True])
lab = np.asarray(jax.nn.one_hot(np.array([0, 2, 3, 0, 2]), 4), np.float32)
loss_case("sce_probs_class_mask", "softmax_cross_entropy", {"logits": lg, "labels": lab, "where": np.broadcast_to(wc, lg.shape)}, {},
          optax.softmax_cross_entropy(lg, lab, where=np.broadcast_to(wc, lg.shape)))

bce_logits = np.array([-100, -20, -3, -0.5, 0, 0.5, 3, 20, 100], np.float32)
for lname, labels in (("hard", np.array([0, 1, 0, 1, 1, 0, 1, 0, 1], np.float32)),
                      ("soft", np.linspace(0, 1, 9).astype(np.float32))):
    loss_case(f"bce_{lname}", "sigmoid_binary_cross_entropy", {"logits": bce_logits, "labels": labels}, {},
              optax.sigmoid_binary_cross_entropy(bce_logits, labels))
m_logits = f32(3, 4, scale=4.0)
m_labels = (r.random((3, 4)) < 0.5).astype(np.float32)
loss_case("bce_matrix", "sigmoid_binary_cross_entropy", {"logits": m_logits, "labels": m_labels}, {},
          optax.sigmoid_binary_cross_entropy(m_logits, m_labels))

p, t = f32(4, 3, scale=2.0), f32(4, 3, scale=2.0)
loss_case("squared_error", "squared_error", {"predictions": p, "targets": t}, {}, optax.squared_error(p, t))
loss_case("l2_loss", "l2_loss", {"predictions": p, "targets": t}, {}, optax.l2_loss(p, t))
loss_case("l2_loss_no_targets", "l2_loss", {"predictions": p}, {}, optax.l2_loss(p))
for delta in (1.0, 0.5, 3.0):
    loss_case(f"huber_{delta}", "huber_loss", {"predictions": p, "targets": t}, {"delta": delta}, optax.huber_loss(p, t, delta=delta))
edge = np.array([-2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0], np.float32)
loss_case("huber_edges", "huber_loss", {"predictions": edge, "targets": np.zeros_like(edge)}, {"delta": 1.0},
          optax.huber_loss(edge, np.zeros_like(edge), delta=1.0))

a, b = f32(4, 5), f32(4, 5)
a[1] = 0.0  # a zero vector: 0/0 without epsilon, 0 with it
b[2] = -3.0 * a[2]  # opposite directions
for eps in (0.0, 1e-8, 0.5):
    loss_case(f"cosine_similarity_{eps}", "cosine_similarity", {"predictions": a, "targets": b}, {"epsilon": eps},
              optax.cosine_similarity(a, b, epsilon=eps))
    loss_case(f"cosine_distance_{eps}", "cosine_distance", {"predictions": a, "targets": b}, {"epsilon": eps},
              optax.cosine_distance(a, b, epsilon=eps))
wm = r.random((4, 5)) < 0.6
loss_case("cosine_similarity_where", "cosine_similarity", {"predictions": a, "targets": b, "where": wm}, {"epsilon": 1e-8},
          optax.cosine_similarity(a, b, epsilon=1e-8, where=wm))

# the class axis first (axis=0), and smoothing over the classes a mask keeps
lg0 = f32(4, 3, scale=2.0)
ints0 = np.array([3, 0, 2], np.int32)
probs0 = r.dirichlet(np.ones(4), size=3).T.astype(np.float32)
loss_case("sce_int_axis0", "softmax_cross_entropy_int", {"logits": lg0, "labels": ints0}, {"axis": 0},
          optax.softmax_cross_entropy_with_integer_labels(lg0, ints0, axis=0))
loss_case("sce_probs_axis0", "softmax_cross_entropy", {"logits": lg0, "labels": probs0}, {"axis": 0},
          optax.softmax_cross_entropy(lg0, probs0, axis=0))
oh = np.asarray(jax.nn.one_hot(np.array([0, 2, 3, 1, 0]), 4), np.float32)
wk = r.random((5, 4)) < 0.6
wk[:, 0] = True
loss_case("smooth_labels_where", "smooth_labels", {"labels": oh, "where": wk}, {"alpha": 0.2}, optax.smooth_labels(oh, 0.2, where=wk))

with open(LOSSES_OUT, "w") as f:
    json.dump(loss_cases, f, separators=(",", ":"))
print(f"wrote {LOSSES_OUT}: {len(loss_cases)} cases, {os.path.getsize(LOSSES_OUT)} bytes")
