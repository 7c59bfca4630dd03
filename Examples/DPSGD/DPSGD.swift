// dp-sgd: differentially private SGD (Abadi et al., 2016) on the 8×8 digits.
// Each example's gradient is computed separately with vmap(grad), clipped to
// an L2 norm of at most C, the clipped gradients are summed (over every rank
// and device), Gaussian noise of standard deviation σ·C is added, and the
// average takes an SGD step. The privacy spent is tracked with the Rényi
// accountant of the subsampled Gaussian mechanism (integer orders).
//
//   swift run -c release dp-sgd
//   ./launch -n 2 dp-sgd --noise-multiplier 1.1 --l2-clip 1.0
import ArgumentParser
import FlockExampleSupport
import Flock
import Foundation

@main
struct DPSGD: FlockExample {
    static let configuration = CommandConfiguration(
        commandName: "dp-sgd",
        abstract: "Differentially private SGD on the 8×8 digits: per-example clipping with vmap(grad), calibrated Gaussian noise.",
        discussion: """
            Prints progress and, at the end, the test accuracy and the privacy spent, (ε, δ),
            from the Rényi accountant of the sampled Gaussian mechanism (sampling rate
            batch / examples; batches are drawn by shuffling, the usual approximation of
            Poisson sampling).
            """)

    @OptionGroup var training: TrainingOptions

    @Option(help: "The digits data set (.npz with x_train, y_train, x_test, y_test).")
    var data = "Examples/Data/digits.npz"

    @Option(help: "The noise's standard deviation as a multiple of the clipping norm (σ).")
    var noiseMultiplier = 1.1

    @Option(help: "The clipping norm C of each example's gradient.")
    var l2Clip = 1.0

    @Option(help: "SGD's learning rate.")
    var learningRate = 0.5

    @Option(help: "δ of the (ε, δ) guarantee reported at the end.")
    var delta = 1e-5

    @Option(help: "Fail (exit status 1) unless the test accuracy reaches this value.")
    var expectAccuracy: Double?

    @Option(help: ArgumentHelp("Check the privacy accountant against dp_accounting's values in this JSON file first.", valueName: "dp-accounting.json"))
    var checkAccountant: String?

    mutating func validate() throws {
        guard noiseMultiplier > 0 else { throw ValidationError("--noise-multiplier must be positive, got \(noiseMultiplier)") }
        guard l2Clip > 0 else { throw ValidationError("--l2-clip must be positive, got \(l2Clip)") }
        guard delta > 0 && delta < 1 else { throw ValidationError("--delta must be in (0, 1), got \(delta)") }
    }

    func run() throws {
        try Distributed.initialize()
        if let checkAccountant { try RDPAccountant.check(against: checkAccountant) }
        let train = try Dataset(npz: data, features: "x_train", labels: "y_train", featureDType: .float32, labelDType: .int32)
        let test = try Dataset(npz: data, features: "x_test", labels: "y_test", featureDType: .float32, labelDType: .int32)
        let steps = training.steps ?? 400
        let batchSize = training.batchSize ?? 256
        let loader = try DataLoader(train, globalBatchSize: batchSize, shuffle: Random.key(training.seed + 1), remainder: .drop)
        var model = MLP(64, hidden: [64], 10, activation: { tanh($0) }, key: Random.key(training.seed))
        let noiseKey = Random.key(training.seed + 2)
        let (clip, sigma, rate) = (l2Clip, noiseMultiplier, learningRate)
        printOnRank0("dp-sgd: \(Distributed.deviceCount) device(s), batch \(batchSize), σ = \(sigma), C = \(clip), \(steps) steps")

        // One private step: per-example gradients (vmap of grad), each clipped
        // to norm C, summed over the devices, plus N(0, σ²C²) noise drawn from
        // the step's key (the same on every device), averaged.
        let template = model
        let paramCount = treeLeaves(model).count
        let step = pmap({ args -> [Tensor] in
            let m = treeUnflatten(like: template, Array(args[0..<paramCount]))
            let (x, y, stepIndex) = (args[paramCount], args[paramCount + 1], args[paramCount + 2])
            let perExample = vmap({ (xy: [Tensor]) -> MLP in
                grad { (p: MLP) in softmaxCrossEntropy(logits: p(xy[0].reshaped([1, -1])), integerLabels: xy[1].reshaped([1])).sum() }(m)
            })([x, y])
            // Each example's global gradient norm, and the factor that clips it.
            let squares = treeLeaves(perExample).map { ($0 * $0).reshaped([$0.shape[0], -1]).sum(axes: [1]) }
            let norms = sqrt(squares.dropFirst().reduce(squares[0], +))
            let factor = minimum(onesLike(norms), clip / (norms + 1e-12))
            let clippedSum = treeMap(perExample) { g in
                psum((g * factor.reshaped([g.shape[0]] + [Int](repeating: 1, count: g.rank - 1))).sum(axes: [0]), axisName: "data")
            }
            let count = psum(Tensor(Float(x.shape[0])), axisName: "data")
            let noiseKeys = Random.split(Random.foldIn(noiseKey, stepIndex), num: paramCount)
            var i = 0
            let noisy = treeMap(clippedSum) { g in
                defer { i += 1 }
                return g + Float(sigma * clip) * Random.normal(noiseKeys[i], shape: g.shape)
            }
            let updated = treeMap(m, noisy) { p, g in p - Float(rate) * g / count }
            let loss = pmean(softmaxCrossEntropy(logits: m(x), integerLabels: y).mean(), axisName: "data")
            return treeLeaves(updated) + [loss, pmean(norms.mean(), axisName: "data")]
        }, axisName: "data", inAxes: [Int?](repeating: nil, count: paramCount) + [0, 0, nil],
           outAxes: [Int?](repeating: nil, count: paramCount + 2))

        var progress = ProgressReporter(totalSteps: steps, examplesPerStep: batchSize, every: training.logEvery)
        var order: (epoch: Int, rows: [Int]) = (-1, [])
        for done in 0..<steps {
            let epoch = done / loader.batchesPerEpoch
            if order.epoch != epoch { order = (epoch, loader.order(epoch: epoch)) }
            let batch = loader.batch(done % loader.batchesPerEpoch, order: order.rows).splitForDevices()
            let outs = try step.local(treeLeaves(model) + [batch.features, batch.labels, Tensor(Int32(done))])
            model = treeUnflatten(like: model, Array(outs[0..<paramCount]))
            progress.record(step: done + 1, loss: Double(outs[paramCount].item(Float.self)))
        }
        progress.finish()
        try training.writeCurves(progress, name: "dp-sgd", title: "dp-sgd: digits, σ = \(sigma)")

        let accuracy = Double(accuracyOf(model, test))
        let epsilon = RDPAccountant.epsilon(samplingRate: Double(batchSize) / Double(train.count), noiseMultiplier: sigma,
                                            steps: steps, delta: delta)
        printOnRank0(String(format: "privacy: ε = %.2f at δ = %g (σ = %g, %d steps, sampling rate %.4f)",
                            epsilon, delta, sigma, steps, Double(batchSize) / Double(train.count)))
        printOnRank0(String(format: "test accuracy: %.4f", accuracy))
        if let expectAccuracy, accuracy < expectAccuracy {
            throw FlockError("dp-sgd: test accuracy \(String(format: "%.4f", accuracy)) is below the expected \(expectAccuracy)")
        }
    }
}

/// The fraction of `data` that `model` classifies correctly.
func accuracyOf(_ model: MLP, _ data: Dataset) -> Float {
    accuracy(logits: model(data.features), labels: data.labels).mean().item(Float.self)
}

/// Rényi differential privacy of the sampled Gaussian mechanism (Mironov,
/// Talwar and Zhang, 2019) at integer orders, converted to (ε, δ).
enum RDPAccountant {
    /// The orders tried; the best gives the reported ε.
    static let orders = Array(2...256)

    /// ε after `steps` steps at sampling rate `q` with noise multiplier `σ`,
    /// by the conversion of Balle et al. (2020): the best over the orders α of
    /// RDP(α) + log((α − 1)/α) − (log δ + log α)/(α − 1); 0 when some order's
    /// total RDP r is so small that δ² ≥ 1 − exp(−r) (δ then bounds the loss).
    static func epsilon(samplingRate q: Double, noiseMultiplier sigma: Double, steps: Int, delta: Double) -> Double {
        var best = Double.infinity
        for a in orders {
            let alpha = Double(a), r = Double(steps) * rdp(q: q, sigma: sigma, order: a)
            if delta * delta + expm1(-r) >= 0 { return 0 }
            best = min(best, r + log1p(-1 / alpha) - (log(delta) + log(alpha)) / (alpha - 1))
        }
        return max(0, best)
    }

    /// Recomputes every case of a file written by tools/make_dpsgd_reference.py
    /// (Google's dp_accounting) and throws on the first that differs.
    static func check(against path: String) throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        guard let file = try JSONSerialization.jsonObject(with: data) as? [String: Any],
              let cases = file["cases"] as? [[String: Double]] else { throw FlockError("dp-sgd: \(path) holds no cases") }
        for c in cases {
            let (q, sigma, steps, delta, want) = (c["sampling_rate"]!, c["noise_multiplier"]!, Int(c["steps"]!), c["delta"]!, c["epsilon"]!)
            let got = epsilon(samplingRate: q, noiseMultiplier: sigma, steps: steps, delta: delta)
            if abs(got - want) > 1e-6 * max(1, abs(want)) {
                throw FlockError("dp-sgd: ε for q = \(q), σ = \(sigma), \(steps) steps, δ = \(delta) is \(got); dp_accounting gives \(want)")
            }
        }
        printOnRank0("the accountant agrees with dp_accounting on \(cases.count) cases")
    }

    /// RDP of one step at integer order `a`: log(Σₖ C(a,k) (1−q)^(a−k) q^k exp((k²−k)/(2σ²))) / (a − 1),
    /// summed in log space.
    static func rdp(q: Double, sigma: Double, order a: Int) -> Double {
        if q == 0 { return 0 }
        if q == 1 { return Double(a) / (2 * sigma * sigma) }
        var terms: [Double] = []
        for k in 0...a {
            let logBinomial = lgamma(Double(a + 1)) - lgamma(Double(k + 1)) - lgamma(Double(a - k + 1))
            terms.append(logBinomial + Double(a - k) * log(1 - q) + Double(k) * log(q) + Double(k * k - k) / (2 * sigma * sigma))
        }
        let top = terms.max()!
        return (top + log(terms.reduce(0) { $0 + exp($1 - top) })) / Double(a - 1)
    }
}
