// Products beyond matmul (jnp.tensordot, jnp.vdot, jnp.kron, jnp.trace,
// jnp.diagonal), lowered to dotGeneral, broadcasts and diag.

/// Sum of products over the last `axes` axes of `a` and the first `axes` of
/// `b` (`jnp.tensordot` with an integer).
public func tensordot(_ a: Tensor, _ b: Tensor, axes: Int = 2) -> Tensor {
    guard axes >= 0, axes <= a.rank, axes <= b.rank else {
        raise(FlockError("tensordot: axes = \(axes) exceeds the rank of \(a.shape) or \(b.shape)"))
        return poison
    }
    return tensordot(a, b, axes: (Array(a.rank - axes..<a.rank), Array(0..<axes)))
}

/// Sum of products over the paired axes of `a` and `b` (`jnp.tensordot`
/// with two lists); the result has `a`'s other axes, then `b`'s.
///
/// ```swift
/// tensordot(a, b, axes: ([1, 2], [0, 1]))
/// ```
public func tensordot(_ a: Tensor, _ b: Tensor, axes: ([Int], [Int])) -> Tensor {
    guard axes.0.count == axes.1.count else {
        raise(FlockError("tensordot: \(axes.0.count) axes of \(a.shape) paired with \(axes.1.count) of \(b.shape)"))
        return poison
    }
    var la: [Int] = [], lb: [Int] = []
    for (i, j) in zip(axes.0, axes.1) {
        guard let p = normalizeAxis(i, rank: a.rank, "tensordot"), let q = normalizeAxis(j, rank: b.rank, "tensordot") else {
            return poison
        }
        guard a.shape[p] == b.shape[q] else {
            raise(FlockError("tensordot: axis \(p) of \(a.shape) has size \(a.shape[p]), axis \(q) of \(b.shape) has \(b.shape[q])"))
            return poison
        }
        la.append(p)
        lb.append(q)
    }
    return dotGeneral(a, b, DotDimensionNumbers(lhsContracting: la, rhsContracting: lb))
}

/// The dot product of the flattened arrays (`jnp.vdot`, real arrays).
public func vdot(_ a: Tensor, _ b: Tensor) -> Tensor {
    guard a.count == b.count else {
        raise(FlockError("vdot: arrays of \(a.count) and \(b.count) elements (shapes \(a.shape), \(b.shape))"))
        return poison
    }
    return dotGeneral(a.flattened(), b.flattened(), DotDimensionNumbers(lhsContracting: [0], rhsContracting: [0]))
}

/// The Kronecker product (`jnp.kron`): blocks a[i, j]·b; ranks are equalised
/// with leading 1s.
public func kron(_ a: Tensor, _ b: Tensor) -> Tensor {
    let rank = Swift.max(a.rank, b.rank)
    let sa = Array(repeating: 1, count: rank - a.rank) + a.shape
    let sb = Array(repeating: 1, count: rank - b.rank) + b.shape
    // a as [d0, 1, d1, 1, …] times b as [1, e0, 1, e1, …], then merged pairwise.
    let x = a.reshaped(sa.flatMap { [$0, 1] }), y = b.reshaped(sb.flatMap { [1, $0] })
    return (x * y).reshaped(zip(sa, sb).map { $0 * $1 })
}

/// The `offset`-th diagonal of a matrix (`jnp.diagonal` of a 2-D array).
public func diagonal(_ x: Tensor, offset: Int = 0) -> Tensor {
    guard x.rank == 2 else {
        raise(FlockError("diagonal: a 2-D array is supported, got shape \(x.shape)"))
        return poison
    }
    return diag(x, k: offset)
}

/// The sum of a matrix's `offset`-th diagonal (`jnp.trace` of a 2-D array).
public func trace(_ x: Tensor, offset: Int = 0) -> Tensor {
    guard x.rank == 2 else {
        raise(FlockError("trace: a 2-D array is supported, got shape \(x.shape)"))
        return poison
    }
    return diag(x, k: offset).sum()
}
