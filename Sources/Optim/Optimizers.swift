import FlockCore
import FlockTransforms

// The optimisers optax names (`optax.sgd`, `optax.adam`, …), each a chain of
// the building blocks, exactly as optax composes them, so their states have
// optax's layout. A learning rate is a `Schedule`: a float literal is a
// constant, `.constant(lr)` takes a variable.

extension GradientTransformation {
    /// Stochastic gradient descent, with momentum and Nesterov's variant
    /// (`optax.sgd`): chain(trace, scaleByLearningRate).
    ///
    /// ```swift
    /// let optimizer = GradientTransformation.sgd(learningRate: 0.1, momentum: 0.9, nesterov: true)
    /// ```
    public static func sgd(learningRate: Schedule, momentum: Double? = nil, nesterov: Bool = false) -> GradientTransformation {
        chain(momentum.map { trace(decay: $0, nesterov: nesterov) } ?? identity, scaleByLearningRate(learningRate)).named("sgd")
    }

    /// Adam (`optax.adam`): chain(scaleByAdam, scaleByLearningRate); NAdam with `nesterov`.
    ///
    /// ```swift
    /// let optimizer = GradientTransformation.adam(learningRate: 1e-3)
    /// ```
    public static func adam(
        learningRate: Schedule, b1: Double = 0.9, b2: Double = 0.999, eps: Double = 1e-8, epsRoot: Double = 0, nesterov: Bool = false
    ) -> GradientTransformation {
        chain(scaleByAdam(b1: b1, b2: b2, eps: eps, epsRoot: epsRoot, nesterov: nesterov), scaleByLearningRate(learningRate)).named("adam")
    }

    /// Adam with decoupled weight decay (`optax.adamw`): chain(scaleByAdam,
    /// addDecayedWeights, scaleByLearningRate) — the decay is added to Adam's
    /// direction before the learning rate scales both, as in optax and PyTorch.
    ///
    /// - Parameter mask: the parameter leaves to decay (all when nil), e.g.
    ///   `{ $0.shape.count > 1 }` to skip biases and norms' scales.
    ///
    /// ```swift
    /// let optimizer = GradientTransformation.adamw(learningRate: 1e-3, weightDecay: 0.01, mask: { $0.shape.count > 1 })
    /// ```
    public static func adamw(
        learningRate: Schedule, b1: Double = 0.9, b2: Double = 0.999, eps: Double = 1e-8, epsRoot: Double = 0,
        weightDecay: Schedule = 1e-4, mask: (@Sendable (LeafInfo) -> Bool)? = nil, nesterov: Bool = false
    ) -> GradientTransformation {
        chain(
            scaleByAdam(b1: b1, b2: b2, eps: eps, epsRoot: epsRoot, nesterov: nesterov),
            addDecayedWeights(weightDecay, mask: mask), scaleByLearningRate(learningRate)).named("adamw")
    }

    /// Adagrad (`optax.adagrad`): chain(scaleByRss, scaleByLearningRate).
    public static func adagrad(learningRate: Schedule, initialAccumulatorValue: Double = 0.1, eps: Double = 1e-7) -> GradientTransformation {
        chain(scaleByRss(initialAccumulatorValue: initialAccumulatorValue, eps: eps), scaleByLearningRate(learningRate)).named("adagrad")
    }

    /// RMSProp (`optax.rmsprop`): the second-moment rescaling (centred with
    /// `centered`, by the moving standard deviation), the learning rate, then
    /// momentum (Nesterov's with `nesterov`) when `momentum` is given.
    ///
    /// ```swift
    /// let optimizer = GradientTransformation.rmsprop(learningRate: 1e-3, centered: true, momentum: 0.9)
    /// ```
    public static func rmsprop(
        learningRate: Schedule, decay: Double = 0.9, eps: Double = 1e-8, initialScale: Double = 0, epsInSqrt: Bool = true,
        centered: Bool = false, momentum: Double? = nil, nesterov: Bool = false, biasCorrection: Bool = false
    ) -> GradientTransformation {
        let second = centered
            ? scaleByStddev(decay: decay, eps: eps, initialScale: initialScale, epsInSqrt: epsInSqrt, biasCorrection: biasCorrection)
            : scaleByRms(decay: decay, eps: eps, initialScale: initialScale, epsInSqrt: epsInSqrt, biasCorrection: biasCorrection)
        return chain(second, scaleByLearningRate(learningRate), momentum.map { trace(decay: $0, nesterov: nesterov) } ?? identity).named("rmsprop")
    }

    /// Lion (`optax.lion`): chain(scaleByLion, addDecayedWeights, scaleByLearningRate).
    ///
    /// ```swift
    /// let optimizer = GradientTransformation.lion(learningRate: 1e-4, weightDecay: 1e-2)
    /// ```
    public static func lion(
        learningRate: Schedule, b1: Double = 0.9, b2: Double = 0.99, weightDecay: Schedule = 1e-3,
        mask: (@Sendable (LeafInfo) -> Bool)? = nil
    ) -> GradientTransformation {
        chain(scaleByLion(b1: b1, b2: b2), addDecayedWeights(weightDecay, mask: mask), scaleByLearningRate(learningRate)).named("lion")
    }

    /// LAMB (`optax.lamb`): chain(scaleByAdam, addDecayedWeights,
    /// scaleByTrustRatio, scaleByLearningRate) — Adam's direction with weight
    /// decay, rescaled per leaf by ‖param‖ / ‖update‖.
    public static func lamb(
        learningRate: Schedule, b1: Double = 0.9, b2: Double = 0.999, eps: Double = 1e-6, epsRoot: Double = 0,
        weightDecay: Schedule = 0, mask: (@Sendable (LeafInfo) -> Bool)? = nil
    ) -> GradientTransformation {
        chain(
            scaleByAdam(b1: b1, b2: b2, eps: eps, epsRoot: epsRoot), addDecayedWeights(weightDecay, mask: mask),
            scaleByTrustRatio(), scaleByLearningRate(learningRate)).named("lamb")
    }
}
