// Reductions as jax.numpy: axes may be negative; nil means all axes.

extension Tensor {
    func reduction(_ op: ReduceOp, _ name: String, axes: [Int]?, keepDims: Bool) -> Tensor {
        guard let a = normalizeAxes(axes ?? Array(0..<rank), rank: rank, name) else { return poison }
        // As jnp (lax.reduce_max itself gives the identity, -inf, for an empty reduction).
        if (op == .max || op == .min) && a.contains(where: { shape[$0] == 0 }) {
            raise(FlockError("\(name): zero-size array \(shape) to reduction operation \(name) which has no identity"))
            return poison
        }
        var r = bind1(.reduce(op, axes: a.sorted()), self)
        if keepDims { r = r.reshaped(shape.enumerated().map { a.contains($0.offset) ? 1 : $0.element }) }
        return r
    }

    /// Sum over `axes` (all when nil). Bools sum as int32, as in JAX.
    public func sum(axes: [Int]? = nil, keepDims: Bool = false) -> Tensor {
        (dtype == .bool ? converted(to: .int32) : self).reduction(.sum, "sum", axes: axes, keepDims: keepDims)
    }
    /// ``sum(axes:keepDims:)`` over a single axis.
    public func sum(axis: Int, keepDims: Bool = false) -> Tensor { sum(axes: [axis], keepDims: keepDims) }

    /// Product over `axes`.
    public func prod(axes: [Int]? = nil, keepDims: Bool = false) -> Tensor {
        (dtype == .bool ? converted(to: .int32) : self).reduction(.prod, "prod", axes: axes, keepDims: keepDims)
    }

    /// Maximum over `axes` (NaN propagates).
    public func max(axes: [Int]? = nil, keepDims: Bool = false) -> Tensor { reduction(.max, "max", axes: axes, keepDims: keepDims) }
    /// ``max(axes:keepDims:)`` over a single axis.
    public func max(axis: Int, keepDims: Bool = false) -> Tensor { max(axes: [axis], keepDims: keepDims) }
    /// Minimum over `axes` (NaN propagates).
    public func min(axes: [Int]? = nil, keepDims: Bool = false) -> Tensor { reduction(.min, "min", axes: axes, keepDims: keepDims) }
    /// ``min(axes:keepDims:)`` over a single axis.
    public func min(axis: Int, keepDims: Bool = false) -> Tensor { min(axes: [axis], keepDims: keepDims) }

    /// Whether all elements (along `axes`) are true / nonzero.
    public func all(axes: [Int]? = nil, keepDims: Bool = false) -> Tensor {
        asBool().reduction(.and, "all", axes: axes, keepDims: keepDims)
    }
    /// Whether any element (along `axes`) is true / nonzero.
    public func any(axes: [Int]? = nil, keepDims: Bool = false) -> Tensor {
        asBool().reduction(.or, "any", axes: axes, keepDims: keepDims)
    }

    func asBool() -> Tensor { dtype == .bool ? self : self .!= Tensor(0, dtype: dtype) }

    /// Number of elements reduced over `axes`.
    func reducedCount(_ axes: [Int]?) -> Int {
        guard let a = axes.flatMap({ normalizeAxes($0, rank: rank, "mean") }) ?? (axes == nil ? Array(0..<rank) : nil) else { return 1 }
        return a.map { shape[$0] }.reduce(1, *)
    }

    /// Arithmetic mean over `axes`; integers give float32.
    public func mean(axes: [Int]? = nil, keepDims: Bool = false) -> Tensor {
        if let axes, normalizeAxes(axes, rank: rank, "mean") == nil { return poison }
        let x = floatingOperand(self)
        return x.sum(axes: axes, keepDims: keepDims) / Tensor(Double(reducedCount(axes)), dtype: x.dtype)
    }
    /// ``mean(axes:keepDims:)`` over a single axis.
    public func mean(axis: Int, keepDims: Bool = false) -> Tensor { mean(axes: [axis], keepDims: keepDims) }

    /// Variance over `axes` with `ddof` delta degrees of freedom (`jnp.var`);
    /// NaN when `ddof` is at least the number of elements reduced, as in JAX.
    public func variance(axes: [Int]? = nil, ddof: Int = 0, keepDims: Bool = false) -> Tensor {
        let x = floatingOperand(self)
        let centered = x - x.mean(axes: axes, keepDims: true)
        let n = Double(reducedCount(axes) - ddof)
        let squares = (centered * centered).sum(axes: axes, keepDims: keepDims)
        return squares / Tensor(n > 0 ? n : .nan, dtype: x.dtype)
    }

    /// Standard deviation over `axes` (`jnp.std`).
    public func standardDeviation(axes: [Int]? = nil, ddof: Int = 0, keepDims: Bool = false) -> Tensor {
        sqrt(variance(axes: axes, ddof: ddof, keepDims: keepDims))
    }

    /// Index of the maximum along `axis` (of the flattened array when nil); first on ties, NaN wins.
    public func argmax(axis: Int? = nil, keepDims: Bool = false) -> Tensor { argReduction(.argmax, axis, keepDims) }
    /// Index of the minimum along `axis`.
    public func argmin(axis: Int? = nil, keepDims: Bool = false) -> Tensor { argReduction(.argmin, axis, keepDims) }

    func argReduction(_ op: ArgReduceOp, _ axis: Int?, _ keepDims: Bool) -> Tensor {
        guard let axis else {
            let r = flattened().argReduction(op, 0, false)
            return keepDims ? r.reshaped([Int](repeating: 1, count: rank)) : r
        }
        guard let a = normalizeAxis(axis, rank: rank, op.rawValue) else { return poison }
        let r = bind1(.argReduce(op, axis: a), self)
        return keepDims ? r.expandingDims(a) : r
    }

    /// Cumulative sum along `axis` (`jnp.cumsum`); bools count as int32.
    public func cumsum(axis: Int = 0, reverse: Bool = false) -> Tensor {
        guard let a = normalizeAxis(axis, rank: rank, "cumsum") else { return poison }
        return bind1(.cumsum(axis: a, reverse: reverse), dtype == .bool ? converted(to: .int32) : self)
    }
}

/// Sum of all elements or along axes; free-function spelling of ``Tensor/sum(axes:keepDims:)``.
public func sum(_ x: Tensor, axes: [Int]? = nil, keepDims: Bool = false) -> Tensor { x.sum(axes: axes, keepDims: keepDims) }
/// Mean; free-function spelling of ``Tensor/mean(axes:keepDims:)``.
public func mean(_ x: Tensor, axes: [Int]? = nil, keepDims: Bool = false) -> Tensor { x.mean(axes: axes, keepDims: keepDims) }
