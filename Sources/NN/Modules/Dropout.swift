/// Dropout (Flax `Dropout`): in training, each element is kept with
/// probability `1 − rate` and scaled by `1 / (1 − rate)`, else zeroed; when
/// `deterministic` (evaluation) the input passes unchanged.
///
/// The mask comes from an explicit key, the same mask JAX draws
/// (`jax.random.bernoulli(key, 1 − rate, shape)`).
///
/// ```swift
/// let dropout = Dropout(rate: 0.1)
/// let yTrain = dropout(x, deterministic: false, key: stepKey)
/// let yEval = dropout(x, deterministic: true)
/// ```
public struct Dropout: Module, PyTreeStruct {
    /// The probability of dropping an element.
    public let rate: Double
    /// Axes along which the mask is shared (size 1 in the mask's shape).
    public let broadcastDims: [Int]
    public static var fields: [PyTreeField<Dropout>] { [] }

    /// Dropout with probability `rate` in `[0, 1]`.
    ///
    /// ```swift
    /// let spatial = Dropout(rate: 0.2, broadcastDims: [1, 2])   // one mask per [N, C] in NHWC
    /// ```
    public init(rate: Double, broadcastDims: [Int] = []) {
        if !(0...1).contains(rate) { raiseLayerError("Dropout", "rate must be in [0, 1], got \(rate)") }
        (self.rate, self.broadcastDims) = (rate, broadcastDims)
    }

    /// `x` with dropout applied unless `deterministic`; `key` is required when it applies.
    public func callAsFunction(_ x: Tensor, deterministic: Bool, key: PRNGKey? = nil) -> Tensor {
        if deterministic || rate == 0 { return x }
        if rate == 1 { return zerosLike(x) }  // not x · 0 / 0: no NaN in the gradient
        guard let key else {
            raiseLayerError("Dropout", "deterministic is false but no key was given")
            return .poisoned
        }
        var maskShape = x.shape
        for d in broadcastDims {
            let axis = d < 0 ? d + x.rank : d
            guard axis >= 0, axis < x.rank else {
                raiseLayerError("Dropout", "broadcast dimension \(d) is out of range for input \(shapeText(x.shape))")
                return .poisoned
            }
            maskShape[axis] = 1
        }
        let keepProbability = 1 - rate
        // p is float32, as a Python float in JAX's default 32-bit mode.
        let keep = Random.bernoulli(key, p: Tensor(keepProbability, dtype: .float32), shape: maskShape).broadcast(to: x.shape)
        // XLA compiles JAX's x / keep into x · (1 / keep) with the reciprocal rounded
        // in x's dtype; the same product gives JAX's bits.
        let reciprocal = Tensor(1, dtype: x.dtype) / Tensor(keepProbability, dtype: x.dtype)
        return select(keep, x * reciprocal, zerosLike(x))
    }
}
