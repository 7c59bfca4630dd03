/// Batching rules of the collectives.
///
/// Over the axis this vmap maps and names (*named batching*), a collective is
/// an array operation on the batch dimension — `vmap(f, axisName:)` is the
/// single-process meaning of a collective, and the oracle for MPI runs: psum
/// sums over the batch dimension, allGather stacks the examples, ppermute
/// reorders them. Over other names (*ordinary batching*) the batch dimension is
/// one more array dimension of a collective that runs elsewhere (an outer vmap
/// or a communicator).
extension BatchingRules {
    func collective(_ p: Primitive, _ xs: [BatchedValue]) throws -> [BatchedValue] {
        let axes = p.collectiveAxes!
        if mapsName, let name = axisName, axes.contains(name) {
            return [try named(p, xs.first, name: name, others: axes.filter { $0 != name })]
        }
        return [ordinary(p, xs[0])]
    }

    /// The collective over other names, applied to the whole batch.
    private func ordinary(_ p: Primitive, _ x: BatchedValue) -> BatchedValue {
        switch p {
        case .psum, .pmax, .pmin, .ppermute, .pbroadcast:
            return BatchedValue(lax.apply(p, x.value), x.dim)
        case .allGather(let axes, let axis, let tiled):
            return BatchedValue(lax.allGather(moveToFront(x), axes: axes, axis: axis + 1, tiled: tiled), 0)
        case .psumScatter(let axes, let d, let tiled):
            return BatchedValue(lax.psumScatter(moveToFront(x), axes: axes, scatterDimension: d + 1, tiled: tiled), 0)
        case .allToAll(let axes, let split, let concat, let tiled):
            let y = lax.allToAll(moveToFront(x), axes: axes, splitAxis: split + 1, concatAxis: concat + 1, tiled: tiled)
            return BatchedValue(y, 0)
        default:
            // axisIndex has no operands, so it is never batched over another name.
            return BatchedValue(lax.apply(p), nil)
        }
    }

    /// The collective over this vmap's axis `name` (and possibly `others`).
    private func named(_ p: Primitive, _ x: BatchedValue?, name: String, others: [String]) throws -> BatchedValue {
        let size = axisSize
        func only() throws {
            guard others.isEmpty else {
                throw FlockError(
                    "\(p.name): over the vmap axis '\(name)' together with other axes \(others) is not supported; "
                        + "use one axis name")
            }
        }
        /// A scalar of the operand's dtype.
        func scalar(_ v: Double, _ like: Tensor) -> Tensor { Tensor(v, dtype: like.dtype, weakType: like.weakType) }
        switch p {
        case .psum, .pmax, .pmin:
            let x = x!
            let op: ReduceOp = if case .psum = p { .sum } else if case .pmax = p { .max } else { .min }
            var v: Tensor
            if let d = x.dim {
                v = lax.reduce(op, x.value, axes: [d])
            } else {
                v = op == .sum ? lax.mul(x.value, scalar(Double(size), x.value)) : x.value
            }
            if !others.isEmpty {
                v = op == .sum ? lax.psum(v, axes: others) : op == .max ? lax.pmax(v, axes: others) : lax.pmin(v, axes: others)
            }
            return BatchedValue(v, nil)

        case .axisIndex(let axes):
            // Row-major over the names: this axis contributes iota × (sizes of the later names).
            let sizes = axes.map { activeAxisSize($0) ?? 1 }
            let k = axes.firstIndex(of: name)!
            let stride = sizes[(k + 1)...].reduce(1, *)
            var index = lax.iota(.int32, shape: [size], dimension: 0)
            if stride != 1 { index = lax.mul(index, Tensor(Int32(stride))) }
            for (j, other) in axes.enumerated() where other != name {
                let s = sizes[(j + 1)...].reduce(1, *)
                index = lax.add(index, lax.mul(lax.axisIndex(axes: [other]), Tensor(Int32(s))))
            }
            return BatchedValue(index, 0)

        case .allGather(_, let axis, let tiled):
            try only()
            let x = x!
            // Every example sees all examples stacked at `axis`: the batch dimension moved there.
            let stacked = moveBatchAxis(x, to: axis)
            guard tiled else { return BatchedValue(stacked, nil) }
            var shape = x.exampleShape
            shape[axis] *= size
            return BatchedValue(lax.reshape(stacked, shape), nil)

        case .psumScatter(_, let d, let tiled):
            try only()
            let x = x!
            let total = x.dim.map { lax.reduceSum(x.value, axes: [$0]) } ?? lax.mul(x.value, scalar(Double(size), x.value))
            // Example i keeps block i of dimension d: that dimension becomes the batch dimension.
            guard tiled else { return BatchedValue(total, d) }
            var shape = total.shape
            shape[d] /= size
            shape.insert(size, at: d)
            return BatchedValue(lax.reshape(total, shape), d)

        case .ppermute(_, let pairs):
            try only()
            let x = x!
            var source = [Int?](repeating: nil, count: size)
            for pair in pairs { source[pair.destination] = pair.source }
            if x.dim == nil && source.allSatisfy({ $0 != nil }) { return BatchedValue(x.value, nil) }
            // Example i takes example source(i), or zeros when nothing is sent to it.
            let v = moveToFront(x)
            let example = Array(v.shape.dropFirst())
            let rows = source.map { s -> Tensor in
                guard let s else { return zeros([1] + example, dtype: v.dtype) }
                return lax.slice(
                    v, start: [s] + example.map { _ in 0 }, limit: [s + 1] + example,
                    strides: [Int](repeating: 1, count: v.rank))
            }
            return BatchedValue(rows.count == 1 ? rows[0] : lax.concatenate(rows, axis: 0), 0)

        case .allToAll(_, let split, let concat, let tiled):
            try only()
            let x = x!
            let v = moveToFront(x)  // [B] + example
            let example = x.exampleShape
            let rank = example.count
            if !tiled {
                // out[i][concat = j] = x[j][split = i]: the split axis becomes the batch
                // dimension and the batch dimension the concat axis.
                var rest = (0..<rank).filter { $0 != split }.map { $0 + 1 }
                rest.insert(0, at: concat)
                return BatchedValue(lax.transpose(v, [split + 1] + rest), 0)
            }
            // Tiled: split the split axis into (member, chunk); member becomes the batch
            // dimension, and the batch dimension joins the concat axis as its major part.
            let chunk = example[split] / size
            var split4 = [size] + example
            split4.replaceSubrange((split + 1)...(split + 1), with: [size, chunk])
            let w = lax.reshape(v, split4)
            func position(_ e: Int) -> Int { e < split ? e + 1 : e == split ? split + 2 : e + 2 }
            var perm = [split + 1]
            for e in 0..<rank { perm += e == concat ? [0, position(e)] : [position(e)] }
            var outShape = example
            outShape[split] = chunk
            outShape[concat] *= size
            return BatchedValue(lax.reshape(lax.transpose(w, perm), [size] + outShape), 0)

        case .pbroadcast(_, let source):
            try only()
            let x = x!
            guard let d = x.dim else { return BatchedValue(x.value, nil) }
            let v = x.value
            var start = [Int](repeating: 0, count: v.rank), limit = v.shape
            start[d] = source
            limit[d] = source + 1
            let row = lax.slice(v, start: start, limit: limit, strides: [Int](repeating: 1, count: v.rank))
            return BatchedValue(lax.reshape(row, x.exampleShape), nil)

        default:
            preconditionFailure("BatchingRules.named: \(p.name) is not a collective")
        }
    }
}
