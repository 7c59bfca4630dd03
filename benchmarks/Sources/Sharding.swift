// pmap: a data-parallel training step of the MLP at a fixed global batch, on
// however many ranks the job has (benchmarks/run starts it under
// `./launch -n 1` and `-n 2`; the report computes the scaling efficiency),
// and the per-step cost of pmap over the same step jitted, on one rank.
// Rank 0 prints the JSON lines.
import Flock

let pmapGlobalBatch = 256

/// One SGD step of the MLP: gradients averaged over the pmap axis `axis`
/// (nil: plain, for the jitted baseline).
func mlpStep(_ keys: [String], axis: String?) -> ([Tensor]) -> [Tensor] {
    { a in
        let p = Dictionary(uniqueKeysWithValues: zip(keys, a.prefix(keys.count)))
        var g = grad { MLP.loss($0, a[keys.count], a[keys.count + 1]) }(p)
        if let axis { g = pmean(g, axisName: axis) }
        return keys.map { p[$0]! - 0.01 * g[$0]! }
    }
}

/// The MLP's parameters and this process's rows of a fixed global batch,
/// stacked per local device: [local devices, rows per device, …].
func mlpData() -> (keys: [String], params: [Tensor], x: Tensor, labels: Tensor) {
    let mlp = MLP(key: Random.key(0))
    let keys = mlp.params.keys.sorted()
    let L = Distributed.localDeviceCount, perDevice = pmapGlobalBatch / Distributed.deviceCount
    let x = Random.normal(Random.key(1), shape: [pmapGlobalBatch, 784])
    let labels = oneHot(Random.randint(Random.key(2), shape: [pmapGlobalBatch], minval: 0, maxval: 10), numClasses: 10)
    let first = Distributed.processIndex * L * perDevice
    let mine = { (t: Tensor) in t[first..<(first + L * perDevice)].reshaped([L, perDevice] + Array(t.shape.dropFirst())) }
    return (keys, keys.map { mlp.params[$0]! }, mine(x), mine(labels))
}

/// Nanoseconds per step of `body`: each step starts after a barrier and takes
/// as long as its slowest rank; the result is the best of `repeats` steps (the
/// machine is shared: the least disturbed step shows the cost of the step).
func timeSteps(repeats: Int, _ body: () -> Void) -> Double {
    let world = Distributed.processTransport
    body()  // warm-up: traces, buffer pool
    var samples: [Double] = []
    for _ in 0..<repeats {
        try! world.barrier()
        let t0 = now()
        body()
        samples.append(Double(now() - t0))
    }
    let slowest = try! world.allReduce(DenseArray(samples, shape: [repeats]), .max).toArray(Double.self)
    return slowest.min()!
}

@MainActor
func runShardingBenchmarks(_ selected: String?) {
    try! Distributed.initialize()
    let P = Distributed.processCount
    let (keys, params, x, labels) = mlpData()
    let step = pmap(mlpStep(keys, axis: "batch"), axisName: "batch",
                    inAxes: keys.map { _ in nil } + [0, 0], outAxes: keys.map { _ in nil })
    var current = params
    let ns = timeSteps(repeats: 15) { current = try! step.local(current + [x, labels]) }
    // The parts of the step on this job: its computation alone (jitted, this
    // device's rows, no communication) and the gradients' all-reduce alone.
    let rows = x.reshaped([-1, 784]), rowLabels = labels.reshaped([-1, 10])
    let local = jit(mlpStep(keys, axis: nil))
    var viaJit = params
    let compute = timeSteps(repeats: 15) { viaJit = local(viaJit + [rows, rowLabels]) }
    let allReduce = withAxis("batch", communicator: Distributed.processes) {
        timeSteps(repeats: 15) { viaJit = viaJit.map { psum($0, axisName: "batch") } }
    }
    // The same step jitted with its pmean, the axis bound directly (no pmap).
    let withPmean = jit(mlpStep(keys, axis: "batch"))
    let direct = withAxis("batch", communicator: Distributed.processes) {
        timeSteps(repeats: 15) { viaJit = withPmean(viaJit + [rows, rowLabels]) }
    }
    blackhole += first(current[0]) + first(viaJit[0])
    if Distributed.processIndex == 0 { report("diag_mlp_step_jit_with_pmean_\(P)", direct, unit: "ms", value: direct / 1e6) }
    if Distributed.processIndex == 0 {
        let ranks = "\(P)rank\(P == 1 ? "" : "s")"
        report("pmap_mlp_step_\(ranks)", ns, unit: "ms", value: ns / 1e6)
        report("pmap_mlp_compute_\(ranks)", compute, unit: "ms", value: compute / 1e6)
        if P > 1 { report("pmap_mlp_allreduce_\(ranks)", allReduce, unit: "ms", value: allReduce / 1e6) }
    }
    guard P == 1 && Distributed.localDeviceCount == 1 else { return }

    // Per-step cost of pmap over the jitted step, one rank, one device: the MLP
    // step, and a tiny step whose computation is negligible. The two are timed
    // alternately so that both see the same machine load.
    viaJit = params
    let (pmapNs, jitNs) = alternately(repeats: 21, { current = try! step.local(current + [x, labels]) },
                                      { viaJit = local(viaJit + [rows, rowLabels]) })
    blackhole += first(current[0]) + first(viaJit[0])
    report("pmap_over_jit_mlp_step", pmapNs, unit: "ratio", value: pmapNs / jitNs)

    let tiny = { (axis: String?) in { (a: [Tensor]) -> [Tensor] in
        var g = grad { (w: Tensor) in (matmul(a[1], w) * matmul(a[1], w)).mean() }(a[0])
        if let axis { g = pmean(g, axisName: axis) }
        return [a[0] - 0.01 * g]
    } }
    let w = Random.normal(Random.key(3), shape: [4, 4]), xs = Random.normal(Random.key(4), shape: [8, 4])
    let stacked = xs.expandingDims(0)
    let tinyPmap = pmap(tiny("batch"), axisName: "batch", inAxes: [nil, 0], outAxes: [nil])
    let tinyJit = jit(tiny(nil))
    let inner = 200
    var v = w, u = w
    let (pmapTiny, jitTiny) = alternately(repeats: 21, { for _ in 0..<inner { v = try! tinyPmap.local([v, stacked])[0] } },
                                          { for _ in 0..<inner { u = tinyJit([u, xs])[0] } })
    blackhole += first(v) + first(u)
    report("pmap_overhead_per_step", (pmapTiny - jitTiny) / Double(inner), unit: "us", value: (pmapTiny - jitTiny) / Double(inner) / 1000)
    report("diag_tiny_step_jit", jitTiny / Double(inner), unit: "us", value: jitTiny / Double(inner) / 1000)
}

/// Median ns of `a` and of `b`, timed alternately `repeats` times after a warm-up.
func alternately(repeats: Int, _ a: () -> Void, _ b: () -> Void) -> (Double, Double) {
    a()
    b()
    var ta: [Double] = [], tb: [Double] = []
    for _ in 0..<repeats {
        var t0 = now()
        a()
        ta.append(Double(now() - t0))
        t0 = now()
        b()
        tb.append(Double(now() - t0))
    }
    return (median(ta), median(tb))
}

/// Diagnostics (for a profiler): the tiny pmap step in a loop for a few seconds.
@MainActor
func runPmapOverheadLoop() {
    let tiny = { (a: [Tensor]) -> [Tensor] in [a[0] - 0.01 * pmean(grad { (w: Tensor) in (matmul(a[1], w) * matmul(a[1], w)).mean() }(a[0]), axisName: "batch")] }
    let w = Random.normal(Random.key(3), shape: [4, 4])
    let xs = Random.normal(Random.key(4), shape: [Distributed.localDeviceCount, 8, 4])
    let p = pmap(tiny, axisName: "batch", inAxes: [nil, 0], outAxes: [nil])
    var v = w
    let t0 = now()
    var n = 0
    while now() - t0 < 3_000_000_000 { v = try! p.local([v, xs])[0]; n += 1 }
    blackhole += first(v)
    report("diag_pmap_loop", Double(now() - t0) / Double(n), unit: "us", value: Double(now() - t0) / Double(n) / 1000)
}

/// Diagnostics: where the data-parallel step's time goes on each rank (the
/// step jitted with its pmean, the axis bound to the job's ranks).
@MainActor
func runPmeanStepProfile() {
    try! Distributed.initialize()
    let (keys, params, x, labels) = mlpData()
    let rows = x.reshaped([-1, 784]), rowLabels = labels.reshaped([-1, 10])
    let args = params + [rows, rowLabels]
    let text = withAxis("batch", communicator: Distributed.processes) {
        jit(name: "step_with_pmean", mlpStep(keys, axis: "batch")).lower(args).compile().profile(args, iterations: 30)
    }
    print(text.split(separator: "\n").filter { $0.contains("psum") || $0.contains("per run") }.joined(separator: "\n"))
}
