// Vector and matrix norms (`jnp.linalg.norm`), composed from reductions.

/// Which norm ``norm(_:ord:axes:keepDims:)`` computes.
public enum NormOrder: Sendable, Equatable {
    /// Vectors: (Σ|x|ᵖ)^(1/p); `p(.infinity)` is max |x|, `p(-.infinity)` min |x|,
    /// `p(0)` the count of non-zeros. Matrices: p = 1, -1 (max/min column
    /// sum of |x|), ±infinity (max/min row sum); 2 and -2 need an SVD (not yet).
    case p(Double)
    /// The Frobenius norm of a matrix: √(Σ x²).
    case frobenius
}

/// The norm of `x` (`jnp.linalg.norm`): over `axes` (one axis: a vector
/// norm, two: a matrix norm), or all of `x` (a vector's or a matrix's own
/// norm; the 2-norm of the flattened array for higher ranks). `ord` nil is
/// the 2-norm of vectors and the Frobenius norm of matrices.
///
/// ```swift
/// norm(Tensor([Float(3), 4]))                 // 5
/// norm(m, ord: .p(1))                          // largest column sum of |m|
/// norm(x, ord: .p(.infinity), axes: [1])       // max |x| of each row
/// ```
public func norm(_ x: Tensor, ord: NormOrder? = nil, axes: [Int]? = nil, keepDims: Bool = false) -> Tensor {
    let x = floatingOperand(x)
    let axes = axes ?? (x.rank <= 2 || ord == nil ? Array(0..<x.rank) : [])
    var normalized: [Int] = []
    for a in axes {
        guard let n = normalizeAxis(a, rank: x.rank, "norm") else { return poison }
        normalized.append(n)
    }
    guard Set(normalized).count == normalized.count else {
        raise(FlockError("norm: repeated axis in \(axes) for shape \(x.shape)"))
        return poison
    }
    let zero = Tensor(0, dtype: x.dtype)
    // No ord: the 2-norm of vectors, Frobenius of matrices, of the flattened array otherwise — all √(Σ x²).
    guard let ord else { return sqrt((x * x).sum(axes: normalized, keepDims: keepDims)) }
    switch (normalized.count, ord) {
    case (1, .p(let p)):
        let a = abs(x)
        if p == .infinity { return a.max(axes: normalized, keepDims: keepDims) }
        if p == -.infinity { return a.min(axes: normalized, keepDims: keepDims) }
        if p == 0 { return (x .!= zero).converted(to: x.dtype).sum(axes: normalized, keepDims: keepDims) }
        if p == 1 { return a.sum(axes: normalized, keepDims: keepDims) }
        if p == 2 { return sqrt((x * x).sum(axes: normalized, keepDims: keepDims)) }
        let power = Tensor(p, dtype: x.dtype, weakType: true)
        return pow(pow(a, power).sum(axes: normalized, keepDims: keepDims), Tensor(1 / p, dtype: x.dtype, weakType: true))
    case (2, .frobenius):
        return sqrt((x * x).sum(axes: normalized, keepDims: keepDims))
    case (2, .p(let p)) where Swift.abs(p) == 1 || Swift.abs(p) == .infinity:
        // Columns (p = ±1): sum over the row axis, then the extreme over columns; rows (±∞) the other way.
        let (rowAxis, columnAxis) = (normalized[0], normalized[1])
        let (summed, across) = Swift.abs(p) == 1 ? (rowAxis, columnAxis) : (columnAxis, rowAxis)
        let sums = abs(x).sum(axes: [summed], keepDims: true)
        let extreme = p > 0 ? sums.max(axes: [across], keepDims: true) : sums.min(axes: [across], keepDims: true)
        return keepDims ? extreme : extreme.squeezed(normalized)
    case (1, .frobenius):
        raise(FlockError("norm: the Frobenius norm needs two axes (a matrix), got axes \(normalized) of shape \(x.shape)"))
        return poison
    case (2, .p(let p)):
        raise(FlockError("norm: matrix norm ord \(p) is not supported (1, -1, infinity, -infinity, frobenius; 2 and nuclear need an SVD)"))
        return poison
    default:
        raise(FlockError("norm: improper number of axes \(normalized) for shape \(x.shape) with an explicit ord: 1 (vector) or 2 (matrix)"))
        return poison
    }
}
