#!/usr/bin/env python3
"""Generates Tests/FlockCoreTests/Fixtures/ops.json: Flock's oracle test cases.

Each case names a function (`fn`), its array arguments, static parameters, and
the outputs JAX computes for them; OpsFixtureTests.swift runs the same function
in Flock and compares. Arrays are stored as raw little-endian bytes in hex so
NaN, ±Inf, -0.0 and integer bit patterns survive exactly:

    {"name", "fn", "args": [array...], "params": {...}, "out": [array...], "rtol", "atol"}
    array = {"dtype": "float32|float64|int32|uint32|bool", "shape": [...], "hex": "...",
             "weak_type": true}   # weak_type only when set (a Python scalar in JAX)

Cases with fn "repr" hold JAX's `repr(array)` in params["expected"].

JAX runs with 64-bit types disabled (its default, which Flock follows: a weak
float literal is float32, argmax gives int32, int32 + uint32 gives int32) and
switches `jax_enable_x64` on only for cases with float64 inputs or outputs.
Inputs are always created with explicit dtypes.

Usage: tools/setup-reference-env && .venv/bin/python tools/make_fixtures.py
"""

import contextlib
import json
import math
import pathlib

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

OUT = pathlib.Path(__file__).resolve().parent.parent / "Tests/FlockCoreTests/Fixtures/ops.json"
TRANSFORMS_OUT = pathlib.Path(__file__).resolve().parent.parent / "Tests/FlockTransformsTests/Fixtures/nn_ops.json"
TRANSFORMS_FNS = {"gelu", "gelu_grad"}
DTYPES = ("float32", "float64", "int32", "uint32", "bool")

f32, f64, i32, u32, b8 = np.float32, np.float64, np.int32, np.uint32, np.bool_
nan, inf = float("nan"), float("inf")

# Default tolerances by output dtype: a few ulp for float32 transcendental
# functions, tighter for float64. Exact ops pass rtol=atol=0 (bitwise compare,
# any NaN matches any NaN; -0.0 differs from 0.0).
DEFAULT_TOL = {"float32": (2e-6, 1e-7), "float64": (1e-13, 1e-15)}
EXACT = dict(rtol=0.0, atol=0.0)


class Weak:
    """A Python scalar argument: weakly typed in JAX (`x * 2`), a literal in Flock."""

    def __init__(self, value):
        self.value = value

    def encode(self):
        dtype = "float32" if isinstance(self.value, float) else "int32"
        return encode(np.asarray(self.value, dtype=dtype), weak=True)


def encode(x, weak=False):
    a = np.asarray(x)
    name = str(a.dtype)
    if name not in DTYPES:
        raise TypeError(f"unsupported dtype {name} (Flock has {DTYPES})")
    a = a.astype(a.dtype.newbyteorder("<"), copy=False)
    out = {"dtype": name, "shape": list(a.shape), "hex": a.tobytes().hex()}
    if weak:
        out["weak_type"] = True
    return out


@contextlib.contextmanager
def x64(enabled):
    previous = jax.config.jax_enable_x64
    jax.config.update("jax_enable_x64", enabled)
    try:
        yield
    finally:
        jax.config.update("jax_enable_x64", previous)


CASES = []
NAMES = set()


def json_safe(value):
    """Non-finite floats in params become the strings "nan", "inf", "-inf" (JSON has no NaN)."""
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value


def add(name, fn, args, oracle, params=None, rtol=None, atol=None):
    """Records a case: `oracle(*jax_args)` computes the expected outputs."""
    if name in NAMES:
        raise ValueError(f"duplicate case name {name}")
    NAMES.add(name)
    params = dict(params or {})
    args = [a if isinstance(a, Weak) else np.asarray(a) for a in args]
    wide = any(not isinstance(a, Weak) and a.dtype == f64 for a in args) or params.get("dtype") == "float64"
    with x64(wide):
        jargs = [a.value if isinstance(a, Weak) else jnp.asarray(a) for a in args]
        result = oracle(*jargs)
        outs = list(result) if isinstance(result, (list, tuple)) else [result]
        encoded = [encode(np.asarray(o), weak=getattr(o, "weak_type", False)) for o in outs]
    floats = [o["dtype"] for o in encoded if o["dtype"].startswith("float")]
    dr, da = DEFAULT_TOL.get("float64" if "float64" in floats else "float32")
    CASES.append({
        "name": name, "fn": fn,
        "args": [a.encode() if isinstance(a, Weak) else encode(a) for a in args],
        "params": json_safe(params), "out": encoded,
        "rtol": dr if rtol is None else rtol, "atol": da if atol is None else atol,
    })


def arr(values, dtype, shape=None):
    a = np.array(values, dtype=dtype)
    return a.reshape(shape) if shape is not None else a


def rand(shape, dtype=f32, seed=0, lo=-2.0, hi=2.0):
    rng = np.random.default_rng(seed)
    if np.dtype(dtype).kind == "f":
        return rng.uniform(lo, hi, size=shape).astype(dtype)
    if dtype == b8:
        return rng.integers(0, 2, size=shape).astype(b8)
    return rng.integers(int(lo), int(hi), size=shape).astype(dtype)


# MARK: - Unary elementwise

EDGE = [-0.0, 0.0, 0.5, -0.5, 1.0, -1.0, 2.5, -3.75, 10.0, -20.0, 88.5, -104.0,
        1e-8, -1e-30, 3e38, nan, inf, -inf]

UNARY = {
    "neg": lambda x: -x, "exp": jnp.exp, "log": jnp.log, "log1p": jnp.log1p, "expm1": jnp.expm1,
    "sin": jnp.sin, "cos": jnp.cos, "tan": jnp.tan, "tanh": jnp.tanh, "sigmoid": jax.nn.sigmoid,
    "sqrt": jnp.sqrt, "rsqrt": lax.rsqrt, "abs": jnp.abs, "sign": jnp.sign, "floor": jnp.floor,
    "ceil": jnp.ceil, "round": jnp.round, "erf": jax.scipy.special.erf, "erf_inv": lax.erf_inv,
    "isfinite": jnp.isfinite, "isnan": jnp.isnan, "isinf": jnp.isinf, "square": jnp.square,
    "reciprocal": jnp.reciprocal, "log2": jnp.log2, "log10": jnp.log10,
}
# Correctly rounded in IEEE arithmetic: Flock must match bit for bit.
EXACT_UNARY = {"neg", "sqrt", "abs", "sign", "floor", "ceil", "round", "isfinite", "isnan", "isinf",
               "square", "reciprocal"}
# Range reduction of huge arguments differs between libm and XLA's
# approximations; those are compared on moderate inputs only.
PERIODIC = {"sin", "cos", "tan"}


def unary_inputs(op, dtype):
    if op in PERIODIC:
        vals = [-0.0, 0.0, 0.5, -0.5, 1.0, -1.0, 2.5, -3.75, 10.0, -20.0, 100.0, 1e-8, nan, inf, -inf]
    elif op == "erf_inv":
        one_minus = float(np.nextafter(dtype(1), dtype(0)))
        vals = [-1.0, -one_minus, -0.999999, -0.9, -0.5, -0.0, 0.0, 1e-8, 0.3, 0.75, 0.99, 0.9999,
                one_minus, 1.0, 1.5, -2.0, nan]
    elif op == "round":
        vals = EDGE + [0.5, 1.5, 2.5, -2.5, 3.5, -0.49999997, 8388609.0]
    else:
        vals = EDGE
    return arr(vals, dtype)


# JAX's float64 erf_inv is a polynomial approximation ~5e-13 off near ±1
# (scipy.special.erfinv(0.999999) = 3.458910737275499, JAX 3.4589107372739605).
ERF_INV_F64 = dict(rtol=2e-12, atol=1e-15)

for op, f in UNARY.items():
    for dt in (f32, f64):
        tol = EXACT if op in EXACT_UNARY else {}
        if op == "erf_inv" and dt == f64:
            tol = ERF_INV_F64
        add(f"{op}/{dt.__name__}/edge", op, [unary_inputs(op, dt)], f, **tol)
    add(f"{op}/float32/random", op, [rand((3, 5), f32, seed=1, lo=-3, hi=3)], f,
        **(EXACT if op in EXACT_UNARY else {}))

# Accuracy away from the edge values: transcendental functions over a wide range.
dense = np.linspace(-9, 9, 181, dtype=f32)
for op in ("exp", "tanh", "sigmoid", "erf", "expm1", "sin", "cos"):
    add(f"{op}/float32/dense", op, [dense], UNARY[op])
add("log/float32/dense", "log", [np.geomspace(1e-30, 1e30, 121).astype(f32)], jnp.log)
add("log1p/float32/dense", "log1p", [np.linspace(-0.99, 5, 121, dtype=f32)], jnp.log1p)
add("erf_inv/float32/dense", "erf_inv", [np.linspace(-0.999, 0.999, 201, dtype=f32)], lax.erf_inv,
    rtol=1e-5, atol=1e-6)
add("erf_inv/float64/dense", "erf_inv", [np.linspace(-0.999999, 0.999999, 201, dtype=f64)], lax.erf_inv, **ERF_INV_F64)

# Integer and bool operands of unary ops.
ints = arr([0, 1, -1, 7, -7, 2**31 - 1, -(2**31), 46341], i32)
uints = arr([0, 1, 7, 2**31, 2**32 - 1], u32)
for op in ("neg", "abs", "sign", "square", "floor", "ceil", "round"):
    add(f"{op}/int32", op, [ints], UNARY[op], **EXACT)
for op in ("abs", "sign", "square"):
    add(f"{op}/uint32", op, [uints], UNARY[op], **EXACT)
for op in ("exp", "sqrt", "sin", "tanh", "log1p", "erf"):
    add(f"{op}/int32_to_float", op, [arr([0, 1, 2, -3, 5], i32)], UNARY[op])
add("exp/bool_to_float", "exp", [arr([True, False], b8)], jnp.exp)
add("logical_not/bool", "logical_not", [arr([True, False, True], b8)], jnp.logical_not, **EXACT)
add("logical_not/int32", "logical_not", [arr([0, 3, -1], i32)], jnp.logical_not, **EXACT)
add("logical_not/float32", "logical_not", [arr([0.0, -0.0, 2.5, nan], f32)], jnp.logical_not, **EXACT)
add("bitwise_not/int32", "bitwise_not", [ints], jnp.invert, **EXACT)
add("bitwise_not/uint32", "bitwise_not", [uints], jnp.invert, **EXACT)
add("bitwise_not/bool", "bitwise_not", [arr([True, False], b8)], jnp.invert, **EXACT)
add("isnan/int32", "isnan", [ints], jnp.isnan, **EXACT)
add("isfinite/int32", "isfinite", [ints], jnp.isfinite, **EXACT)

# MARK: - Binary elementwise, broadcasting, promotion

BINARY = {
    "add": jnp.add, "subtract": jnp.subtract, "multiply": jnp.multiply, "divide": jnp.divide,
    "remainder": jnp.remainder, "floor_divide": jnp.floor_divide, "power": jnp.power,
    "maximum": jnp.maximum, "minimum": jnp.minimum, "arctan2": jnp.arctan2,
    "equal": jnp.equal, "not_equal": jnp.not_equal, "less": jnp.less, "less_equal": jnp.less_equal,
    "greater": jnp.greater, "greater_equal": jnp.greater_equal,
    "bitwise_and": jnp.bitwise_and, "bitwise_or": jnp.bitwise_or, "bitwise_xor": jnp.bitwise_xor,
    "left_shift": jnp.left_shift, "right_shift": jnp.right_shift,
    "shift_right_logical": lax.shift_right_logical, "lax.div": lax.div, "lax.rem": lax.rem,
}
# XLA's CPU division is not always correctly rounded (off by one ulp when an
# operand is broadcast), so float division gets a one-ulp tolerance.
ONE_ULP = {"float32": dict(rtol=1.2e-7, atol=0.0), "float64": dict(rtol=2.3e-16, atol=0.0)}
EXACT_BINARY = {"add", "subtract", "multiply", "remainder", "floor_divide", "maximum",
                "minimum", "equal", "not_equal", "less", "less_equal", "greater", "greater_equal",
                "lax.div", "lax.rem"}
FLOAT_BINARY = ["add", "subtract", "multiply", "divide", "remainder", "floor_divide", "power",
                "maximum", "minimum", "arctan2", "equal", "not_equal", "less", "less_equal",
                "greater", "greater_equal", "lax.rem"]

# Every pair of special values.
specials = [0.0, -0.0, 1.0, -1.0, 2.5, -3.0, 0.5, inf, -inf, nan]
sa = np.array([a for a in specials for _ in specials])
sb = np.array([b for _ in specials for b in specials])
def binary_tol(op, dtype="float32"):
    return EXACT if op in EXACT_BINARY else (ONE_ULP[dtype] if op == "divide" else {})


for op in FLOAT_BINARY:
    for dt in (f32, f64):
        add(f"{op}/{dt.__name__}/specials", op, [sa.astype(dt), sb.astype(dt)], BINARY[op],
            **binary_tol(op, dt.__name__))
    if op.startswith("lax."):
        continue  # lax ops take equal shapes
    tol = binary_tol(op)
    add(f"{op}/float32/broadcast", op, [rand((2, 3), f32, 2), rand((3,), f32, 3)], BINARY[op], **tol)
    add(f"{op}/float32/outer_broadcast", op, [rand((2, 1, 4), f32, 4), rand((3, 1), f32, 5)],
        BINARY[op], **tol)
    add(f"{op}/float32/rank0_rhs", op, [rand((2, 3), f32, 6), arr(1.5, f32)], BINARY[op], **tol)
    add(f"{op}/float32/rank0_lhs", op, [arr(-1.5, f32), rand((4,), f32, 7)], BINARY[op], **tol)
add("power/float32/positive", "power", [rand((20,), f32, 8, 0.1, 4), rand((20,), f32, 9, -3, 3)],
    jnp.power)
add("power/float32/integer_exponents", "power",
    [arr([-2.0, -2.0, -0.5, 0.0, 0.0, 3.0, -1.0], f32), arr([3.0, 2.0, -3.0, 0.0, -1.0, 0.5, inf], f32)],
    jnp.power)

INT_BINARY = ["add", "subtract", "multiply", "remainder", "floor_divide", "maximum", "minimum",
              "equal", "not_equal", "less", "less_equal", "greater", "greater_equal", "bitwise_and",
              "bitwise_or", "bitwise_xor", "lax.div", "lax.rem", "divide"]
ia = arr([7, -7, 7, -7, 0, 0, 5, -(2**31), -(2**31), 2**31 - 1, 2**31 - 1, 13, -13, 1], i32)
ib = arr([2, 2, -2, -2, 3, 0, 0, -1, 0, 1, -1, 5, -5, -(2**31)], i32)
ua = arr([7, 0, 5, 2**32 - 1, 2**32 - 1, 2**31, 13, 1], u32)
ub = arr([2, 3, 0, 1, 2**32 - 1, 2**31, 5, 2**32 - 1], u32)
for op in INT_BINARY:
    add(f"{op}/int32/edge", op, [ia, ib], BINARY[op], **binary_tol(op))
    add(f"{op}/uint32/edge", op, [ua, ub], BINARY[op], **binary_tol(op))
    if op.startswith("lax."):
        continue
    add(f"{op}/int32/broadcast", op,
        [arr([[3, -4, 5], [-6, 7, -8]], i32), arr([2, -3, 1], i32)], BINARY[op], **binary_tol(op))
add("power/int32", "power", [arr([2, -2, 3, 0, 5, -1, 2, 1], i32), arr([10, 3, 0, 0, 13, 7, 31, 1000], i32)],
    jnp.power, **EXACT)
add("power/uint32", "power", [arr([2, 3, 0, 7], u32), arr([31, 20, 0, 12], u32)], jnp.power, **EXACT)
add("add/int32/overflow", "add", [arr([2**31 - 1, -(2**31), 2**30], i32), arr([1, -1, 2**30], i32)],
    jnp.add, **EXACT)
add("multiply/int32/overflow", "multiply", [arr([65536, 46341, -(2**31)], i32), arr([65536, 46341, -1], i32)],
    jnp.multiply, **EXACT)
add("subtract/uint32/wrap", "subtract", [arr([0, 1], u32), arr([1, 2**32 - 1], u32)], jnp.subtract, **EXACT)
for op in ("left_shift", "right_shift", "shift_right_logical"):
    add(f"{op}/int32", op, [arr([1, -1, 5, -8, 2**30, -(2**31), 7, 7, -7], i32),
                            arr([0, 1, 2, 1, 1, 31, 32, 40, 33], i32)], BINARY[op], **EXACT)
    add(f"{op}/uint32", op, [arr([1, 2**32 - 1, 5, 2**31, 7], u32), arr([0, 1, 2, 31, 32], u32)],
        BINARY[op], **EXACT)
for op in ("bitwise_and", "bitwise_or", "bitwise_xor", "equal", "not_equal", "less", "greater_equal",
           "add", "multiply", "maximum", "minimum"):
    add(f"{op}/bool", op, [arr([True, True, False, False], b8), arr([True, False, True, False], b8)],
        BINARY[op], **EXACT)

# Type promotion, including weakly typed Python scalars.
xf = rand((2, 3), f32, 10)
xi = arr([[1, -2, 3], [4, 5, -6]], i32)
promotion = [
    ("int32+float32", "add", [xi, xf]),
    ("float32*weak_int", "multiply", [xf, Weak(2)]),
    ("float32*weak_float", "multiply", [xf, Weak(2.5)]),
    ("weak_float-float32", "subtract", [Weak(1.0), xf]),
    ("int32+weak_float", "add", [xi, Weak(2.5)]),
    ("int32*weak_int", "multiply", [xi, Weak(3)]),
    ("int32/weak_int", "divide", [xi, Weak(4)]),
    ("int32/int32", "divide", [xi, arr([2, 3, -4], i32)]),
    ("bool+int32", "add", [arr([True, False, True], b8), arr([5, 6, 7], i32)]),
    ("bool+weak_int", "add", [arr([True, False], b8), Weak(3)]),
    ("bool*weak_float", "multiply", [arr([True, False], b8), Weak(1.5)]),
    ("bool+float32", "add", [arr([True, False], b8), arr([0.25, 0.5], f32)]),
    ("uint32+int32", "add", [arr([1, 2**32 - 1], u32), arr([-1, 1], i32)]),
    ("uint32+weak_int", "add", [arr([1, 2**32 - 1], u32), Weak(1)]),
    ("uint32*float32", "multiply", [arr([3, 2**31], u32), arr([0.5, 2.0], f32)]),
    ("float32+float64", "add", [arr([0.1, 0.2], f32), arr([0.1, 0.2], f64)]),
    ("float64*weak_float", "multiply", [arr([0.1, 0.2], f64), Weak(3.0)]),
    ("int32+float64", "add", [arr([1, 2], i32), arr([0.5, 0.25], f64)]),
    ("weak_int+weak_float", "add", [Weak(2), Weak(0.5)]),
    ("weak_int*weak_int", "multiply", [Weak(6), Weak(7)]),
    ("int32<weak_float", "less", [xi, Weak(2.5)]),
    ("float32==weak_int", "equal", [arr([1.0, 2.0, 2.5], f32), Weak(2)]),
    ("maximum/int32,weak_float", "maximum", [xi, Weak(0.5)]),
    ("power/float32,weak_int", "power", [xf, Weak(2)]),
    ("power/int32,weak_int", "power", [xi, Weak(3)]),
    ("remainder/float32,weak_int", "remainder", [xf, Weak(1)]),
    ("floor_divide/int32,weak_int", "floor_divide", [xi, Weak(-4)]),
    ("floor_divide/weak_int,weak_int", "floor_divide", [Weak(7), Weak(-2)]),
    ("floor_divide/weak_float,weak_float", "floor_divide", [Weak(7.5), Weak(-2.0)]),
    ("remainder/weak_int,weak_int", "remainder", [Weak(-7), Weak(3)]),
    ("remainder/weak_float,int32", "remainder", [Weak(7.5), arr([2, -2, 0], i32)]),
    ("right_shift/int32,weak_int", "right_shift", [arr([-8, 8], i32), Weak(1)]),
]
for name, op, args in promotion:
    tol = ONE_ULP["float64" if "64" in name else "float32"] if op == "divide" else dict(rtol=0.0, atol=0.0)
    add(f"promote/{name}", op, args, BINARY[op], **tol)

# MARK: - Select, clip, clamp

cond = arr([[True, False, True], [False, False, True]], b8)
add("where/same_shape", "where", [cond, xf, -xf], jnp.where, **EXACT)
add("where/broadcast", "where", [arr([True, False, True], b8), rand((2, 3), f32, 11), arr(0.0, f32)],
    jnp.where, **EXACT)
add("where/weak_scalars", "where", [cond, Weak(1.0), Weak(-1.0)], jnp.where, **EXACT)
add("where/int_condition", "where", [arr([0, 2, -1], i32), arr([1, 2, 3], i32), arr([-1, -2, -3], i32)],
    jnp.where, **EXACT)
add("where/promote", "where", [cond, xi, xf], jnp.where, **EXACT)
add("where/column_cond", "where", [arr([[True], [False]], b8), xi, Weak(0)], jnp.where, **EXACT)
add("lax.select/float32", "lax.select", [cond, xf, -xf], lax.select, **EXACT)
add("lax.select/int32", "lax.select", [cond, xi, -xi], lax.select, **EXACT)
add("lax.select/bool", "lax.select", [cond, cond, ~cond], lax.select, **EXACT)
add("lax.select/scalar_predicate", "lax.select", [arr(False, b8), xf, -xf], lax.select, **EXACT)

cx = arr([-3.0, -1.0, -0.0, 0.5, 2.0, 7.0, nan, inf, -inf], f32)
add("clip/scalars", "clip", [cx, arr(-1.5, f32), arr(2.5, f32)],
    lambda x, lo, hi: jnp.clip(x, min=lo, max=hi), {"bounds": "both"}, **EXACT)
add("clip/min_only", "clip", [cx, arr(0.0, f32)], lambda x, lo: jnp.clip(x, min=lo), {"bounds": "min"}, **EXACT)
add("clip/max_only", "clip", [cx, arr(1.0, f32)], lambda x, hi: jnp.clip(x, max=hi), {"bounds": "max"}, **EXACT)
add("clip/weak_bounds", "clip", [cx, Weak(-1), Weak(1)],
    lambda x, lo, hi: jnp.clip(x, min=lo, max=hi), {"bounds": "both"}, **EXACT)
add("clip/arrays", "clip", [rand((2, 4), f32, 12), rand((4,), f32, 13, -2, 0), rand((2, 1), f32, 14, 0, 2)],
    lambda x, lo, hi: jnp.clip(x, min=lo, max=hi), {"bounds": "both"}, **EXACT)
add("clip/int32", "clip", [arr([-5, 0, 3, 9], i32), Weak(-1), Weak(4)],
    lambda x, lo, hi: jnp.clip(x, min=lo, max=hi), {"bounds": "both"}, **EXACT)
add("lax.clamp/float32", "lax.clamp", [arr(-1.5, f32), cx, arr(2.5, f32)], lax.clamp, **EXACT)
add("lax.clamp/arrays", "lax.clamp", [rand((5,), f32, 15, -2, 0), rand((5,), f32, 16, -3, 3), rand((5,), f32, 17, 0, 2)],
    lax.clamp, **EXACT)
add("lax.clamp/int32", "lax.clamp", [arr(-2, i32), arr([-5, -2, 0, 3, 9], i32), arr(3, i32)], lax.clamp, **EXACT)

# MARK: - Conversion

fconv = [nan, inf, -inf, 3e9, -3e9, 2147483520.0, -2147483648.0, 2.7, -2.7, -0.5, 0.5, -0.0, 4294967040.0, 5e9]
for src in (f32, f64):
    for dst in ("int32", "uint32", "bool", "float32", "float64"):
        if dst == src.__name__:
            continue
        add(f"astype/{src.__name__}_to_{dst}", "astype", [arr(fconv, src)],
            lambda x, d=dst: x.astype(d), {"dtype": dst}, **EXACT)
add("astype/float64_to_float32/rounding", "astype",
    [arr([0.1, 1 / 3, 1e39, -1e39, 1e-46, 3.4028235677973366e38, 16777217.0], f64)],
    lambda x: x.astype("float32"), {"dtype": "float32"}, **EXACT)
iconv = [0, 1, -1, 7, -(2**31), 2**31 - 1, 16777217, -16777217]
for dst in ("uint32", "float32", "float64", "bool"):
    add(f"astype/int32_to_{dst}", "astype", [arr(iconv, i32)], lambda x, d=dst: x.astype(d), {"dtype": dst}, **EXACT)
uconv = [0, 1, 7, 2**31 - 1, 2**31, 2**32 - 1, 16777217]
for dst in ("int32", "float32", "float64", "bool"):
    add(f"astype/uint32_to_{dst}", "astype", [arr(uconv, u32)], lambda x, d=dst: x.astype(d), {"dtype": dst}, **EXACT)
for dst in ("int32", "uint32", "float32", "float64"):
    add(f"astype/bool_to_{dst}", "astype", [arr([True, False], b8)], lambda x, d=dst: x.astype(d), {"dtype": dst}, **EXACT)
add("astype/weak_float_to_float32", "astype", [Weak(2.5)], lambda x: jnp.asarray(x).astype("float32"),
    {"dtype": "float32"}, **EXACT)
add("bitcast/float32_to_int32", "lax.bitcast_convert_type", [arr([1.0, -0.0, nan, inf, -2.5], f32)],
    lambda x: lax.bitcast_convert_type(x, jnp.int32), {"dtype": "int32"}, **EXACT)
add("bitcast/uint32_to_float32", "lax.bitcast_convert_type", [arr([0x3F800000, 0x80000000, 0x7F800000, 1], u32)],
    lambda x: lax.bitcast_convert_type(x, jnp.float32), {"dtype": "float32"}, **EXACT)
add("bitcast/int32_to_uint32", "lax.bitcast_convert_type", [arr([-1, 0, -(2**31)], i32)],
    lambda x: lax.bitcast_convert_type(x, jnp.uint32), {"dtype": "uint32"}, **EXACT)

# MARK: - Reductions

r3 = rand((2, 3, 4), f32, 20)
RED = {"sum": jnp.sum, "prod": jnp.prod, "max": jnp.max, "min": jnp.min, "mean": jnp.mean,
       "all": jnp.all, "any": jnp.any}
axes_list = [None, [0], [1], [-1], [0, 2], [-1, 0], [0, 1, 2], []]
for op in ("sum", "prod", "max", "min", "mean"):
    for axes in axes_list:
        for keep in (False, True):
            tag = "all" if axes is None else ",".join(map(str, axes)) or "none"
            add(f"{op}/float32/axes={tag}/keepdims={keep}", op, [r3],
                lambda x, f=RED[op], a=axes, k=keep: f(x, axis=None if a is None else tuple(a), keepdims=k),
                {"axes": axes, "keepdims": keep}, rtol=1e-6 if op in ("sum", "mean", "prod") else 0.0,
                atol=1e-7 if op in ("sum", "mean") else 0.0)
bools3 = rand((2, 3, 4), b8, 21)
for op in ("all", "any"):
    for axes in (None, [1], [-1, 0]):
        add(f"{op}/bool/axes={axes}", op, [bools3], lambda x, f=RED[op], a=axes: f(x, axis=None if a is None else tuple(a)),
            {"axes": axes, "keepdims": False}, **EXACT)
    add(f"{op}/float32/nonzero", op, [arr([[0.0, nan], [-0.0, 0.0]], f32)], lambda x, f=RED[op]: f(x, axis=1),
        {"axes": [1], "keepdims": False}, **EXACT)
    add(f"{op}/empty", op, [np.zeros((0, 3), b8)], lambda x, f=RED[op]: f(x, axis=0), {"axes": [0], "keepdims": False}, **EXACT)
ints3 = rand((3, 4), i32, 22, -50, 50)
for op in ("sum", "prod", "max", "min"):
    add(f"{op}/int32/axis1", op, [ints3], lambda x, f=RED[op]: f(x, axis=1), {"axes": [1], "keepdims": False}, **EXACT)
    add(f"{op}/uint32/all", op, [arr([3, 2**31, 2**31 + 5, 7], u32)], lambda x, f=RED[op]: f(x),
        {"axes": None, "keepdims": False}, **EXACT)
add("sum/int32/overflow", "sum", [arr([2**31 - 1, 1, 5], i32)], jnp.sum, {"axes": None, "keepdims": False}, **EXACT)
add("sum/bool", "sum", [bools3], lambda x: jnp.sum(x, axis=2), {"axes": [2], "keepdims": False}, **EXACT)
add("prod/bool", "prod", [bools3], lambda x: jnp.prod(x, axis=0), {"axes": [0], "keepdims": False}, **EXACT)
add("mean/int32", "mean", [ints3], lambda x: jnp.mean(x, axis=0), {"axes": [0], "keepdims": False})
add("mean/bool", "mean", [bools3], lambda x: jnp.mean(x), {"axes": None, "keepdims": False})
add("sum/float64", "sum", [rand((5, 7), f64, 23)], lambda x: jnp.sum(x, axis=1), {"axes": [1], "keepdims": False})
for op in ("max", "min"):
    add(f"{op}/nan_propagates", op, [arr([[1.0, nan, 3.0], [-inf, 2.0, inf]], f32)], lambda x, f=RED[op]: f(x, axis=1),
        {"axes": [1], "keepdims": False}, **EXACT)
    add(f"{op}/signed_zero", op, [arr([[0.0, -0.0], [-0.0, 0.0]], f32)], lambda x, f=RED[op]: f(x, axis=1),
        {"axes": [1], "keepdims": False}, rtol=0.0, atol=0.0)
for op in ("sum", "prod", "mean"):
    add(f"{op}/empty/all", op, [np.zeros((0,), f32)], lambda x, f=RED[op]: f(x), {"axes": None, "keepdims": False}, **EXACT)
    add(f"{op}/empty/axis1", op, [np.zeros((2, 0, 3), f32)], lambda x, f=RED[op]: f(x, axis=1, keepdims=True),
        {"axes": [1], "keepdims": True}, **EXACT)
add("sum/empty/other_axis", "sum", [np.zeros((2, 0, 3), f32)], lambda x: jnp.sum(x, axis=2),
    {"axes": [2], "keepdims": False}, **EXACT)
for op, f in (("lax.reduce_max", lax.reduce_max), ("lax.reduce_min", lax.reduce_min)):
    add(f"{op}/empty", op, [np.zeros((2, 0), f32)], lambda x, f=f: f(x, (1,)), {"axes": [1]}, **EXACT)
    add(f"{op}/empty/int32", op, [np.zeros((0, 2), i32)], lambda x, f=f: f(x, (0,)), {"axes": [0]}, **EXACT)
add("sum/large/float32", "sum", [rand((1000,), f32, 24, 0, 1)], jnp.sum, {"axes": None, "keepdims": False},
    rtol=1e-5, atol=0.0)

for op, f in (("var", jnp.var), ("std", jnp.std)):
    for axes in (None, [0], [-1], [0, 2]):
        for ddof in (0, 1):
            add(f"{op}/axes={axes}/ddof={ddof}", op, [r3],
                lambda x, f=f, a=axes, d=ddof: f(x, axis=None if a is None else tuple(a), ddof=d),
                {"axes": axes, "ddof": ddof, "keepdims": False}, rtol=1e-5, atol=1e-6)
    add(f"{op}/ddof_equals_count", op, [r3], lambda x, f=f: f(x, axis=1, ddof=3),
        {"axes": [1], "ddof": 3, "keepdims": False}, **EXACT)
    add(f"{op}/keepdims", op, [r3], lambda x, f=f: f(x, axis=1, keepdims=True),
        {"axes": [1], "ddof": 0, "keepdims": True}, rtol=1e-5, atol=1e-6)
    add(f"{op}/int32", op, [ints3], lambda x, f=f: f(x, axis=1), {"axes": [1], "ddof": 0, "keepdims": False},
        rtol=1e-5, atol=1e-6)
    add(f"{op}/float64", op, [rand((4, 6), f64, 25)], lambda x, f=f: f(x, axis=0), {"axes": [0], "ddof": 0, "keepdims": False},
        rtol=1e-12, atol=1e-14)

argx = arr([[1.0, 3.0, 3.0, -1.0], [nan, 2.0, nan, 5.0], [-inf, -inf, -inf, -inf], [0.0, -0.0, 0.0, -2.0]], f32)
for op, f in (("argmax", jnp.argmax), ("argmin", jnp.argmin)):
    for axis in (None, 0, 1, -1):
        add(f"{op}/ties_nan/axis={axis}", op, [argx], lambda x, f=f, a=axis: f(x, axis=a),
            {"axis": axis, "keepdims": False}, **EXACT)
    add(f"{op}/keepdims", op, [argx], lambda x, f=f: f(x, axis=1, keepdims=True), {"axis": 1, "keepdims": True}, **EXACT)
    add(f"{op}/keepdims/flat", op, [argx], lambda x, f=f: f(x, keepdims=True), {"axis": None, "keepdims": True}, **EXACT)
    add(f"{op}/int32", op, [ints3], lambda x, f=f: f(x, axis=0), {"axis": 0, "keepdims": False}, **EXACT)
    add(f"{op}/uint32", op, [arr([5, 2**32 - 1, 0, 2**32 - 1], u32)], lambda x, f=f: f(x), {"axis": None, "keepdims": False}, **EXACT)
    add(f"{op}/bool", op, [arr([False, True, True], b8)], lambda x, f=f: f(x), {"axis": None, "keepdims": False}, **EXACT)
    add(f"{op}/3d", op, [r3], lambda x, f=f: f(x, axis=1), {"axis": 1, "keepdims": False}, **EXACT)

cs = rand((3, 4), f32, 26)
for axis in (0, 1, -1):
    add(f"cumsum/float32/axis={axis}", "cumsum", [cs], lambda x, a=axis: jnp.cumsum(x, axis=a), {"axis": axis},
        rtol=1e-6, atol=1e-6)
add("cumsum/int32", "cumsum", [ints3], lambda x: jnp.cumsum(x, axis=1), {"axis": 1}, **EXACT)
add("cumsum/int32/overflow", "cumsum", [arr([2**31 - 1, 1, 1], i32)], lambda x: jnp.cumsum(x, axis=0), {"axis": 0}, **EXACT)
add("cumsum/bool", "cumsum", [bools3], lambda x: jnp.cumsum(x, axis=2), {"axis": 2}, **EXACT)
add("cumsum/nan_inf", "cumsum", [arr([1.0, inf, 2.0, -inf, nan, 3.0], f32)], lambda x: jnp.cumsum(x), {"axis": 0}, **EXACT)
add("cumsum/float64", "cumsum", [rand((6,), f64, 27)], lambda x: jnp.cumsum(x), {"axis": 0}, rtol=1e-15, atol=1e-15)
add("cumsum/uint32/wrap", "cumsum", [arr([2**32 - 1, 1, 5], u32)], lambda x: jnp.cumsum(x), {"axis": 0}, **EXACT)
add("cumsum/empty", "cumsum", [np.zeros((0, 2), f32)], lambda x: jnp.cumsum(x, axis=0), {"axis": 0}, **EXACT)
for axis in (0, 1):
    for rev in (False, True):
        add(f"lax.cumsum/axis={axis}/reverse={rev}", "lax.cumsum", [cs],
            lambda x, a=axis, r=rev: lax.cumsum(x, axis=a, reverse=r), {"axis": axis, "reverse": rev},
            rtol=1e-6, atol=1e-6)
add("lax.cumsum/int32/reverse", "lax.cumsum", [ints3], lambda x: lax.cumsum(x, axis=1, reverse=True),
    {"axis": 1, "reverse": True}, **EXACT)

# MARK: - Shape manipulation

s24 = np.arange(24, dtype=f32).reshape(2, 3, 4)
add("broadcast_to/vector", "broadcast_to", [arr([1, 2, 3], i32)], lambda x: jnp.broadcast_to(x, (2, 3)),
    {"shape": [2, 3]}, **EXACT)
add("broadcast_to/column", "broadcast_to", [arr([[1.0], [2.0]], f32)], lambda x: jnp.broadcast_to(x, (3, 2, 4)),
    {"shape": [3, 2, 4]}, **EXACT)
add("broadcast_to/scalar", "broadcast_to", [arr(True, b8)], lambda x: jnp.broadcast_to(x, (2, 2)), {"shape": [2, 2]}, **EXACT)
add("broadcast_to/middle", "broadcast_to", [s24[:, :1, :]], lambda x: jnp.broadcast_to(x, (2, 3, 4)), {"shape": [2, 3, 4]}, **EXACT)
add("broadcast_to/empty", "broadcast_to", [np.zeros((1, 0), f32)], lambda x: jnp.broadcast_to(x, (3, 0)), {"shape": [3, 0]}, **EXACT)
for shape in ([4, 6], [-1], [3, -1], [2, 3, 2, 2], [24, 1], [1, 2, 1, 12]):
    add(f"reshape/{shape}", "reshape", [s24], lambda x, s=shape: jnp.reshape(x, s), {"shape": shape}, **EXACT)
add("reshape/scalar", "reshape", [arr([5], i32)], lambda x: jnp.reshape(x, ()), {"shape": []}, **EXACT)
add("reshape/empty", "reshape", [np.zeros((0, 4), f32)], lambda x: jnp.reshape(x, (-1, 2)), {"shape": [-1, 2]}, **EXACT)
for axes in (None, [0, 2, 1], [2, 0, 1], [1, 0, 2], [-1, 0, 1]):
    add(f"transpose/{axes}", "transpose", [s24], lambda x, a=axes: jnp.transpose(x, a), {"axes": axes}, **EXACT)
add("transpose/2d", "transpose", [arr([[1, 2, 3], [4, 5, 6]], u32)], jnp.transpose, {"axes": None}, **EXACT)
for axes in (None, [0], [1], [-1], [0, 2]):
    add(f"flip/{axes}", "flip", [s24], lambda x, a=axes: jnp.flip(x, None if a is None else tuple(a)), {"axes": axes}, **EXACT)
add("squeeze/all", "squeeze", [np.zeros((1, 3, 1, 2), f32) + 1], jnp.squeeze, {"axes": None}, **EXACT)
add("squeeze/axis", "squeeze", [np.arange(6, dtype=i32).reshape(1, 3, 1, 2)], lambda x: jnp.squeeze(x, axis=(-2,)),
    {"axes": [-2]}, **EXACT)
for axis in (0, 2, -1, -3):
    add(f"expand_dims/{axis}", "expand_dims", [np.arange(6, dtype=i32).reshape(2, 3)],
        lambda x, a=axis: jnp.expand_dims(x, a), {"axis": axis}, **EXACT)
add("swapaxes", "swapaxes", [s24], lambda x: jnp.swapaxes(x, 0, -1), {"axis1": 0, "axis2": -1}, **EXACT)
add("moveaxis", "moveaxis", [s24], lambda x: jnp.moveaxis(x, 0, 2), {"source": 0, "destination": 2}, **EXACT)
add("moveaxis/negative", "moveaxis", [s24], lambda x: jnp.moveaxis(x, -1, 0), {"source": -1, "destination": 0}, **EXACT)

# MARK: - Indexing

def index_tuple(items, arrays):
    out = []
    for it in items:
        kind = it["kind"]
        if kind == "index":
            out.append(it["i"])
        elif kind == "slice":
            out.append(slice(it.get("start"), it.get("stop"), it.get("step")))
        elif kind == "newaxis":
            out.append(None)
        elif kind == "ellipsis":
            out.append(Ellipsis)
        elif kind == "array":
            out.append(arrays[it["arg"]])
        else:
            raise ValueError(kind)
    return tuple(out)


def I(i):
    return {"kind": "index", "i": i}


def S(start=None, stop=None, step=None):
    return {"kind": "slice", "start": start, "stop": stop, "step": step}


def A(k):
    return {"kind": "array", "arg": k}


NEW, ELL = {"kind": "newaxis"}, {"kind": "ellipsis"}
x456 = np.arange(120, dtype=f32).reshape(4, 5, 6)
idx = arr([0, -1, 2], i32)
idx2 = arr([[1, 3], [0, -2]], i32)
index_cases = [
    ("int", [I(1)], []),
    ("negative_int", [I(-1), I(2)], []),
    ("slice", [S(1, 3)], []),
    ("slice_negative_bounds", [S(-3, -1), S(None, -2)], []),
    ("reverse", [S(None, None, -1)], []),
    ("negative_step", [S(None, None, -2), S(1, None, 2)], []),
    ("negative_step_bounds", [I(0), S(4, 0, -1), S(-1, 1, -3)], []),
    ("empty_slice", [S(1, 1)], []),
    ("empty_negative_step", [S(0, 3, -1)], []),
    ("out_of_range_slice", [S(-100, 100), S(3, 100, 2)], []),
    ("newaxis_ellipsis", [NEW, ELL, I(0)], []),
    ("ellipsis_middle", [I(1), ELL, S(None, None, -3)], []),
    ("newaxis_between", [S(0, 2), NEW, I(3), NEW], []),
    ("array", [A(0)], [idx]),
    ("array_axis1", [S(), A(0)], [idx]),
    ("array_last", [ELL, A(0)], [idx]),
    ("array_2d", [A(0)], [idx2]),
    ("arrays_adjacent", [A(0), A(1)], [idx, arr([4, 0, -5], i32)]),
    ("arrays_adjacent_later", [S(), A(0), A(1)], [idx, arr([5, 0, -6], i32)]),
    ("arrays_separated", [A(0), S(), A(1)], [idx, arr([5, 0, -6], i32)]),
    ("arrays_broadcast", [A(0), A(1)], [arr([[0], [3]], i32), arr([1, 2, 4], i32)]),
    ("array_and_slice", [S(1, 3), A(0)], [idx]),
    ("array_and_int_adjacent", [S(), A(0), I(2)], [idx]),
    ("int_and_array_separated", [I(0), S(), A(0)], [idx]),
    ("array_and_int_separated", [A(0), S(), I(-1)], [idx]),
    ("array_uint32", [A(0)], [arr([3, 0], u32)]),
    ("array_out_of_bounds_clamped", [A(0)], [arr([7, -9], i32)]),
    ("array_scalar", [A(0)], [arr(2, i32)]),
    ("array_newaxis", [NEW, A(0)], [idx]),
    ("array_with_negative_step", [S(None, None, -1), A(0)], [idx]),
]
for name, items, arrays in index_cases:
    add(f"index/{name}", "index", [x456] + arrays,
        lambda x, *ar, it=items: x[index_tuple(it, ar)], {"items": items}, **EXACT)
add("index/bool_mask", "index", [x456[:, :, 0], arr([[True, False, True, False, False]] * 2 + [[False] * 5] * 2, b8)],
    lambda x, m: x[np.asarray(m)], {"items": [A(0)]}, **EXACT)
add("index/bool_mask_axis1", "index", [x456, arr([False, True, True, False, True], b8)],
    lambda x, m: x[:, np.asarray(m)], {"items": [S(), A(0)]}, **EXACT)
# In-bounds indices only: out of bounds, jnp.take fills with NaN where Flock clamps.
add("take/axis1", "take", [x456, arr([[0, 4], [-1, 2]], i32)], lambda x, i: jnp.take(x, i, axis=1),
    {"axis": 1}, **EXACT)

# MARK: - Joining, splitting, padding

a23, b23 = np.arange(6, dtype=f32).reshape(2, 3), -np.arange(6, dtype=f32).reshape(2, 3)
add("concatenate/axis0", "concatenate", [a23, b23, a23[:1]], lambda *x: jnp.concatenate(x, axis=0), {"axis": 0}, **EXACT)
add("concatenate/axis-1", "concatenate", [a23, b23[:, :1]], lambda *x: jnp.concatenate(x, axis=-1), {"axis": -1}, **EXACT)
add("concatenate/promote", "concatenate", [arr([1, 2], i32), arr([0.5], f32), arr([True], b8)],
    lambda *x: jnp.concatenate(x), {"axis": 0}, **EXACT)
add("concatenate/empty_part", "concatenate", [a23, np.zeros((0, 3), f32)], lambda *x: jnp.concatenate(x), {"axis": 0}, **EXACT)
for axis in (0, 1, 2, -1):
    add(f"stack/axis={axis}", "stack", [a23, b23], lambda *x, a=axis: jnp.stack(x, axis=a), {"axis": axis}, **EXACT)
add("stack/scalars", "stack", [arr(1, i32), arr(2, i32), arr(3, i32)], lambda *x: jnp.stack(x), {"axis": 0}, **EXACT)
add("split/sections", "split", [s24], lambda x: jnp.split(x, 2, axis=2), {"sections": 2, "axis": 2}, **EXACT)
add("split/indices", "split", [s24], lambda x: jnp.split(x, [1, 3], axis=-1), {"indices": [1, 3], "axis": -1}, **EXACT)
add("split/empty_parts", "split", [np.arange(6, dtype=i32)], lambda x: jnp.split(x, [0, 6]),
    {"indices": [0, 6], "axis": 0}, **EXACT)

for widths, value in ((((1, 2), (0, 3)), 0.0), (((0, 0), (2, 2)), -1.5), (((3, 0), (0, 1)), nan)):
    add(f"pad/{widths}/{value}", "pad", [a23], lambda x, w=widths, v=value: jnp.pad(x, w, constant_values=v),
        {"widths": [list(w) for w in widths], "value": value}, **EXACT)
add("pad/int32", "pad", [arr([[1, 2], [3, 4]], i32)], lambda x: jnp.pad(x, ((1, 1), (1, 0)), constant_values=7),
    {"widths": [[1, 1], [1, 0]], "value": 7}, **EXACT)
add("pad/empty", "pad", [np.zeros((0, 2), f32)], lambda x: jnp.pad(x, ((1, 1), (0, 0))), {"widths": [[1, 1], [0, 0]], "value": 0}, **EXACT)
for low, high, interior in (([1, 0], [0, 2], [1, 0]), ([-1, 1], [1, -1], [0, 2]), ([0, -2], [-1, 0], [2, 1])):
    add(f"lax.pad/{low}/{high}/{interior}", "lax.pad", [a23, arr(9.0, f32)],
        lambda x, v, l=low, h=high, i=interior: lax.pad(x, v, list(zip(l, h, i))),
        {"low": low, "high": high, "interior": interior}, **EXACT)

add("lax.slice/strides", "lax.slice", [s24], lambda x: lax.slice(x, (0, 1, 0), (2, 3, 4), (1, 1, 3)),
    {"start": [0, 1, 0], "limit": [2, 3, 4], "strides": [1, 1, 3]}, **EXACT)
# Non-negative starts: lax.dynamic_slice wraps negative starts in Python before
# binding the primitive, which (like Flock's) only clamps.
add("lax.dynamic_slice/clamped", "lax.dynamic_slice", [s24, arr(1, i32), arr(2, i32), arr(3, i32)],
    lambda x, *s: lax.dynamic_slice(x, s, (1, 2, 2)), {"sizes": [1, 2, 2]}, **EXACT)
add("lax.dynamic_update_slice/clamped", "lax.dynamic_update_slice",
    [s24, -np.ones((1, 2, 3), f32), arr(5, i32), arr(1, i32), arr(2, i32)],
    lambda x, u, *s: lax.dynamic_update_slice(x, u, s), {}, **EXACT)

# MARK: - Creation

for dt in ("int32", "float32", "uint32"):
    add(f"lax.iota/{dt}", "lax.iota", [], lambda d=dt: lax.iota(d, 5), {"dtype": dt, "shape": [5], "dimension": 0}, **EXACT)
add("lax.broadcasted_iota", "lax.iota", [], lambda: lax.broadcasted_iota("int32", (2, 3, 4), 1),
    {"dtype": "int32", "shape": [2, 3, 4], "dimension": 1}, **EXACT)
add("lax.iota/float64", "lax.iota", [], lambda: lax.broadcasted_iota("float64", (3, 2), 0),
    {"dtype": "float64", "shape": [3, 2], "dimension": 0}, **EXACT)
for start, stop, step, dt in ((0, 10, 1, None), (2, -7, -3, None), (0.5, 3, 0.5, None), (1, 2, 0.1, None),
                              (0, 5, 1, "float32"), (10, 3, 1, None), (-1.5, 1.5, 0.25, "float64"), (0, 1, 0.3, None)):
    add(f"arange/{start}/{stop}/{step}/{dt}", "arange", [],
        lambda s=start, e=stop, st=step, d=dt: jnp.arange(s, e, st, dtype=d),
        {"start": start, "stop": stop, "step": step, "dtype": dt}, rtol=1e-6 if dt != "float64" else 1e-15, atol=1e-7)
add("arange/stop_only", "arange", [], lambda: jnp.arange(7), {"stop": 7}, **EXACT)
for start, stop, num, endpoint, dt in ((0, 1, 5, True, "float32"), (-2, 3, 7, False, "float32"), (1, 10, 1, True, "float32"),
                                      (1, 10, 0, True, "float32"), (0, 1, 11, True, "float64"), (5, -5, 4, True, "float32"),
                                      (0, 10, 6, True, "int32")):
    add(f"linspace/{start}/{stop}/{num}/{endpoint}/{dt}", "linspace", [],
        lambda s=start, e=stop, n=num, ep=endpoint, d=dt: jnp.linspace(s, e, n, endpoint=ep, dtype=d),
        {"start": start, "stop": stop, "num": num, "endpoint": endpoint, "dtype": dt},
        rtol=1e-6 if dt != "float64" else 1e-15, atol=1e-7 if dt != "float64" else 1e-15)
for n, m, k, dt in ((3, None, 0, "float32"), (3, 5, 1, "float32"), (4, 2, -1, "int32"), (2, 3, 5, "bool"), (3, 3, -2, "float64")):
    add(f"eye/{n}/{m}/{k}/{dt}", "eye", [], lambda n=n, m=m, k=k, d=dt: jnp.eye(n, m, k, dtype=d),
        {"n": n, "m": m, "k": k, "dtype": dt}, **EXACT)
for fn, f in (("zeros", jnp.zeros), ("ones", jnp.ones)):
    for dt in ("float32", "int32", "bool", "uint32"):
        add(f"{fn}/{dt}", fn, [], lambda f=f, d=dt: f((2, 3), dtype=d), {"shape": [2, 3], "dtype": dt}, **EXACT)
add("full/float32", "full", [], lambda: jnp.full((2, 2), 7.5, dtype="float32"), {"shape": [2, 2], "value": 7.5, "dtype": "float32"}, **EXACT)
add("full/int32", "full", [], lambda: jnp.full((3,), -4, dtype="int32"), {"shape": [3], "value": -4, "dtype": "int32"}, **EXACT)
add("full/empty", "full", [], lambda: jnp.full((0, 2), 1.0, dtype="float32"), {"shape": [0, 2], "value": 1.0, "dtype": "float32"}, **EXACT)

# MARK: - Linear algebra

MM = dict(rtol=2e-6, atol=2e-6)
mm_cases = [
    ("vec_vec", rand((5,), f32, 30), rand((5,), f32, 31)),
    ("vec_mat", rand((4,), f32, 32), rand((4, 3), f32, 33)),
    ("mat_vec", rand((3, 4), f32, 34), rand((4,), f32, 35)),
    ("mat_mat", rand((3, 4), f32, 36), rand((4, 5), f32, 37)),
    ("batched", rand((2, 3, 4), f32, 38), rand((2, 4, 5), f32, 39)),
    ("batched_broadcast", rand((2, 1, 3, 4), f32, 40), rand((5, 4, 2), f32, 41)),
    ("batched_rhs_2d", rand((2, 3, 4), f32, 42), rand((4, 2), f32, 43)),
    ("vec_batched", rand((4,), f32, 44), rand((3, 4, 2), f32, 45)),
    ("batched_vec", rand((3, 2, 4), f32, 46), rand((4,), f32, 47)),
    ("empty_contraction", np.zeros((2, 0), f32), np.zeros((0, 3), f32)),
    ("int32", rand((2, 3), i32, 48, -5, 5), rand((3, 2), i32, 49, -5, 5)),
    ("int32_float32", rand((2, 3), i32, 50, -5, 5), rand((3, 2), f32, 51)),
    ("float64", rand((3, 4), f64, 52), rand((4, 2), f64, 53)),
    ("uint32", rand((2, 3), u32, 56, 0, 9), rand((3, 4), u32, 57, 0, 9)),
    ("bool", rand((2, 3), b8, 58), rand((3, 2), b8, 59)),
    ("large", rand((33, 70), f32, 54), rand((70, 17), f32, 55)),
]
for name, a, b in mm_cases:
    tol = EXACT if a.dtype.kind in "iub" and b.dtype.kind in "iub" else (dict(rtol=1e-13, atol=1e-14) if a.dtype == f64 else MM)
    add(f"matmul/{name}", "matmul", [a, b], jnp.matmul, **tol)
add("dot/scalar", "dot", [arr(2.0, f32), rand((2, 3), f32, 56)], jnp.dot, **EXACT)
add("dot/mat_mat", "dot", [rand((2, 3), f32, 57), rand((3, 2), f32, 58)], jnp.dot, **MM)
add("dot/vec_vec", "dot", [rand((6,), f32, 59), rand((6,), f32, 60)], jnp.dot, **MM)
add("outer", "outer", [rand((3,), f32, 61), rand((4,), f32, 62)], jnp.outer, **EXACT)
add("inner/2d", "inner", [rand((2, 3), f32, 63), rand((4, 3), f32, 64)], jnp.inner, **MM)
add("inner/3d_1d", "inner", [rand((2, 2, 3), f32, 65), rand((3,), f32, 66)], jnp.inner, **MM)
add("inner/scalar", "inner", [arr(1.5, f32), rand((3,), f32, 67)], jnp.inner, **EXACT)

dg_cases = [
    ("plain", (3, 4), (4, 5), (([1], [0]), ([], []))),
    ("lhs_transposed", (4, 3), (4, 5), (([0], [0]), ([], []))),
    ("rhs_transposed", (3, 4), (5, 4), (([1], [1]), ([], []))),
    ("both_transposed", (4, 3), (5, 4), (([0], [1]), ([], []))),
    ("batch_leading", (2, 3, 4), (2, 4, 5), (([2], [1]), ([0], [0]))),
    ("batch_middle", (3, 2, 4), (4, 2, 5), (([2], [0]), ([1], [1]))),
    ("batch_trailing_transposed", (4, 3, 2), (5, 4, 2), (([0], [1]), ([2], [2]))),
    ("two_contracting", (2, 3, 4), (4, 3, 5), (([1, 2], [1, 0]), ([], []))),
    ("outer_product", (3,), (4,), (([], []), ([], []))),
    ("two_batch", (2, 3, 4, 5), (3, 2, 5, 6), (([3], [2]), ([0, 1], [1, 0]))),
    ("free_dims_only_batch", (2, 3), (2, 4), (([], []), ([0], [0]))),
]
for i, (name, sa_, sb_, dn) in enumerate(dg_cases):
    (lc, rc), (lb, rb) = dn
    add(f"lax.dot_general/{name}", "lax.dot_general", [rand(sa_, f32, 70 + i), rand(sb_, f32, 90 + i)],
        lambda a, b, d=dn: lax.dot_general(a, b, d),
        {"lhs_contracting": lc, "rhs_contracting": rc, "lhs_batch": lb, "rhs_batch": rb}, **MM)
add("lax.dot_general/int32", "lax.dot_general", [rand((2, 3, 4), i32, 110, -9, 9), rand((2, 4), i32, 111, -9, 9)],
    lambda a, b: lax.dot_general(a, b, (([2], [1]), ([0], [0]))),
    {"lhs_contracting": [2], "rhs_contracting": [1], "lhs_batch": [0], "rhs_batch": [0]}, **EXACT)

conv_cases = [
    # name, lhs shape, rhs shape, strides, padding, lhs_dilation, rhs_dilation, groups
    ("1d/valid", (2, 3, 10), (4, 3, 3), (1,), "VALID", (1,), (1,), 1),
    ("1d/same", (2, 3, 10), (4, 3, 3), (1,), "SAME", (1,), (1,), 1),
    ("1d/same_even_kernel", (1, 2, 9), (3, 2, 4), (1,), "SAME", (1,), (1,), 1),
    ("1d/stride2_same", (2, 3, 11), (4, 3, 3), (2,), "SAME", (1,), (1,), 1),
    ("1d/explicit", (1, 2, 7), (2, 2, 3), (1,), ((2, 1),), (1,), (1,), 1),
    ("1d/negative_padding", (1, 2, 9), (2, 2, 2), (1,), ((-1, 2),), (1,), (1,), 1),
    ("1d/rhs_dilation", (2, 2, 12), (3, 2, 3), (1,), "VALID", (1,), (2,), 1),
    ("1d/lhs_dilation", (1, 2, 5), (3, 2, 3), (1,), ((2, 2),), (2,), (1,), 1),
    ("1d/groups", (2, 4, 8), (6, 2, 3), (1,), "SAME", (1,), (1,), 2),
    ("1d/depthwise", (1, 3, 8), (3, 1, 3), (2,), "VALID", (1,), (1,), 3),
    ("2d/valid", (2, 3, 6, 5), (4, 3, 3, 2), (1, 1), "VALID", (1, 1), (1, 1), 1),
    ("2d/same_strided", (1, 2, 7, 8), (3, 2, 3, 3), (2, 3), "SAME", (1, 1), (1, 1), 1),
    ("2d/explicit", (1, 2, 5, 5), (2, 2, 2, 3), (1, 2), ((1, 0), (2, 1)), (1, 1), (1, 1), 1),
    ("2d/dilations", (1, 2, 6, 6), (2, 2, 2, 2), (1, 1), ((1, 1), (0, 1)), (2, 1), (1, 2), 1),
    ("2d/groups", (2, 6, 5, 4), (4, 3, 2, 2), (1, 1), "SAME", (1, 1), (1, 1), 2),
    ("2d/stride_dilation", (1, 1, 9, 9), (1, 1, 3, 3), (2, 2), "VALID", (1, 1), (2, 2), 1),
]
for i, (name, ls, rs, st, pad, ld, rd, g) in enumerate(conv_cases):
    add(f"lax.conv_general_dilated/{name}", "lax.conv_general_dilated", [rand(ls, f32, 120 + i), rand(rs, f32, 150 + i)],
        lambda a, b, st=st, pad=pad, ld=ld, rd=rd, g=g: lax.conv_general_dilated(
            a, b, st, pad, lhs_dilation=ld, rhs_dilation=rd, feature_group_count=g),
        {"strides": list(st), "padding": pad if isinstance(pad, str) else [list(p) for p in pad],
         "lhs_dilation": list(ld), "rhs_dilation": list(rd), "feature_group_count": g}, rtol=1e-5, atol=1e-5)
add("lax.conv_general_dilated/float64", "lax.conv_general_dilated", [rand((1, 2, 6), f64, 180), rand((2, 2, 3), f64, 181)],
    lambda a, b: lax.conv_general_dilated(a, b, (1,), "SAME"),
    {"strides": [1], "padding": "SAME", "lhs_dilation": [1], "rhs_dilation": [1], "feature_group_count": 1},
    rtol=1e-13, atol=1e-14)

# MARK: - Sorting

sx = arr([3.0, nan, -1.0, 3.0, -inf, 0.0, -0.0, inf, 2.0, -nan, -1.0], f32)
add("sort/nan_inf", "sort", [sx], jnp.sort, {"axis": -1}, **EXACT)
add("argsort/nan_ties", "argsort", [sx], jnp.argsort, {"axis": -1, "descending": False}, **EXACT)
add("argsort/descending", "argsort", [sx], lambda x: jnp.argsort(x, descending=True), {"axis": -1, "descending": True}, **EXACT)
s2 = arr([[3, 1, 2, 1], [0, 0, -5, 7], [2, 9, 2, 2]], i32)
for axis in (0, 1, -1):
    add(f"sort/int32/axis={axis}", "sort", [s2], lambda x, a=axis: jnp.sort(x, axis=a), {"axis": axis}, **EXACT)
    add(f"argsort/int32/axis={axis}", "argsort", [s2], lambda x, a=axis: jnp.argsort(x, axis=a),
        {"axis": axis, "descending": False}, **EXACT)
add("argsort/int32/descending_ties", "argsort", [s2], lambda x: jnp.argsort(x, axis=1, descending=True),
    {"axis": 1, "descending": True}, **EXACT)
add("sort/uint32", "sort", [arr([2**32 - 1, 0, 2**31, 5], u32)], jnp.sort, {"axis": -1}, **EXACT)
add("sort/bool", "sort", [arr([True, False, True, False], b8)], jnp.sort, {"axis": -1}, **EXACT)
add("sort/float64", "sort", [arr([0.5, nan, -2.0, 1e-300, -inf], f64)], jnp.sort, {"axis": -1}, **EXACT)
add("sort/3d_axis1", "sort", [rand((2, 5, 3), f32, 190)], lambda x: jnp.sort(x, axis=1), {"axis": 1}, **EXACT)
add("lax.sort/one_key", "lax.sort", [arr([3, 1, 3, 2, 1], i32), arr([0.5, 1.5, 2.5, 3.5, 4.5], f32)],
    lambda k, v: lax.sort((k, v), num_keys=1), {"dimension": -1, "num_keys": 1}, **EXACT)
add("lax.sort/two_keys", "lax.sort", [arr([1, 0, 1, 0, 1], i32), arr([2.0, 5.0, 1.0, 5.0, nan], f32),
                                      arr([10, 11, 12, 13, 14], i32)],
    lambda a, b, c: lax.sort((a, b, c), num_keys=2), {"dimension": -1, "num_keys": 2}, **EXACT)
add("lax.sort/axis0", "lax.sort", [s2, s2 * 10], lambda a, b: lax.sort((a, b), dimension=0, num_keys=1),
    {"dimension": 0, "num_keys": 1}, **EXACT)

# MARK: - Gather and scatter-add (explicit dimension numbers)

g_operand = np.arange(20, dtype=f32).reshape(4, 5)
gather_cases = [
    ("rows", g_operand, arr([[2], [0], [3]], i32), dict(offset_dims=(1,), collapsed_slice_dims=(0,), start_index_map=(0,)), (1, 5)),
    ("columns", g_operand, arr([[4], [1]], i32), dict(offset_dims=(0,), collapsed_slice_dims=(1,), start_index_map=(1,)), (4, 1)),
    ("points", g_operand, arr([[1, 2], [3, 4], [0, 0]], i32), dict(offset_dims=(), collapsed_slice_dims=(0, 1), start_index_map=(0, 1)), (1, 1)),
    ("windows_clamped", g_operand, arr([[1, 3], [3, 4], [-2, 0]], i32), dict(offset_dims=(1, 2), collapsed_slice_dims=(), start_index_map=(0, 1)), (2, 3)),
    ("reversed_index_map", g_operand, arr([[4, 0], [2, 3]], i32), dict(offset_dims=(), collapsed_slice_dims=(0, 1), start_index_map=(1, 0)), (1, 1)),
    ("batched_indices", np.arange(24, dtype=f32).reshape(2, 3, 4), arr([[[0], [2]], [[1], [1]]], i32),
     dict(offset_dims=(2, 3), collapsed_slice_dims=(1,), start_index_map=(1,)), (2, 1, 4)),
    ("operand_batching", np.arange(24, dtype=f32).reshape(2, 3, 4), arr([[[2], [0]], [[1], [2]]], i32),
     dict(offset_dims=(2,), collapsed_slice_dims=(1,), start_index_map=(1,), operand_batching_dims=(0,), start_indices_batching_dims=(0,)), (1, 1, 4)),
    ("int32_operand", np.arange(12, dtype=i32).reshape(3, 4), arr([[2], [1]], i32), dict(offset_dims=(1,), collapsed_slice_dims=(0,), start_index_map=(0,)), (1, 4)),
]
for name, operand, indices, dn, sizes in gather_cases:
    add(f"lax.gather/{name}", "lax.gather", [operand, indices],
        lambda o, i, dn=dn, sz=sizes: lax.gather(o, i, lax.GatherDimensionNumbers(**dn), sz, mode=lax.GatherScatterMode.CLIP),
        {**{k: list(v) for k, v in dn.items()}, "slice_sizes": list(sizes)}, **EXACT)

scatter_cases = [
    ("rows_duplicates", np.zeros((4, 3), f32), arr([[1], [3], [1], [7]], i32), rand((4, 3), f32, 200),
     dict(update_window_dims=(1,), inserted_window_dims=(0,), scatter_dims_to_operand_dims=(0,))),
    ("points", np.ones((3, 4), f32), arr([[0, 1], [2, 3], [0, 1], [-1, 0]], i32), arr([1.5, 2.5, 4.0, 8.0], f32),
     dict(update_window_dims=(), inserted_window_dims=(0, 1), scatter_dims_to_operand_dims=(0, 1))),
    ("windows_partly_out_of_bounds", np.zeros((4, 5), f32), arr([[0, 0], [3, 3], [2, 4]], i32), rand((3, 2, 2), f32, 201),
     dict(update_window_dims=(1, 2), inserted_window_dims=(), scatter_dims_to_operand_dims=(0, 1))),
    ("int32", np.zeros((5,), i32), arr([[0], [4], [0], [2]], i32), arr([1, 2, 3, 2**31 - 1], i32),
     dict(update_window_dims=(), inserted_window_dims=(0,), scatter_dims_to_operand_dims=(0,))),
    ("operand_batching", np.zeros((2, 3, 2), f32), arr([[[2], [2]], [[0], [1]]], i32), rand((2, 2, 2), f32, 202),
     dict(update_window_dims=(2,), inserted_window_dims=(1,), scatter_dims_to_operand_dims=(1,), operand_batching_dims=(0,), scatter_indices_batching_dims=(0,))),
]
for name, operand, indices, updates, dn in scatter_cases:
    add(f"lax.scatter_add/{name}", "lax.scatter_add", [operand, indices, updates],
        lambda o, i, u, dn=dn: lax.scatter_add(o, i, u, lax.ScatterDimensionNumbers(**dn), mode=lax.GatherScatterMode.FILL_OR_DROP),
        {k: list(v) for k, v in dn.items()}, rtol=1e-6, atol=1e-7)

# MARK: - Neural-network functions

nn_x = rand((3, 5), f32, 210, -4, 4)
nn_edge = arr([[-inf, 0.0, 1.0, 2.0], [-inf, -inf, -inf, -inf], [1000.0, 1000.0, -1000.0, 0.0], [nan, 1.0, 2.0, 3.0]], f32)
for axis in (-1, 0):
    add(f"softmax/axis={axis}", "softmax", [nn_x], lambda x, a=axis: jax.nn.softmax(x, axis=a), {"axis": axis})
    add(f"log_softmax/axis={axis}", "log_softmax", [nn_x], lambda x, a=axis: jax.nn.log_softmax(x, axis=a), {"axis": axis})
add("softmax/edge", "softmax", [nn_edge], lambda x: jax.nn.softmax(x, axis=-1), {"axis": -1})
add("log_softmax/edge", "log_softmax", [nn_edge[[0, 2]]], lambda x: jax.nn.log_softmax(x, axis=-1), {"axis": -1})
add("softmax/float64", "softmax", [rand((2, 4), f64, 211)], lambda x: jax.nn.softmax(x, axis=-1), {"axis": -1})
for axes in (None, [1], [0], [-1, 0]):
    for keep in (False, True):
        add(f"logsumexp/axes={axes}/keepdims={keep}", "logsumexp", [nn_x],
            lambda x, a=axes, k=keep: jax.nn.logsumexp(x, axis=None if a is None else tuple(a), keepdims=k),
            {"axes": axes, "keepdims": keep})
add("logsumexp/edge", "logsumexp", [nn_edge], lambda x: jax.nn.logsumexp(x, axis=1), {"axes": [1], "keepdims": False})
add("logsumexp/plus_inf", "logsumexp", [arr([[inf, 1.0], [inf, -inf]], f32)], lambda x: jax.nn.logsumexp(x, axis=1),
    {"axes": [1], "keepdims": False})
act_x = np.concatenate([np.linspace(-10, 10, 41, dtype=f32), arr([-0.0, 1e-8, -100.0, 100.0, nan, inf, -inf], f32)])
for name, f, params in (("relu", jax.nn.relu, {}), ("gelu/tanh", lambda x: jax.nn.gelu(x, approximate=True), {"approximate": True}),
                        ("gelu/erf", lambda x: jax.nn.gelu(x, approximate=False), {"approximate": False}),
                        ("softplus", jax.nn.softplus, {}), ("silu", jax.nn.silu, {}), ("sigmoid/nn", jax.nn.sigmoid, {})):
    fn = name.split("/")[0]
    add(f"{name}/float32", fn, [act_x], f, params, rtol=4e-6, atol=1e-6)
    add(f"{name}/float64", fn, [act_x.astype(f64)], f, params, rtol=1e-13, atol=1e-14)
for approximate in (True, False):
    mode = "tanh" if approximate else "erf"
    # Jitted, as jax.nn.gelu itself is: XLA's fused rounding (op by op, JAX's
    # derivative differs from it by 7% at x = -4.5 in float32).
    g = jax.jit(jax.vmap(jax.grad(lambda x, a=approximate: jax.nn.gelu(x, approximate=a))))
    add(f"gelu_grad/{mode}/float32", "gelu_grad", [act_x], g, {"approximate": approximate}, rtol=4e-6, atol=1e-6)
    add(f"gelu_grad/{mode}/float64", "gelu_grad", [act_x.astype(f64)], g, {"approximate": approximate}, rtol=1e-13, atol=1e-14)
add("gelu/tanh/matrix", "gelu", [rand((3, 5), f32, 212, -4.0, 4.0)], lambda x: jax.nn.gelu(x), {"approximate": True})
add("gelu/erf/matrix", "gelu", [rand((3, 5), f32, 213, -4.0, 4.0)], lambda x: jax.nn.gelu(x, approximate=False), {"approximate": False})
add("relu/int32", "relu", [arr([-3, 0, 4], i32)], jax.nn.relu, **EXACT)
add("one_hot", "one_hot", [arr([0, 2, -1, 3, 1], i32)], lambda x: jax.nn.one_hot(x, 3), {"num_classes": 3, "dtype": "float32"}, **EXACT)

# MARK: - Printing (repr)


def repr_case(name, value):
    a = np.asarray(value) if not isinstance(value, Weak) else value
    wide = not isinstance(a, Weak) and a.dtype == f64
    with x64(wide):
        j = jnp.asarray(a.value) if isinstance(a, Weak) else jnp.asarray(a)
        text = repr(j)
    if name in NAMES:
        raise ValueError(name)
    NAMES.add(name)
    CASES.append({"name": f"repr/{name}", "fn": "repr", "args": [a.encode() if isinstance(a, Weak) else encode(a)],
                  "params": {"expected": text}, "out": [], "rtol": 0.0, "atol": 0.0})


repr_case("float32/vector", arr([1.0, 2.0, 3.0], f32))
repr_case("float32/fractions", arr([0.1, 0.25, 1 / 3, -2.5], f32))
repr_case("float32/scalar", arr(2.5, f32))
repr_case("float32/negative_zero", arr(-0.0, f32))
repr_case("float32/specials", arr([nan, inf, -inf, -1.5], f32))
repr_case("float32/small_exponent", arr([1e-5, 1.0], f32))
repr_case("float32/specials_exponent", arr([nan, 1e-5, -inf, 1.0], f32))
repr_case("float32/only_specials", arr([nan, -inf], f32))
repr_case("float32/nan_scalar", arr(nan, f32))
repr_case("float32/specials_matrix", arr([[nan, 1.25], [inf, -2.0]], f32))
repr_case("float32/large_exponent", arr([1e20, -3.0], f32))
repr_case("float32/wide_range", arr([1.0, 12345.678], f32))
repr_case("float32/matrix", np.arange(6, dtype=f32).reshape(2, 3) / 4)
repr_case("float32/3d", np.zeros((2, 2, 2), f32))
repr_case("float32/3d_values", np.arange(12, dtype=f32).reshape(2, 3, 2) - 5.5)
repr_case("float32/4d", np.arange(8, dtype=f32).reshape(2, 1, 2, 2))
repr_case("float32/long_row", np.arange(30, dtype=f32) * 1.5)
repr_case("float32/long_matrix", np.linspace(-1, 1, 40, dtype=f32).reshape(2, 20))
repr_case("float32/empty", np.zeros((0,), f32))
repr_case("float32/empty_2d", np.zeros((2, 0), f32))
repr_case("float32/pi", arr([np.pi, -np.e, 100.0], f32))
repr_case("float32/integers_large", arr([1e16, 1.0], f32))
repr_case("float32/tiny", arr([1e-10, 2e-10], f32))
repr_case("float64/vector", arr([0.1, 1 / 3, 2.0], f64))
repr_case("float64/scalar", arr(1 / 3, f64))
repr_case("int32/vector", arr([1, -20, 300], i32))
repr_case("int32/matrix", np.arange(6, dtype=i32).reshape(2, 3))
repr_case("int32/scalar", arr(7, i32))
repr_case("int32/extremes", arr([2**31 - 1, -(2**31)], i32))
repr_case("int32/long_row", np.arange(40, dtype=i32) * 1000)
repr_case("int32/last_line_full", np.arange(26, dtype=i32) * 10)
repr_case("int32/3d_long_rows", np.arange(60, dtype=i32).reshape(2, 2, 15) * 1000)
repr_case("float32/long_row_3d", np.linspace(-1, 1, 36, dtype=f32).reshape(2, 1, 18))
repr_case("uint32/vector", arr([0, 2**32 - 1], u32))
repr_case("bool/vector", arr([True, False, True], b8))
repr_case("bool/scalar", arr(False, b8))
repr_case("bool/matrix", arr([[True, False], [False, True]], b8))
repr_case("weak/float", Weak(2.0))
repr_case("weak/float_fraction", Weak(0.1))
repr_case("weak/int", Weak(3))
repr_case("weak/negative_int", Weak(-12))

# Summarised printing (numpy's threshold 1000, three edge items, "...").
repr_case("summary/float32_1001", np.arange(1001, dtype=f32) * 0.5)
repr_case("summary/float32_1000_not_summarised", np.arange(1000, dtype=f32))
repr_case("summary/int32_2000", np.arange(2000, dtype=i32) - 1000)
repr_case("summary/matrix_40x30", np.arange(1200, dtype=f32).reshape(40, 30) / 8)
repr_case("summary/matrix_5x250", np.arange(1250, dtype=i32).reshape(5, 250))
repr_case("summary/matrix_250x5", np.arange(1250, dtype=i32).reshape(250, 5))
repr_case("summary/3d_10x10x11", np.arange(1100, dtype=f32).reshape(10, 10, 11) - 550)
repr_case("summary/3d_2x3x200", np.arange(1200, dtype=i32).reshape(2, 3, 200))
repr_case("summary/4d_3x7x7x7", np.arange(1029, dtype=i32).reshape(3, 7, 7, 7))
repr_case("summary/bool_1500", np.arange(1500) % 3 == 0)
repr_case("summary/float_format_from_edges", np.concatenate([np.full(3, 0.5), np.full(1000, 12345.678), np.full(3, 0.25)]).astype(f32))
repr_case("summary/specials", np.concatenate([[nan, inf, -inf], np.zeros(1000), [1e-5, 2.0, -3.0]]).astype(f32))

# MARK: - Write

if __name__ == "__main__":
    OUT.parent.mkdir(parents=True, exist_ok=True)
    # One case per line keeps diffs of regenerated fixtures readable.
    # Functions that live in FlockTransforms (they carry custom derivatives)
    # are checked there, from their own file.
    for path, cases in ((OUT, [c for c in CASES if c["fn"] not in TRANSFORMS_FNS]),
                        (TRANSFORMS_OUT, [c for c in CASES if c["fn"] in TRANSFORMS_FNS])):
        path.write_text("[\n" + ",\n".join(json.dumps(c, separators=(",", ":"), allow_nan=False) for c in cases) + "\n]\n")
        print(f"wrote {len(cases)} cases to {path} ({path.stat().st_size / 1e6:.2f} MB; "
              f"jax {jax.__version__}, numpy {np.__version__})")
