// Contractions and convolutions.

/// General contraction (`lax.dot_general`), promoting operand dtypes. Bools
/// contract as "any of the pairwise ands", as in JAX.
public func dotGeneral(_ lhs: Tensor, _ rhs: Tensor, _ dimensions: DotDimensionNumbers) -> Tensor {
    let (dtype, weak) = promoteTypes(lhs.dtype, weak: lhs.weakType, rhs.dtype, weak: rhs.weakType)
    if dtype == .bool {
        // The primitive is numeric: count the true pairs in int32 (no realistic contraction reaches 2³²).
        return dotGeneral(lhs.converted(to: .int32), rhs.converted(to: .int32), dimensions) .!= Tensor(Int32(0))
    }
    return bind1(.dotGeneral(dimensions), lhs.converted(to: dtype, weak: weak), rhs.converted(to: dtype, weak: weak))
}

/// Matrix product with numpy's rules (`jnp.matmul`, `@`): 1-D operands are
/// vectors, leading dimensions broadcast as batch dimensions.
///
/// ```swift
/// let c = matmul(a, b)   // [2, 3] × [3, 4] → [2, 4]
/// ```
public func matmul(_ a: Tensor, _ b: Tensor) -> Tensor {
    guard a.rank >= 1, b.rank >= 1 else {
        raise(FlockError("matmul: operands must have rank ≥ 1, got \(a.shape) and \(b.shape)"))
        return poison
    }
    let k1 = a.shape[a.rank - 1], k2 = b.rank == 1 ? b.shape[0] : b.shape[b.rank - 2]
    guard k1 == k2 else {
        raise(FlockError("matmul: contracting dimensions differ: lhs \(a.shape) dim \(a.rank - 1) = \(k1), rhs \(b.shape) dim \(Swift.max(b.rank - 2, 0)) = \(k2)"))
        return poison
    }
    if b.rank <= 2 {
        // Fold all of a's leading dimensions into the rows of one gemm.
        let result = dotGeneral(a, b, DotDimensionNumbers(lhsContracting: [a.rank - 1], rhsContracting: [0]))
        return result
    }
    let x = a.rank == 1 ? a.reshaped([1, k1]) : a
    let y = b
    let batchA = Array(x.shape.dropLast(2)), batchB = Array(y.shape.dropLast(2))
    guard let batch = try? broadcastShapes(batchA, batchB) else {
        raise(FlockError("matmul: batch dimensions of \(a.shape) and \(b.shape) cannot be broadcast"))
        return poison
    }
    let xb = x.broadcast(to: batch + Array(x.shape.suffix(2)))
    let yb = y.broadcast(to: batch + Array(y.shape.suffix(2)))
    let nb = batch.count
    let r = dotGeneral(xb, yb, DotDimensionNumbers(
        lhsContracting: [nb + 1], rhsContracting: [nb], lhsBatch: Array(0..<nb), rhsBatch: Array(0..<nb)))
    return a.rank == 1 ? r.squeezed([nb]) : r
}

/// Dot product with numpy's rules for ≤ 2-D operands (`jnp.dot`).
public func dot(_ a: Tensor, _ b: Tensor) -> Tensor {
    if a.rank == 0 || b.rank == 0 { return a * b }
    return matmul(a, b)
}

extension Tensor {
    /// Matrix product, `matmul(self, other)`.
    public func matmul(_ other: Tensor) -> Tensor { FlockCore.matmul(self, other) }
}

/// Inner product over the last axes (`jnp.inner`): for `a` `[…, k]` and `b` `[…, k]`,
/// the result has `a`'s leading dimensions, then `b`'s. Scalars multiply.
public func inner(_ a: Tensor, _ b: Tensor) -> Tensor {
    if a.rank == 0 || b.rank == 0 { return a * b }
    return dotGeneral(a, b, DotDimensionNumbers(lhsContracting: [a.rank - 1], rhsContracting: [b.rank - 1]))
}

/// Outer product of two vectors (`jnp.outer`).
public func outer(_ a: Tensor, _ b: Tensor) -> Tensor { a.flattened().expandingDims(1) * b.flattened().expandingDims(0) }

/// Padding of a convolution: `valid` (none), `same` (output size ⌈in/stride⌉), or explicit (low, high) pairs.
public enum ConvolutionPadding: Sendable, Hashable {
    /// No padding: only windows that fit entirely in the input.
    case valid
    /// Pads so that the output's spatial size is ⌈input / stride⌉, the extra padding
    /// going to the high side (as `"SAME"` in JAX).
    case same
    /// One (low, high) padding pair per spatial dimension; negative values crop.
    case explicit([[Int]])
}

/// N-d convolution (`lax.conv_general_dilated`): by default lhs `[N, C, spatial…]`
/// and rhs `[O, C / groups, spatial…]`, giving `[N, O, spatial…]`; any other
/// layout through `dimensionNumbers`, with no transpose of the operands.
///
/// - Parameters:
///   - lhs: The input, `[N, C, spatial…]` or as `dimensionNumbers.lhsSpec` says.
///   - rhs: The kernel, `[O, C / featureGroupCount, spatial…]` or as `dimensionNumbers.rhsSpec` says.
///   - strides: The window step per spatial axis (1 by default).
///   - padding: `.valid`, `.same`, or explicit (low, high) pairs (negative crops).
///   - lhsDilation: Input dilation per spatial axis (transposed convolutions); 1 by default.
///   - rhsDilation: Kernel dilation per spatial axis (atrous convolutions); 1 by default.
///   - featureGroupCount: Groups of input features each convolved with its own output features.
///   - batchGroupCount: Groups of the batch each convolved with its own output
///     features (`batch_group_count`; the output batch is `N / batchGroupCount`);
///     at most one of the group counts exceeds 1.
///   - dimensionNumbers: Which dimensions are batch, features and spatial axes;
///     channels-first when nil. Per-axis arguments follow its spatial order.
///
/// ```swift
/// let y = convolution(x, w, strides: [1], padding: .same)   // 1-D, NCH / OIH
/// // Channels-last images [N, H, W, C] and an HWIO kernel, output [N, H, W, O]:
/// let z = convolution(images, kernel, padding: .same,
///                     dimensionNumbers: ConvolutionDimensionNumbers("NHWC", "HWIO", "NHWC"))
/// ```
public func convolution(
    _ lhs: Tensor, _ rhs: Tensor, strides: [Int]? = nil, padding: ConvolutionPadding = .valid,
    lhsDilation: [Int]? = nil, rhsDilation: [Int]? = nil, featureGroupCount: Int = 1, batchGroupCount: Int = 1,
    dimensionNumbers: ConvolutionDimensionNumbers? = nil
) -> Tensor {
    let n = lhs.rank - 2
    guard n >= 1, rhs.rank == lhs.rank else {
        raise(FlockError("conv_general_dilated: lhs (batch, features, spatial…) and rhs (out features, in features, spatial…) must have equal rank ≥ 3, got lhs \(lhs.shape), rhs \(rhs.shape)"))
        return poison
    }
    let dn = dimensionNumbers ?? .channelsFirst(spatialRank: n)
    let s = strides ?? [Int](repeating: 1, count: n)
    let ld = lhsDilation ?? [Int](repeating: 1, count: n)
    let rd = rhsDilation ?? [Int](repeating: 1, count: n)
    let pads: [[Int]]
    switch padding {
    case .valid: pads = [[Int]](repeating: [0, 0], count: n)
    case .explicit(let p): pads = p
    case .same:
        // Spatial sizes in logical order (a malformed spec is reported by the shape rule).
        let valid = dn.lhsSpec.count == lhs.rank && dn.rhsSpec.count == rhs.rank
            && (dn.lhsSpec + dn.rhsSpec).allSatisfy { $0 >= 0 && $0 < lhs.rank }
        let inSp = valid ? dn.lhsSpec.dropFirst(2).map { lhs.shape[$0] } : Array(lhs.shape.dropFirst(2))
        let kSp = valid ? dn.rhsSpec.dropFirst(2).map { rhs.shape[$0] } : Array(rhs.shape.dropFirst(2))
        pads = (0..<Swift.min(n, s.count, ld.count, rd.count)).map { i in
            let inSize = (inSp[i] - 1) * ld[i] + 1
            let window = (kSp[i] - 1) * rd[i] + 1
            let out = (inSize + s[i] - 1) / s[i]
            let total = Swift.max(0, (out - 1) * s[i] + window - inSize)
            return [total / 2, total - total / 2]
        }
    }
    let (dtype, weak) = promoteTypes(lhs.dtype, weak: lhs.weakType, rhs.dtype, weak: rhs.weakType)
    let dt = dtype.isFloatingPoint ? dtype : .float32
    let parameters = ConvolutionParameters(
        windowStrides: s, padding: pads, lhsDilation: ld, rhsDilation: rd, featureGroupCount: featureGroupCount,
        batchGroupCount: batchGroupCount, dimensionNumbers: dn)
    return bind1(.convolution(parameters), lhs.converted(to: dt, weak: weak), rhs.converted(to: dt, weak: weak))
}
