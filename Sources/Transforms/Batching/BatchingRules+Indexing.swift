/// Batching rules of the indexing primitives: dynamic slices, gather, scatter.
///
/// Gather and scatter have *batching dimensions* (operand and index dimensions
/// that are walked in lockstep), so a batched operand and batched indices map
/// onto one gather/scatter with one more batching dimension. Dynamic slices
/// with per-example start indices become a clipping gather (read) or scatter
/// (write): windows of whole rows, so they take the kernels' run copies.
extension BatchingRules {
    func dynamicSlice(_ x: BatchedValue, _ starts: [BatchedValue], sizes: [Int]) -> BatchedValue {
        guard starts.contains(where: { $0.dim != nil }) else {
            // Only the operand is batched: slice all of the batch dimension.
            let d = x.dim!
            var indices = starts.map(\.value)
            indices.insert(Tensor(Int32(0)), at: d)
            var s = sizes
            s.insert(axisSize, at: d)
            return BatchedValue(lax.dynamicSlice(x.value, indices, sizes: s), d)
        }
        // One index vector per example; gather clamps starts as dynamic_slice does.
        let rank = sizes.count
        let indices = indexVectors(starts)
        let offsetDims = Array(1...rank)
        if x.dim == nil {
            let dn = GatherDimensionNumbers(offsetDims: offsetDims, collapsedSliceDims: [], startIndexMap: Array(0..<rank))
            return BatchedValue(lax.gather(x.value, indices, dn, sliceSizes: sizes, mode: .clip, fillValue: nil), 0)
        }
        let dn = GatherDimensionNumbers(
            offsetDims: offsetDims, collapsedSliceDims: [], startIndexMap: Array(1...rank),
            operandBatchingDims: [0], startIndicesBatchingDims: [0])
        return BatchedValue(lax.gather(moveToFront(x), indices, dn, sliceSizes: [1] + sizes, mode: .clip, fillValue: nil), 0)
    }

    func dynamicUpdateSlice(_ x: BatchedValue, _ update: BatchedValue, _ starts: [BatchedValue]) -> BatchedValue {
        let operand = moveToFront(x), upd = moveToFront(update)
        guard starts.contains(where: { $0.dim != nil }) else {
            let indices = [Tensor(Int32(0))] + starts.map(\.value)
            return BatchedValue(lax.dynamicUpdateSlice(operand, upd, indices), 0)
        }
        // Per-example starts: a clipping scatter clamps them as dynamic_update_slice does.
        let rank = x.exampleShape.count
        let dn = ScatterDimensionNumbers(
            updateWindowDims: Array(1...rank), insertedWindowDims: [], scatterDimsToOperandDims: Array(1...rank),
            operandBatchingDims: [0], scatterIndicesBatchingDims: [0])
        return BatchedValue(lax.scatter(.replace, operand, indexVectors(starts), upd, dn, mode: .clip), 0)
    }

    /// Per-example scalar start indices stacked into index vectors `[B, k]` (int32).
    func indexVectors(_ starts: [BatchedValue]) -> Tensor {
        let columns = starts.map { s -> Tensor in
            let v = moveToFront(BatchedValue(int32(s.value), s.dim))
            return lax.reshape(v, [axisSize, 1])
        }
        return lax.concatenate(columns, axis: 1)
    }

    /// An index as int32; uint32 indices beyond int32's range saturate (they are
    /// clamped into the operand anyway) instead of wrapping to negative values.
    func int32(_ x: Tensor) -> Tensor {
        if x.dtype == .int32 { return x }
        let capped = lax.min(x, Tensor(UInt32(Int32.max)))
        return lax.convertElementType(capped, .int32)
    }

    func gather(
        _ x: BatchedValue, _ indices: BatchedValue, _ dn: GatherDimensionNumbers, sliceSizes: [Int], mode: GatherScatterMode,
        fill: Double?
    ) -> BatchedValue {
        func gather(_ x: Tensor, _ indices: Tensor, _ dn: GatherDimensionNumbers, sliceSizes: [Int]) -> Tensor {
            lax.gather(x, indices, dn, sliceSizes: sliceSizes, mode: mode, fillValue: fill)
        }
        let plus1 = { (a: [Int]) in a.map { $0 + 1 } }
        switch (x.dim, indices.dim) {
        case (_?, nil):
            // The batch dimension is one more window dimension, first in the output.
            let out = GatherDimensionNumbers(
                offsetDims: [0] + plus1(dn.offsetDims), collapsedSliceDims: plus1(dn.collapsedSliceDims),
                startIndexMap: plus1(dn.startIndexMap), operandBatchingDims: plus1(dn.operandBatchingDims),
                startIndicesBatchingDims: dn.startIndicesBatchingDims)
            return BatchedValue(gather(moveToFront(x), indices.value, out, sliceSizes: [axisSize] + sliceSizes), 0)
        case (nil, _?):
            // The batch dimension is one more index batch dimension, first in the output.
            let out = GatherDimensionNumbers(
                offsetDims: plus1(dn.offsetDims), collapsedSliceDims: dn.collapsedSliceDims,
                startIndexMap: dn.startIndexMap, operandBatchingDims: dn.operandBatchingDims,
                startIndicesBatchingDims: plus1(dn.startIndicesBatchingDims))
            return BatchedValue(gather(x.value, moveToFront(indices), out, sliceSizes: sliceSizes), 0)
        case (_?, _?), (nil, nil):
            let out = GatherDimensionNumbers(
                offsetDims: plus1(dn.offsetDims), collapsedSliceDims: plus1(dn.collapsedSliceDims),
                startIndexMap: plus1(dn.startIndexMap), operandBatchingDims: [0] + plus1(dn.operandBatchingDims),
                startIndicesBatchingDims: [0] + plus1(dn.startIndicesBatchingDims))
            return BatchedValue(gather(moveToFront(x), moveToFront(indices), out, sliceSizes: [1] + sliceSizes), 0)
        }
    }

    /// Scatter: the output is batched whenever any operand is, so every
    /// operand is brought to the front and the batch becomes a batching dimension.
    func scatter(
        _ op: ScatterOp, _ x: BatchedValue, _ indices: BatchedValue, _ updates: BatchedValue, _ dn: ScatterDimensionNumbers,
        mode: GatherScatterMode
    ) -> BatchedValue {
        let plus1 = { (a: [Int]) in a.map { $0 + 1 } }
        let out = ScatterDimensionNumbers(
            updateWindowDims: plus1(dn.updateWindowDims), insertedWindowDims: plus1(dn.insertedWindowDims),
            scatterDimsToOperandDims: plus1(dn.scatterDimsToOperandDims),
            operandBatchingDims: [0] + plus1(dn.operandBatchingDims),
            scatterIndicesBatchingDims: [0] + plus1(dn.scatterIndicesBatchingDims))
        let y = lax.scatter(op, moveToFront(x), moveToFront(indices), moveToFront(updates), out, mode: mode)
        return BatchedValue(y, 0)
    }
}
