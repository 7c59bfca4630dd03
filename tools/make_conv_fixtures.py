"""JAX reference values for Flock's convolution (issue 18).

Writes Tests/FlockTransformsTests/Fixtures/convolution.json: for a broad sweep
of lax.conv_general_dilated configurations (1-D/2-D/3-D, odd sizes, strides
larger than the kernel, negative and mixed padding, lhs and rhs dilation,
feature groups up to depthwise, batch groups (batch_group_count) up to one
group per image, batch 1) and a sweep of dimension numbers (NCHW,
NHWC/HWIO, batch-last, spatial axes out of the kernel's order, mixed lhs/rhs/out
layouts, in 1-D, 2-D and 3-D), the inputs, the output, a cotangent and the
gradients w.r.t. both operands, all in float64. Each case records its
dimension-number strings (`specs`).

Also writes convolution_vmap.json: jax.vmap of convolutions (plain, feature
groups, batch groups; NCHW and mixed layouts) over the lhs, the rhs or both,
at several axis positions, with the batched operands and the results.
Run: .venv/bin/python tools/make_conv_fixtures.py
"""
import json
import os

import jax

jax.config.update("jax_enable_x64", True)
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
from jax import lax  # noqa: E402

OUT = os.path.join(os.path.dirname(__file__), "..", "Tests", "FlockTransformsTests", "Fixtures", "convolution.json")

SPECS = {1: ("NCH", "OIH", "NCH"), 2: ("NCHW", "OIHW", "NCHW"), 3: ("NCDHW", "OIDHW", "NCDHW")}
CHANNELS_LAST = {1: ("NHC", "HIO", "NHC"), 2: ("NHWC", "HWIO", "NHWC"), 3: ("NDHWC", "DHWIO", "NDHWC")}


def case(name, batch, cin, cout, spatial, kernel, strides=None, padding=None, lhs_dilation=None,
         rhs_dilation=None, groups=1, channels_last=False, specs=None, batch_groups=1):
    """`batch` is the lhs batch (the output's is batch // batch_groups)."""
    n = len(spatial)
    specs = specs or (CHANNELS_LAST[n] if channels_last else SPECS[n])
    return dict(name=name, batch=batch, cin=cin, cout=cout, spatial=spatial, kernel=kernel,
                strides=strides or [1] * n, padding=padding or [[0, 0]] * n,
                lhs_dilation=lhs_dilation or [1] * n, rhs_dilation=rhs_dilation or [1] * n,
                groups=groups, batch_groups=batch_groups, specs=list(specs))


CASES = [
    # 1-D
    case("1d valid", 2, 3, 4, [11], [3]),
    case("1d same odd", 3, 2, 5, [7], [4], padding=[[1, 2]]),
    case("1d stride larger than kernel", 2, 2, 3, [13], [2], strides=[3], padding=[[1, 0]]),
    case("1d negative padding", 2, 2, 2, [9], [3], padding=[[-1, -2]]),
    case("1d lhs dilation", 2, 3, 2, [5], [3], strides=[2], padding=[[2, 1]], lhs_dilation=[3]),
    case("1d rhs dilation", 1, 2, 3, [12], [3], padding=[[2, 2]], rhs_dilation=[3]),
    case("1d depthwise", 2, 4, 4, [9], [3], padding=[[1, 1]], groups=4),
    case("1d channels last", 2, 3, 2, [8], [3], strides=[2], padding=[[1, 1]], channels_last=True),
    case("1d batch 1 kernel 1", 1, 1, 1, [5], [1]),
    # 2-D
    case("2d valid", 2, 3, 4, [7, 6], [3, 3]),
    case("2d same", 2, 3, 5, [6, 7], [3, 3], padding=[[1, 1], [1, 1]]),
    case("2d strides", 2, 4, 3, [9, 11], [3, 2], strides=[2, 3], padding=[[1, 0], [2, 1]]),
    case("2d stride larger than kernel", 1, 2, 3, [10, 9], [2, 2], strides=[4, 3]),
    case("2d negative and mixed padding", 2, 2, 3, [8, 7], [2, 3], padding=[[-2, 1], [1, -1]]),
    case("2d lhs dilation", 2, 3, 4, [5, 4], [3, 2], strides=[1, 2], padding=[[2, 2], [1, 0]], lhs_dilation=[2, 3]),
    case("2d rhs dilation", 2, 2, 3, [9, 8], [3, 2], padding=[[2, 1], [0, 1]], rhs_dilation=[2, 3]),
    case("2d all dilations", 1, 2, 2, [4, 5], [2, 3], strides=[2, 1], padding=[[1, 1], [2, 2]],
         lhs_dilation=[2, 2], rhs_dilation=[2, 1]),
    case("2d groups", 2, 4, 6, [6, 7], [3, 3], groups=2),
    case("2d depthwise", 3, 5, 5, [6, 6], [3, 3], padding=[[1, 1], [1, 1]], groups=5),
    case("2d depthwise multiplier", 1, 3, 6, [5, 5], [2, 2], groups=3),
    case("2d groups lhs dilation", 2, 4, 6, [4, 5], [3, 3], padding=[[2, 2], [2, 2]], lhs_dilation=[2, 2], groups=2),
    case("2d batch 1 one channel", 1, 1, 1, [5, 3], [2, 2]),
    case("2d big kernel", 2, 3, 2, [8, 7], [6, 5], padding=[[1, 1], [0, 1]]),
    case("2d channels last", 2, 3, 4, [7, 6], [3, 3], padding=[[1, 1], [1, 1]], channels_last=True),
    case("2d channels last strided groups", 2, 4, 4, [9, 8], [3, 2], strides=[2, 2], padding=[[1, 1], [0, 1]],
         groups=2, channels_last=True),
    # 3-D
    case("3d valid", 2, 2, 3, [5, 4, 6], [2, 3, 2]),
    case("3d strides dilation", 2, 2, 3, [5, 6, 6], [2, 3, 2], strides=[1, 2, 1],
         padding=[[1, 0], [0, 1], [1, 1]], rhs_dilation=[1, 1, 2]),
    case("3d lhs dilation", 1, 2, 2, [3, 3, 3], [2, 2, 2], padding=[[1, 1], [1, 1], [1, 1]], lhs_dilation=[2, 2, 2]),
    case("3d depthwise channels last", 1, 3, 3, [4, 4, 3], [2, 2, 2], padding=[[1, 0], [0, 1], [1, 1]],
         groups=3, channels_last=True),
    # Dimension numbers: every operand in its own layout. Spatial sizes, strides,
    # padding and dilations are in the kernel string's spatial order.
    case("1d NWC WIO NWC strided dilated", 2, 3, 4, [10], [3], strides=[2], padding=[[2, 1]], rhs_dilation=[2],
         specs=("NWC", "WIO", "NWC")),
    case("1d batch last CWN OIW NCW", 3, 2, 3, [7], [2], padding=[[-1, 2]], specs=("CWN", "OIW", "NCW")),
    case("1d WCN IWO WNC lhs dilation groups", 2, 4, 6, [5], [3], strides=[2], padding=[[2, 2]],
         lhs_dilation=[2], groups=2, specs=("WCN", "IWO", "WNC")),
    case("2d NCHW HWIO NHWC", 2, 3, 4, [6, 5], [3, 2], padding=[[1, 1], [0, 1]], specs=("NCHW", "HWIO", "NHWC")),
    case("2d CHWN IOHW CHWN strides", 2, 3, 2, [7, 8], [2, 3], strides=[2, 3], padding=[[0, 1], [1, 1]],
         specs=("CHWN", "IOHW", "CHWN")),
    case("2d NWHC spatial order from kernel", 2, 2, 3, [6, 4], [3, 2], strides=[2, 1], padding=[[1, 0], [0, 1]],
         rhs_dilation=[1, 2], specs=("NWHC", "HWIO", "NCWH")),
    case("2d HWNC OHWI CNHW all dilations", 1, 2, 3, [4, 5], [2, 3], strides=[2, 1], padding=[[1, 1], [2, 2]],
         lhs_dilation=[2, 2], rhs_dilation=[2, 1], specs=("HWNC", "OHWI", "CNHW")),
    case("2d NHWC negative padding", 2, 3, 2, [7, 6], [2, 2], padding=[[-1, 1], [1, -2]], channels_last=True),
    case("2d NHWC depthwise", 2, 4, 4, [6, 5], [3, 3], padding=[[1, 1], [1, 1]], groups=4, channels_last=True),
    case("2d NHWC depthwise strided", 1, 3, 3, [7, 7], [3, 3], strides=[2, 2], padding=[[1, 1], [1, 1]], groups=3,
         channels_last=True),
    case("2d NHWC groups lhs dilation", 2, 4, 6, [4, 3], [3, 2], padding=[[2, 2], [1, 1]], lhs_dilation=[2, 2],
         groups=2, channels_last=True),
    case("2d HWCN IHWO NHWC depthwise multiplier", 2, 3, 6, [5, 4], [2, 2], strides=[1, 2], groups=3,
         specs=("HWCN", "IHWO", "NHWC")),
    case("2d NHWC batch 1 one channel", 1, 1, 1, [3, 4], [2, 2], channels_last=True),
    case("3d NDHWC strides", 2, 2, 3, [5, 4, 5], [2, 2, 3], strides=[2, 1, 2], padding=[[1, 0], [0, 1], [1, 1]],
         channels_last=True),
    case("3d CDHWN DHWIO NCDHW rhs dilation", 1, 2, 2, [4, 5, 4], [2, 2, 2], padding=[[0, 1], [1, 0], [1, 1]],
         rhs_dilation=[2, 1, 1], specs=("CDHWN", "DHWIO", "NCDHW")),
    case("3d NDHWC lhs dilation groups", 1, 4, 2, [3, 2, 3], [2, 2, 2], padding=[[1, 1], [1, 1], [0, 1]],
         lhs_dilation=[2, 1, 2], groups=2, channels_last=True),
    # Batch groups (batch_group_count): output feature group g reads lhs batch group g.
    case("1d batch groups 2", 4, 3, 4, [9], [3], batch_groups=2),
    case("1d batch groups strided padded", 6, 2, 3, [11], [3], strides=[2], padding=[[1, 2]], batch_groups=3),
    case("2d batch groups 3 strides", 6, 2, 6, [6, 5], [3, 2], strides=[2, 1], padding=[[1, 1], [0, 1]], batch_groups=3),
    case("2d batch groups 4 rhs dilation", 4, 1, 8, [7, 7], [2, 2], rhs_dilation=[2, 1], batch_groups=4),
    case("2d batch groups lhs dilation", 4, 2, 4, [4, 5], [3, 3], padding=[[2, 2], [2, 2]], lhs_dilation=[2, 2],
         batch_groups=2),
    case("2d batch groups negative padding", 4, 2, 2, [8, 7], [2, 3], padding=[[-2, 1], [1, -1]], batch_groups=2),
    case("2d batch groups one per image", 5, 2, 5, [5, 4], [3, 3], padding=[[1, 1], [1, 1]], batch_groups=5),
    case("2d batch groups NHWC", 4, 3, 6, [6, 5], [3, 2], padding=[[1, 1], [0, 1]], channels_last=True, batch_groups=2),
    case("2d batch groups CHWN IOHW CHWN", 6, 2, 3, [5, 6], [2, 3], strides=[1, 2], specs=("CHWN", "IOHW", "CHWN"),
         batch_groups=3),
    case("3d batch groups", 2, 2, 4, [4, 3, 4], [2, 2, 2], padding=[[1, 0], [0, 1], [1, 1]], batch_groups=2),
]

# vmap cases: (name, case, in_axes) with a mapped axis of size 3.
VMAP_CASES = [
    (case("vmap plain", 2, 3, 4, [6, 5], [3, 2], padding=[[1, 1], [0, 1]]), [(0, None), (None, 0), (0, 0), (2, None),
                                                                              (None, 1), (1, 3)]),
    (case("vmap feature groups", 2, 4, 6, [5, 6], [3, 3], strides=[2, 1], groups=2), [(0, None), (None, 0), (0, 0),
                                                                                      (3, None), (None, 2)]),
    (case("vmap depthwise NHWC", 2, 3, 3, [5, 5], [2, 2], groups=3, channels_last=True), [(0, None), (None, 0), (0, 0)]),
    (case("vmap batch groups", 4, 2, 4, [6, 5], [2, 2], padding=[[1, 0], [0, 1]], batch_groups=2),
     [(0, None), (None, 0), (0, 0), (1, None), (None, 1), (2, 3)]),
    (case("vmap batch groups NHWC", 6, 2, 3, [4, 5], [3, 2], channels_last=True, batch_groups=3),
     [(0, None), (None, 0), (0, 0), (3, 2)]),
]
VMAP_OUT = os.path.join(os.path.dirname(OUT), "convolution_vmap.json")


def layout(spec, rhs_spec, sizes, pair):
    """The shape of an operand laid out by `spec`: `pair` (two characters) gets
    sizes[0], sizes[1]; spatial characters get sizes[2:] in the kernel's order."""
    spatial = [ch for ch in rhs_spec if ch not in "OI"]
    shape = []
    for ch in spec:
        if ch == pair[0]:
            shape.append(sizes[0])
        elif ch == pair[1]:
            shape.append(sizes[1])
        else:
            shape.append(sizes[2 + spatial.index(ch)])
    return shape


def values(a):
    return [float(v) for v in np.asarray(a).reshape(-1)]


def shapes(c):
    spec = tuple(c["specs"])
    lhs_shape = layout(spec[0], spec[1], [c["batch"], c["cin"]] + c["spatial"], "NC")
    rhs_shape = layout(spec[1], spec[1], [c["cout"], c["cin"] // c["groups"]] + c["kernel"], "OI")
    return lhs_shape, rhs_shape


def conv(c):
    def f(x, w):
        return lax.conv_general_dilated(
            x, w, window_strides=c["strides"], padding=[tuple(p) for p in c["padding"]],
            lhs_dilation=c["lhs_dilation"], rhs_dilation=c["rhs_dilation"], dimension_numbers=tuple(c["specs"]),
            feature_group_count=c["groups"], batch_group_count=c["batch_groups"], precision=lax.Precision.HIGHEST)
    return f


def vmap_cases(rng):
    out = []
    for c, axes_list in VMAP_CASES:
        lhs_shape, rhs_shape = shapes(c)
        for axes in axes_list:
            lhs_b, rhs_b = list(lhs_shape), list(rhs_shape)
            if axes[0] is not None:
                lhs_b.insert(axes[0], 3)
            if axes[1] is not None:
                rhs_b.insert(axes[1], 3)
            lhs = jnp.asarray(np.round(rng.uniform(-2, 2, lhs_b), 3))
            rhs = jnp.asarray(np.round(rng.uniform(-2, 2, rhs_b), 3))
            y = jax.vmap(conv(c), in_axes=axes)(lhs, rhs)
            out.append(dict(c, name=f"{c['name']} in_axes {axes}", in_axes=[-1 if a is None else a for a in axes],
                            lhs_shape=lhs_b, rhs_shape=rhs_b, out_shape=list(y.shape),
                            lhs=values(lhs), rhs=values(rhs), out=values(y)))
    return out


def main():
    rng = np.random.default_rng(18)
    out = []
    for c in CASES:
        lhs_shape, rhs_shape = shapes(c)
        lhs = jnp.asarray(np.round(rng.uniform(-2, 2, lhs_shape), 3))
        rhs = jnp.asarray(np.round(rng.uniform(-2, 2, rhs_shape), 3))
        y, pullback = jax.vjp(conv(c), lhs, rhs)
        ct = jnp.asarray(np.round(rng.uniform(-1, 1, y.shape), 3))
        g_lhs, g_rhs = pullback(ct)
        out.append(dict(c, lhs_shape=lhs_shape, rhs_shape=rhs_shape, out_shape=list(y.shape),
                        lhs=values(lhs), rhs=values(rhs), out=values(y), ct=values(ct),
                        grad_lhs=values(g_lhs), grad_rhs=values(g_rhs)))
    with open(OUT, "w") as fh:
        json.dump(out, fh, separators=(",", ":"))
    print(f"wrote {len(out)} cases to {os.path.normpath(OUT)} ({os.path.getsize(OUT) // 1024} KB)")
    batched = vmap_cases(np.random.default_rng(19))
    with open(VMAP_OUT, "w") as fh:
        json.dump(batched, fh, separators=(",", ":"))
    print(f"wrote {len(batched)} cases to {os.path.normpath(VMAP_OUT)} ({os.path.getsize(VMAP_OUT) // 1024} KB)")


if __name__ == "__main__":
    main()
