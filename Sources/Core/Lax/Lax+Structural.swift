/// `lax`'s shape, indexing, contraction and window primitives (see ``lax``).
extension lax {
    /// `x` broadcast to `shape`: operand dimension `i` becomes output dimension `dims[i]`.
    package static func broadcastInDim(_ x: Tensor, shape: [Int], dims: [Int]) -> Tensor {
        bind1(.broadcastInDim(shape: shape, broadcastDimensions: dims), x)
    }
    /// `x` in row-major order with `shape` (same element count).
    package static func reshape(_ x: Tensor, _ shape: [Int]) -> Tensor { bind1(.reshape(shape), x) }
    /// `x` with output dimension `i` taken from dimension `permutation[i]`.
    package static func transpose(_ x: Tensor, _ permutation: [Int]) -> Tensor { bind1(.transpose(permutation), x) }
    /// `x` reversed along `axes` (`lax.rev`).
    package static func rev(_ x: Tensor, axes: [Int]) -> Tensor { bind1(.reverse(axes: axes), x) }
    /// The static strided slice `start..<limit` by `strides` (`lax.slice`).
    package static func slice(_ x: Tensor, start: [Int], limit: [Int], strides: [Int]) -> Tensor {
        bind1(.slice(start: start, limit: limit, strides: strides), x)
    }
    /// Elements `start..<limit` of `x` along `axis`, all of the other dimensions (`lax.slice_in_dim`).
    package static func sliceInDim(_ x: Tensor, start: Int, limit: Int, axis: Int) -> Tensor {
        var lo = [Int](repeating: 0, count: x.rank), hi = x.shape
        lo[axis] = start
        hi[axis] = limit
        return slice(x, start: lo, limit: hi, strides: [Int](repeating: 1, count: x.rank))
    }
    /// `operands` joined along `axis`.
    package static func concatenate(_ operands: [Tensor], axis: Int) -> Tensor {
        bind(.concatenate(axis: axis), operands)[0]
    }
    /// `x` padded with the rank-0 `value`: `low`/`high` at the ends (negative
    /// crops), `interior` between elements.
    package static func pad(_ x: Tensor, _ value: Tensor, low: [Int], high: [Int], interior: [Int]) -> Tensor {
        bind1(.pad(low: low, high: high, interior: interior), x, value)
    }
    /// 0, 1, 2, … along `dimension` of `shape` (`lax.broadcasted_iota`).
    package static func iota(_ dtype: DType, shape: [Int], dimension: Int) -> Tensor {
        bind1(.iota(dtype, shape: shape, dimension: dimension))
    }

    /// The `sizes` window of `x` at `startIndices` (rank-0 integers, clamped).
    package static func dynamicSlice(_ x: Tensor, _ startIndices: [Tensor], sizes: [Int]) -> Tensor {
        bind(.dynamicSlice(sizes: sizes), [x] + startIndices)[0]
    }
    /// `x` with `update` written at `startIndices` (rank-0 integers, clamped).
    package static func dynamicUpdateSlice(_ x: Tensor, _ update: Tensor, _ startIndices: [Tensor]) -> Tensor {
        bind(.dynamicUpdateSlice, [x, update] + startIndices)[0]
    }
    /// XLA's gather of `x` at `indices` (the last dimension is the index vector).
    package static func gather(
        _ x: Tensor, _ indices: Tensor, _ dn: GatherDimensionNumbers, sliceSizes: [Int], mode: GatherScatterMode,
        fillValue: Double?
    ) -> Tensor {
        bind1(.gather(dn, sliceSizes: sliceSizes, mode: mode, fillValue: fillValue), x, indices)
    }
    /// XLA's scatter of `updates` into `x` at `indices`, combined by `op`.
    package static func scatter(
        _ op: ScatterOp, _ x: Tensor, _ indices: Tensor, _ updates: Tensor, _ dn: ScatterDimensionNumbers,
        mode: GatherScatterMode
    ) -> Tensor {
        bind1(.scatter(op, dn, mode: mode), x, indices, updates)
    }

    /// The generalised matrix product (`lax.dot_general`).
    package static func dotGeneral(_ lhs: Tensor, _ rhs: Tensor, _ dn: DotDimensionNumbers) -> Tensor {
        bind1(.dotGeneral(dn), lhs, rhs)
    }
    /// The convolution of `lhs` [N, C, spatial…] with `rhs` [O, I, spatial…] (`lax.conv_general_dilated`).
    package static func convGeneralDilated(_ lhs: Tensor, _ rhs: Tensor, _ parameters: ConvolutionParameters) -> Tensor {
        bind1(.convolution(parameters), lhs, rhs)
    }

    /// Each window of `x` reduced with `op` (`lax.reduce_window`).
    package static func reduceWindow(_ op: ReduceWindowOp, _ x: Tensor, _ window: WindowParameters) -> Tensor {
        bind1(.reduceWindow(op, window), x)
    }
    /// `source` added where each window of `operand` selects (the transpose of ``selectAndGatherAdd(_:_:select:_:)``).
    package static func selectAndScatterAdd(
        _ source: Tensor, _ operand: Tensor, select: CompareOp, _ window: WindowParameters
    ) -> Tensor {
        bind1(.selectAndScatterAdd(select: select, window), source, operand)
    }
    /// For each window of `operand`, the element of `tangents` that `select` picks.
    package static func selectAndGatherAdd(
        _ tangents: Tensor, _ operand: Tensor, select: CompareOp, _ window: WindowParameters
    ) -> Tensor {
        bind1(.selectAndGatherAdd(select: select, window), tangents, operand)
    }

    /// `operands` sorted along `dimension` by the first `numKeys` (stable); one result per operand.
    package static func sort(_ operands: [Tensor], dimension: Int, numKeys: Int) -> [Tensor] {
        bind(.sort(dimension: dimension, numKeys: numKeys), operands)
    }
}
