/// Batching rules of the contractions: `dotGeneral` and `convolution`.
extension BatchingRules {
    /// Both operands batched: the batch becomes one more dot batch dimension
    /// (output dimension 0). One batched: it is a free dimension of that operand
    /// and lands where the output layout (batch, lhs free, rhs free) puts it.
    func dotGeneral(_ lhs: BatchedValue, _ rhs: BatchedValue, _ dn: DotDimensionNumbers) -> BatchedValue {
        func shifted(_ dims: [Int], _ d: Int) -> [Int] { dims.map { fullAxis($0, d) } }
        func freeDims(rank: Int, _ contracting: [Int], _ batch: [Int]) -> [Int] {
            (0..<rank).filter { !contracting.contains($0) && !batch.contains($0) }
        }
        switch (lhs.dim, rhs.dim) {
        case (let l?, nil):
            let out = DotDimensionNumbers(
                lhsContracting: shifted(dn.lhsContracting, l), rhsContracting: dn.rhsContracting,
                lhsBatch: shifted(dn.lhsBatch, l), rhsBatch: dn.rhsBatch)
            let free = freeDims(rank: lhs.value.rank, out.lhsContracting, out.lhsBatch)
            return BatchedValue(lax.dotGeneral(lhs.value, rhs.value, out), dn.lhsBatch.count + free.firstIndex(of: l)!)
        case (nil, let r?):
            let out = DotDimensionNumbers(
                lhsContracting: dn.lhsContracting, rhsContracting: shifted(dn.rhsContracting, r),
                lhsBatch: dn.lhsBatch, rhsBatch: shifted(dn.rhsBatch, r))
            let lhsFree = freeDims(rank: lhs.value.rank, dn.lhsContracting, dn.lhsBatch).count
            let free = freeDims(rank: rhs.value.rank, out.rhsContracting, out.rhsBatch)
            return BatchedValue(lax.dotGeneral(lhs.value, rhs.value, out), dn.lhsBatch.count + lhsFree + free.firstIndex(of: r)!)
        case (_?, _?), (nil, nil):
            let plus1 = { (a: [Int]) in a.map { $0 + 1 } }
            let out = DotDimensionNumbers(
                lhsContracting: plus1(dn.lhsContracting), rhsContracting: plus1(dn.rhsContracting),
                lhsBatch: [0] + plus1(dn.lhsBatch), rhsBatch: [0] + plus1(dn.rhsBatch))
            return BatchedValue(lax.dotGeneral(moveToFront(lhs), moveToFront(rhs), out), 0)
        }
    }

    /// Convolutions fold the batch into an existing dimension, as JAX does:
    /// a batched lhs into N (images), a batched rhs into O (output features),
    /// both into the features with `B ×` as many feature groups.
    func convolution(_ lhs: BatchedValue, _ rhs: BatchedValue, _ p: ConvolutionParameters) -> BatchedValue {
        let b = axisSize
        switch (lhs.dim, rhs.dim) {
        case (_?, nil):
            let x = moveToFront(lhs)  // [B, N, C, spatial…]
            let folded = lax.reshape(x, [b * x.shape[1]] + x.shape.dropFirst(2))
            let y = lax.convGeneralDilated(folded, rhs.value, p)  // [B·N, O, spatial…]
            return BatchedValue(lax.reshape(y, [b, x.shape[1]] + y.shape.dropFirst()), 0)
        case (nil, _?):
            let w = moveToFront(rhs)  // [B, O, I, spatial…]
            let o = w.shape[1], g = p.featureGroupCount
            let kernelRest = Array(w.shape.dropFirst(2))
            // Output features must stay grouped: order them (group, batch, feature in group).
            var folded = lax.reshape(w, [b, g, o / g] + kernelRest)
            if g > 1 { folded = lax.transpose(folded, [1, 0] + Array(2..<folded.rank)) }
            folded = lax.reshape(folded, [g * b * (o / g)] + kernelRest)
            var y = lax.convGeneralDilated(lhs.value, folded, p)  // [N, G·B·O/G, spatial…]
            let n = y.shape[0], spatial = Array(y.shape.dropFirst(2))
            y = lax.reshape(y, [n, g, b, o / g] + spatial)
            if g > 1 { y = lax.transpose(y, [0, 2, 1] + Array(3..<y.rank)) }
            return BatchedValue(lax.reshape(y, [n, b, o] + spatial), 1)
        case (_?, _?), (nil, nil):
            let x = moveToFront(lhs), w = moveToFront(rhs)  // [B, N, C, …], [B, O, I, …]
            let n = x.shape[1], c = x.shape[2], o = w.shape[1]
            let xt = lax.transpose(x, [1, 0] + Array(2..<x.rank))
            let xf = lax.reshape(xt, [n, b * c] + x.shape.dropFirst(3))
            let wf = lax.reshape(w, [b * o] + w.shape.dropFirst(2))
            var q = p
            q.featureGroupCount = p.featureGroupCount * b
            let y = lax.convGeneralDilated(xf, wf, q)  // [N, B·O, spatial…]
            return BatchedValue(lax.reshape(y, [n, b, o] + y.shape.dropFirst(2)), 1)
        }
    }
}
