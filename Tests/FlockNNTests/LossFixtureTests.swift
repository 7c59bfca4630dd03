import Foundation
import FlockNN
import FlockTestSupport
import Testing

/// Fixtures/losses.json (tools/make_optim_fixtures.py): optax's losses and
/// jnp/lax metrics on edge cases (logits ±100, zero probabilities, masks, ties).
enum LossReference {
    struct Array: Decodable {
        let shape: [Int]
        let dtype: String
        let values: [Value]
        var tensor: Tensor {
            let dt: DType = switch dtype {
            case "int32": .int32
            case "bool": .bool
            default: .float32
            }
            return Tensor(values.map(\.double), shape: shape).converted(to: dt)
        }
    }
    typealias Value = FixtureNumber
    struct Case: Decodable, Sendable, CustomTestStringConvertible {
        let name: String
        let fn: String
        let args: [String: Array]
        let kwargs: [String: Double]
        let out: Array
        var testDescription: String { name }
    }

    static let cases: [Case] = {
        let url = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.appendingPathComponent("losses.json")
        return try! JSONDecoder().decode([Case].self, from: Data(contentsOf: url))
    }()
}

@Suite struct LossFixtureTests {
    static func evaluate(_ c: LossReference.Case) -> Tensor { evaluateTensors(c, c.args.mapValues(\.tensor)) }

    static func expectMatches(_ got: Tensor, _ c: LossReference.Case, _ label: String, sourceLocation: SourceLocation = #_sourceLocation) {
        let want = c.out.tensor
        #expect(got.shape == want.shape && got.dtype == want.dtype, "\(label): got \(got.dtype) \(got.shape), optax has \(want.dtype) \(want.shape)", sourceLocation: sourceLocation)
        guard got.shape == want.shape else { return }
        for (i, (x, y)) in zip(got.toArray(Double.self), want.toArray(Double.self)).enumerated() {
            let ok = (x.isNaN && y.isNaN) || x == y || Swift.abs(x - y) <= 1e-6 + 2e-6 * Swift.abs(y)
            #expect(ok, "\(label): element \(i) is \(x), optax has \(y)", sourceLocation: sourceLocation)
        }
    }

    @Test(arguments: LossReference.cases)
    func matchesOptax(_ c: LossReference.Case) {
        Self.expectMatches(Self.evaluate(c), c, c.name)
    }

    /// The same under jit (fused loops, reductions in the compiler's order).
    @Test(arguments: LossReference.cases)
    func jittedMatchesOptax(_ c: LossReference.Case) {
        let names = c.args.keys.sorted()
        let f = jit { (args: [Tensor]) -> [Tensor] in
            var bound: [String: Tensor] = [:]
            for (n, t) in zip(names, args) { bound[n] = t }
            return [Self.evaluateTensors(c, bound)]
        }
        Self.expectMatches(f(names.map { c.args[$0]!.tensor })[0], c, "\(c.name) (jit)")
    }

    static func evaluateTensors(_ c: LossReference.Case, _ t: [String: Tensor]) -> Tensor {
        let axis = Int(c.kwargs["axis"] ?? -1)
        switch c.fn {
        case "softmax_cross_entropy": return softmaxCrossEntropy(logits: t["logits"]!, labels: t["labels"]!, axis: axis, where: t["where"])
        case "softmax_cross_entropy_int":
            return softmaxCrossEntropy(logits: t["logits"]!, integerLabels: t["labels"]!, axis: axis, where: t["where"])
        case "smooth_labels": return smoothLabels(t["labels"]!, alpha: c.kwargs["alpha"]!, where: t["where"])
        case "sigmoid_binary_cross_entropy": return sigmoidBinaryCrossEntropy(logits: t["logits"]!, labels: t["labels"]!)
        case "squared_error": return squaredError(t["predictions"]!, t["targets"])
        case "l2_loss": return l2Loss(t["predictions"]!, t["targets"])
        case "huber_loss": return huberLoss(t["predictions"]!, t["targets"], delta: c.kwargs["delta"]!)
        case "cosine_similarity": return cosineSimilarity(t["predictions"]!, t["targets"]!, epsilon: c.kwargs["epsilon"]!, where: t["where"])
        case "cosine_distance": return cosineDistance(t["predictions"]!, t["targets"]!, epsilon: c.kwargs["epsilon"]!, where: t["where"])
        case "accuracy": return accuracy(logits: t["logits"]!, labels: t["labels"]!)
        case "top_k_accuracy": return topKAccuracy(logits: t["logits"]!, labels: t["labels"]!, k: Int(c.kwargs["k"]!))
        default: fatalError("unknown loss \(c.fn) in the fixtures")
        }
    }

    /// Gradients of the losses agree with finite differences (away from kinks).
    @Test func gradientsMatchFiniteDifferences() throws {
        let logits = Tensor([0.3, -1.2, 2.0, 0.5, 0.1, -0.4] as [Double], shape: [2, 3])
        let probs = Tensor([0.2, 0.5, 0.3, 0.0, 1.0, 0.0] as [Double], shape: [2, 3])
        let labels = Tensor([2, 0] as [Int32])
        let target = Tensor([0.5, -0.7, 1.9, 0.2, 0.0, -1.5] as [Double], shape: [2, 3])
        try checkGrads({ [softmaxCrossEntropy(logits: $0[0], labels: probs).sum()] }, [logits])
        try checkGrads({ [softmaxCrossEntropy(logits: $0[0], integerLabels: labels).sum()] }, [logits])
        try checkGrads({ [sigmoidBinaryCrossEntropy(logits: $0[0], labels: probs).sum()] }, [logits])
        try checkGrads({ [huberLoss($0[0], target, delta: 1).sum()] }, [logits])
        try checkGrads({ [cosineDistance($0[0], target, epsilon: 1e-8).sum()] }, [logits])
    }

    @Test func badOperandsAreErrors() {
        let logits = zeros([4, 3])
        #expect(errorMessage { _ = softmaxCrossEntropy(logits: logits, labels: zeros([4, 2])) }
            == "softmaxCrossEntropy: logits [4, 3] and labels [4, 2] must have the same shape")
        #expect(errorMessage { _ = softmaxCrossEntropy(logits: logits, integerLabels: zeros([4], dtype: .float32)) }
            == "softmaxCrossEntropy: integer labels must be int32 of shape [4] for logits [4, 3] (axis -1), got float32 [4]")
        #expect(errorMessage { _ = squaredError(zeros([2]), zeros([3])) }
            == "squaredError: predictions [2] and targets [3] must have the same shape")
        #expect(errorMessage { _ = huberLoss(zeros([2], dtype: .int32)) } == "huberLoss: predictions must be floating point, got int32")
        #expect(errorMessage { _ = sigmoidBinaryCrossEntropy(logits: zeros([2], dtype: .int32), labels: zeros([2])) }
            == "sigmoidBinaryCrossEntropy: logits must be floating point, got int32")
        #expect(errorMessage { _ = smoothLabels(zeros([3], dtype: .int32), alpha: 0.1) }
            == "smoothLabels: labels must be floating-point probabilities with a class axis, got int32 [3]")
        #expect(errorMessage { _ = cosineSimilarity(zeros([2, 3]), zeros([3, 2])) }
            == "cosineSimilarity: predictions and targets must be floating point of one shape, got float32 [2, 3] and float32 [3, 2]")
        #expect(errorMessage { _ = accuracy(logits: logits, labels: zeros([3], dtype: .int32)) }
            == "accuracy: labels must be int32 of shape [4] for logits [4, 3], got int32 [3]")
        #expect(errorMessage { _ = topKAccuracy(logits: logits, labels: zeros([4], dtype: .int32), k: 0) }
            == "topKAccuracy: k must be at least 1, got 0")
    }
}
