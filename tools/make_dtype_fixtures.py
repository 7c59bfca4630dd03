"""Fixtures for Flock's dtypes: JAX's promotion table, conversions between
every pair of dtypes over edge values, 16-bit float arithmetic with per-op
rounding, integer wraparound of the 8/16-bit integers, and 64-bit integers with
x64. Writes Tests/FlockTransformsTests/Fixtures/dtypes.json.

Every number is a string (repr of a Python float, or a decimal integer) so
64-bit integers, -0.0, nan and inf survive JSON exactly.

    .venv/bin/python tools/make_dtype_fixtures.py
"""
import json
import os

import jax
import jax.numpy as jnp
import ml_dtypes
import numpy as np

OUT = os.path.join(os.path.dirname(__file__), "..", "Tests", "FlockTransformsTests", "Fixtures", "dtypes.json")

DTYPES = ["bool", "int8", "uint8", "int16", "uint16", "int32", "uint32", "int64", "uint64",
          "float16", "bfloat16", "float32", "float64"]
NARROW_X32 = [d for d in DTYPES if d not in ("int64", "uint64", "float64")]  # JAX x32 has no such arrays


def np_dtype(name):
    return np.dtype(ml_dtypes.bfloat16) if name == "bfloat16" else np.dtype(name)


def text(v, dtype):
    """One element as exact text."""
    if dtype == "bool":
        return "1" if bool(v) else "0"
    if np.issubdtype(np_dtype(dtype), np.integer):
        return str(int(v))
    return repr(float(v))


def texts(a):
    a = np.asarray(a)
    d = "bfloat16" if a.dtype == np_dtype("bfloat16") else a.dtype.name
    return [text(v, d) for v in a.reshape(-1)]


def weak_scalar(dtype):
    """A weakly typed scalar of `dtype` (what a Python literal gives)."""
    return jax._src.lax.lax._convert_element_type(jnp.zeros((), dtype), np_dtype(dtype), weak_type=True)


def promotion(x64):
    jax.config.update("jax_enable_x64", x64)
    table = {}
    for a in DTYPES:
        for b in DTYPES:
            table[f"{a},{b}"] = jnp.promote_types(a, b).name
    # result_type of arrays with weak flags, as elementwise operations see them.
    results = {}
    names = DTYPES if x64 else NARROW_X32
    for a in names:
        for b in names:
            for wa in (False, True):
                for wb in (False, True):
                    x = weak_scalar(a) if wa else jnp.zeros((), a)
                    y = weak_scalar(b) if wb else jnp.zeros((), b)
                    r = jnp.add(x, y) if not (a == "bool" and b == "bool") else jnp.logical_or(x, y)
                    rt = jnp.result_type(x, y)
                    results[f"{a}{'*' if wa else ''},{b}{'*' if wb else ''}"] = [
                        np.dtype(rt).name if np.dtype(rt) != np_dtype("bfloat16") else "bfloat16",
                        bool(r.weak_type) if not (a == "bool" and b == "bool") else False]
    return {"promote_types": table, "result_type": results}


def edge_values(dtype):
    d = np_dtype(dtype)
    if dtype == "bool":
        return np.array([False, True])
    if np.issubdtype(d, np.integer):
        info = np.iinfo(d)
        vals = {0, 1, -1, 2, -2, 3, 7, -7, 100, -100, 127, 128, -128, -129, 255, 256, 1000, -1000,
                32767, 32768, -32768, -32769, 65535, 65536, 65504, 65520, 2**24 + 1, 2**31 - 1, -2**31,
                2**32 - 1, 2**53 + 1, 2**63 - 1, -2**63, 2**64 - 1, info.min, info.max, info.min + 1, info.max - 1}
        return np.array(sorted(v for v in vals if info.min <= v <= info.max), dtype=d)
    vals = [0.0, -0.0, 1.0, -1.0, 0.5, -0.5, 1.5, -1.5, 2.5, -2.5, 0.1, -0.7, 3.75, 127.0, 127.5, 128.0,
            -128.0, -128.5, -129.0, 255.0, 255.5, 256.0, 1000.3, 32767.0, 32768.0, -32768.0, -32769.0,
            65504.0, 65519.0, 65520.0, 65536.0, 1e10, -1e10, 2.0**31, -2.0**31, 2.0**32, 2.0**63, -2.0**63,
            2.0**64, 1e30, 3.4e38, 1e300, 6e-8, 6.1e-5, 1e-8, 1e-39, 1e-45, 1e-310, 1.00390625, 1.01171875,
            float("inf"), float("-inf"), float("nan")]
    with np.errstate(all="ignore"):
        a = np.array(vals, dtype=np.float64).astype(d)
    return a


def conversions():
    jax.config.update("jax_enable_x64", True)
    out = {}
    for s in DTYPES:
        x = edge_values(s)
        xj = jnp.asarray(x)
        entry = {"values": texts(x), "to": {}}
        for t in DTYPES:
            entry["to"][t] = texts(np.asarray(xj.astype(t)))
        out[s] = entry
    return out


def rng_values(dtype, n, lo, hi, seed):
    r = np.random.RandomState(seed)
    return r.uniform(lo, hi, size=n).astype(np.float32).astype(np_dtype(dtype))


def float16_ops():
    jax.config.update("jax_enable_x64", False)
    cases = []
    for dt in ("float16", "bfloat16"):
        a = rng_values(dt, 37, -3, 3, 1)
        b = rng_values(dt, 37, -3, 3, 2)
        c = rng_values(dt, 37, -3, 3, 3)
        p = rng_values(dt, 37, 0.05, 4, 4)
        big = rng_values(dt, 37, 100, 60000, 5)
        A, B, C, P, BIG = map(jnp.asarray, (a, b, c, p, big))
        ins = {"a": texts(a), "b": texts(b), "c": texts(c), "p": texts(p), "big": texts(big)}

        def case(name, f, exact=True):
            r = f()
            cases.append({"dtype": dt, "name": name, "inputs": ins, "result": texts(np.asarray(r)),
                          "shape": list(np.shape(r)), "exact": exact})
        case("a+b", lambda: A + B)
        case("a+b+c", lambda: A + B + C)
        case("a*b-c", lambda: A * B - C)
        case("a/p", lambda: A / P)
        case("big*big", lambda: BIG * BIG)
        case("big+big", lambda: BIG + BIG)
        case("a-b", lambda: A - B)
        case("max(a,b)", lambda: jnp.maximum(A, B))
        case("min(a,b)", lambda: jnp.minimum(A, B))
        case("-a", lambda: -A)
        case("abs(a)", lambda: jnp.abs(A))
        case("floor(a)", lambda: jnp.floor(A))
        case("sqrt(p)", lambda: jnp.sqrt(P))
        case("a*0.1", lambda: A * 0.1)
        case("a+1", lambda: A + 1)
        case("exp(a)", lambda: jnp.exp(A), exact=False)
        case("log(p)", lambda: jnp.log(P), exact=False)
        case("tanh(a)", lambda: jnp.tanh(A), exact=False)
        case("sin(a)", lambda: jnp.sin(A), exact=False)
        case("p**b", lambda: P ** B, exact=False)
        case("a<b", lambda: (A < B).astype(dt))
        case("where(a>0,a,c)", lambda: jnp.where(A > 0, A, C))
        case("clip(a,-1,1)", lambda: jnp.clip(A, -1, 1))
        case("sum(a)", lambda: jnp.sum(A), exact=False)
        case("sum(big)", lambda: jnp.sum(BIG), exact=False)
        case("mean(a)", lambda: jnp.mean(A), exact=False)
        case("max(a)", lambda: jnp.max(A))
        case("prod(p[:8])", lambda: jnp.prod(P[:8]), exact=False)
        case("dot(a6x6,b6x6)", lambda: A[:36].reshape(6, 6) @ B[:36].reshape(6, 6), exact=False)
        case("sort(a)", lambda: jnp.sort(A))
        case("a[idx]", lambda: A[jnp.array([3, 0, 36, 5, 5])])
        case("a.at[idx].add(b5)", lambda: A.at[jnp.array([3, 0, 36, 5, 5])].add(B[:5]))
        case("a.at[idx].set(b5)", lambda: A.at[jnp.array([1, 2, 4])].set(B[:3]))
        case("conv1d", lambda: jax.lax.conv_general_dilated(
            A[:36].reshape(1, 2, 18), B[:12].reshape(2, 2, 3), (1,), "VALID"), exact=False)
        case("cumsum(a[:6])", lambda: jnp.cumsum(A[:6]), exact=False)
        case("astype(float32)", lambda: A.astype(jnp.float32).astype(dt))
    return cases


INT_OPS = ["add", "sub", "mul", "div", "rem", "max", "min", "shift_left", "shift_right_logical",
           "and", "or", "xor", "pow", "eq", "lt"]
UNARY_INT_OPS = ["neg", "abs", "sign", "not"]


def integer_ops(dtypes, x64):
    jax.config.update("jax_enable_x64", x64)
    cases = []
    for dt in dtypes:
        d = np.dtype(dt)
        info = np.iinfo(d)
        base = [0, 1, -1, 2, 3, 7, -8, 100, -100, info.max, info.min, info.max - 1, info.min + 1,
                info.max // 2, 5, 13, -13, 64, 127, -128, 255, 1000]
        xs = [v for v in base if info.min <= v <= info.max]
        ys = [v for v in [0, 1, -1, 2, 3, 7, -8, 8, 15, 16, 31, 33, 63, 64, 5, -3, info.max, info.min, 100, -100, 9, 4]
              if info.min <= v <= info.max]
        n = min(len(xs), len(ys))
        x = np.array(xs[:n], dtype=d)
        y = np.array(ys[:n], dtype=d)
        X, Y = jnp.asarray(x), jnp.asarray(y)
        res = {}
        res["add"] = X + Y
        res["sub"] = X - Y
        res["mul"] = X * Y
        res["div"] = jax.lax.div(X, Y)
        res["rem"] = jax.lax.rem(X, Y)
        res["max"] = jnp.maximum(X, Y)
        res["min"] = jnp.minimum(X, Y)
        res["shift_left"] = jax.lax.shift_left(X, Y)
        res["shift_right_logical"] = jax.lax.shift_right_logical(X, Y)
        res["and"] = X & Y
        res["or"] = X | Y
        res["xor"] = X ^ Y
        res["pow"] = jax.lax.integer_pow(X, 3)
        res["eq"] = (X == Y)
        res["lt"] = (X < Y)
        res["neg"] = -X
        res["abs"] = jnp.abs(X)
        res["sign"] = jnp.sign(X)
        res["not"] = ~X
        res["sum"] = jnp.sum(X, dtype=dt)
        res["max_reduce"] = jnp.max(X)
        res["x+1"] = X + 1
        res["x*3"] = X * 3
        cases.append({"dtype": dt, "x64": x64, "x": texts(x), "y": texts(y),
                      "results": {k: texts(np.asarray(v)) for k, v in res.items()}})
    return cases


NPY_DIR = os.path.join(os.path.dirname(__file__), "..", "Tests", "FlockIOTests", "Fixtures", "dtypes")


def npy_files():
    """One .npy file per dtype, written by numpy (bfloat16 through ml_dtypes,
    which numpy saves as '<V2'), and the values each holds."""
    os.makedirs(NPY_DIR, exist_ok=True)
    values = {}
    for dt in DTYPES:
        x = edge_values(dt)
        x = x[:24].reshape(2, 12) if x.size >= 24 else x
        np.save(os.path.join(NPY_DIR, f"{dt}.npy"), x)
        values[dt] = {"shape": list(x.shape), "values": texts(x)}
    with open(os.path.join(NPY_DIR, "values.json"), "w") as f:
        json.dump(values, f, separators=(",", ":"))


def printing():
    """repr of small arrays of the new dtypes, as JAX prints them."""
    jax.config.update("jax_enable_x64", False)
    cases = [
        ("bfloat16", [0.1, 1.5, 3.0, 300.0]), ("bfloat16", [1e-5, 1.0]), ("bfloat16", [-2.5, float("nan"), float("inf")]),
        ("float16", [0.1, 1.5, 65504, -0.0]), ("float16", [0.5, 2.25, -3.0]), ("float16", [1.0, float("nan")]),
        ("int8", [1, -2, 3]), ("uint8", [0, 255, 7]), ("int16", [-32768, 5]), ("uint16", [1, 2]),
    ]
    out = []
    for dt, vals in cases:
        a = jnp.array(vals, dtype=dt)
        out.append({"dtype": dt, "values": texts(np.asarray(a)), "repr": repr(a)})
    return out


def literals(x64):
    """Python literals (weakly typed) alone and meeting arrays: dtype, weak type
    and value. With x64 an int literal is a weak int64 and a float literal a
    weak float64 (without it int32 / float32)."""
    jax.config.update("jax_enable_x64", x64)
    cases = {
        "5": lambda: jnp.asarray(5),
        "-7": lambda: jnp.asarray(-7),
        "0.1": lambda: jnp.asarray(0.1),
        "5*3": lambda: jnp.asarray(5) * 3,
        "5+0.5": lambda: jnp.asarray(5) + 0.5,
        "7/2": lambda: jnp.asarray(7) / 2,
        "0.1*3": lambda: jnp.asarray(0.1) * 3,
        "true+1": lambda: jnp.asarray(True) + 1,
        "i32+5": lambda: jnp.arange(3, dtype=jnp.int32) + 5,
        "u32+5": lambda: jnp.arange(3, dtype=jnp.uint32) + 5,
        "f32*0.1": lambda: jnp.arange(3, dtype=jnp.float32) * 0.1,
        "i8*3": lambda: jnp.arange(3, dtype=jnp.int8) * 3,
    }
    if x64:
        cases["2**40"] = lambda: jnp.asarray(2**40)
        cases["2**40*3"] = lambda: jnp.asarray(2**40) * 3
        cases["-2**62"] = lambda: jnp.asarray(-2**62)
        cases["i64+2**40"] = lambda: jnp.arange(3, dtype=jnp.int64) + 2**40
        cases["f64*0.1"] = lambda: jnp.arange(3, dtype=jnp.float64) * 0.1
    out = []
    for name, f in cases.items():
        r = f()
        out.append({"name": name, "x64": x64, "dtype": r.dtype.name, "weak": bool(r.weak_type),
                    "values": texts(np.asarray(r))})
    jax.config.update("jax_enable_x64", False)
    return out


def main():
    npy_files()
    fixture = {
        "jax": jax.__version__,
        "promotion_x32": promotion(False),
        "promotion_x64": promotion(True),
        "conversions": conversions(),
        "printing": printing(),
        "float16_ops": float16_ops(),
        "literals": literals(False) + literals(True),
        "integer_ops": integer_ops(["int8", "uint8", "int16", "uint16", "int32", "uint32"], False)
        + integer_ops(["int64", "uint64"], True),
    }
    with open(OUT, "w") as f:
        json.dump(fixture, f, separators=(",", ":"))
    print(f"wrote {OUT}: {os.path.getsize(OUT)} bytes")


if __name__ == "__main__":
    main()
