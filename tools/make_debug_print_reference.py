"""Prints what jax.debug.print writes for the cases DebugPrintTests checks
(their expected lines are this script's output).

    .venv/bin/python tools/make_debug_print_reference.py
"""
import jax
import jax.numpy as jnp


def f(x):
    y = jnp.sin(x) * 0  + x * 2
    jax.debug.print("x = {}, y = {}", x, y)
    jax.debug.print("second {1} {0}", x, y)
    return y.sum()


x = jnp.array([1.0, 2.0, 3.0], dtype=jnp.float32)
print("# eager"); f(x)
print("# jit twice"); g = jax.jit(f); g(x); g(x)
print("# grad"); jax.grad(f)(x)
print("# vmap"); jax.vmap(lambda r: jax.debug.print("row {}", r) or r)(jnp.arange(6.0, dtype=jnp.float32).reshape(3, 2))
print("# scalar"); jax.debug.print("{} {} {{}}", jnp.float32(2.5), jnp.int32(3))
