// Element-by-element gather and scatter, written straight from XLA's
// semantics: one output (or update) element at a time, its multi-index
// unravelled, its source (or destination) computed from the dimension numbers.
// Slow and obviously right; the tests hold the run-based kernels of
// `Indexing.swift` to these bit for bit.

@inline(__always)
private func unravel(_ flat: Int, _ shape: [Int], into index: inout [Int]) {
    var r = flat
    for d in stride(from: shape.count - 1, through: 0, by: -1) {
        let s = shape[d]
        if s == 0 { index[d] = 0; continue }
        index[d] = r % s
        r /= s
    }
}

/// The operand start of an index vector's window, clamped or nil when it does not fit.
private func windowStart(
    _ idx: [Int], _ b: Int, _ batchIndex: [Int], operandShape: [Int], startIndexMap: [Int], operandBatchingDims: [Int],
    indicesBatchingDims: [Int], windowSizes: [Int], clamp: Bool
) -> [Int]? {
    let k = startIndexMap.count
    var start = [Int](repeating: 0, count: operandShape.count)
    for j in 0..<k { start[startIndexMap[j]] = idx[b * k + j] }
    for (j, od) in operandBatchingDims.enumerated() { start[od] = batchIndex[indicesBatchingDims[j]] }
    for d in 0..<operandShape.count {
        let hi = operandShape[d] - windowSizes[d]
        if start[d] < 0 || start[d] > hi {
            if !clamp { return nil }
            start[d] = Swift.min(Swift.max(start[d], 0), hi)
        }
    }
    return start
}

/// XLA gather, one output element at a time.
package func referenceGather(
    _ x: DenseArray, _ indices: DenseArray, dn: GatherDimensionNumbers, sliceSizes: [Int], mode: GatherScatterMode,
    fill: Double?, shape: [Int]
) -> DenseArray {
    let out = DenseArray(uninitializedShape: shape, dtype: x.dtype)
    let es = x.dtype.byteSize
    let idx = readIndexVectors(indices)
    let batchShape = Array(indices.shape.dropLast())
    let xStrides = rowMajorStrides(x.shape)
    let batchOutDims = (0..<shape.count).filter { !dn.offsetDims.contains($0) }
    let windowDims = (0..<x.rank).filter { !dn.collapsedSliceDims.contains($0) && !dn.operandBatchingDims.contains($0) }
    let fillValue = gatherFill(x.dtype, fill)
    var o = [Int](repeating: 0, count: shape.count)
    for flat in 0..<out.count {
        unravel(flat, shape, into: &o)
        let batchIndex = batchOutDims.map { o[$0] }
        var b = 0
        for (j, n) in batchShape.enumerated() { b = b * n + batchIndex[j] }
        let dst = out.buffer.pointer + flat * es
        guard
            let start = windowStart(
                idx, b, batchIndex, operandShape: x.shape, startIndexMap: dn.startIndexMap,
                operandBatchingDims: dn.operandBatchingDims, indicesBatchingDims: dn.startIndicesBatchingDims,
                windowSizes: sliceSizes, clamp: mode != .fillOrDrop)
        else {
            dst.copyMemory(from: fillValue.buffer.pointer, byteCount: es)
            continue
        }
        var src = 0
        for d in 0..<x.rank { src += start[d] * xStrides[d] }
        for (j, xd) in windowDims.enumerated() { src += o[dn.offsetDims[j]] * xStrides[xd] }
        dst.copyMemory(from: x.buffer.pointer + src * es, byteCount: es)
    }
    return out
}

/// XLA scatter, one update element at a time, in order.
package func referenceScatter(
    _ op: ScatterOp, _ x: DenseArray, _ indices: DenseArray, _ updates: DenseArray, dn: ScatterDimensionNumbers,
    mode: GatherScatterMode
) -> DenseArray {
    let out = copyArray(x)
    switch x.dtype {
    case .float32: referenceScatterTyped(op, Float.self, out, indices, updates, dn, mode)
    case .float64: referenceScatterTyped(op, Double.self, out, indices, updates, dn, mode)
    case .int32: referenceScatterTyped(op, Int32.self, out, indices, updates, dn, mode)
    case .uint32: referenceScatterTyped(op, UInt32.self, out, indices, updates, dn, mode)
    case .int64: referenceScatterTyped(op, Int64.self, out, indices, updates, dn, mode)
    case .uint64: referenceScatterTyped(op, UInt64.self, out, indices, updates, dn, mode)
    case .int8: referenceScatterTyped(op, Int8.self, out, indices, updates, dn, mode)
    case .uint8: referenceScatterTyped(op, UInt8.self, out, indices, updates, dn, mode)
    case .int16: referenceScatterTyped(op, Int16.self, out, indices, updates, dn, mode)
    case .uint16: referenceScatterTyped(op, UInt16.self, out, indices, updates, dn, mode)
    case .float16: referenceScatterTyped(op, Float16.self, out, indices, updates, dn, mode)
    case .bfloat16: referenceScatterTyped(op, BFloat16.self, out, indices, updates, dn, mode)
    case .bool: referenceScatterTyped(op, Bool.self, out, indices, updates, dn, mode)
    }
    return out
}

private func referenceScatterTyped<T: ScatterElement>(
    _ op: ScatterOp, _: T.Type, _ out: DenseArray, _ indices: DenseArray, _ updates: DenseArray,
    _ dn: ScatterDimensionNumbers, _ mode: GatherScatterMode
) {
    let xStrides = rowMajorStrides(out.shape)
    let idx = readIndexVectors(indices)
    let scatterDims = (0..<updates.rank).filter { !dn.updateWindowDims.contains($0) }
    let windowOperandDims = (0..<out.rank).filter { !dn.insertedWindowDims.contains($0) && !dn.operandBatchingDims.contains($0) }
    var windowSizes = [Int](repeating: 1, count: out.rank)
    for (j, d) in windowOperandDims.enumerated() { windowSizes[d] = updates.shape[dn.updateWindowDims[j]] }
    let batchShape = scatterDims.map { updates.shape[$0] }
    let o = out.mutablePointer(T.self), u = updates.pointer(T.self)
    var ui = [Int](repeating: 0, count: updates.rank)
    for flat in 0..<updates.count {
        unravel(flat, updates.shape, into: &ui)
        let batchIndex = scatterDims.map { ui[$0] }
        var b = 0
        for (j, n) in batchShape.enumerated() { b = b * n + batchIndex[j] }
        guard
            let start = windowStart(
                idx, b, batchIndex, operandShape: out.shape, startIndexMap: dn.scatterDimsToOperandDims,
                operandBatchingDims: dn.operandBatchingDims, indicesBatchingDims: dn.scatterIndicesBatchingDims,
                windowSizes: windowSizes, clamp: mode == .clip)
        else { continue }
        var dst = 0
        for d in 0..<out.rank { dst += start[d] * xStrides[d] }
        for (j, ud) in dn.updateWindowDims.enumerated() { dst += ui[ud] * xStrides[windowOperandDims[j]] }
        let a = o[dst], v = u[flat]
        switch op {
        case .replace: o[dst] = v
        case .add: o[dst] = T.scatterAdd(a, v)
        case .mul: o[dst] = T.scatterMul(a, v)
        case .min: o[dst] = T.scatterMin(a, v)
        case .max: o[dst] = T.scatterMax(a, v)
        }
    }
}
