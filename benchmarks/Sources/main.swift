// Flock's benchmark executable: runs each case several times and prints one
// JSON line per case with the median, for benchmarks/run to set beside the
// peers (numpy, JAX) measured in the same run. Never used as a timed test.

import Flock

#if canImport(Glibc)
import Glibc
#endif

func now() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}

func median(_ xs: [Double]) -> Double {
    let s = xs.sorted()
    return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
}

/// Times `body` (which performs `inner` operations) `repeats` times; returns the median ns per operation.
func measure(repeats: Int, inner: Int, _ body: () -> Void) -> Double {
    body()  // warm-up: caches, buffer pool, page faults
    var samples: [Double] = []
    for _ in 0..<repeats {
        let t0 = now()
        body()
        samples.append(Double(now() - t0) / Double(inner))
    }
    return median(samples)
}

func report(_ name: String, _ nsPerOp: Double, unit: String, value: Double, impl: String = "flock") {
    print("{\"case\": \"\(name)\", \"impl\": \"\(impl)\", \"ns\": \(nsPerOp), \"unit\": \"\(unit)\", \"value\": \(value)}")
}

var blackhole: Float = 0

/// The first element, read cheaply so the work cannot be optimised away.
func first(_ t: Tensor) -> Float { t.flattened()[0].item(Float.self) }

let cases: [(String, () -> Void)] = [
    ("eager_add_small", {
        let a = Tensor((0..<100).map { Float($0) }), b = Tensor((0..<100).map { Float($0) * 0.5 })
        let n = 20_000
        let ns = measure(repeats: 7, inner: n) {
            var c = a
            for _ in 0..<n { c = a + b }
            blackhole += first(c)
        }
        report("eager_add_small", ns, unit: "us/op", value: ns / 1000)
    }),
    ("eager_exp_small", {
        let a = Tensor((0..<100).map { Float($0) / 50 })
        let n = 20_000
        let ns = measure(repeats: 7, inner: n) {
            var c = a
            for _ in 0..<n { c = exp(a) }
            blackhole += first(c)
        }
        report("eager_exp_small", ns, unit: "us/op", value: ns / 1000)
    }),
    ("sgemm_1024", {
        let a = linspace(-1, 1, count: 1024 * 1024).reshaped([1024, 1024])
        let b = linspace(1, -1, count: 1024 * 1024).reshaped([1024, 1024])
        let ns = measure(repeats: 9, inner: 1) { blackhole += first(matmul(a, b)) }
        report("sgemm_1024", ns, unit: "GFLOP/s", value: 2 * 1024 * 1024 * 1024 / ns)
    }),
    ("tanh_affine_10m", {
        let n = 10_000_000
        let x = linspace(-4, 4, count: n)
        let ns = measure(repeats: 9, inner: n) { blackhole += first(tanh(x) * 0.5 + 0.5) }
        report("tanh_affine_10m", ns, unit: "ns/element", value: ns)
    }),
    // Eager elementwise functions on float32[1 << 20] (XLA's algorithms, issue 12).
    unaryCase("tanh_1m") { tanh($0) },
    unaryCase("exp_1m") { exp($0) },
    unaryCase("gelu_1m") { gelu($0) },
    unaryCase("gelu_erf_1m") { gelu($0, approximate: false) },
    // Reductions: a whole-array sum (blocked, pairwise) and jitted row sums of
    // a product (the reduction fused into the loop that makes its operand).
    ("sum_10m", {
        let n = 10_000_000
        let x = linspace(-4, 4, count: n)
        let ns = measure(repeats: 9, inner: n) { blackhole += x.sum().item(Float.self) }
        report("sum_10m", ns, unit: "ns/element", value: ns)
    }),
    ("row_sums_jit_10m", {
        let x = linspace(-4, 4, count: 10_000_000).reshaped([1000, 10_000])
        let f = jit { (v: Tensor) in (v * v).sum(axes: [1]) }
        let ns = measure(repeats: 9, inner: 10_000_000) { blackhole += first(f(x)) }
        report("row_sums_jit_10m", ns, unit: "ns/element", value: ns)
    }),
]

/// A 784-512-512-10 MLP with a softmax cross-entropy loss.
struct MLP {
    var params: [String: Tensor]
    init(key: PRNGKey) {
        let k = Random.split(key, num: 3)
        params = [
            "w1": Random.normal(k[0], shape: [784, 512]) * 0.05, "b1": zeros([512]),
            "w2": Random.normal(k[1], shape: [512, 512]) * 0.05, "b2": zeros([512]),
            "w3": Random.normal(k[2], shape: [512, 10]) * 0.05, "b3": zeros([10]),
        ]
    }
    static func loss(_ p: [String: Tensor], _ x: Tensor, _ labels: Tensor) -> Tensor {
        let h1 = relu(matmul(x, p["w1"]!) + p["b1"]!)
        let h2 = relu(matmul(h1, p["w2"]!) + p["b2"]!)
        let logits = matmul(h2, p["w3"]!) + p["b3"]!
        return -(logSoftmax(logits) * labels).sum(axes: [1]).mean()
    }
}

let transformCases: [(String, () -> Void)] = [
    ("mlp_eager_value_and_grad_vs_forward", {
        let mlp = MLP(key: Random.key(0))
        let x = Random.normal(Random.key(1), shape: [128, 784])
        let labels = oneHot(Random.randint(Random.key(2), shape: [128], minval: 0, maxval: 10), numClasses: 10)
        let fwd = measure(repeats: 9, inner: 1) { blackhole += MLP.loss(mlp.params, x, labels).item(Float.self) }
        let vg = valueAndGrad { (p: [String: Tensor]) in MLP.loss(p, x, labels) }
        let both = measure(repeats: 9, inner: 1) { blackhole += vg(mlp.params).value.item(Float.self) }
        report("mlp_eager_forward", fwd, unit: "ms", value: fwd / 1e6)
        report("mlp_eager_value_and_grad", both, unit: "ms", value: both / 1e6)
        report("mlp_grad_over_forward", both, unit: "ratio", value: both / fwd)
    }),
    ("per_example_grads", {
        // One-hidden-layer regression model; per-example gradients of all parameters.
        let b = 128, d = 64, h = 64
        let k = Random.split(Random.key(3), num: 4)
        let w1 = Random.normal(k[0], shape: [d, h]) * 0.1, b1 = zeros([h]), w2 = Random.normal(k[1], shape: [h]) * 0.1
        let x = Random.normal(k[2], shape: [b, d]), y = Random.normal(k[3], shape: [b])
        let loss = { (p: [Tensor], xi: Tensor, yi: Tensor) -> Tensor in
            let hid = tanh(matmul(xi, p[0]) + p[1])
            let r = (hid * p[2]).sum() - yi
            return r * r
        }
        let perExample = vmapFlat({ a in grad { (p: [Tensor]) in loss(p, a[3], a[4]) }([a[0], a[1], a[2]]) },
                                  inAxes: [nil, nil, nil, 0, 0], outAxes: [0, 0, 0])
        let viaVmap = measure(repeats: 9, inner: 1) { blackhole += first(perExample([w1, b1, w2, x, y])[0]) }
        // The same gradients by hand, batched.
        let handBatched = { (a: [Tensor]) -> [Tensor] in
            let (w1, b1, w2, x, y) = (a[0], a[1], a[2], a[3], a[4])
            let hid = tanh(matmul(x, w1) + b1)                      // [B, H]
            let dOut = 2 * (matmul(hid, w2) - y)                    // [B]
            let gW2 = dOut.expandingDims(1) * hid                   // [B, H]
            let dPre = dOut.expandingDims(1) * w2 * (1 - hid * hid) // [B, H]
            let gW1 = x.expandingDims(2) * dPre.expandingDims(1)    // [B, D, H]
            return [gW1, dPre, gW2]
        }
        let args = [w1, b1, w2, x, y]
        let byHand = measure(repeats: 9, inner: 1) { blackhole += first(handBatched(args)[0]) }
        let jitVmap = jit(perExample), jitHand = jit(handBatched)
        let viaVmapJit = measure(repeats: 9, inner: 1) { blackhole += first(jitVmap(args)[0]) }
        let byHandJit = measure(repeats: 9, inner: 1) { blackhole += first(jitHand(args)[0]) }
        report("per_example_grads_vmap", viaVmap, unit: "ms", value: viaVmap / 1e6)
        report("per_example_grads_by_hand", byHand, unit: "ms", value: byHand / 1e6)
        report("per_example_grads_over_hand_batched", viaVmap, unit: "ratio", value: viaVmap / byHand)
        report("per_example_grads_jit_over_hand_batched_jit", viaVmapJit, unit: "ratio", value: viaVmapJit / byHandJit)
        report("per_example_grads_jit", viaVmapJit, unit: "ms", value: viaVmapJit / 1e6)
    }),
    ("tracing_overhead_per_primitive", {
        let x = Tensor([1, 2, 3] as [Float])
        let chain = { (v: [Tensor]) -> [Tensor] in
            var y = v[0]
            for _ in 0..<1000 { y = y * 1.0001 }
            return [y]
        }
        let ns = measure(repeats: 7, inner: 1000) { blackhole += Float(makeJaxpr(chain)([x]).equations.count) }
        report("tracing_overhead_per_primitive", ns, unit: "us/primitive", value: ns / 1000)
    }),
]

/// One SGD step of the MLP over flat arguments (params in `MLP.names` order, then x, labels),
/// returning the loss and the updated params.
func trainStep(_ args: [Tensor]) -> [Tensor] {
    let p = Dictionary(uniqueKeysWithValues: zip(MLP.names, args.prefix(6)))
    let (loss, g) = valueAndGrad { (q: [String: Tensor]) in MLP.loss(q, args[6], args[7]) }(p)
    return [loss] + MLP.names.map { p[$0]! - 0.01 * g[$0]! }
}

extension MLP {
    static let names = ["w1", "b1", "w2", "b2", "w3", "b3"]
}

@MainActor func trainStepCase(batch: Int) -> (String, () -> Void) {
    ("mlp_train_step_\(batch)", {
        let mlp = MLP(key: Random.key(0))
        let x = Random.normal(Random.key(1), shape: [batch, 784])
        let labels = oneHot(Random.randint(Random.key(2), shape: [batch], minval: 0, maxval: 10), numClasses: 10)
        let step = jit(name: "train_step", donateArgnums: Set(0..<6), trainStep)
        var params = MLP.names.map { mlp.params[$0]! }
        let n = 10
        let ns = measure(repeats: 7, inner: n) {
            for _ in 0..<n { params = Array(step(params + [x, labels]).dropFirst()) }
            blackhole += first(params[5])
        }
        report("mlp_train_step_\(batch)", ns, unit: "ms", value: ns / 1e6)
    })
}

/// Parameters, Adam's state and the last loss of the digits-sized MLP: the pytree the Adam step donates.
struct AdamTrainState: PyTreeStruct {
    var params: [String: Tensor]
    var opt: OptimizerState
    var loss: Tensor
    static let fields: [PyTreeField<AdamTrainState>] = [.init(\.params, "params"), .init(\.opt, "opt"), .init(\.loss, "loss")]
}

/// The digits MLP (64 → 128 → 10) with FlockOptim's Adam, batch 128: the
/// initial state, the batch and the step (the optax peer is in peers.py).
func adamTrainStep() -> (state: AdamTrainState, batch: [Tensor], step: (AdamTrainState, [Tensor]) -> AdamTrainState) {
    let tx = GradientTransformation.adam(learningRate: 1e-3)
    let params: [String: Tensor] = [
        "w1": Random.normal(Random.key(1), shape: [64, 128]) * 0.1, "b1": zeros([128]),
        "w2": Random.normal(Random.key(2), shape: [128, 10]) * 0.1, "b2": zeros([10]),
    ]
    let x = Random.normal(Random.key(3), shape: [128, 64])
    let y = Random.randint(Random.key(4), shape: [128], minval: 0, maxval: 10)
    let step = { (s: AdamTrainState, batch: [Tensor]) -> AdamTrainState in
        let (loss, g) = valueAndGrad { (p: [String: Tensor]) in
            let h = relu(matmul(batch[0], p["w1"]!) + p["b1"]!)
            return softmaxCrossEntropy(logits: matmul(h, p["w2"]!) + p["b2"]!, integerLabels: batch[1]).mean()
        }(s.params)
        let (u, opt) = tx.update(g, state: s.opt, params: s.params)
        return AdamTrainState(params: applyUpdates(s.params, u), opt: opt, loss: loss)
    }
    return (AdamTrainState(params: params, opt: tx.initialize(params), loss: zeros([])), [x, y], step)
}

@MainActor func adamTrainStepCase() -> (String, () -> Void) {
    ("train_step_mlp_adam", {
        var (state, batch, body) = adamTrainStep()
        let step = jit(name: "train_step_adam", donateArgnums: [0], body)
        let n = 100
        let ns = measure(repeats: 7, inner: n) {
            for _ in 0..<n { state = step(state, batch) }
            blackhole += state.loss.item(Float.self)
        }
        report("train_step_mlp_adam", ns, unit: "us", value: ns / 1e3)
    })
}

let jitCases: [(String, () -> Void)] = [
    trainStepCase(batch: 128),
    adamTrainStepCase(),
    transformerBlockCase(),
    trainStepCase(batch: 1024),
    ("gelu_10m_jit", {
        let n = 10_000_000
        let x = linspace(-4, 4, count: n)
        let f = jit { (v: Tensor) in gelu(v) }
        let ns = measure(repeats: 15, inner: n) { blackhole += first(f(x)) }
        report("gelu_10m_jit", ns, unit: "ns/element", value: ns)
        // The memory floor: a jitted negation reads and writes the same bytes.
        let g = jit { (v: Tensor) in -v }
        let floor = measure(repeats: 15, inner: n) { blackhole += first(g(x)) }
        report("gelu_10m_over_memory_floor", ns, unit: "ratio", value: ns / floor)
    }),
    ("max_pool_2x2", {
        // Flax's max_pool, 2×2 windows, stride 2, NHWC float32[128, 28, 28, 32], jitted.
        let x = Random.normal(Random.key(3), shape: [128, 28, 28, 32])
        let ct = Random.normal(Random.key(4), shape: [128, 14, 14, 32])
        let f = jit { (v: Tensor) in maxPool(v, windowShape: [2, 2], strides: [2, 2]) }
        let g = jit(grad { (v: Tensor) in (maxPool(v, windowShape: [2, 2], strides: [2, 2]) * ct).sum() })
        let forward = measure(repeats: 15, inner: 1) { blackhole += first(f(x)) }
        report("max_pool_2x2_forward", forward, unit: "ms", value: forward / 1e6)
        let backward = measure(repeats: 15, inner: 1) { blackhole += first(g(x)) }
        report("max_pool_2x2_backward", backward, unit: "ms", value: backward / 1e6)
    }),
    ("jit_compile_mlp_step", {
        let mlp = MLP(key: Random.key(0))
        let x = Random.normal(Random.key(1), shape: [128, 784])
        let labels = oneHot(Random.randint(Random.key(2), shape: [128], minval: 0, maxval: 10), numClasses: 10)
        let args = MLP.names.map { mlp.params[$0]! } + [x, labels]
        // A fresh jit function each time: trace, optimise and compile (JAX: lower + compile).
        let ns = measure(repeats: 7, inner: 1) {
            blackhole += Float(jit(name: "train_step", trainStep).lower(args).compile().instructionCount)
        }
        report("jit_compile_mlp_step", ns, unit: "ms", value: ns / 1e6)
    }),
]

// Diagnostics (not in BENCHMARKS.md): the parts of tanh_affine_10m.
let diagnostics: [(String, () -> Void)] = [
    ("diag_profile_train_step_adam", {
        let (state, batch, body) = adamTrainStep()
        let leaves = treeLeaves(state), n = leaves.count
        let flat = { (a: [Tensor]) in treeLeaves(body(treeUnflatten(like: state, Array(a[..<n])), Array(a[n...]))) }
        let compiled = jit(name: "train_step_adam", flat).lower(leaves + batch).compile()
        if getenv("FLOCK_DIAG_PLAN") != nil { print(compiled.plan) }
        print(compiled.profile(leaves + batch, iterations: 200))
    }),
    ("diag_profile_transformer_block", { profileTransformerBlock() }),
    ("diag_max_pool_loop", {
        // Jitted max pooling 300 times (for perf), beside a jitted negation of the same input (read + write floor).
        let x = Random.normal(Random.key(3), shape: [128, 28, 28, 32])
        let f = jit { (v: Tensor) in maxPool(v, windowShape: [2, 2], strides: [2, 2]) }, g = jit { (v: Tensor) in -v }
        for _ in 0..<3 {
            report("diag_max_pool_forward", measure(repeats: 100, inner: 1) { blackhole += first(f(x)) }, unit: "ns", value: 0)
            report("diag_negation_same_input", measure(repeats: 100, inner: 1) { blackhole += first(g(x)) }, unit: "ns", value: 0)
        }
    }),
    ("diag_profile_train_step", {
        let batch = Int(CommandLine.arguments.dropFirst(2).first ?? "128")!
        let mlp = MLP(key: Random.key(0))
        let x = Random.normal(Random.key(1), shape: [batch, 784])
        let labels = oneHot(Random.randint(Random.key(2), shape: [batch], minval: 0, maxval: 10), numClasses: 10)
        let args = MLP.names.map { mlp.params[$0]! } + [x, labels]
        print(jit(name: "train_step", trainStep).lower(args).compile().profile(args, iterations: 50))
    }),
    ("diag_jit_dispatch", {
        // The fixed cost of calling a jitted function, against one eager operation.
        let x = Tensor([1, 2, 3, 4] as [Float])
        let f = jit { (v: Tensor) in v * 2 }
        let n = 100_000
        report("diag_jit_dispatch", measure(repeats: 7, inner: n) {
            var y = x
            for _ in 0..<n { y = f(x) }
            blackhole += first(y)
        }, unit: "ns", value: 0)
        report("diag_eager_dispatch", measure(repeats: 7, inner: n) {
            var y = x
            for _ in 0..<n { y = x * 2 }
            blackhole += first(y)
        }, unit: "ns", value: 0)
    }),
    ("diag_gemm_shapes", {
        @MainActor func bench(_ m: Int, _ k: Int, _ n: Int, ta: Bool = false, tb: Bool = false) {
            let a = ones(ta ? [k, m] : [m, k]), b = ones(tb ? [n, k] : [k, n])
            let dn = DotDimensionNumbers(lhsContracting: [ta ? 0 : 1], rhsContracting: [tb ? 1 : 0])
            let ns = measure(repeats: 21, inner: 1) { blackhole += first(dotGeneral(a, b, dn)) }
            print("\(m)x\(k)x\(n) ta=\(ta) tb=\(tb): \(ns / 1e6) ms \(2 * Double(m * k * n) / ns) GFLOP/s")
        }
        for bsz in [128, 1024] {
            bench(bsz, 784, 512); bench(bsz, 512, 512); bench(bsz, 512, 10)
            bench(784, bsz, 512, ta: true); bench(512, bsz, 512, ta: true); bench(bsz, 512, 512, tb: true); bench(512, bsz, 10, ta: true)
        }
    }),
    ("diag_tanh_10m", {
        let x = linspace(-4, 4, count: 10_000_000)
        report("diag_tanh_10m", measure(repeats: 9, inner: 10_000_000) { blackhole += first(tanh(x)) }, unit: "ns/element", value: 0)
    }),
    ("diag_relu_backward", {
        // relu's backward step alone: select(mask, 0, cotangent) over a [1024, 512] activation.
        let x = Random.normal(Random.key(0), shape: [1024, 512]), ct = Random.normal(Random.key(1), shape: [1024, 512])
        let f = jit { (v: [Tensor]) in [select(v[0] .<= 0, zeros([1024, 512]), v[1])] }
        print(f.lower([x, ct]).compile().profile([x, ct], iterations: 200))
        let g = jit { (v: [Tensor]) in [select(v[0], zeros([1024, 512]), v[1])] }
        let m = x .<= 0
        print(g.lower([m, ct]).compile().profile([m, ct], iterations: 200))
    }),
    ("diag_gelu_loop", {
        // Jitted GELU on 10M float32, 200 times: for perf, after set-up.
        let x = linspace(-4, 4, count: 10_000_000)
        let f = jit { (v: Tensor) in gelu(v) }
        blackhole += first(f(x))
        let t0 = now()
        for _ in 0..<200 { blackhole += first(f(x)) }
        print("gelu: \(Double(now() - t0) / 200 / 1e7) ns/element")
    }),
    ("diag_native_compile_cost", {
        // compilePlan of the MLP step's optimised jaxpr with and without native
        // loops, alternating in one process (the jit_compile_mlp_step difference
        // is within that benchmark's noise on a shared machine).
        let mlp = MLP(key: Random.key(0))
        let x = Random.normal(Random.key(1), shape: [128, 784])
        let labels = oneHot(Random.randint(Random.key(2), shape: [128], minval: 0, maxval: 10), numClasses: 10)
        let jaxpr = optimize(makeJaxpr(trainStep)(MLP.names.map { mlp.params[$0]! } + [x, labels]))
        var on: [Double] = [], off: [Double] = []
        for _ in 0..<301 {
            var t0 = now()
            blackhole += Float(compilePlan(jaxpr).nativeLoopCount)
            on.append(Double(now() - t0))
            t0 = now()
            blackhole += Float(compilePlan(jaxpr, native: false).instructionCount)
            off.append(Double(now() - t0))
        }
        report("diag_native_compile_plan_on", median(on), unit: "us", value: median(on) / 1e3)
        report("diag_native_compile_plan_off", median(off), unit: "us", value: median(off) / 1e3)
    }),
    ("diag_gelu_cache_sizes", {
        // Jitted GELU and negation on arrays that stay in L2, L3 or only memory: compute against memory.
        for n in [32_768, 262_144, 10_000_000] {
            let x = linspace(-4, 4, count: n)
            let f = jit { (v: Tensor) in gelu(v) }, g = jit { (v: Tensor) in -v }
            let inner = max(1, 20_000_000 / n)
            let a = measure(repeats: 9, inner: n * inner) { for _ in 0..<inner { blackhole += first(f(x)) } }
            let b = measure(repeats: 9, inner: n * inner) { for _ in 0..<inner { blackhole += first(g(x)) } }
            print("n=\(n): gelu \(a) ns/element, negation \(b) ns/element")
        }
    }),
    ("diag_mul_10m", {
        let x = linspace(-4, 4, count: 10_000_000)
        report("diag_mul_10m", measure(repeats: 9, inner: 10_000_000) { blackhole += first(x * 0.5) }, unit: "ns/element", value: 0)
    }),
]

let selected = CommandLine.arguments.dropFirst().first
// Process start to first result: benchmarks/startup.py times this whole process.
if selected == "startup" {
    let f = jit { (v: Tensor) in gelu(v) * 2 }
    print(f(linspace(-1, 1, count: 1000)).sum().item(Float.self))
    exit(0)
}
// Collectives run under ./launch (benchmarks/run does it), apart from the rest.
if selected == "collectives" || selected?.hasPrefix("psum_") == true { runCollectiveBenchmarks(selected) }
if selected == "diag_psum_overhead" { runCollectiveDiagnostics() }
if selected == "pmap" || selected?.hasPrefix("pmap_") == true { runShardingBenchmarks(selected) }
if selected == "diag_pmap_loop" { runPmapOverheadLoop() }
if selected == "diag_pmean_step_profile" { runPmeanStepProfile() }
if selected == "convolution" || selected?.hasPrefix("conv") == true || selected == "cnn_train_step" {
    runConvolutionBenchmarks(selected)
    exit(0)
}
if selected == nil || ["gather_scatter", "embedding_step", "embedding_lookup", "scatter_add", "diag_gather"].contains(selected!) {
    runGatherScatterBenchmarks(selected)
}
for (name, run) in cases where selected == nil || selected == name { run() }
for (name, run) in transformCases where selected == nil || selected == name { run() }
for (name, run) in jitCases where selected == nil || selected == name { run() }
for (name, run) in diagnostics where selected == name { run() }
if blackhole.isNaN { print("") }

/// An eager elementwise function on float32[1 << 20] over [-10, 10], in ns per element.
@MainActor func unaryCase(_ name: String, _ f: @escaping (Tensor) -> Tensor) -> (String, () -> Void) {
    (name, {
        let n = 1 << 20
        let x = linspace(-10, 10, count: n)
        let ns = measure(repeats: 21, inner: n) { blackhole += first(f(x)) }
        report(name, ns, unit: "ns/element", value: ns)
    })
}
