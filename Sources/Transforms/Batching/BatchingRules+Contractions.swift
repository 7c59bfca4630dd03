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
    /// a batched lhs into its batch dimension (images; inside each batch group
    /// when there are several), a batched rhs into its output features (inside
    /// each group), both into the features with `B ×` as many feature groups
    /// (or into the batch with `B ×` as many batch groups).
    /// The dimension numbers stay; only sizes change.
    func convolution(_ lhs: BatchedValue, _ rhs: BatchedValue, _ p: ConvolutionParameters) -> BatchedValue {
        let b = axisSize
        let dn = p.dimensionNumbers
        switch (lhs.dim, rhs.dim) {
        case (let l?, nil):
            var x = lhs.value
            let n = dn.lhsSpec[0]
            if p.batchGroupCount > 1 {
                // Batch groups must stay outermost in the batch: (G, B, N/G) → G·B·N/G.
                x = reshapeAxisOutOf(n + (l <= n ? 1 : 0), p.batchGroupCount, x)
                x = reshapeAxisInto(l + (n < l ? 1 : 0), n + 1, x)
                x = reshapeAxisInto(n, n, x)
            } else {
                x = reshapeAxisInto(l, n, x)
            }
            let y = lax.convGeneralDilated(x, rhs.value, p)
            return BatchedValue(reshapeAxisOutOf(dn.outSpec[0], b, y), dn.outSpec[0])
        case (nil, let r?):
            let g = max(p.featureGroupCount, p.batchGroupCount), o = dn.rhsSpec[0]
            if g == 1 {
                let y = lax.convGeneralDilated(lhs.value, reshapeAxisInto(r, o, rhs.value), p)
                return BatchedValue(reshapeAxisOutOf(dn.outSpec[1], b, y), dn.outSpec[1])
            }
            // Output features must stay grouped: order them (group, batch, feature in group).
            var w = reshapeAxisOutOf(o + (r <= o ? 1 : 0), g, rhs.value)  // O → (G, O/G)
            w = reshapeAxisInto(r + (o < r ? 1 : 0), o + 1, w)  // (G, B·O/G)
            w = reshapeAxisInto(o, o, w)  // G·B·O/G
            var y = lax.convGeneralDilated(lhs.value, w, p)
            let f = dn.outSpec[1]
            y = reshapeAxisOutOf(f, g, y)  // (G, B·O/G)
            y = reshapeAxisOutOf(f + 1, b, y)  // (G, B, O/G)
            return BatchedValue(reshapeAxisInto(f, f + 1, y), f)  // (B, G·O/G)
        case let (l?, r?):
            var q = p
            let x: Tensor
            if p.batchGroupCount > 1 {
                q.batchGroupCount = p.batchGroupCount * b
                x = reshapeAxisInto(l, dn.lhsSpec[0], lhs.value)
            } else {
                q.featureGroupCount = p.featureGroupCount * b
                x = reshapeAxisInto(l, dn.lhsSpec[1], lhs.value)
            }
            let y = lax.convGeneralDilated(x, reshapeAxisInto(r, dn.rhsSpec[0], rhs.value), q)
            return BatchedValue(reshapeAxisOutOf(dn.outSpec[1], b, y), dn.outSpec[1])
        case (nil, nil):
            return BatchedValue(lax.convGeneralDilated(lhs.value, rhs.value, p), nil)
        }
    }
}
