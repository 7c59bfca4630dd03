import FlockCollectives

// LayerNorm and RMSNorm over the last axis, as Flax: statistics in at least
// float32, the "fast" variance E[x²] − E[x]² clipped at 0, then
// (x − mean) · (rsqrt(var + ε) · scale) + bias in that order.

/// Mean and variance of `x` over `axes` (kept as size-1 dims), Flax's
/// `_compute_stats` with `use_fast_variance`: E[x²] − E[x]², clipped at 0.
/// With `axisName`, both means are averaged over that named axis (one pmean).
func normalizationStatistics(_ x: Tensor, axes: [Int], axisName: String? = nil) -> (mean: Tensor, variance: Tensor) {
    var mean = x.mean(axes: axes, keepDims: true)
    var meanOfSquares = (x * x).mean(axes: axes, keepDims: true)
    if let axisName {
        let both = pmean(stack([mean, meanOfSquares]), axisName: axisName)
        mean = both[0]
        meanOfSquares = both[1]
    }
    return (mean, maximum(Tensor(0, dtype: x.dtype), meanOfSquares - mean * mean))
}

/// Flax's `_normalize`: (x − mean) · (rsqrt(var + ε) [· scale]) [+ bias].
func normalized(_ x: Tensor, mean: Tensor, variance: Tensor, scale: Tensor?, bias: Tensor?, epsilon: Double) -> Tensor {
    var multiplier = rsqrt(variance + Tensor(epsilon, dtype: x.dtype))
    if let scale { multiplier = multiplier * scale }
    let y = (x - mean) * multiplier
    return bias.map { y + $0 } ?? y
}

/// Checks that `x` has `features` in its last dimension.
func checkFeatures(_ x: Tensor, _ features: Int, _ layer: String) -> Bool {
    if x.rank >= 1, x.shape.last == features { return true }
    raiseLayerError(layer, "expected input of shape […, \(features)], got \(shapeText(x.shape))")
    return false
}

/// Layer normalisation over the last axis (Flax `LayerNorm`):
/// `(x − mean) / √(var + ε) · scale + bias`, statistics per example.
///
/// ```swift
/// let norm = LayerNorm(512)
/// let y = norm(x)                      // x: [batch, seq, 512]
/// ```
public struct LayerNorm: Layer, PyTreeStruct {
    /// `[features]` (ones at init), or nil without a scale.
    public var scale: Tensor?
    /// `[features]` (zeros at init), or nil without a bias.
    public var bias: Tensor?
    /// Added to the variance (Flax's default 1e-6).
    public let epsilon: Double
    /// The size of the normalised last axis.
    public let features: Int
    public static let fields: [PyTreeField<LayerNorm>] = [.init(\.scale, "scale"), .init(\.bias, "bias")]

    /// A layer norm over a last axis of size `features`.
    ///
    /// ```swift
    /// let norm = LayerNorm(64, epsilon: 1e-5, useBias: false)
    /// ```
    public init(_ features: Int, epsilon: Double = 1e-6, useBias: Bool = true, useScale: Bool = true, dtype: DType = .float32) {
        self.init(
            scale: useScale ? ones([features], dtype: dtype) : nil, bias: useBias ? zeros([features], dtype: dtype) : nil,
            features: features, epsilon: epsilon)
    }

    /// A layer norm with the given parameters (each `[features]` or nil).
    ///
    /// ```swift
    /// let norm = LayerNorm(scale: gamma, bias: beta, features: 64)
    /// ```
    public init(scale: Tensor?, bias: Tensor?, features: Int, epsilon: Double = 1e-6) {
        for p in [scale, bias].compactMap({ $0 }) where p.shape != [features] {
            raiseLayerError("LayerNorm", "scale and bias must have shape [\(features)], got \(shapeText(p.shape))")
        }
        (self.scale, self.bias, self.features, self.epsilon) = (scale, bias, features, epsilon)
    }

    /// `x` normalised over its last axis, of size ``features``.
    public func callAsFunction(_ x: Tensor) -> Tensor {
        guard checkFeatures(x, features, "LayerNorm") else { return .poisoned }
        let (mean, variance) = normalizationStatistics(x, axes: [x.rank - 1])
        return normalized(x, mean: mean, variance: variance, scale: scale, bias: bias, epsilon: epsilon)
    }
}

/// Root-mean-square normalisation over the last axis (Flax `RMSNorm`):
/// `x / √(mean(x²) + ε) · scale`.
///
/// ```swift
/// let norm = RMSNorm(512)
/// let y = norm(x)
/// ```
public struct RMSNorm: Layer, PyTreeStruct {
    /// `[features]` (ones at init), or nil without a scale.
    public var scale: Tensor?
    /// Added to the mean square (Flax's default 1e-6).
    public let epsilon: Double
    /// The size of the normalised last axis.
    public let features: Int
    public static let fields: [PyTreeField<RMSNorm>] = [.init(\.scale, "scale")]

    /// An RMS norm over a last axis of size `features`.
    ///
    /// ```swift
    /// let norm = RMSNorm(64, epsilon: 1e-5)
    /// ```
    public init(_ features: Int, epsilon: Double = 1e-6, useScale: Bool = true, dtype: DType = .float32) {
        self.init(scale: useScale ? ones([features], dtype: dtype) : nil, features: features, epsilon: epsilon)
    }

    /// An RMS norm with the given scale (`[features]` or nil).
    ///
    /// ```swift
    /// let norm = RMSNorm(scale: gamma, features: 64)
    /// ```
    public init(scale: Tensor?, features: Int, epsilon: Double = 1e-6) {
        if let scale, scale.shape != [features] {
            raiseLayerError("RMSNorm", "scale must have shape [\(features)], got \(shapeText(scale.shape))")
        }
        (self.scale, self.features, self.epsilon) = (scale, features, epsilon)
    }

    /// `x` divided by its root mean square over the last axis, times the scale.
    public func callAsFunction(_ x: Tensor) -> Tensor {
        guard checkFeatures(x, features, "RMSNorm") else { return .poisoned }
        let meanSquare = (x * x).mean(axes: [x.rank - 1], keepDims: true)
        return normalized(x, mean: Tensor(0, dtype: x.dtype), variance: meanSquare, scale: scale, bias: nil, epsilon: epsilon)
    }
}
