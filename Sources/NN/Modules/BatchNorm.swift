/// Batch normalisation over all axes but the last (Flax `BatchNorm`).
///
/// The running statistics are not parameters (they get no gradient and no
/// optimiser update): they live in a separate ``State`` that the call takes
/// and returns, updated in training mode. With `axisName`, the batch
/// statistics are averaged over that named axis (a `pmean`), so that data
/// parallel replicas under `vmap(axisName:)`, `pmap` or `shardMap` normalise
/// with the statistics of the global batch.
///
/// ```swift
/// let bn = BatchNorm(64)
/// var state = bn.initialState()
/// let (y, newState) = bn(x, state: state, useRunningAverage: false)   // training
/// state = newState
/// let (yEval, _) = bn(x, state: state, useRunningAverage: true)       // evaluation
/// ```
public struct BatchNorm: Module, PyTreeStruct {
    /// `[features]` (ones at init), or nil without a scale.
    public var scale: Tensor?
    /// `[features]` (zeros at init), or nil without a bias.
    public var bias: Tensor?
    /// The size of the last (feature) axis.
    public let features: Int
    /// Weight of the old running statistics in an update (Flax's default 0.99).
    public let momentum: Double
    /// Added to the variance (Flax's default 1e-5).
    public let epsilon: Double
    /// The named axis over which batch statistics are averaged, if any.
    public let axisName: String?
    public static let fields: [PyTreeField<BatchNorm>] = [.init(\.scale, "scale"), .init(\.bias, "bias")]

    /// The running statistics (Flax's `batch_stats` collection): a pytree.
    public struct State: PyTreeStruct, Sendable {
        /// Running mean, `[features]`.
        public var mean: Tensor
        /// Running (biased) variance, `[features]`.
        public var variance: Tensor
        public static let fields: [PyTreeField<State>] = [.init(\.mean, "mean"), .init(\.variance, "var")]

        /// Statistics with the given values.
        public init(mean: Tensor, variance: Tensor) { (self.mean, self.variance) = (mean, variance) }
    }

    /// A batch norm over a last axis of size `features`.
    ///
    /// ```swift
    /// let bn = BatchNorm(32, momentum: 0.9, axisName: "batch")
    /// ```
    public init(
        _ features: Int, momentum: Double = 0.99, epsilon: Double = 1e-5, useBias: Bool = true, useScale: Bool = true,
        axisName: String? = nil, dtype: DType = .float32
    ) {
        self.init(
            scale: useScale ? ones([features], dtype: dtype) : nil, bias: useBias ? zeros([features], dtype: dtype) : nil,
            features: features, momentum: momentum, epsilon: epsilon, axisName: axisName)
    }

    /// A batch norm with the given parameters (each `[features]` or nil).
    ///
    /// ```swift
    /// let bn = BatchNorm(scale: gamma, bias: beta, features: 32)
    /// ```
    public init(
        scale: Tensor?, bias: Tensor?, features: Int, momentum: Double = 0.99, epsilon: Double = 1e-5, axisName: String? = nil
    ) {
        for p in [scale, bias].compactMap({ $0 }) where p.shape != [features] {
            raiseLayerError("BatchNorm", "scale and bias must have shape [\(features)], got \(shapeText(p.shape))")
        }
        (self.scale, self.bias, self.features) = (scale, bias, features)
        (self.momentum, self.epsilon, self.axisName) = (momentum, epsilon, axisName)
    }

    /// Running statistics at initialisation: mean 0, variance 1.
    ///
    /// ```swift
    /// var state = bn.initialState()
    /// ```
    public func initialState(dtype: DType = .float32) -> State {
        State(mean: zeros([features], dtype: dtype), variance: ones([features], dtype: dtype))
    }

    /// Normalises `x` (`[…, features]`).
    ///
    /// - Parameters:
    ///   - state: the running statistics.
    ///   - useRunningAverage: true for evaluation (normalise with `state`,
    ///     returned unchanged); false for training (normalise with the batch
    ///     statistics and return `momentum · state + (1 − momentum) · batch`).
    /// - Returns: the normalised tensor and the (updated) state.
    public func callAsFunction(_ x: Tensor, state: State, useRunningAverage: Bool) -> (Tensor, State) {
        guard checkFeatures(x, features, "BatchNorm") else { return (.poisoned, state) }
        guard state.mean.shape == [features], state.variance.shape == [features] else {
            raiseLayerError("BatchNorm", "the state must hold mean and var of shape [\(features)], got \(shapeText(state.mean.shape)) and \(shapeText(state.variance.shape))")
            return (.poisoned, state)
        }
        if useRunningAverage {
            return (normalized(x, mean: state.mean, variance: state.variance, scale: scale, bias: bias, epsilon: epsilon), state)
        }
        let (mean, variance) = normalizationStatistics(x, axes: Array(0..<(x.rank - 1)), axisName: axisName)
        let keep = Tensor(momentum, dtype: x.dtype), take = Tensor(1 - momentum, dtype: x.dtype)
        let updated = State(
            mean: stopGradient(keep * state.mean + take * mean.reshaped([features])),
            variance: stopGradient(keep * state.variance + take * variance.reshaped([features])))
        return (normalized(x, mean: mean, variance: variance, scale: scale, bias: bias, epsilon: epsilon), updated)
    }
}
