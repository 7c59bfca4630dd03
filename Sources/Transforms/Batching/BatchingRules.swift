/// The batching table: one rule per primitive.
///
/// A rule receives the operands as (value, batch dimension) pairs — at least one
/// of them batched — and returns the results the same way. It runs under the
/// parent interpreter, so the primitives it binds act on whole batches. Rules
/// that can keep a batch dimension where it is do (elementwise, reductions);
/// the others move it to the front first, as JAX does. Operand shapes were
/// already checked per example by the shape rule.
struct BatchingRules {
    let axisSize: Int
    let axisName: String?
    /// Whether `axisName` refers to this vmap's axis where the rule runs (an
    /// inner binding of the same name — another vmap, a communicator — shadows it).
    var mapsName = false

    func apply(_ p: Primitive, _ xs: [BatchedValue], outAvals: [AbstractValue]) throws -> [BatchedValue] {
        let shape = outAvals.first?.shape ?? []
        switch p {
        case .debugCallback:
            // As JAX: one call per batch element, in order, with that element's values.
            for i in 0..<axisSize { _ = bind(p, xs.map { x in x.dim.map { elementOf(x.value, i, axis: $0) } ?? x.value }) }
            return []
        case .unary, .convert, .bitcast, .stopGradient:
            return [BatchedValue(lax.apply(p, xs[0].value), xs[0].dim)]
        case .binary, .compare:
            return elementwise(p, xs, shape: shape, scalarOperands: [0, 1])
        case .select:
            return elementwise(p, xs, shape: shape, scalarOperands: [0])
        case .clamp:
            return elementwise(p, xs, shape: shape, scalarOperands: [0, 2])
        case .fma:
            return elementwise(p, xs, shape: shape, scalarOperands: [0, 1, 2])
        case .threefry2x32:
            return elementwise(p, xs, shape: shape, scalarOperands: [0, 1])

        case .reduce(let op, let axes):
            let d = xs[0].dim!
            let out = lax.reduce(op, xs[0].value, axes: axes.map { fullAxis($0, d) })
            return [BatchedValue(out, d - axes.filter { $0 < d }.count)]
        case .argReduce(let op, let axis):
            let d = xs[0].dim!
            return [BatchedValue(lax.argReduce(op, xs[0].value, axis: fullAxis(axis, d)), axis < d ? d - 1 : d)]
        case .cumsum(let axis, let reverse):
            let d = xs[0].dim!
            return [BatchedValue(lax.cumsum(xs[0].value, axis: fullAxis(axis, d), reverse: reverse), d)]
        case .reverse(let axes):
            let d = xs[0].dim!
            return [BatchedValue(lax.rev(xs[0].value, axes: axes.map { fullAxis($0, d) }), d)]
        case .sort(let dimension, let numKeys):
            let operands = xs.map(moveToFront)
            return lax.sort(operands, dimension: dimension + 1, numKeys: numKeys).map { BatchedValue($0, 0) }

        case .broadcastInDim(let target, let dims):
            let x = moveToFront(xs[0])
            let out = lax.broadcastInDim(x, shape: [axisSize] + target, dims: [0] + dims.map { $0 + 1 })
            return [BatchedValue(out, 0)]
        case .reshape(let target):
            return [BatchedValue(lax.reshape(moveToFront(xs[0]), [axisSize] + target), 0)]
        case .transpose(let perm):
            // One transpose that also brings the batch dimension to the front.
            let d = xs[0].dim!
            return [BatchedValue(lax.transpose(xs[0].value, [d] + perm.map { fullAxis($0, d) }), 0)]
        case .slice(var start, var limit, var strides):
            let d = xs[0].dim!
            start.insert(0, at: d)
            limit.insert(axisSize, at: d)
            strides.insert(1, at: d)
            return [BatchedValue(lax.slice(xs[0].value, start: start, limit: limit, strides: strides), d)]
        case .pad(let low, let high, let interior):
            return [pad(xs[0], xs[1], low: low, high: high, interior: interior)]
        case .concatenate(let axis):
            return [BatchedValue(lax.concatenate(xs.map(moveToFront), axis: axis + 1), 0)]
        case .iota(let dtype, let shape, let dimension):
            // No operands, so never batched; kept for exhaustiveness.
            return [BatchedValue(lax.iota(dtype, shape: shape, dimension: dimension), nil)]

        case .dynamicSlice(let sizes):
            return [dynamicSlice(xs[0], Array(xs.dropFirst()), sizes: sizes)]
        case .dynamicUpdateSlice:
            return [dynamicUpdateSlice(xs[0], xs[1], Array(xs.dropFirst(2)))]
        case .gather(let dn, let sliceSizes, let mode, let fill):
            return [gather(xs[0], xs[1], dn, sliceSizes: sliceSizes, mode: mode, fill: fill)]
        case .scatter(let op, let dn, let mode):
            return [scatter(op, xs[0], xs[1], xs[2], dn, mode: mode)]

        case .dotGeneral(let dn):
            return [dotGeneral(xs[0], xs[1], dn)]
        case .convolution(let params):
            return [convolution(xs[0], xs[1], params)]

        case .reduceWindow(let op, let w):
            // The batch dimension becomes one the windows do not touch.
            let d = xs[0].dim!
            return [BatchedValue(lax.reduceWindow(op, xs[0].value, w.insertingTrivialDimension(at: d)), d)]
        case .selectAndScatterAdd(let select, let w):
            let q = w.insertingTrivialDimension(at: 0)
            let y = lax.selectAndScatterAdd(moveToFront(xs[0]), moveToFront(xs[1]), select: select, q)
            return [BatchedValue(y, 0)]
        case .selectAndGatherAdd(let select, let w):
            let q = w.insertingTrivialDimension(at: 0)
            let y = lax.selectAndGatherAdd(moveToFront(xs[0]), moveToFront(xs[1]), select: select, q)
            return [BatchedValue(y, 0)]

        case .call(let jaxpr, let kind):
            return call(jaxpr, kind: kind, xs)
        case .cond(let branches):
            return cond(branches, index: xs[0], Array(xs.dropFirst()))
        case .whileLoop(let condJaxpr, let body, let condConstCount, let bodyConstCount):
            return whileLoop(cond: condJaxpr, body: body, condConstCount: condConstCount, bodyConstCount: bodyConstCount, xs)
        case .scan(let body, let length, let reverse, let constCount, let carryCount):
            return scan(body: body, length: length, reverse: reverse, constCount: constCount, carryCount: carryCount, xs)
        case .customJVP(let jaxpr, let rule):
            return customJVP(jaxpr, rule: rule, xs)
        case .customVJP(let jaxpr, let rule):
            return customVJP(jaxpr, rule: rule, xs)
        case .checkpoint(let jaxpr):
            return checkpoint(jaxpr, xs)
        case .customVJPLinear(let rule, let residualCount, let outAvals):
            return customVJPLinear(rule: rule, residualCount: residualCount, outAvals: outAvals, xs)
        case .psum, .pmax, .pmin, .allGather, .psumScatter, .ppermute, .allToAll, .axisIndex, .pbroadcast:
            return try collective(p, xs)
        }
    }
}

// MARK: - Moving batch dimensions

/// The axis of a batched value that per-example axis `axis` refers to, when the
/// batch dimension is `batchDim`.
@inline(__always)
func fullAxis(_ axis: Int, _ batchDim: Int) -> Int { axis < batchDim ? axis : axis + 1 }

extension BatchingRules {
    /// `x`'s value with the batch dimension at `to`; an unbatched value is
    /// broadcast along a new axis there.
    func moveBatchAxis(_ x: BatchedValue, to: Int) -> Tensor {
        let v = x.value
        if v.isPoisoned { return v }
        guard let from = x.dim else {
            var shape = v.shape
            shape.insert(axisSize, at: to)
            return lax.broadcastInDim(v, shape: shape, dims: (0..<v.rank).map { fullAxis($0, to) })
        }
        if from == to { return v }
        var perm = Array(0..<v.rank)
        perm.remove(at: from)
        perm.insert(from, at: to)
        return lax.transpose(v, perm)
    }

    /// `x`'s value with the batch dimension first (broadcast when unbatched).
    func moveToFront(_ x: BatchedValue) -> Tensor { moveBatchAxis(x, to: 0) }

    /// `x` batched at 0; unbatched values stay unbatched.
    func batchedAtFront(_ x: BatchedValue) -> BatchedValue {
        x.dim == nil ? x : BatchedValue(moveToFront(x), 0)
    }

    /// `value` ([B], one scalar per example) broadcast to `shape` along dimension `dim`.
    func broadcastPerExample(_ value: Tensor, to shape: [Int], at dim: Int) -> Tensor {
        lax.broadcastInDim(value, shape: shape, dims: [dim])
    }
}

// MARK: - Elementwise

extension BatchingRules {
    /// Elementwise primitives: every operand is brought to the full batched
    /// shape with the batch dimension in one place, except unbatched scalars in
    /// positions where the primitive accepts a rank-0 operand. A *batched*
    /// scalar beside full operands has to be broadcast: per example it is a
    /// scalar, but as a batch it is a vector.
    func elementwise(_ p: Primitive, _ xs: [BatchedValue], shape: [Int], scalarOperands: Set<Int>) -> [BatchedValue] {
        let dim = xs.first { $0.dim != nil && $0.exampleRank == shape.count }?.dim ?? 0
        var full = shape
        full.insert(axisSize, at: dim)
        let operands = xs.enumerated().map { (i, x) -> Tensor in
            switch (x.dim, x.exampleRank == shape.count) {
            case (nil, false):
                if scalarOperands.contains(i) { return x.value }
                return lax.broadcastInDim(x.value, shape: full, dims: [])
            case (_?, false):
                return broadcastPerExample(x.value, to: full, at: dim)
            case (_, true):
                return moveBatchAxis(x, to: dim)
            }
        }
        return lax.apply(p, operands).map { BatchedValue($0, dim) }
    }
}

// MARK: - Structural

extension BatchingRules {
    /// `pad` with a per-example padding value pads with zeros and then selects
    /// the value outside the original elements, as JAX does.
    func pad(_ x: BatchedValue, _ padValue: BatchedValue, low: [Int], high: [Int], interior: [Int]) -> BatchedValue {
        guard padValue.dim != nil else {
            let d = x.dim!
            func insert(_ a: [Int]) -> [Int] { var a = a; a.insert(0, at: d); return a }
            let out = lax.pad(x.value, padValue.value, low: insert(low), high: insert(high), interior: insert(interior))
            return BatchedValue(out, d)
        }
        let shape = x.exampleShape
        let dtype = x.value.dtype
        let padded = lax.pad(
            moveToFront(x), Tensor(0, dtype: dtype), low: [0] + low, high: [0] + high, interior: [0] + interior)
        let inside = lax.broadcastInDim(Tensor(true), shape: shape, dims: [])
        let mask = lax.pad(inside, Tensor(false), low: low, high: high, interior: interior)
        let full = padded.shape
        let maskB = lax.broadcastInDim(mask, shape: full, dims: Array(1..<full.count))
        let valueB = broadcastPerExample(moveToFront(padValue), to: full, at: 0)
        return BatchedValue(lax.select(maskB, padded, valueB), 0)
    }
}

/// Element `i` of `x` along `axis`, that axis removed.
private func elementOf(_ x: Tensor, _ i: Int, axis: Int) -> Tensor {
    var start = [Int](repeating: 0, count: x.rank), limit = x.shape
    start[axis] = i
    limit[axis] = i + 1
    let slab = bind1(.slice(start: start, limit: limit, strides: [Int](repeating: 1, count: x.rank)), x)
    var shape = x.shape
    shape.remove(at: axis)
    return bind1(.reshape(shape), slab)
}
