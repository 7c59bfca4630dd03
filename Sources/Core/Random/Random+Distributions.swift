// Samplers, following jax/_src/random/core.py step by step: the same bits,
// the same float operations in the same order, so results match JAX bit for
// bit wherever the elementwise kernels do (see RandomTests.swift for the
// measured exceptions).

extension Random {
    /// Uniform values in `[minval, maxval)` (`jax.random.uniform`).
    ///
    /// - Parameters:
    ///   - shape: the result shape.
    ///   - dtype: float32 or float64.
    ///   - minval, maxval: bounds, broadcastable to `shape`, converted to `dtype`.
    ///
    /// ```swift
    /// let u = Random.uniform(PRNGKey(0), shape: [2, 3], minval: -1, maxval: 1)
    /// ```
    public static func uniform(
        _ key: PRNGKey, shape: [Int] = [], dtype: DType = .float32, minval: Tensor = 0.0, maxval: Tensor = 1.0
    ) -> Tensor {
        guard let (k0, k1) = key.words("uniform"), checkShape(shape, "uniform"),
            checkFloat(dtype, "uniform"), checkBroadcast([minval, maxval], to: shape, "uniform", ["minval", "maxval"])
        else { return poison }
        let low = minval.converted(to: dtype), high = maxval.converted(to: dtype)
        let floats = unitFloats(k0, k1, shape, dtype)
        if isConstant(low, 0), isConstant(high, 1) { return floats }
        let scaled = fusedMultiplyAdd(floats, high - low, low).broadcast(to: shape)
        return maximum(low.broadcast(to: shape), scaled)
    }

    /// Standard normal values (`jax.random.normal`): √2 · erfinv(u) for u
    /// uniform in (−1, 1).
    ///
    /// ```swift
    /// let z = Random.normal(PRNGKey(0), shape: [1000])
    /// ```
    public static func normal(_ key: PRNGKey, shape: [Int] = [], dtype: DType = .float32) -> Tensor {
        guard checkFloat(dtype, "normal") else { return poison }
        let low = dtype == .float32 ? Double((-1 as Float).nextUp) : (-1.0).nextUp
        let u = uniform(key, shape: shape, dtype: dtype, minval: Tensor(low, dtype: dtype), maxval: Tensor(1, dtype: dtype))
        return squareRootOfTwo(dtype) * erfInv(u)
    }

    /// Standard normal values truncated to the open interval `(lower, upper)`
    /// (`jax.random.truncated_normal`), by inverting the CDF of uniform values.
    ///
    /// - Parameters:
    ///   - lower, upper: bounds (may be infinite), broadcastable to `shape`.
    ///   - shape: the result shape; nil means the broadcast shape of the bounds.
    ///
    /// ```swift
    /// let w = Random.truncatedNormal(PRNGKey(0), lower: -2, upper: 2, shape: [256, 128])
    /// ```
    public static func truncatedNormal(
        _ key: PRNGKey, lower: Tensor, upper: Tensor, shape: [Int]? = nil, dtype: DType = .float32
    ) -> Tensor {
        guard checkFloat(dtype, "truncatedNormal"),
            let shape = shape ?? broadcastOrRaise(lower.shape, upper.shape, "truncatedNormal"),
            checkBroadcast([lower, upper], to: shape, "truncatedNormal", ["lower", "upper"])
        else { return poison }
        let sqrt2 = squareRootOfTwo(dtype)
        // JAX divides by √2; XLA compiles that into a product with the rounded
        // reciprocal, which is what gives JAX's bits.
        let inverseSqrt2 = dtype == .float32 ? Double(1 / Float(2.0.squareRoot())) : 1 / 2.0.squareRoot()
        let toErfArgument = { (x: Tensor) in x * Tensor(inverseSqrt2, dtype: dtype) }
        let low = lower.converted(to: dtype), high = upper.converted(to: dtype)
        let u = uniform(key, shape: shape, dtype: dtype, minval: erf(toErfArgument(low)), maxval: erf(toErfArgument(high)))
        // Rounding (or u == a) could land on a bound: clamp into the open interval.
        return clip(sqrt2 * erfInv(u), min: nextAfter(low, upward: true), max: nextAfter(high, upward: false))
    }

    /// Random booleans that are true with probability `p` (`jax.random.bernoulli`).
    ///
    /// - Parameters:
    ///   - p: probabilities (a float tensor; a literal is float32), broadcastable to `shape`.
    ///   - shape: the result shape; nil means `p.shape`.
    ///
    /// ```swift
    /// let keep = Random.bernoulli(PRNGKey(0), p: 0.9, shape: [32, 128])
    /// ```
    public static func bernoulli(_ key: PRNGKey, p: Tensor = 0.5, shape: [Int]? = nil) -> Tensor {
        guard p.dtype.isFloatingPoint else {
            raise(FlockError("bernoulli: probability `p` must have a floating dtype, got \(p.dtype)"))
            return poison
        }
        let shape = shape ?? p.shape
        guard checkBroadcast([p], to: shape, "bernoulli", ["p"]) else { return poison }
        return uniform(key, shape: shape, dtype: p.dtype) .< p
    }

    /// Standard Gumbel values (`jax.random.gumbel`, mode "low"): −log(−log(u))
    /// for u uniform in [tiny, 1).
    ///
    /// ```swift
    /// let g = Random.gumbel(PRNGKey(0), shape: [10])
    /// ```
    public static func gumbel(_ key: PRNGKey, shape: [Int] = [], dtype: DType = .float32) -> Tensor {
        guard checkFloat(dtype, "gumbel") else { return poison }
        let tiny = dtype == .float32 ? Double(Float.leastNormalMagnitude) : Double.leastNormalMagnitude
        let u = uniform(key, shape: shape, dtype: dtype, minval: Tensor(tiny, dtype: dtype), maxval: Tensor(1, dtype: dtype))
        return -log(-log(u))
    }

    /// Samples of categorical distributions given by unnormalised log
    /// probabilities (`jax.random.categorical`, with replacement), by the
    /// Gumbel-max trick: argmax of logits + Gumbel noise.
    ///
    /// - Parameters:
    ///   - logits: float logits; `softmax(logits, axis)` are the probabilities.
    ///   - axis: the axis of categories.
    ///   - shape: the result shape, which must end with (a shape broadcastable
    ///     with) the logits' shape without `axis`; nil means exactly that.
    /// - Returns: int32 category indices.
    ///
    /// ```swift
    /// let tokens = Random.categorical(PRNGKey(0), logits: scores)   // scores: [batch, vocab]
    /// ```
    public static func categorical(_ key: PRNGKey, logits: Tensor, axis: Int = -1, shape: [Int]? = nil) -> Tensor {
        guard logits.dtype.isFloatingPoint else {
            raise(FlockError("categorical: logits must have a floating dtype, got \(logits.dtype)"))
            return poison
        }
        guard let axis = normalizeAxis(axis, rank: logits.rank, "categorical") else { return poison }
        var batchShape = logits.shape
        batchShape.remove(at: axis)
        let shape = shape ?? batchShape
        guard shape.count >= batchShape.count, (try? broadcastShapes(shape, batchShape)) == shape else {
            raise(FlockError("categorical: shape \(shape) is not broadcast-compatible with the logits' batch shape \(batchShape)"))
            return poison
        }
        let prefix = Array(shape.prefix(shape.count - batchShape.count))
        var noiseShape = Array(shape.suffix(batchShape.count))
        noiseShape.insert(logits.shape[axis], at: axis)
        let noise = gumbel(key, shape: prefix + noiseShape, dtype: logits.dtype)
        let expanded = logits.reshaped([Int](repeating: 1, count: prefix.count) + logits.shape)
        return (noise + expanded).argmax(axis: axis - logits.rank)
    }

    /// Uniform random integers in `[minval, maxval)` (`jax.random.randint`, int32).
    ///
    /// As JAX, two 32-bit draws are combined modulo the span, which is very
    /// slightly biased when the span is not a power of two. If
    /// `maxval <= minval` the result is `minval`.
    ///
    /// ```swift
    /// let dice = Random.randint(PRNGKey(0), shape: [10], minval: 1, maxval: 7)
    /// ```
    public static func randint(_ key: PRNGKey, shape: [Int], minval: Tensor, maxval: Tensor) -> Tensor {
        guard checkShape(shape, "randint"),
            checkBroadcast([minval, maxval], to: shape, "randint", ["minval", "maxval"])
        else { return poison }
        guard minval.dtype.isInteger, maxval.dtype.isInteger else {
            raise(FlockError("randint: minval and maxval must be integers, got \(minval.dtype) and \(maxval.dtype)"))
            return poison
        }
        // uint32 bounds beyond int32's range clip to its maximum.
        func clipped(_ x: Tensor) -> Tensor {
            x.dtype == .uint32 ? minimum(x, Tensor(UInt32(Int32.max))).converted(to: .int32) : x.converted(to: .int32)
        }
        let low = clipped(minval).broadcast(to: shape), high = clipped(maxval).broadcast(to: shape)
        let keys = split(key)
        guard let (a0, a1) = keys[0].words("randint"), let (b0, b1) = keys[1].words("randint") else { return poison }
        let higherBits = bits32(a0, a1, shape), lowerBits = bits32(b0, b1, shape)
        let one = Tensor(UInt32(1))
        let span = `where`(high .<= low, one, (high - low).converted(to: .uint32))
        // (higher · 2³² + lower) mod span without 64-bit integers: 2³² mod span = (2¹⁶ mod span)² mod span.
        var multiplier = Tensor(UInt32(1 << 16)) % span
        multiplier = (multiplier * multiplier) % span
        let offset = ((higherBits % span) * multiplier + lowerBits % span) % span
        return low + offset.converted(to: .int32)
    }
}

// MARK: - Argument checks and constants

extension Random {
    static func checkFloat(_ dtype: DType, _ operation: String) -> Bool {
        if dtype.isFloatingPoint { return true }
        raise(FlockError("\(operation): dtype must be a float dtype (float32 or float64), got \(dtype)"))
        return false
    }

    /// Whether every tensor broadcasts to exactly `shape` (numpy rules).
    static func checkBroadcast(_ xs: [Tensor], to shape: [Int], _ operation: String, _ names: [String]) -> Bool {
        for (x, name) in zip(xs, names) where x.rank > shape.count || (try? broadcastShapes(x.shape, shape)) != shape {
            raise(FlockError("\(operation): \(name) of shape \(x.shape) does not broadcast to the result shape \(shape)"))
            return false
        }
        return true
    }

    static func broadcastOrRaise(_ a: [Int], _ b: [Int], _ operation: String) -> [Int]? {
        do { return try broadcastShapes(a, b) } catch {
            raise(FlockError("\(operation): bounds of shapes \(a) and \(b) do not broadcast together"))
            return nil
        }
    }

    /// Whether `x` is a concrete scalar equal to `value` (enables a shortcut).
    static func isConstant(_ x: Tensor, _ value: Double) -> Bool {
        x.rank == 0 && x.isConcrete && x.item(Double.self) == value
    }

    /// √2 rounded to `dtype` (`np.array(np.sqrt(2), dtype)`).
    static func squareRootOfTwo(_ dtype: DType) -> Tensor { Tensor(2.0.squareRoot(), dtype: dtype) }
}
