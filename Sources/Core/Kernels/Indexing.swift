// Gather and scatter-add with XLA's dimension-number semantics.

/// Reads index vectors: `indices` has shape [batch…, k]; returns Int values.
private func indexVectors(_ indices: DenseArray) -> [Int] {
    (0..<indices.count).map { Int(indices.double(at: $0)) }
}

/// Multi-index of flat position `flat` in `shape`.
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

func evalGather(_ x: DenseArray, _ indices: DenseArray, dn: GatherDimensionNumbers, sliceSizes: [Int], shape: [Int]) -> DenseArray {
    let out = DenseArray(uninitializedShape: shape, dtype: x.dtype)
    if out.count == 0 { return out }
    let es = x.dtype.byteSize
    let k = dn.startIndexMap.count
    let idx = indexVectors(indices)
    let batchShape = Array(indices.shape.dropLast())
    let outStrides = rowMajorStrides(shape), xStrides = rowMajorStrides(x.shape)
    let batchOutDims = (0..<shape.count).filter { !dn.offsetDims.contains($0) }
    let windowDims = (0..<x.rank).filter { !dn.collapsedSliceDims.contains($0) && !dn.operandBatchingDims.contains($0) }
    let windowShape = windowDims.map { sliceSizes[$0] }
    let windowCount = windowShape.reduce(1, *)
    let batchCount = batchShape.reduce(1, *)
    var b = [Int](repeating: 0, count: batchShape.count)
    var w = [Int](repeating: 0, count: windowShape.count)
    var start = [Int](repeating: 0, count: x.rank)
    for flatB in 0..<batchCount {
        unravel(flatB, batchShape, into: &b)
        for d in 0..<x.rank { start[d] = 0 }
        for j in 0..<k { start[dn.startIndexMap[j]] = idx[flatB * k + j] }
        for (j, od) in dn.operandBatchingDims.enumerated() { start[od] = b[dn.startIndicesBatchingDims[j]] }
        for d in 0..<x.rank { start[d] = Swift.min(Swift.max(start[d], 0), x.shape[d] - sliceSizes[d]) }
        var outBase = 0
        for (j, od) in batchOutDims.enumerated() { outBase += b[j] * outStrides[od] }
        for flatW in 0..<windowCount {
            unravel(flatW, windowShape, into: &w)
            var o = outBase, src = 0
            for (j, od) in dn.offsetDims.enumerated() { o += w[j] * outStrides[od] }
            for d in 0..<x.rank { src += start[d] * xStrides[d] }
            for (j, xd) in windowDims.enumerated() { src += w[j] * xStrides[xd] }
            (out.buffer.pointer + o * es).copyMemory(from: x.buffer.pointer + src * es, byteCount: es)
        }
    }
    return out
}

private func scatterAddTyped<T>(
    _ out: DenseArray, _ indices: DenseArray, _ updates: DenseArray, _ dn: ScatterDimensionNumbers, _: T.Type,
    _ add: (T, T) -> T
) {
    if updates.count == 0 { return }
    let xShape = out.shape, xStrides = rowMajorStrides(xShape)
    let k = dn.scatterDimsToOperandDims.count
    let idx = indexVectors(indices)
    let scatterDims = (0..<updates.rank).filter { !dn.updateWindowDims.contains($0) }
    let windowOperandDims = (0..<xShape.count).filter { !dn.insertedWindowDims.contains($0) && !dn.operandBatchingDims.contains($0) }
    let windowSizes = dn.updateWindowDims.map { updates.shape[$0] }
    let o = out.mutablePointer(T.self), u = updates.pointer(T.self)
    var ui = [Int](repeating: 0, count: updates.rank)
    var start = [Int](repeating: 0, count: xShape.count)
    let batchShape = scatterDims.map { updates.shape[$0] }
    var lastBatch = -1
    var inBounds = true
    for flat in 0..<updates.count {
        unravel(flat, updates.shape, into: &ui)
        // Batch position (the scatter dims of the update index).
        var batchFlat = 0
        for (j, d) in scatterDims.enumerated() { batchFlat = batchFlat * batchShape[j] + ui[d] }
        if batchFlat != lastBatch {
            lastBatch = batchFlat
            for d in 0..<xShape.count { start[d] = 0 }
            for j in 0..<k { start[dn.scatterDimsToOperandDims[j]] = idx[batchFlat * k + j] }
            for (j, od) in dn.operandBatchingDims.enumerated() { start[od] = ui[scatterDims[dn.scatterIndicesBatchingDims[j]]] }
            // A window that does not fit entirely is dropped, as XLA does.
            inBounds = true
            for (j, xd) in windowOperandDims.enumerated() where start[xd] < 0 || start[xd] + windowSizes[j] > xShape[xd] {
                inBounds = false
            }
            for d in dn.insertedWindowDims + dn.operandBatchingDims where start[d] < 0 || start[d] >= xShape[d] {
                inBounds = false
            }
        }
        if !inBounds { continue }
        var dst = 0
        for d in 0..<xShape.count { dst += start[d] * xStrides[d] }
        for (j, ud) in dn.updateWindowDims.enumerated() { dst += ui[ud] * xStrides[windowOperandDims[j]] }
        o[dst] = add(o[dst], u[flat])
    }
}

func evalScatterAdd(_ x: DenseArray, _ indices: DenseArray, _ updates: DenseArray, dn: ScatterDimensionNumbers) -> DenseArray {
    let out = copyArray(x)
    switch x.dtype {
    case .float32: scatterAddTyped(out, indices, updates, dn, Float.self) { $0 + $1 }
    case .float64: scatterAddTyped(out, indices, updates, dn, Double.self) { $0 + $1 }
    case .int32: scatterAddTyped(out, indices, updates, dn, Int32.self) { $0 &+ $1 }
    case .uint32: scatterAddTyped(out, indices, updates, dn, UInt32.self) { $0 &+ $1 }
    case .bool: scatterAddTyped(out, indices, updates, dn, Bool.self) { $0 || $1 }
    }
    return out
}
