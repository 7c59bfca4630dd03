/// `x` gathered along `axis` at `indices` of the same shape (`jnp.take_along_axis`).
///
/// - Parameters:
///   - mode: `.fill` (JAX's default), `.clip`, `.drop` (as `.fill`) or
///     `.promiseInBounds` (`.wrap` is an error, as in JAX). Negative indices
///     count from the end in every mode but `.promiseInBounds`, as in JAX.
///   - fillValue: what `.fill` reads out of bounds (nil: NaN for floats, the
///     minimum of signed and the maximum of unsigned integers, true for bool).
public func takeAlongAxis(_ x: Tensor, _ indices: Tensor, axis: Int, mode: IndexMode = .fill, fillValue: Double? = nil) -> Tensor {
    let r = x.rank
    let axis = axis < 0 ? axis + r : axis
    guard axis >= 0 && axis < r else {
        raise(FlockError("takeAlongAxis: axis \(axis) is out of bounds for array of dimension \(r)"))
        return .poisoned
    }
    guard indices.rank == r else {
        raise(FlockError("takeAlongAxis: indices \(indices.shape) and array \(x.shape) must have the same number of dimensions"))
        return .poisoned
    }
    let n = Int32(x.shape[axis])
    var i = indices.converted(to: .int32)
    guard let gatherMode = mode.primitiveMode("takeAlongAxis") else { return .poisoned }
    if mode != .promiseInBounds { i = `where`(i .< Tensor(Int32(0)), i + Tensor(n), i) }
    var columns: [Tensor] = []
    for d in 0..<r {
        let c = d == axis ? i : lax.iota(.int32, shape: indices.shape, dimension: d)
        columns.append(lax.reshape(c, indices.shape + [1]))
    }
    let idx = r == 1 ? columns[0] : lax.concatenate(columns, axis: r)
    let dn = GatherDimensionNumbers(offsetDims: [], collapsedSliceDims: Array(0..<r), startIndexMap: Array(0..<r))
    return lax.gather(x, idx, dn, sliceSizes: [Int](repeating: 1, count: r), mode: gatherMode, fillValue: canonicalFill(fillValue, x.dtype))
}
