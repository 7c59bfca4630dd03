// The test behind train-lm's hidden --check-unsplit: training split over a
// model axis must be the unsplit model's training. Before the first step the
// model-parallel gradients are compared with the unsplit model's on the same
// batch (Adam is nearly blind to a gradient's scale, so this is what catches a
// wrong factor); then the same steps are run data-parallel alongside, and the
// losses and the final parameters compared.
//
// Tolerances (float32; the two sum in different orders — psums over "model",
// per-device partial matmuls), against what was measured on 1 × 2 meshes:
// - gradients: |Δ| ≤ 1e-4 · max |g| of the leaf + 1e-7 (measured ≤ 1e-6 relative);
// - losses: relative 1e-4 (measured 2e-7);
// - parameters: |Δ| ≤ 2e-5 (measured 3e-6 after 20 steps), except the
//   attention's key biases. Softmax is invariant to them, so their exact gradient is
//   0 and both runs' gradients are float noise (~1e-9), which Adam divides by its
//   own running size: steps of ±learning rate in directions no two summation
//   orders agree on (measured 2.6e-4 apart after 20 steps).
import Flock
import FlockExampleSupport
import Foundation

/// Trains the unsplit model beside the model-parallel one and compares them.
struct UnsplitCheck {
    var reference: DataParallelLMTrainer
    /// The largest |loss − unsplit loss| / unsplit loss over the steps so far.
    var lossDifference: Float = 0
    static let (gradientTolerance, gradientFloor, lossTolerance, parameterTolerance): (Float, Float, Float, Float) = (1e-4, 1e-7, 1e-4, 2e-5)

    /// Compares the gradients of `trainer` at the windows `starts` with the
    /// unsplit model's, then keeps `reference` (the same state) to train alongside.
    init(_ trainer: any SplitLMTrainer, reference: DataParallelLMTrainer, starts: [Int]) throws {
        self.reference = reference
        let batch = windows(of: reference.ids, starts: starts, context: reference.context)
        let expected = grad { (m: CharTransformer) in
            softmaxCrossEntropy(logits: m(batch.inputs), integerLabels: batch.targets).mean()
        }(reference.state.model)
        let got = try trainer.gradients(starts: starts)
        var worst: (ratio: Float, path: String, difference: Float, scale: Float) = (0, "", 0, 0)
        for (path, (a, b)) in zip(leafPaths(got), zip(treeLeaves(got), treeLeaves(expected))) {
            let (difference, scale) = (abs(a - b).max().item(Float.self), abs(b).max().item(Float.self))
            let ratio = difference / (Self.gradientTolerance * scale + Self.gradientFloor)
            if ratio >= worst.ratio { worst = (ratio, path, difference, scale) }
        }
        printOnRank0(String(format: "unsplit check: gradients differ by at most %.2e at %@ (largest |g| there %.2e)",
                            worst.difference, worst.path, worst.scale))
        guard worst.ratio <= 1 else {
            throw FlockError("train-lm: the model-parallel gradient of \(worst.path) differs from the unsplit model's by \(worst.difference) "
                + "(largest |g| \(worst.scale); tolerance \(Self.gradientTolerance) of it + \(Self.gradientFloor))")
        }
    }

    /// Trains the reference one step on the batch the model-parallel trainer saw, which gave `loss`.
    mutating func train(starts: [Int], loss: Float) throws {
        let expected = try reference.train(starts: starts)
        lossDifference = max(lossDifference, abs(loss - expected) / abs(expected))
    }

    /// Compares the model of `state` (gathered from the devices) with the reference's, and fails if they differ.
    func finish(_ state: LMTrainState) throws {
        var parameterDifference: Float = 0, worst = ""
        for (path, (a, b)) in zip(leafPaths(state.model), zip(treeLeaves(state.model), treeLeaves(reference.state.model)))
        where !path.hasSuffix("attention.key.bias") {
            let d = abs(a - b).max().item(Float.self)
            if d >= parameterDifference { (parameterDifference, worst) = (d, path) }
        }
        printOnRank0(String(format: "unsplit check: losses differ by at most %.2e (relative), parameters by %.2e (at %@)",
                            lossDifference, parameterDifference, worst))
        guard lossDifference <= Self.lossTolerance, parameterDifference <= Self.parameterTolerance else {
            throw FlockError("train-lm: the model-parallel training differs from the unsplit model's: losses by \(lossDifference) (relative; "
                + "tolerance \(Self.lossTolerance)), parameters by \(parameterDifference) at \(worst) (tolerance \(Self.parameterTolerance))")
        }
    }
}
