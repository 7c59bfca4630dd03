// Convolution benchmarks (issue 18): a small CNN's jitted train step and the
// second convolution's forward, input-gradient and kernel-gradient passes,
// with sgemm measured in the same process as the peak they are set against;
// the same channels-last (NHWC / HWIO dimension numbers), and a MobileNet-style
// depthwise + pointwise block.
// `flock-bench convolution` runs them all; benchmarks/peers.py has the JAX side.

import Flock

/// The CNN of the benchmark: conv 3×3 1→32 + relu, conv 3×3 32→64 + relu,
/// spatial mean, dense 64→10, softmax cross-entropy; NCHW, "SAME" padding.
enum CNN {
    static let names = ["w1", "b1", "w2", "b2", "w3", "b3"]

    static func initial() -> [Tensor] {
        [Random.normal(Random.key(10), shape: [32, 1, 3, 3]) * 0.3, zeros([32]),
         Random.normal(Random.key(11), shape: [64, 32, 3, 3]) * 0.06, zeros([64]),
         Random.normal(Random.key(12), shape: [64, 10]) * 0.1, zeros([10])]
    }

    static func loss(_ p: [Tensor], _ x: Tensor, _ y: Tensor) -> Tensor {
        let h1 = relu(convolution(x, p[0], padding: .same) + p[1].reshaped([1, 32, 1, 1]))
        let h2 = relu(convolution(h1, p[2], padding: .same) + p[3].reshaped([1, 64, 1, 1]))
        let logits = matmul(h2.mean(axes: [2, 3]), p[4]) + p[5]
        return -(logSoftmax(logits) * y).sum(axes: [1]).mean()
    }

    /// One SGD step over flat arguments (params, then x, labels): loss, new params.
    static func step(_ args: [Tensor]) -> [Tensor] {
        let p = Array(args.prefix(6))
        let (l, g) = valueAndGrad { (q: [Tensor]) in loss(q, args[6], args[7]) }(p)
        return [l] + zip(p, g).map { $0 - 0.01 * $1 }
    }
}

/// The same CNN channels-last: NHWC images, HWIO kernels, no transposes
/// (`ConvolutionDimensionNumbers("NHWC", "HWIO", "NHWC")`).
enum CNNChannelsLast {
    static let dn = ConvolutionDimensionNumbers("NHWC", "HWIO", "NHWC")

    static func initial() -> [Tensor] {
        [Random.normal(Random.key(10), shape: [3, 3, 1, 32]) * 0.3, zeros([32]),
         Random.normal(Random.key(11), shape: [3, 3, 32, 64]) * 0.06, zeros([64]),
         Random.normal(Random.key(12), shape: [64, 10]) * 0.1, zeros([10])]
    }

    static func loss(_ p: [Tensor], _ x: Tensor, _ y: Tensor) -> Tensor {
        let h1 = relu(convolution(x, p[0], padding: .same, dimensionNumbers: dn) + p[1])
        let h2 = relu(convolution(h1, p[2], padding: .same, dimensionNumbers: dn) + p[3])
        let logits = matmul(h2.mean(axes: [1, 2]), p[4]) + p[5]
        return -(logSoftmax(logits) * y).sum(axes: [1]).mean()
    }

    static func step(_ args: [Tensor]) -> [Tensor] {
        let p = Array(args.prefix(6))
        let (l, g) = valueAndGrad { (q: [Tensor]) in loss(q, args[6], args[7]) }(p)
        return [l] + zip(p, g).map { $0 - 0.01 * $1 }
    }
}

/// A MobileNet-style block: depthwise 3×3 (64 channels) + relu, pointwise
/// 1×1 64→64 + relu, NHWC [32, 56, 56, 64], HWIO kernels.
enum MobileNetBlock {
    static let dn = ConvolutionDimensionNumbers("NHWC", "HWIO", "NHWC")

    static func initial() -> [Tensor] {
        [Random.normal(Random.key(20), shape: [3, 3, 1, 64]) * 0.3, Random.normal(Random.key(21), shape: [1, 1, 64, 64]) * 0.1]
    }

    static func apply(_ p: [Tensor], _ x: Tensor) -> Tensor {
        let h = relu(convolution(x, p[0], padding: .same, featureGroupCount: 64, dimensionNumbers: dn))
        return relu(convolution(h, p[1], dimensionNumbers: dn))
    }

    /// One SGD step on the mean square of the block's output: loss, new kernels.
    static func step(_ args: [Tensor]) -> [Tensor] {
        let p = Array(args.prefix(2))
        let (l, g) = valueAndGrad { (q: [Tensor]) in square(apply(q, args[2])).mean() }(p)
        return [l] + zip(p, g).map { $0 - 0.01 * $1 }
    }
}

/// FLOPs of conv2 (128 × 64 × 32 × 3 × 3 multiply-adds at each of 28 × 28 positions).
let conv2FLOPs = 2.0 * 128 * 64 * 32 * 9 * 28 * 28

@MainActor let convolutionCases: [(String, () -> Void)] = [
    ("conv_sgemm_peak", {
        let a = linspace(-1, 1, count: 1024 * 1024).reshaped([1024, 1024])
        let b = linspace(1, -1, count: 1024 * 1024).reshaped([1024, 1024])
        let ns = measure(repeats: 9, inner: 1) { blackhole += first(matmul(a, b)) }
        report("conv_sgemm_peak", ns, unit: "GFLOP/s", value: 2 * 1024 * 1024 * 1024 / ns)
    }),
    ("conv2_forward", {
        let x = Random.normal(Random.key(1), shape: [128, 32, 28, 28]), w = Random.normal(Random.key(2), shape: [64, 32, 3, 3])
        let f = jit { (v: [Tensor]) in [convolution(v[0], v[1], padding: .same)] }
        let ns = measure(repeats: 9, inner: 1) { blackhole += first(f([x, w])[0]) }
        report("conv2_forward", ns, unit: "GFLOP/s", value: conv2FLOPs / ns)
    }),
    ("conv2_input_grad", {
        let x = Random.normal(Random.key(1), shape: [128, 32, 28, 28]), w = Random.normal(Random.key(2), shape: [64, 32, 3, 3])
        let ct = Random.normal(Random.key(3), shape: [128, 64, 28, 28])
        let f = jit { (v: [Tensor]) in
            vjpFlat({ [convolution($0[0], v[1], padding: .same)] }, [v[0]]).pullback([v[2]])
        }
        let ns = measure(repeats: 9, inner: 1) { blackhole += first(f([x, w, ct])[0]) }
        report("conv2_input_grad", ns, unit: "GFLOP/s", value: conv2FLOPs / ns)
    }),
    ("conv2_kernel_grad", {
        let x = Random.normal(Random.key(1), shape: [128, 32, 28, 28]), w = Random.normal(Random.key(2), shape: [64, 32, 3, 3])
        let ct = Random.normal(Random.key(3), shape: [128, 64, 28, 28])
        let f = jit { (v: [Tensor]) in
            vjpFlat({ [convolution(v[0], $0[0], padding: .same)] }, [v[1]]).pullback([v[2]])
        }
        let ns = measure(repeats: 9, inner: 1) { blackhole += first(f([x, w, ct])[0]) }
        report("conv2_kernel_grad", ns, unit: "GFLOP/s", value: conv2FLOPs / ns)
    }),
    ("conv2_forward_nhwc", {
        let x = Random.normal(Random.key(1), shape: [128, 28, 28, 32]), w = Random.normal(Random.key(2), shape: [3, 3, 32, 64])
        let f = jit { (v: [Tensor]) in [convolution(v[0], v[1], padding: .same, dimensionNumbers: CNNChannelsLast.dn)] }
        let ns = measure(repeats: 9, inner: 1) { blackhole += first(f([x, w])[0]) }
        report("conv2_forward_nhwc", ns, unit: "GFLOP/s", value: conv2FLOPs / ns)
    }),
    ("conv2_input_grad_nhwc", {
        let x = Random.normal(Random.key(1), shape: [128, 28, 28, 32]), w = Random.normal(Random.key(2), shape: [3, 3, 32, 64])
        let ct = Random.normal(Random.key(3), shape: [128, 28, 28, 64])
        let f = jit { (v: [Tensor]) in
            vjpFlat({ [convolution($0[0], v[1], padding: .same, dimensionNumbers: CNNChannelsLast.dn)] }, [v[0]]).pullback([v[2]])
        }
        let ns = measure(repeats: 9, inner: 1) { blackhole += first(f([x, w, ct])[0]) }
        report("conv2_input_grad_nhwc", ns, unit: "GFLOP/s", value: conv2FLOPs / ns)
    }),
    ("conv2_kernel_grad_nhwc", {
        let x = Random.normal(Random.key(1), shape: [128, 28, 28, 32]), w = Random.normal(Random.key(2), shape: [3, 3, 32, 64])
        let ct = Random.normal(Random.key(3), shape: [128, 28, 28, 64])
        let f = jit { (v: [Tensor]) in
            vjpFlat({ [convolution(v[0], $0[0], padding: .same, dimensionNumbers: CNNChannelsLast.dn)] }, [v[1]]).pullback([v[2]])
        }
        let ns = measure(repeats: 9, inner: 1) { blackhole += first(f([x, w, ct])[0]) }
        report("conv2_kernel_grad_nhwc", ns, unit: "GFLOP/s", value: conv2FLOPs / ns)
    }),
    ("cnn_train_step_nhwc", {
        let x = Random.normal(Random.key(4), shape: [128, 28, 28, 1])
        let labels = oneHot(Random.randint(Random.key(5), shape: [128], minval: 0, maxval: 10), numClasses: 10)
        let step = jit(name: "cnn_train_step_nhwc", donateArgnums: Set(0..<6), CNNChannelsLast.step)
        var params = CNNChannelsLast.initial()
        let n = 3
        let ns = measure(repeats: 5, inner: n) {
            for _ in 0..<n { params = Array(step(params + [x, labels]).dropFirst()) }
            blackhole += first(params[5])
        }
        report("cnn_train_step_nhwc", ns, unit: "ms", value: ns / 1e6)
    }),
    ("mobilenet_block_forward", {
        let x = Random.normal(Random.key(6), shape: [32, 56, 56, 64])
        let f = jit { (v: [Tensor]) in [MobileNetBlock.apply(Array(v.prefix(2)), v[2])] }
        let args = MobileNetBlock.initial() + [x]
        let ns = measure(repeats: 9, inner: 1) { blackhole += first(f(args)[0]) }
        report("mobilenet_block_forward", ns, unit: "ms", value: ns / 1e6)
    }),
    ("mobilenet_block_step", {
        let x = Random.normal(Random.key(6), shape: [32, 56, 56, 64])
        let step = jit(name: "mobilenet_block_step", donateArgnums: Set(0..<2), MobileNetBlock.step)
        var params = MobileNetBlock.initial()
        let n = 3
        let ns = measure(repeats: 5, inner: n) {
            for _ in 0..<n { params = Array(step(params + [x]).dropFirst()) }
            blackhole += first(params[1])
        }
        report("mobilenet_block_step", ns, unit: "ms", value: ns / 1e6)
    }),
    ("cnn_train_step", {
        let x = Random.normal(Random.key(4), shape: [128, 1, 28, 28])
        let labels = oneHot(Random.randint(Random.key(5), shape: [128], minval: 0, maxval: 10), numClasses: 10)
        let step = jit(name: "cnn_train_step", donateArgnums: Set(0..<6), CNN.step)
        var params = CNN.initial()
        let n = 3
        let ns = measure(repeats: 5, inner: n) {
            for _ in 0..<n { params = Array(step(params + [x, labels]).dropFirst()) }
            blackhole += first(params[5])
        }
        report("cnn_train_step", ns, unit: "ms", value: ns / 1e6)
    }),
]

/// Runs the convolution cases: all for `convolution`, else the one named;
/// `conv_profile` prints the per-instruction profiles of the gradient passes and the train step.
@MainActor func runConvolutionBenchmarks(_ selected: String?) {
    if selected == "conv_profile" {
        let x = Random.normal(Random.key(1), shape: [128, 32, 28, 28]), w = Random.normal(Random.key(2), shape: [64, 32, 3, 3])
        let ct = Random.normal(Random.key(3), shape: [128, 64, 28, 28])
        let kernelGrad = jit(name: "kernel_grad") { (v: [Tensor]) in
            vjpFlat({ [convolution(v[0], $0[0], padding: .same)] }, [v[1]]).pullback([v[2]])
        }
        print(kernelGrad.lower([x, w, ct]).compile().profile([x, w, ct], iterations: 5))
        let images = Random.normal(Random.key(4), shape: [128, 1, 28, 28])
        let labels = oneHot(Random.randint(Random.key(5), shape: [128], minval: 0, maxval: 10), numClasses: 10)
        let args = CNN.initial() + [images, labels]
        print(jit(name: "cnn_train_step", CNN.step).lower(args).compile().profile(args, iterations: 3))
        return
    }
    for (name, run) in convolutionCases where selected == "convolution" || selected == name { run() }
}
