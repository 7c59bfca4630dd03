"""The JAX + Flax + Optax peer of Flock's train-lm example, for benchmarks/run-training.

The same model and training as `train-lm`: a character-level causal
transformer over the text's characters (token and learned position
embeddings, 2 pre-LayerNorm blocks of 4-head attention with a causal mask and a
4·d GELU MLP, d = 128, a final LayerNorm and a linear head; flax.nnx modules),
the last 10 % of the text held out, global batch 32 windows of 64 characters
drawn at random, softmax cross-entropy with integer labels,
chain(clip_by_global_norm(1), adamw(warmup + cosine from 0 to 3e-3 and down to
3e-4, weight decay 0.01)), the batch's loss read back every step (as
train-lm's progress does). One process; one jitted step over the split
parameters and optimiser state, both donated (Flax's advice for speed: no
nnx.jit graph traversal per call).

Prints one JSON line: tokens/s over the steps after the warm-up (compilation
excluded) and the last loss.
"""
import argparse
import json
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx


class Block(nnx.Module):
    def __init__(self, features, heads, rngs):
        self.attention_norm = nnx.LayerNorm(features, epsilon=1e-5, rngs=rngs)
        self.attention = nnx.MultiHeadAttention(num_heads=heads, in_features=features, decode=False, rngs=rngs)
        self.mlp_norm = nnx.LayerNorm(features, epsilon=1e-5, rngs=rngs)
        self.up = nnx.Linear(features, 4 * features, rngs=rngs)
        self.down = nnx.Linear(4 * features, features, rngs=rngs)

    def __call__(self, x, mask):
        h = x + self.attention(self.attention_norm(x), mask=mask)
        return h + self.down(jax.nn.gelu(self.up(self.mlp_norm(h))))


class CharTransformer(nnx.Module):
    def __init__(self, vocabulary, context, features, heads, layers, rngs):
        self.token_embedding = nnx.Embed(vocabulary, features, rngs=rngs)
        self.position_embedding = nnx.Embed(context, features, rngs=rngs)
        self.blocks = nnx.List([Block(features, heads, rngs) for _ in range(layers)])
        self.final_norm = nnx.LayerNorm(features, epsilon=1e-5, rngs=rngs)
        self.head = nnx.Linear(features, vocabulary, rngs=rngs)

    def __call__(self, tokens):
        length = tokens.shape[1]
        h = self.token_embedding(tokens) + self.position_embedding(jnp.arange(length))[None]
        mask = nnx.make_causal_mask(tokens)
        for block in self.blocks:
            h = block(h, mask)
        return self.head(self.final_norm(h))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=50, help="untimed steps (compilation)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--context", type=int, default=64)
    parser.add_argument("--learning-rate", type=float, default=3e-3)
    parser.add_argument("--data", default="Examples/TrainLM/corpus.txt")
    args = parser.parse_args()

    text = open(args.data, encoding="utf-8").read()
    vocabulary = sorted(set(text))
    index = {c: i for i, c in enumerate(vocabulary)}
    ids = np.array([index[c] for c in text], dtype=np.int32)
    train = ids[: len(ids) - len(ids) // 10]

    model = CharTransformer(len(vocabulary), args.context, 128, 4, 2, nnx.Rngs(0))
    warmup = max(1, min(100, args.steps // 10))
    schedule = optax.warmup_cosine_decay_schedule(0.0, args.learning_rate, warmup, max(args.steps, warmup + 1),
                                                  args.learning_rate / 10)
    tx = optax.chain(optax.clip_by_global_norm(1.0), optax.adamw(schedule, weight_decay=0.01))
    graphdef, params = nnx.split(model, nnx.Param)
    opt_state = tx.init(params)

    def loss_fn(params, x, y):
        logits = nnx.merge(graphdef, params)(x)
        return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()

    def step(params, opt_state, x, y):
        loss, grads = jax.value_and_grad(loss_fn)(params, x, y)
        updates, opt_state = tx.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, loss

    step = jax.jit(step, donate_argnums=(0, 1))
    rng = np.random.default_rng(1)
    offsets = np.arange(args.context)
    start = None
    for s in range(args.steps):
        if s == args.warmup:
            start = time.perf_counter()
        starts = rng.integers(0, len(train) - args.context, size=args.batch_size)
        x = train[starts[:, None] + offsets]
        y = train[starts[:, None] + offsets + 1]
        params, opt_state, loss = step(params, opt_state, x, y)
        loss = float(loss)
    elapsed = time.perf_counter() - start
    print(json.dumps({"case": "train_lm_1", "impl": "JAX + Flax + Optax", "ranks": 1,
                      "tokens_per_s": (args.steps - args.warmup) * args.batch_size * args.context / elapsed,
                      "final_loss": loss}), flush=True)


if __name__ == "__main__":
    main()
