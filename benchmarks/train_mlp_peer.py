"""The JAX + Optax peer of Flock's train-mlp example, for benchmarks/run-training.

The same training as `train-mlp`: the digits (Examples/Data/digits.npz), an MLP
64-128-128-10 with ReLU and LeCun-normal kernels, softmax cross-entropy with
integer labels, Adam (learning rate 3e-3), global batch 128 drawn from a
per-epoch permutation, the batch's loss and accuracy read back every step (as
train-mlp's progress does). One process: one jitted step with the parameters
and optimiser state donated. Under mpirun (2 ranks, mpi4py): each rank takes
its half of the global batch, a jitted function returns its loss, accuracy and
gradients flattened into one buffer, `comm.Allreduce` averages the buffer, and a
jitted update applies it: how a JAX user data-parallelises over MPI by hand.

Prints one JSON line on rank 0: examples/s over the steps after the warm-up
(compilation excluded).
"""
import argparse
import json
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.flatten_util import ravel_pytree


def init_params(key, sizes):
    params = []
    init = jax.nn.initializers.lecun_normal()
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        key, sub = jax.random.split(key)
        params.append((init(sub, (fan_in, fan_out), jnp.float32), jnp.zeros((fan_out,), jnp.float32)))
    return params


def forward(params, x):
    for i, (w, b) in enumerate(params):
        x = x @ w + b
        if i < len(params) - 1:
            x = jax.nn.relu(x)
    return x


def loss_and_accuracy(params, x, y):
    logits = forward(params, x)
    loss = optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()
    return loss, (jnp.argmax(logits, -1) == y).mean()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--warmup", type=int, default=100)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--data", default="Examples/Data/digits.npz")
    args = parser.parse_args()

    try:
        from mpi4py import MPI
        comm = MPI.COMM_WORLD
    except ImportError:
        comm = None
    size, rank = (comm.size, comm.rank) if comm is not None else (1, 0)

    data = np.load(args.data)
    x_train, y_train = data["x_train"].astype(np.float32), data["y_train"].astype(np.int32)
    params = init_params(jax.random.key(0), [x_train.shape[1], 128, 128, 10])
    optimizer = optax.adam(3e-3)
    opt_state = optimizer.init(params)
    per_rank = args.batch_size // size
    batches_per_epoch = len(x_train) // args.batch_size
    rng = np.random.default_rng(1)
    order = None

    if size == 1:
        def step(params, opt_state, x, y):
            (loss, acc), grads = jax.value_and_grad(loss_and_accuracy, has_aux=True)(params, x, y)
            updates, opt_state = optimizer.update(grads, opt_state, params)
            return optax.apply_updates(params, updates), opt_state, loss, acc
        step = jax.jit(step, donate_argnums=(0, 1))
    else:
        _, unravel = ravel_pytree(params)

        @jax.jit
        def local_gradients(params, x, y):
            (loss, acc), grads = jax.value_and_grad(loss_and_accuracy, has_aux=True)(params, x, y)
            flat, _ = ravel_pytree(grads)
            return jnp.concatenate([flat, jnp.stack([loss, acc])])

        def update(params, opt_state, averaged):
            updates, opt_state = optimizer.update(unravel(averaged[:-2]), opt_state, params)
            return optax.apply_updates(params, updates), opt_state
        update = jax.jit(update, donate_argnums=(0, 1))

    start = None
    for s in range(args.steps):
        if s == args.warmup:
            if comm is not None:
                comm.Barrier()
            start = time.perf_counter()
        epoch, b = divmod(s, batches_per_epoch)
        if b == 0:
            order = rng.permutation(len(x_train))
        rows = order[b * args.batch_size:(b + 1) * args.batch_size][rank * per_rank:(rank + 1) * per_rank]
        x, y = x_train[rows], y_train[rows]
        if size == 1:
            params, opt_state, loss, acc = step(params, opt_state, x, y)
            loss, acc = float(loss), float(acc)
        else:
            local = np.asarray(local_gradients(params, x, y))
            averaged = np.empty_like(local)
            comm.Allreduce(local, averaged, op=MPI.SUM)
            averaged /= size
            params, opt_state = update(params, opt_state, averaged)
            loss, acc = float(averaged[-2]), float(averaged[-1])
    jax.block_until_ready(params)
    elapsed = time.perf_counter() - start
    if rank == 0:
        impl = "JAX + Optax" if size == 1 else "JAX + Optax + mpi4py"
        print(json.dumps({"case": f"train_mlp_{size}", "impl": impl, "ranks": size,
                          "examples_per_s": (args.steps - args.warmup) * args.batch_size / elapsed,
                          "final_loss": loss}), flush=True)


if __name__ == "__main__":
    main()
