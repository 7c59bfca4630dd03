// Sharding rules of the indexing primitives (see ShardingPropagation):
// dimensions read whole keep their axes; the indexed ones are gathered.

extension ShardingPropagation {
    /// `dynamic_slice`: a dimension sliced whole (its start clamps to 0 on
    /// every block) keeps its axes; the others are gathered.
    func dynamicSlice(_ sizes: [Int], _ ins: [Value], _ aval: AbstractValue) -> [Value] {
        let shape = ins[0].aval.shape
        let x = whole(ins[0], shape.indices.filter { sizes[$0] != shape[$0] }, for: .dynamicSlice(sizes: sizes))
        let local = Primitive.dynamicSlice(sizes: localShape(sizes, x.layout))
        return apply(local, [x] + ins.dropFirst(), [x.layout], [aval])
    }

    /// `dynamic_update_slice`: dimensions the update covers whole keep the
    /// operand's axes (the update is laid out alike); the others are gathered
    /// on both.
    func dynamicUpdateSlice(_ ins: [Value], _ aval: AbstractValue) -> [Value] {
        let shape = ins[0].aval.shape, update = ins[1].aval.shape
        let x = whole(ins[0], shape.indices.filter { update[$0] != shape[$0] }, for: .dynamicUpdateSlice)
        let u = reshard(ins[1], to: x.layout, consumer: "dynamic_update_slice", reason: "update laid out as the operand")
        return apply(.dynamicUpdateSlice, [x, u] + ins.dropFirst(2), [x.layout], [aval])
    }

    /// `gather`: operand dimensions taken whole by every slice (offset
    /// dimensions of full size, not indexed) keep their axes, and so do the
    /// indices' batch dimensions (an embedding table split over its columns,
    /// indices split over the batch: no communication). Indexed operand
    /// dimensions, the index vector and, for an axis both would use, the
    /// indices' dimension are gathered. Batching dimensions: the fallback.
    func gather(_ p: Primitive, _ ins: [Value], _ aval: AbstractValue) -> [Value]? {
        guard case .gather(let dn, let sliceSizes, let mode, let fill) = p, dn.operandBatchingDims.isEmpty else { return nil }
        let operand = ins[0], indices = ins[1], shape = operand.aval.shape
        var l = operand.layout
        for d in l.indices where dn.startIndexMap.contains(d) || sliceSizes[d] != shape[d] { l[d] = [] }
        var r = indices.layout
        r[r.count - 1] = []
        let used = Set(l.flatMap { $0 })
        for d in r.indices where !used.isDisjoint(with: r[d]) { r[d] = [] }
        let x = reshard(operand, to: l, consumer: p.name, reason: "gather reads indexed dimensions whole")
        let i = reshard(indices, to: r, consumer: p.name, reason: "gather's indices laid out for the lookup")
        // Output: offset dimensions from the operand's kept dimensions, the others from the indices' batch dimensions.
        var offsets = l.indices.filter { !dn.collapsedSliceDims.contains($0) }.map { l[$0] }.makeIterator()
        var batches = r.dropLast().makeIterator()
        let layout = (0..<aval.rank).map { dn.offsetDims.contains($0) ? offsets.next() ?? [] : batches.next() ?? [] }
        let local = Primitive.gather(dn, sliceSizes: localShape(sliceSizes, l), mode: mode, fillValue: fill)
        return apply(local, [x, i], [layout], [aval])
    }
}
