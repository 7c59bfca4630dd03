// Matrix helpers of jax.numpy: triangles, diagonals, grids.

/// A mask of `shape`'s last two axes: true where column − row ≤ k (`below`) or ≥ k.
private func triangleMask(_ shape: [Int], k: Int, below: Bool) -> Tensor {
    let r = shape.count
    let rows = bind1(.iota(.int32, shape: Array(shape.suffix(2)), dimension: 0))
    let cols = bind1(.iota(.int32, shape: Array(shape.suffix(2)), dimension: 1))
    let offset = cols - rows
    let mask = below ? offset .<= Tensor(Int32(k)) : offset .>= Tensor(Int32(k))
    return r > 2 ? mask.broadcast(to: shape) : mask
}

private func checkMatrix(_ x: Tensor, _ op: String) -> Bool {
    if x.rank < 2 {
        raise(FlockError("\(op): the input must have at least 2 dimensions, got shape \(x.shape)"))
        return false
    }
    return true
}

/// The lower triangle of the last two axes, zero above diagonal `k` (`jnp.tril`).
///
/// ```swift
/// tril(ones([3, 3]))        // [[1, 0, 0], [1, 1, 0], [1, 1, 1]]
/// tril(ones([3, 3]), k: -1) // the strict lower triangle
/// ```
public func tril(_ x: Tensor, k: Int = 0) -> Tensor {
    guard checkMatrix(x, "tril") else { return poison }
    return select(triangleMask(x.shape, k: k, below: true), x, zerosLike(x))
}

/// The upper triangle of the last two axes, zero below diagonal `k` (`jnp.triu`).
public func triu(_ x: Tensor, k: Int = 0) -> Tensor {
    guard checkMatrix(x, "triu") else { return poison }
    return select(triangleMask(x.shape, k: k, below: false), x, zerosLike(x))
}

/// `jnp.diag`: of a vector, the square matrix with it on diagonal `k`; of a
/// matrix, its diagonal `k` as a vector (empty when `k` is past the edge).
///
/// ```swift
/// diag(Tensor([Float(1), 2]))          // [[1, 0], [0, 2]]
/// diag(eye(3) * 5, k: 1)               // [0, 0]
/// ```
public func diag(_ x: Tensor, k: Int = 0) -> Tensor {
    switch x.rank {
    case 1:
        // Element (i, i + k) is x[i] for k ≥ 0 (a function of the row), (j − k, j) is x[j] for k < 0 (of the column).
        let n = x.shape[0] + Swift.abs(k)
        let padded = pad(x, [(0, Swift.abs(k))])
        let values = bind1(.broadcastInDim(shape: [n, n], broadcastDimensions: [k >= 0 ? 0 : 1]), padded)
        return select(eye(n, k: k, dtype: .bool), values, zeros([n, n], dtype: x.dtype))
    case 2:
        let (rows, cols) = (x.shape[0], x.shape[1])
        let start = k >= 0 ? (0, k) : (-k, 0)
        let count = Swift.max(0, Swift.min(rows - start.0, cols - start.1))
        if count == 0 { return zeros([0], dtype: x.dtype) }
        let r = bind1(.iota(.int32, shape: [count], dimension: 0)) + Tensor(Int32(start.0))
        let c = bind1(.iota(.int32, shape: [count], dimension: 0)) + Tensor(Int32(start.1))
        return take(x.flattened(), r * Tensor(Int32(cols)) + c)
    default:
        raise(FlockError("diag: input must be 1-D or 2-D, got shape \(x.shape)"))
        return poison
    }
}

/// Coordinate grids from 1-D vectors (`jnp.meshgrid`): with `indexing: "xy"`
/// (the default) the first two output axes are swapped, as in numpy.
///
/// ```swift
/// let (gx, gy) = (meshgrid([x, y])[0], meshgrid([x, y])[1])   // shapes [y.count, x.count]
/// ```
public func meshgrid(_ xs: [Tensor], indexing: String = "xy") -> [Tensor] {
    guard indexing == "xy" || indexing == "ij" else {
        raise(FlockError("meshgrid: indexing must be \"xy\" or \"ij\", got \"\(indexing)\""))
        return xs.map { _ in poison }
    }
    for (i, x) in xs.enumerated() where x.rank != 1 {
        raise(FlockError("meshgrid: argument \(i) must be 1-D, got shape \(x.shape)"))
        return xs.map { _ in poison }
    }
    var shape = xs.map { $0.shape[0] }
    let swap = indexing == "xy" && xs.count >= 2
    if swap { shape.swapAt(0, 1) }
    return xs.enumerated().map { i, x in
        var axis = i
        if swap && i < 2 { axis = 1 - i }
        return bind1(.broadcastInDim(shape: shape, broadcastDimensions: [axis]), x)
    }
}

/// Elementwise |a − b| ≤ atol + rtol·|b| (`jnp.isclose`); NaNs are close only
/// with `equalNaN`; infinities only to themselves.
public func isclose(_ a: Tensor, _ b: Tensor, rtol: Double = 1e-5, atol: Double = 1e-8, equalNaN: Bool = false) -> Tensor {
    if !a.dtype.isFloatingPoint && !b.dtype.isFloatingPoint { return a .== b }
    let x = floatingOperand(a), y = floatingOperand(b)
    let dtype = promoteTypes(x.dtype, weak: x.weakType, y.dtype, weak: y.weakType).dtype
    let (p, q) = (x.converted(to: dtype), y.converted(to: dtype))
    let tolerance = Tensor(atol, dtype: dtype, weakType: true) + Tensor(rtol, dtype: dtype, weakType: true) * abs(q)
    let finite = isFinite(p) .& isFinite(q)
    var close = (finite .& (abs(p - q) .<= tolerance)) .| (logicalNot(finite) .& (p .== q))
    if equalNaN { close = close .| (isNaN(p) .& isNaN(q)) }
    return close
}

/// Whether every element is close (`jnp.allclose`): a bool scalar.
public func allclose(_ a: Tensor, _ b: Tensor, rtol: Double = 1e-5, atol: Double = 1e-8, equalNaN: Bool = false) -> Tensor {
    isclose(a, b, rtol: rtol, atol: atol, equalNaN: equalNaN).all()
}
