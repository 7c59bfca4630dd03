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

extension ShardingPropagation {
    /// `scatter`: operand dimensions every update window covers whole keep
    /// their axes, or take the updates' where the operand has none (the
    /// updates' window dimensions laid out alike); indexed
    /// dimensions are gathered. A scatter-add also keeps the axes of the
    /// updates' scatter dimensions (the indices' batch dimensions laid out
    /// alike): each device adds its own updates into its block of the
    /// operand, so the result is a partial sum over those axes — a `psum`
    /// when read, a reduce-scatter when resharded over them (an embedding
    /// table's gradient under data parallelism). The operand must then count
    /// once: it goes in on the first device of those axes and zeros on the
    /// others, unless it is zeros already (a gather's gradient). Other
    /// scatters gather their scatter dimensions. Batching dimensions: the
    /// fallback.
    func scatter(_ p: Primitive, _ ins: [Value], _ aval: AbstractValue) -> [Value]? {
        guard case .scatter(let op, let dn, let mode) = p, dn.operandBatchingDims.isEmpty else { return nil }
        let operand = ins[0], indices = ins[1], updates = ins[2]
        let shape = operand.aval.shape, updateShape = updates.aval.shape
        let windowDims = shape.indices.filter { !dn.insertedWindowDims.contains($0) }
        var l = operand.layout
        for d in l.indices where dn.scatterDimsToOperandDims.contains(d) || dn.insertedWindowDims.contains(d) { l[d] = [] }
        for (k, d) in windowDims.enumerated() where updateShape[dn.updateWindowDims[k]] != shape[d] { l[d] = [] }
        var u = replicated(updateShape.count), r = replicated(indices.aval.rank)
        var used = Set(l.flatMap { $0 })
        for (k, d) in windowDims.enumerated() {
            // A whole window dimension of a replicated operand takes the
            // updates' axes (cutting the operand is free).
            let axes = updates.layout[dn.updateWindowDims[k]]
            if l[d].isEmpty && updateShape[dn.updateWindowDims[k]] == shape[d] && !dn.scatterDimsToOperandDims.contains(d)
                && !axes.isEmpty && used.isDisjoint(with: axes) {
                l[d] = axes
                used.formUnion(axes)
            }
            u[dn.updateWindowDims[k]] = l[d]
        }
        let scatterDims = updateShape.indices.filter { !dn.updateWindowDims.contains($0) }
        if op == .add {
            for (k, d) in scatterDims.enumerated() {
                let axes = updates.layout[d].isEmpty ? indices.layout[k] : updates.layout[d]
                guard !axes.isEmpty, used.isDisjoint(with: axes) else { continue }
                (u[d], r[k]) = (axes, axes)
                used.formUnion(axes)
            }
        }
        let partial = scatterDims.flatMap { u[$0] }
        var x = reshard(operand, to: l, consumer: p.name, reason: "scatter writes indexed dimensions whole")
        let i = reshard(indices, to: r, consumer: p.name, reason: "scatter's indices laid out as its updates")
        let v = reshard(updates, to: u, consumer: p.name, reason: "scatter's updates laid out for the operand's blocks")
        if !partial.isEmpty && !operand.zero {
            x = onFirstDevice(x, of: partial)
            decisions.append("\(p.name): updates split over \(partial): the operand added on the first device of \(partial) only")
        }
        let y = apply(.scatter(op, dn, mode: mode), [x, i, v], [l], [aval])[0]
        if partial.isEmpty { return [y] }
        return [allReduce(.psum(axes: partial), y, consumer: p.name, reason: "partial sums of updates split over \(partial)")]
    }

    /// `x` on the first device along `axes` and zeros on the others: a term
    /// that joins partial sums over `axes` without being counted once per device.
    func onFirstDevice(_ x: Value, of axes: [String]) -> Value {
        func scalar(_ t: Tensor) -> Value { Value(operand: .constant(t), layout: [], aval: t.aval) }
        let index = apply(.axisIndex(axes: axes), [], [[]], [AbstractValue(shape: [], dtype: .int32)])[0]
        let first = apply(.compare(.eq), [index, scalar(Tensor(Int32(0)))], [[]], [AbstractValue(shape: [], dtype: .bool)])[0]
        let zeros = apply(.broadcastInDim(shape: localShape(x.aval.shape, x.layout), broadcastDimensions: []),
                          [scalar(Tensor(0, dtype: x.aval.dtype))], [x.layout], [x.aval])[0]
        return apply(.select, [first, x, zeros], [x.layout], [x.aval])[0]
    }
}
