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
            return BatchedValue(bind1(.dotGeneral(out), lhs.value, rhs.value), dn.lhsBatch.count + free.firstIndex(of: l)!)
        case (nil, let r?):
            let out = DotDimensionNumbers(
                lhsContracting: dn.lhsContracting, rhsContracting: shifted(dn.rhsContracting, r),
                lhsBatch: dn.lhsBatch, rhsBatch: shifted(dn.rhsBatch, r))
            let lhsFree = freeDims(rank: lhs.value.rank, dn.lhsContracting, dn.lhsBatch).count
            let free = freeDims(rank: rhs.value.rank, out.rhsContracting, out.rhsBatch)
            return BatchedValue(bind1(.dotGeneral(out), lhs.value, rhs.value), dn.lhsBatch.count + lhsFree + free.firstIndex(of: r)!)
        case (_?, _?), (nil, nil):
            let plus1 = { (a: [Int]) in a.map { $0 + 1 } }
            let out = DotDimensionNumbers(
                lhsContracting: plus1(dn.lhsContracting), rhsContracting: plus1(dn.rhsContracting),
                lhsBatch: [0] + plus1(dn.lhsBatch), rhsBatch: [0] + plus1(dn.rhsBatch))
            return BatchedValue(bind1(.dotGeneral(out), moveToFront(lhs), moveToFront(rhs)), 0)
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
            let folded = bind1(.reshape([b * x.shape[1]] + x.shape.dropFirst(2)), x)
            let y = bind1(.convolution(p), folded, rhs.value)  // [B·N, O, spatial…]
            return BatchedValue(bind1(.reshape([b, x.shape[1]] + y.shape.dropFirst()), y), 0)
        case (nil, _?):
            let w = moveToFront(rhs)  // [B, O, I, spatial…]
            let o = w.shape[1], g = p.featureGroupCount
            let kernelRest = Array(w.shape.dropFirst(2))
            // Output features must stay grouped: order them (group, batch, feature in group).
            var folded = bind1(.reshape([b, g, o / g] + kernelRest), w)
            if g > 1 { folded = bind1(.transpose([1, 0] + Array(2..<folded.rank)), folded) }
            folded = bind1(.reshape([g * b * (o / g)] + kernelRest), folded)
            var y = bind1(.convolution(p), lhs.value, folded)  // [N, G·B·O/G, spatial…]
            let n = y.shape[0], spatial = Array(y.shape.dropFirst(2))
            y = bind1(.reshape([n, g, b, o / g] + spatial), y)
            if g > 1 { y = bind1(.transpose([0, 2, 1] + Array(3..<y.rank)), y) }
            return BatchedValue(bind1(.reshape([n, b, o] + spatial), y), 1)
        case (_?, _?), (nil, nil):
            let x = moveToFront(lhs), w = moveToFront(rhs)  // [B, N, C, …], [B, O, I, …]
            let n = x.shape[1], c = x.shape[2], o = w.shape[1]
            let xt = bind1(.transpose([1, 0] + Array(2..<x.rank)), x)
            let xf = bind1(.reshape([n, b * c] + x.shape.dropFirst(3)), xt)
            let wf = bind1(.reshape([b * o] + w.shape.dropFirst(2)), w)
            var q = p
            q.featureGroupCount = p.featureGroupCount * b
            let y = bind1(.convolution(q), xf, wf)  // [N, B·O, spatial…]
            return BatchedValue(bind1(.reshape([n, b, o] + y.shape.dropFirst(2)), y), 1)
        }
    }
}
