// The variance-scaling family (jax.nn.initializers.variance_scaling and the
// lecun/glorot/he shorthands). Fan sizes and the variance are computed in
// Double as JAX does in Python, then rounded to the parameter dtype.

/// Which fan size divides the scale in ``Initializer/varianceScaling(scale:mode:distribution:inAxis:outAxis:batchAxis:)``.
public enum FanMode: String, Sendable, Hashable {
    /// The number of inputs (`"fan_in"`).
    case fanIn = "fan_in"
    /// The number of outputs (`"fan_out"`).
    case fanOut = "fan_out"
    /// The arithmetic mean of inputs and outputs (`"fan_avg"`).
    case fanAvg = "fan_avg"
    /// The geometric mean of inputs and outputs (`"fan_geo_avg"`).
    case fanGeoAvg = "fan_geo_avg"
}

/// The distribution of ``Initializer/varianceScaling(scale:mode:distribution:inAxis:outAxis:batchAxis:)``.
public enum VarianceScalingDistribution: String, Sendable, Hashable {
    /// A normal truncated at ±2 standard deviations, rescaled so that the
    /// truncated distribution has the requested variance (`"truncated_normal"`).
    case truncatedNormal = "truncated_normal"
    /// A normal distribution (`"normal"`).
    case normal
    /// A uniform distribution on `[-limit, limit)`, `limit = √(3·variance)` (`"uniform"`).
    case uniform
}

/// The standard deviation of a standard normal truncated to (−2, 2), by which
/// JAX divides so that the truncated samples have the requested variance.
let truncatedNormalStddev = 0.87962566103423978

extension Initializer {
    /// Samples with variance `scale / n`, where `n` is a fan size of the shape
    /// (`jax.nn.initializers.variance_scaling`).
    ///
    /// Axes not in `inAxis`, `outAxis` or `batchAxis` form the receptive field
    /// (a convolution kernel's spatial axes) and multiply both fans: for a Flax
    /// conv kernel `[3, 3, 16, 32]`, fan in = 3·3·16, fan out = 3·3·32.
    ///
    /// - Parameters:
    ///   - scale: the variance numerator (2 for ReLU networks).
    ///   - mode: which fan divides `scale`.
    ///   - distribution: truncated normal, normal or uniform.
    ///   - inAxis, outAxis: the input and output axes (negative counts from the end).
    ///   - batchAxis: axes ignored by the fan computation.
    ///
    /// ```swift
    /// let he = Initializer.varianceScaling(scale: 2, mode: .fanIn, distribution: .truncatedNormal)
    /// let w = he(PRNGKey(0), [256, 128])
    /// ```
    public static func varianceScaling(
        scale: Double, mode: FanMode, distribution: VarianceScalingDistribution,
        inAxis: [Int] = [-2], outAxis: [Int] = [-1], batchAxis: [Int] = []
    ) -> Initializer {
        Initializer { key, shape, dtype in
            guard dtype.isFloatingPoint else {
                raise(FlockError("varianceScaling: dtype must be float32 or float64, got \(dtype)"))
                return .poisoned
            }
            guard let (fanIn, fanOut) = computeFans(shape, inAxis: inAxis, outAxis: outAxis, batchAxis: batchAxis) else {
                return .poisoned
            }
            let denominator: Double
            switch mode {
            case .fanIn: denominator = fanIn
            case .fanOut: denominator = fanOut
            case .fanAvg: denominator = (fanIn + fanOut) / 2
            case .fanGeoAvg: denominator = (fanIn * fanOut).squareRoot()
            }
            let variance = Tensor(scale / denominator, dtype: dtype)
            switch distribution {
            case .truncatedNormal:
                let stddev = sqrt(variance) / Tensor(truncatedNormalStddev, dtype: dtype)
                let samples = Random.truncatedNormal(
                    key, lower: Tensor(-2, dtype: dtype), upper: Tensor(2, dtype: dtype), shape: shape, dtype: dtype)
                return samples * stddev
            case .normal:
                return Random.normal(key, shape: shape, dtype: dtype) * sqrt(variance)
            case .uniform:
                let samples = Random.uniform(key, shape: shape, dtype: dtype, minval: Tensor(-1, dtype: dtype))
                return samples * sqrt(Tensor(3, dtype: dtype) * variance)
            }
        }
    }

    /// Fan in and fan out of a weight shape, as JAX's `_compute_fans`.
    static func computeFans(_ shape: [Int], inAxis: [Int], outAxis: [Int], batchAxis: [Int]) -> (Double, Double)? {
        let rank = shape.count
        if inAxis == [-2], rank <= 1 {
            raise(FlockError("varianceScaling: cannot compute fan sizes of a rank-\(rank) shape \(shape) with the default inAxis -2; the shape needs rank ≥ 2 or an explicit inAxis"))
            return nil
        }
        func size(_ axes: [Int], _ name: String) -> Double? {
            var product = 1.0
            for a in axes {
                let axis = a < 0 ? a + rank : a
                guard axis >= 0, axis < rank else {
                    raise(FlockError("varianceScaling: \(name) \(a) is out of range for shape \(shape)"))
                    return nil
                }
                product *= Double(shape[axis])
            }
            return product
        }
        guard let inSize = size(inAxis, "inAxis"), let outSize = size(outAxis, "outAxis"),
            let batchSize = size(batchAxis, "batchAxis")
        else { return nil }
        // Python's float division, in its order: prod(shape) / in / out / batch.
        let receptiveField = Double(shape.reduce(1, *)) / inSize / outSize / batchSize
        return (inSize * receptiveField, outSize * receptiveField)
    }

    /// LeCun normal: truncated normal, variance 1 / fan in (`jax.nn.initializers.lecun_normal`);
    /// the default kernel initialiser of ``Linear``, ``Conv`` and ``MultiHeadAttention``, as in Flax.
    ///
    /// ```swift
    /// let w = Initializer.lecunNormal()(PRNGKey(0), [128, 64])
    /// ```
    public static func lecunNormal(inAxis: [Int] = [-2], outAxis: [Int] = [-1], batchAxis: [Int] = []) -> Initializer {
        varianceScaling(scale: 1, mode: .fanIn, distribution: .truncatedNormal, inAxis: inAxis, outAxis: outAxis, batchAxis: batchAxis)
    }

    /// LeCun uniform: variance 1 / fan in (`jax.nn.initializers.lecun_uniform`).
    ///
    /// ```swift
    /// let w = Initializer.lecunUniform()(PRNGKey(0), [128, 64])
    /// ```
    public static func lecunUniform(inAxis: [Int] = [-2], outAxis: [Int] = [-1], batchAxis: [Int] = []) -> Initializer {
        varianceScaling(scale: 1, mode: .fanIn, distribution: .uniform, inAxis: inAxis, outAxis: outAxis, batchAxis: batchAxis)
    }

    /// Glorot (Xavier) normal: truncated normal, variance 2 / (fan in + fan out)
    /// (`jax.nn.initializers.glorot_normal`).
    ///
    /// ```swift
    /// let w = Initializer.glorotNormal()(PRNGKey(0), [128, 64])
    /// ```
    public static func glorotNormal(inAxis: [Int] = [-2], outAxis: [Int] = [-1], batchAxis: [Int] = []) -> Initializer {
        varianceScaling(scale: 1, mode: .fanAvg, distribution: .truncatedNormal, inAxis: inAxis, outAxis: outAxis, batchAxis: batchAxis)
    }

    /// Glorot (Xavier) uniform: variance 2 / (fan in + fan out)
    /// (`jax.nn.initializers.glorot_uniform`).
    ///
    /// ```swift
    /// let w = Initializer.glorotUniform()(PRNGKey(0), [128, 64])
    /// ```
    public static func glorotUniform(inAxis: [Int] = [-2], outAxis: [Int] = [-1], batchAxis: [Int] = []) -> Initializer {
        varianceScaling(scale: 1, mode: .fanAvg, distribution: .uniform, inAxis: inAxis, outAxis: outAxis, batchAxis: batchAxis)
    }

    /// He (Kaiming) normal: truncated normal, variance 2 / fan in
    /// (`jax.nn.initializers.he_normal`).
    ///
    /// ```swift
    /// let w = Initializer.heNormal()(PRNGKey(0), [3, 3, 16, 32])
    /// ```
    public static func heNormal(inAxis: [Int] = [-2], outAxis: [Int] = [-1], batchAxis: [Int] = []) -> Initializer {
        varianceScaling(scale: 2, mode: .fanIn, distribution: .truncatedNormal, inAxis: inAxis, outAxis: outAxis, batchAxis: batchAxis)
    }

    /// He (Kaiming) uniform: variance 2 / fan in (`jax.nn.initializers.he_uniform`).
    ///
    /// ```swift
    /// let w = Initializer.heUniform()(PRNGKey(0), [3, 3, 16, 32])
    /// ```
    public static func heUniform(inAxis: [Int] = [-2], outAxis: [Int] = [-1], batchAxis: [Int] = []) -> Initializer {
        varianceScaling(scale: 2, mode: .fanIn, distribution: .uniform, inAxis: inAxis, outAxis: outAxis, batchAxis: batchAxis)
    }
}
