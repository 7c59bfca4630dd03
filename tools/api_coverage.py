#!/usr/bin/env python3
"""Writes docs/API-COVERAGE.md: the most used names of jax.numpy, jax.nn,
jax.lax and jax.random (a hand-kept list, ~170 names) and Flock's spelling of
each, or that it is missing.

The Swift spellings are kept here by hand; the script checks that each JAX
name exists in the installed jax and that each Swift name is declared in
Sources/ (`func NAME`, `var NAME`, or an operator), so the table cannot claim
a function that is not there.

Usage: .venv/bin/python tools/api_coverage.py
"""

import pathlib
import re

import jax
import jax.numpy  # noqa: F401
import jax.nn  # noqa: F401
import jax.random  # noqa: F401

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT = ROOT / "docs/API-COVERAGE.md"

# JAX name -> Flock spelling ("func name" checked in Sources), or None when missing.
# An entry "op:+" is an operator; "method:x" a Tensor method or property.
NAMES = {
    # Transforms and pytrees
    "jax.jit": "jit", "jax.vmap": "vmap", "jax.pmap": "pmap", "jax.grad": "grad", "jax.value_and_grad": "valueAndGrad",
    "jax.jvp": "jvp", "jax.vjp": "vjp", "jax.linearize": "linearize", "jax.jacfwd": "jacfwd", "jax.jacrev": "jacrev",
    "jax.hessian": "hessian", "jax.make_jaxpr": "makeJaxpr", "jax.debug.print": "print", "jax.debug.callback": "callback",
    "jax.tree.map": "treeMap", "jax.tree.leaves": "treeLeaves", "jax.tree.structure": "treeStructure",
    "jax.tree.flatten": "treeFlatten", "jax.tree.unflatten": "treeUnflatten",
    "jax.tree_util.tree_map_with_path": "treeMapWithPath", "jax.tree_util.tree_leaves_with_path": "treeLeavesWithPath",
    "jax.tree_util.keystr": "treeLeafPaths",
    # Creation
    "jnp.array": "init", "jnp.asarray": "init", "jnp.zeros": "zeros", "jnp.ones": "ones", "jnp.full": "full",
    "jnp.zeros_like": "zerosLike", "jnp.ones_like": "onesLike", "jnp.full_like": "fullLike", "jnp.empty": None,
    "jnp.arange": "arange", "jnp.linspace": "linspace", "jnp.logspace": None, "jnp.eye": "eye",
    "jnp.identity": "identity", "jnp.meshgrid": "meshgrid", "jnp.tri": None, "jnp.diag": "diag",
    "jnp.tril": "tril", "jnp.triu": "triu", "jnp.diagonal": "diagonal", "jnp.trace": "trace",
    # Shape
    "jnp.reshape": "reshaped", "jnp.ravel": "flattened", "jnp.transpose": "transposed", "jnp.swapaxes": "swappedAxes",
    "jnp.moveaxis": "movedAxis", "jnp.expand_dims": "expandingDims", "jnp.squeeze": "squeezed", "jnp.flip": "flipped",
    "jnp.concatenate": "concatenate", "jnp.stack": "stack", "jnp.split": "split", "jnp.pad": "pad",
    "jnp.broadcast_to": "broadcast", "jnp.tile": "tile", "jnp.repeat": "repeated", "jnp.roll": "roll", "jnp.hstack": "hstack",
    "jnp.vstack": "vstack", "jnp.atleast_2d": None, "jnp.unstack": "unstacked",
    # Elementwise math
    "jnp.abs": "abs", "jnp.sign": "sign", "jnp.exp": "exp", "jnp.exp2": None, "jnp.log": "log", "jnp.log1p": "log1p",
    "jnp.expm1": "expm1", "jnp.log2": "log2", "jnp.log10": "log10", "jnp.sqrt": "sqrt", "jnp.square": "square",
    "jnp.reciprocal": "reciprocal", "jnp.power": "power", "jnp.sin": "sin", "jnp.cos": "cos", "jnp.tan": "tan",
    "jnp.arcsin": None, "jnp.arccos": None, "jnp.arctan": None, "jnp.arctan2": "atan2", "jnp.sinh": None,
    "jnp.cosh": None, "jnp.tanh": "tanh", "jnp.arctanh": None, "jnp.floor": "floor", "jnp.ceil": "ceil",
    "jnp.round": "round", "jnp.trunc": "trunc", "jnp.maximum": "maximum", "jnp.minimum": "minimum",
    "jnp.clip": "clip", "jnp.logaddexp": "logAddExp", "jnp.hypot": None, "jnp.mod": "remainder",
    "jnp.remainder": "remainder", "jnp.floor_divide": "floorDivide", "jnp.add": "op:+", "jnp.subtract": "op:-",
    "jnp.multiply": "op:*", "jnp.divide": "op:/", "jnp.negative": "op:-", "jnp.isnan": "isNaN",
    "jnp.isinf": "isInf", "jnp.isfinite": "isFinite", "jnp.nan_to_num": None, "jnp.where": "`where`",
    "jnp.select": None, "jnp.logical_and": "op:.&", "jnp.logical_or": "op:.|", "jnp.logical_not": "logicalNot",
    "jnp.equal": "op:.==", "jnp.not_equal": "op:.!=", "jnp.less": "op:.<", "jnp.greater": "op:.>",
    "jnp.isclose": "isclose", "jnp.allclose": "allclose", "jnp.array_equal": None,
    "jnp.bitwise_and": "op:.&", "jnp.bitwise_or": "op:.|", "jnp.bitwise_not": "bitwiseNot",
    "jnp.left_shift": "shiftLeft", "jnp.right_shift": "shiftRight",
    # Reductions
    "jnp.sum": "sum", "jnp.prod": "prod", "jnp.mean": "mean", "jnp.var": "variance", "jnp.std": "standardDeviation",
    "jnp.max": "max", "jnp.min": "min", "jnp.amax": "max", "jnp.argmax": "argmax", "jnp.argmin": "argmin",
    "jnp.all": "all", "jnp.any": "any", "jnp.cumsum": "cumsum", "jnp.cumprod": "cumprod",
    "jnp.median": None, "jnp.quantile": None, "jnp.percentile": None, "jnp.average": None,
    "jnp.count_nonzero": "countNonzero", "jnp.nansum": None, "jnp.nanmean": None, "jnp.nanmax": None,
    # Linear algebra
    "jnp.dot": "dot", "jnp.matmul": "matmul", "jnp.inner": "inner", "jnp.outer": "outer", "jnp.einsum": "einsum",
    "jnp.tensordot": "tensordot", "jnp.vdot": "vdot", "jnp.kron": "kron", "jnp.linalg.norm": "norm", "jnp.linalg.inv": None,
    "jnp.linalg.solve": None, "jnp.linalg.det": None, "jnp.linalg.svd": None, "jnp.linalg.eigh": None,
    "jnp.linalg.cholesky": None, "jnp.linalg.qr": None,
    # Indexing and sorting
    "jnp.take": "take", "jnp.take_along_axis": "takeAlongAxis", "jnp.nonzero": "nonzero", "jnp.argwhere": None,
    "jnp.sort": "sort", "jnp.argsort": "argsort", "jnp.searchsorted": None, "jnp.unique": None,
    "jnp.histogram": None, "jnp.bincount": None,
    # Types
    "jnp.astype": "converted", "jnp.result_type": "promoteTypes", "jnp.promote_types": "promoteTypes",
    # jax.nn
    "jax.nn.relu": "relu", "jax.nn.relu6": "relu6", "jax.nn.sigmoid": "sigmoid", "jax.nn.softplus": "softplus",
    "jax.nn.silu": "silu", "jax.nn.swish": "silu", "jax.nn.gelu": "gelu", "jax.nn.elu": "elu",
    "jax.nn.leaky_relu": "leakyRelu", "jax.nn.celu": "celu", "jax.nn.selu": "selu", "jax.nn.glu": None,
    "jax.nn.hard_tanh": "hardTanh", "jax.nn.log_sigmoid": "logSigmoid", "jax.nn.softmax": "softmax",
    "jax.nn.log_softmax": "logSoftmax", "jax.nn.logsumexp": "logSumExp", "jax.nn.one_hot": "oneHot",
    "jax.nn.standardize": None, "jax.nn.mish": None, "jax.nn.sparse_plus": None,
    # jax.lax
    "jax.lax.scan": "scan", "jax.lax.fori_loop": "forLoop", "jax.lax.while_loop": "whileLoop", "jax.lax.cond": "cond",
    "jax.lax.switch": "switchCase", "jax.lax.select": "select", "jax.lax.stop_gradient": "stopGradient",
    "jax.lax.dot_general": "dotGeneral", "jax.lax.conv_general_dilated": "convolution", "jax.lax.cummax": "cummax",
    "jax.lax.cummin": "cummin", "jax.lax.cumlogsumexp": "cumLogSumExp", "jax.lax.integer_pow": "pow",
    "jax.lax.rsqrt": "rsqrt", "jax.lax.erf_inv": "erfInv", "jax.lax.psum": "psum", "jax.lax.pmean": "pmean",
    "jax.lax.all_gather": "allGather", "jax.lax.associative_scan": None, "jax.lax.reduce_window": None,
    "jax.lax.dynamic_slice": None, "jax.lax.dynamic_update_slice": None,
    # jax.scipy.special
    "jax.scipy.special.erf": "erf", "jax.scipy.special.erfc": "erfc", "jax.scipy.special.logsumexp": "logSumExp",
    "jax.scipy.special.gammaln": None,
    # jax.random
    "jax.random.key": "key", "jax.random.PRNGKey": "key", "jax.random.split": "split", "jax.random.fold_in": "foldIn",
    "jax.random.normal": "normal", "jax.random.uniform": "uniform", "jax.random.bernoulli": "bernoulli",
    "jax.random.categorical": "categorical", "jax.random.randint": "randint", "jax.random.permutation": "permutation",
    "jax.random.truncated_normal": "truncatedNormal", "jax.random.gumbel": "gumbel", "jax.random.choice": "choice",
    "jax.random.bits": "bits", "jax.random.exponential": None, "jax.random.beta": None, "jax.random.gamma": None,
    "jax.random.dirichlet": None, "jax.random.multivariate_normal": None,
}


def jax_has(name):
    obj = {"jnp": jax.numpy, "jax": jax}[name.split(".")[0]]
    for part in name.split(".")[1:]:
        if not hasattr(obj, part):
            return False
        obj = getattr(obj, part)
    return True


def swift_declares(spelling, sources):
    if spelling == "init":
        return "public init" in sources
    if spelling.startswith("op:"):
        return re.search(r"static func " + re.escape(spelling[3:]) + r" \(", sources) is not None
    return re.search(r"(func|var) " + re.escape(spelling) + r"(?![A-Za-z0-9_])", sources) is not None


def main():
    sources = "\n".join(p.read_text() for p in (ROOT / "Sources").rglob("*.swift"))
    rows, have, missing = [], 0, 0
    for name, spelling in NAMES.items():
        if not jax_has(name):
            raise SystemExit(f"{name} is not in the installed jax {jax.__version__}")
        if spelling is None:
            status, flock = "missing", ""
            missing += 1
        else:
            if not swift_declares(spelling, sources):
                raise SystemExit(f"{name}: Flock spelling {spelling!r} is not declared in Sources/")
            status, flock = "yes", f"`{spelling[3:] if spelling.startswith('op:') else spelling}`"
            have += 1
        rows.append(f"| `{name}` | {flock} | {status} |")
    text = [
        "# API coverage: JAX names and Flock's spelling",
        "",
        f"Generated by `tools/api_coverage.py` (jax {jax.__version__}) from its hand-kept list of the most used",
        "names of jax.numpy, jax.nn, jax.lax, jax.scipy.special and jax.random; each Swift spelling is checked",
        "to be declared in Sources/. Operators are Tensor's (`.&` for logical and, `.==` for equal, ...).",
        "",
        f"**{have} of {have + missing} present, {missing} missing.**",
        "",
        "| JAX | Flock | status |",
        "|---|---|---|",
        *rows,
        "",
    ]
    OUT.write_text("\n".join(text))
    print(f"{have} present, {missing} missing -> {OUT}")


if __name__ == "__main__":
    main()
