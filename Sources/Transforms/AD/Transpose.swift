/// Reverse mode: transposition of linear jaxprs (JAX's `backward_pass`).
///
/// Inputs of a jaxpr are either known values (residuals) or linear (the
/// tangents). Equations that depend only on known values are evaluated
/// forward first; the linear ones are then visited in reverse, each
/// primitive's transpose rule turning output cotangents into input
/// cotangents. Only linear primitives need transpose rules.

/// An operand seen by a transpose rule.
enum TransposeInput {
    case known(Tensor)
    case linear(AbstractValue)

    var aval: AbstractValue {
        switch self {
        case .known(let t): t.aval
        case .linear(let a): a
        }
    }
    var value: Tensor? {
        if case .known(let t) = self { return t }
        return nil
    }
    var isLinear: Bool {
        if case .linear = self { return true }
        return false
    }
}

/// Cotangents of the linear inputs of `j` (nil entries of `args`) given the
/// cotangents of its outputs (nil = zero). Known entries of the result are nil.
func backwardPass(_ j: Jaxpr, _ args: [Tensor?], _ cts: [Tensor?]) throws -> [Tensor?] {
    var known: [Int: Tensor] = [:]
    for (v, x) in zip(j.constVars, j.consts) { known[v.id] = x }
    for (v, x) in zip(j.inputs, args) where x != nil { known[v.id] = x }
    func isKnown(_ a: Atom) -> Bool {
        switch a {
        case .literal: true
        case .variable(let v): known[v.id] != nil
        }
    }
    func value(_ a: Atom) -> Tensor? {
        switch a {
        case .literal(let l): l.tensor
        case .variable(let v): known[v.id]
        }
    }
    // Forward: evaluate everything that does not depend on the linear inputs.
    var linearEquations: [Equation] = []
    for e in j.equations {
        if e.inputs.allSatisfy(isKnown) {
            let outs = lax.apply(e.primitive, e.inputs.map { value($0)! })
            for (v, x) in zip(e.outputs, outs) { known[v.id] = x }
        } else {
            linearEquations.append(e)
        }
    }
    // Backward: accumulate cotangents of linear variables.
    var ct: [Int: Tensor] = [:]
    func accumulate(_ v: Var, _ c: Tensor?) {
        guard let c else { return }
        let c2 = c.shape == v.aval.shape ? c : c.broadcast(to: v.aval.shape)
        ct[v.id] = ct[v.id].map { lax.add($0, c2) } ?? c2
    }
    for (a, c) in zip(j.outputs, cts) {
        if case .variable(let v) = a, known[v.id] == nil { accumulate(v, c) }
    }
    for e in linearEquations.reversed() {
        let outCts = e.outputs.map { ct[$0.id] }
        if outCts.allSatisfy({ $0 == nil }) { continue }
        let inputs: [TransposeInput] = e.inputs.map { a in
            if let x = value(a) { return .known(x) }
            return .linear(a.aval)
        }
        let inCts = try transposeRule(e.primitive, inputs, outCts)
        for (a, c) in zip(e.inputs, inCts) {
            if case .variable(let v) = a, known[v.id] == nil { accumulate(v, c) }
        }
    }
    return zip(j.inputs, args).map { v, x in x == nil ? ct[v.id] : nil }
}

/// Sums `ct` down to `aval`'s shape when the operand was a broadcast rank-0 scalar.
func unbroadcast(_ ct: Tensor, _ aval: AbstractValue) -> Tensor {
    if ct.shape == aval.shape { return ct }
    return lax.reduceSum(ct, axes: Array(0..<ct.rank)).reshaped(aval.shape)
}

/// Consecutive index ranges of the given lengths.
func rangesLike(_ lengths: Int...) -> [[Int]] {
    var start = 0
    return lengths.map { n in defer { start += n }; return Array(start..<(start + n)) }
}

func inversePermutation(_ p: [Int]) -> [Int] {
    var inv = [Int](repeating: 0, count: p.count)
    for (i, q) in p.enumerated() { inv[q] = i }
    return inv
}

func argsortInts(_ xs: [Int]) -> [Int] { xs.indices.sorted { xs[$0] < xs[$1] } }

/// Transpose of dot_general with respect to its lhs (JAX's formulation).
func dotTransposeLHS(_ g: Tensor, _ xAval: AbstractValue, _ y: Tensor, _ dn: DotDimensionNumbers, swapAns: Bool = false) -> Tensor {
    let xKept = (0..<xAval.rank).filter { !dn.lhsContracting.contains($0) && !dn.lhsBatch.contains($0) }
    let yKept = (0..<y.rank).filter { !dn.rhsContracting.contains($0) && !dn.rhsBatch.contains($0) }
    let ansBatch: [Int], ansY: [Int]
    if swapAns {
        let r = rangesLike(dn.lhsBatch.count, yKept.count, xKept.count)
        (ansBatch, ansY) = (r[0], r[1])
    } else {
        let r = rangesLike(dn.lhsBatch.count, xKept.count, yKept.count)
        (ansBatch, ansY) = (r[0], r[2])
    }
    let dims = DotDimensionNumbers(lhsContracting: ansY, rhsContracting: yKept, lhsBatch: ansBatch, rhsBatch: dn.rhsBatch)
    let xContractSortedByY = argsortInts(dn.rhsContracting).map { dn.lhsContracting[$0] }
    let outAxes = argsortInts(dn.lhsBatch + xKept + xContractSortedByY)
    let identity = Array(0..<outAxes.count)
    if outAxes != identity && dn.lhsBatch + xContractSortedByY + xKept == identity {
        // dot(y, g) lays the result out as x already is: no transpose needed.
        let swapped = DotDimensionNumbers(lhsContracting: yKept, rhsContracting: ansY, lhsBatch: dn.rhsBatch, rhsBatch: ansBatch)
        return lax.dotGeneral(y, g, swapped)
    }
    let r = lax.dotGeneral(g, y, dims)
    return outAxes == identity ? r : lax.transpose(r, outAxes)
}

func dotTransposeRHS(_ g: Tensor, _ x: Tensor, _ yAval: AbstractValue, _ dn: DotDimensionNumbers) -> Tensor {
    let swapped = DotDimensionNumbers(lhsContracting: dn.rhsContracting, rhsContracting: dn.lhsContracting,
                                      lhsBatch: dn.rhsBatch, rhsBatch: dn.lhsBatch)
    return dotTransposeLHS(g, yAval, x, swapped, swapAns: true)
}

/// The transpose table: cotangents for the linear inputs of one equation.
func transposeRule(_ p: Primitive, _ x: [TransposeInput], _ cts: [Tensor?]) throws -> [Tensor?] {
    func nonlinear() -> FlockError {
        FlockError("\(p.name): not linear in its differentiated inputs, so it cannot be transposed (reverse-mode differentiation)")
    }
    let ct = cts[0]
    func lin(_ i: Int) -> Bool { x[i].isLinear }
    switch p {
    case .unary(.neg):
        return [ct.map(lax.neg)]
    case .binary(.add):
        return [lin(0) ? ct.map { unbroadcast($0, x[0].aval) } : nil, lin(1) ? ct.map { unbroadcast($0, x[1].aval) } : nil]
    case .binary(.sub):
        return [lin(0) ? ct.map { unbroadcast($0, x[0].aval) } : nil, lin(1) ? ct.map { unbroadcast(lax.neg($0), x[1].aval) } : nil]
    case .binary(.mul):
        guard let c = ct else { return [nil, nil] }
        if lin(0) && lin(1) { throw nonlinear() }
        if lin(0) { return [unbroadcast(lax.mul(c, x[1].value!), x[0].aval), nil] }
        return [nil, unbroadcast(lax.mul(x[0].value!, c), x[1].aval)]
    case .binary(.div):
        guard let c = ct else { return [nil, nil] }
        if lin(1) { throw nonlinear() }
        return [unbroadcast(lax.div(c, x[1].value!), x[0].aval), nil]
    case .convert:
        let a = x[0].aval
        return [ct.map { lax.convertElementType($0, a.dtype, weakType: a.weakType) }]
    case .reduce(.sum, let axes):
        let a = x[0].aval
        let kept = (0..<a.rank).filter { !axes.contains($0) }
        return [ct.map { lax.broadcastInDim($0, shape: a.shape, dims: kept) }]
    case .broadcastInDim(let shape, let dims):
        let a = x[0].aval
        guard let c = ct else { return [nil] }
        let summed = (0..<shape.count).filter { d in
            guard let i = dims.firstIndex(of: d) else { return true }
            return a.shape[i] == 1 && shape[d] != 1
        }
        let s = summed.isEmpty ? c : lax.reduceSum(c, axes: summed)
        return [s.shape == a.shape ? s : lax.reshape(s, a.shape)]
    case .reshape:
        return [ct.map { lax.reshape($0, x[0].aval.shape) }]
    case .transpose(let perm):
        return [ct.map { lax.transpose($0, inversePermutation(perm)) }]
    case .reverse(let axes):
        return [ct.map { lax.rev($0, axes: axes) }]
    case .slice(let start, let limit, let strides):
        let a = x[0].aval
        guard let c = ct else { return [nil] }
        let high = (0..<a.rank).map { d -> Int in
            let n = c.shape[d]
            let last = n == 0 ? start[d] - 1 : start[d] + (n - 1) * strides[d]
            return a.shape[d] - last - 1 - (n == 0 ? 0 : 0)
        }
        _ = limit
        let low = (0..<a.rank).map { d in c.shape[d] == 0 ? a.shape[d] - high[d] : start[d] }
        return [lax.pad(c, Tensor(0, dtype: a.dtype), low: low, high: high, interior: strides.map { $0 - 1 })]
    case .pad(let low, let high, let interior):
        guard let c = ct else { return [nil, nil] }
        var tOperand: Tensor? = nil
        if lin(0) {
            let unpadded = lax.pad(c, Tensor(0, dtype: c.dtype), low: low.map { -$0 }, high: high.map { -$0 }, interior: low.map { _ in 0 })
            tOperand = lax.slice(unpadded, start: low.map { _ in 0 }, limit: unpadded.shape, strides: interior.map { $0 + 1 })
        }
        var tValue: Tensor? = nil
        if lin(1) {
            let total = lax.reduceSum(c, axes: Array(0..<c.rank))
            let inner = tOperand.map { lax.reduceSum($0, axes: Array(0..<$0.rank)) }
                ?? lax.reduceSum(lax.pad(c, Tensor(0, dtype: c.dtype), low: low.map { -$0 }, high: high.map { -$0 }, interior: low.map { _ in 0 }), axes: Array(0..<c.rank))
            tValue = lax.sub(total, inner)
        }
        return [tOperand, tValue]
    case .concatenate(let axis):
        guard let c = ct else { return x.map { _ in nil } }
        var offset = 0
        return x.map { input in
            let a = input.aval
            defer { offset += a.shape[axis] }
            guard input.isLinear else { return nil }
            var start = [Int](repeating: 0, count: a.rank), limit = c.shape
            start[axis] = offset
            limit[axis] = offset + a.shape[axis]
            return lax.slice(c, start: start, limit: limit, strides: [Int](repeating: 1, count: a.rank))
        }
    case .select:
        guard let c = ct else { return [nil, nil, nil] }
        if lin(0) { throw nonlinear() }
        let pred = x[0].value!
        let zero = zeros(like: c.aval)
        return [nil, lin(1) ? lax.select(pred, c, zero) : nil, lin(2) ? lax.select(pred, zero, c) : nil]
    case .dynamicSlice:
        guard let c = ct else { return x.map { _ in nil } }
        let idx = x.dropFirst().map { $0.value! }
        return [lax.dynamicUpdateSlice(zeros(like: x[0].aval), c, idx)] + idx.map { _ in nil }
    case .dynamicUpdateSlice:
        guard let c = ct else { return x.map { _ in nil } }
        let idx = x.dropFirst(2).map { $0.value! }
        let u = x[1].aval
        let tOperand = lin(0) ? lax.dynamicUpdateSlice(c, zeros(like: u), idx) : nil
        let tUpdate = lin(1) ? lax.dynamicSlice(c, idx, sizes: u.shape) : nil
        return [tOperand, tUpdate] + idx.map { _ in nil }
    case .gather(let dn, _, let mode, _):
        // The same windows, added back; filled (out-of-bounds) windows are dropped.
        guard let c = ct else { return [nil, nil] }
        let sdn = ScatterDimensionNumbers(
            updateWindowDims: dn.offsetDims, insertedWindowDims: dn.collapsedSliceDims,
            scatterDimsToOperandDims: dn.startIndexMap, operandBatchingDims: dn.operandBatchingDims,
            scatterIndicesBatchingDims: dn.startIndicesBatchingDims)
        return [lax.scatter(.add, zeros(like: x[0].aval), x[1].value!, c, sdn, mode: mode), nil]
    case .scatter(let op, let dn, let mode):
        guard let c = ct else { return [nil, nil, nil] }
        let indices = x[1].value!
        let u = x[2].aval
        let gdn = inverseGatherDimensions(dn), sliceSizes = inverseSliceSizes(dn, c.shape, u.shape)
        let gatherMode: GatherScatterMode = mode == .clip ? .clip : .fillOrDrop
        switch op {
        case .add:
            let tUpdates = lin(2) ? lax.gather(c, indices, gdn, sliceSizes: sliceSizes, mode: gatherMode, fillValue: 0) : nil
            return [lin(0) ? c : nil, nil, tUpdates]
        case .mul:
            // Linear in the operand only (the JVP refuses tangents of the updates).
            return [lin(0) ? lax.scatter(.mul, c, indices, x[2].value!, dn, mode: mode) : nil, nil, nil]
        case .replace:
            // The operand's elements that are overwritten get no cotangent; of
            // repeated indices only the winning (last) update gets one: the
            // winner is found by scattering each update's position and reading it back.
            let tOperand = lin(0) ? lax.scatter(.replace, c, indices, zeros(like: u), dn, mode: mode) : nil
            var tUpdates: Tensor? = nil
            if lin(2) {
                let own = lax.reshape(lax.iota(.int32, shape: [u.count], dimension: 0), u.shape)
                let none = lax.broadcastInDim(Tensor(Int32(-1)), shape: c.shape, dims: [])
                let winner = lax.scatter(.replace, none, indices, own, dn, mode: mode)
                let back = lax.gather(winner, indices, gdn, sliceSizes: sliceSizes, mode: gatherMode, fillValue: -2)
                let read = lax.gather(c, indices, gdn, sliceSizes: sliceSizes, mode: gatherMode, fillValue: 0)
                tUpdates = lax.select(lax.eq(back, own), read, zeros(like: u))
            }
            return [tOperand, nil, tUpdates]
        case .min, .max:
            throw FlockError("\(p.name): not linear; it has no transpose rule")
        }
    case .cumsum(let axis, let reverse):
        return [ct.map { lax.cumsum($0, axis: axis, reverse: !reverse) }]
    case .dotGeneral(let dn):
        guard let c = ct else { return [nil, nil] }
        if lin(0) && lin(1) { throw nonlinear() }
        if lin(0) { return [dotTransposeLHS(c, x[0].aval, x[1].value!, dn), nil] }
        return [nil, dotTransposeRHS(c, x[0].value!, x[1].aval, dn)]
    case .convolution(let params):
        guard let c = ct else { return [nil, nil] }
        if lin(0) && lin(1) { throw nonlinear() }
        if lin(0) { return [convTransposeLHS(c, x[0].aval, x[1].value!, params), nil] }
        return [nil, convTransposeRHS(c, x[0].value!, x[1].aval, params)]
    case .reduceWindow(.sum, let w):
        return [ct.map { reduceWindowSumTranspose($0, x[0].aval, w) }]
    case .selectAndScatterAdd(let select, let w):
        guard let c = ct else { return [nil, nil] }
        if lin(1) { throw nonlinear() }
        return [lax.selectAndGatherAdd(c, x[1].value!, select: select, w), nil]
    case .selectAndGatherAdd(let select, let w):
        guard let c = ct else { return [nil, nil] }
        if lin(1) { throw nonlinear() }
        return [lax.selectAndScatterAdd(c, x[1].value!, select: select, w), nil]
    case .call(let j, _), .checkpoint(let j):
        return try backwardPass(j, x.map(\.value), cts)
    case .customVJPLinear(let rule, let nres, _):
        let residuals = x.prefix(nres).map { $0.value! }
        let outAvals = try p.abstractEval(x.map(\.aval))
        let filled = zip(cts, outAvals).map { instantiate($0, $1) }
        let inCts = rule.backward!(residuals, filled)
        return residuals.map { _ in nil } + inCts.map { Optional($0) }
    case .cond(let branches):
        return try transposeCond(branches, x, cts)
    case .scan:
        return try transposeScan(p, x, cts)
    case .whileLoop:
        throw FlockError("Reverse-mode differentiation does not work for whileLoop or forLoop with dynamic bounds. Try using scan, or forLoop with static bounds.")
    case .customJVP(let j, _):
        return try backwardPass(j, x.map(\.value), cts)
    case .stopGradient:
        return [nil]
    case .debugCallback:
        return x.map { _ in nil }

    // Collectives (JAX's rules). A member's cotangent gathers what every member's
    // output took from it: psum transposes to psum, a gather to a scatter, a
    // permutation to its inverse.
    case .psum(let axes):
        return [ct.map { lax.psum($0, axes: axes) }]
    case .allGather(let axes, let axis, let tiled):
        return [ct.map { lax.psumScatter($0, axes: axes, scatterDimension: axis, tiled: tiled) }]
    case .psumScatter(let axes, let d, let tiled):
        return [ct.map { lax.allGather($0, axes: axes, axis: d, tiled: tiled) }]
    case .ppermute(let axes, let pairs):
        return [ct.map { lax.ppermute($0, axes: axes, pairs: pairs.map { .init($0.destination, $0.source) }) }]
    case .allToAll(let axes, let split, let concat, let tiled):
        return [ct.map { lax.allToAll($0, axes: axes, splitAxis: concat, concatAxis: split, tiled: tiled) }]
    case .pbroadcast(let axes, let source):
        // Only the source's operand reaches the outputs: it gets their summed cotangent.
        return [ct.map { c in
            let isSource = lax.eq(lax.axisIndex(axes: axes), Tensor(Int32(source)))
            return lax.select(isSource, lax.psum(c, axes: axes), zeros(like: c.aval))
        }]

    case .unary, .binary, .compare, .clamp, .fma, .bitcast, .reduce, .argReduce, .iota, .sort, .threefry2x32, .customVJP,
        .pmax, .pmin, .axisIndex, .reduceWindow:
        throw nonlinear()
    }
}

// MARK: - Convolution transposes (JAX's formulation, any dimension numbers)

func dilateShape(_ shape: [Int], _ dilation: [Int]) -> [Int] {
    zip(shape, dilation).map { $0 == 0 ? 0 : 1 + $1 * ($0 - 1) }
}

/// JAX's `_reshape_axis_out_of`: dimension `src` split into (`size1`, the rest).
func reshapeAxisOutOf(_ src: Int, _ size1: Int, _ x: Tensor) -> Tensor {
    var shape = x.shape
    shape.replaceSubrange(src...src, with: [size1, shape[src] / size1])
    return lax.reshape(x, shape)
}

/// JAX's `_reshape_axis_into`: dimension `src` merged into dimension `dst`
/// (numbered with `src` removed) as its major part.
func reshapeAxisInto(_ src: Int, _ dst: Int, _ x: Tensor) -> Tensor {
    var perm = (0..<x.rank).filter { $0 != src }
    perm.insert(src, at: dst)
    var shape = perm.map { x.shape[$0] }
    shape.replaceSubrange(dst...(dst + 1), with: [shape[dst] * shape[dst + 1]])
    let moved = perm == Array(0..<x.rank) ? x : lax.transpose(x, perm)
    return lax.reshape(moved, shape)
}

/// A conv spec with its first two entries (batch and feature, or out and in feature) swapped.
func swappingFirstTwo(_ spec: [Int]) -> [Int] { [spec[1], spec[0]] + spec.dropFirst(2) }

/// The spatial sizes of `shape` in the logical order of `spec`.
func spatialSizes(_ shape: [Int], _ spec: [Int]) -> [Int] { spec.dropFirst(2).map { shape[$0] } }

/// The lhs cotangent: the cotangent convolved with the spatially flipped kernel,
/// its feature axes swapped through the dimension numbers (no transpose).
func convTransposeLHS(_ g: Tensor, _ lhs: AbstractValue, _ rhs: Tensor, _ p: ConvolutionParameters) -> Tensor {
    let dn = p.dimensionNumbers
    let n = lhs.rank - 2
    // Feature groups, or batch groups (which transpose to feature groups).
    let groups = max(p.featureGroupCount, p.batchGroupCount)
    var w = rhs
    if groups > 1 {
        // Move the group factor of O into the input-feature axis: [O, I/G] → [O/G, G·I/G].
        w = reshapeAxisOutOf(dn.rhsSpec[0], groups, w)
        w = reshapeAxisInto(dn.rhsSpec[0], dn.rhsSpec[1], w)
    }
    w = lax.rev(w, axes: Array(dn.rhsSpec.dropFirst(2)))
    let inShape = spatialSizes(lhs.shape, dn.lhsSpec), kShape = spatialSizes(rhs.shape, dn.rhsSpec)
    let outShape = spatialSizes(g.shape, dn.outSpec)
    let lhsD = dilateShape(inShape, p.lhsDilation), rhsD = dilateShape(kShape, p.rhsDilation)
    let outD = dilateShape(outShape, p.windowStrides)
    let before = (0..<n).map { rhsD[$0] - p.padding[$0][0] - 1 }
    let after = (0..<n).map { lhsD[$0] + rhsD[$0] - 1 - outD[$0] - before[$0] }
    let params = ConvolutionParameters(
        windowStrides: p.lhsDilation, padding: (0..<n).map { [before[$0], after[$0]] },
        lhsDilation: p.windowStrides, rhsDilation: p.rhsDilation, featureGroupCount: groups,
        dimensionNumbers: ConvolutionDimensionNumbers(
            lhsSpec: dn.outSpec, rhsSpec: swappingFirstTwo(dn.rhsSpec), outSpec: dn.lhsSpec))
    let y = lax.convGeneralDilated(g, w, params)
    guard p.batchGroupCount > 1 else { return y }
    // Batch groups came out as feature groups: [N/G, G·C] → [G·N/G, C].
    return reshapeAxisInto(dn.lhsSpec[1], dn.lhsSpec[0], reshapeAxisOutOf(dn.lhsSpec[1], p.batchGroupCount, y))
}

/// The rhs cotangent: lhs convolved with the cotangent as its kernel, batch and
/// features of every operand swapped through the dimension numbers (no transpose).
func convTransposeRHS(_ g: Tensor, _ lhs: Tensor, _ rhs: AbstractValue, _ p: ConvolutionParameters) -> Tensor {
    let dn = p.dimensionNumbers
    let n = lhs.rank - 2
    // JAX's formula: feature groups transpose to batch groups (the lhs
    // features, now its batch, split into the groups) and batch groups to
    // feature groups.
    let (featureGroups, batchGroups) = p.batchGroupCount > 1 ? (p.batchGroupCount, 1) : (1, p.featureGroupCount)
    let inShape = spatialSizes(lhs.shape, dn.lhsSpec), kShape = spatialSizes(rhs.shape, dn.rhsSpec)
    let outShape = spatialSizes(g.shape, dn.outSpec)
    let lhsD = dilateShape(inShape, p.lhsDilation), rhsD = dilateShape(kShape, p.rhsDilation)
    let outD = dilateShape(outShape, p.windowStrides)
    let lo = p.padding.map { $0[0] }
    let hi = (0..<n).map { (outD[$0] - lhsD[$0]) + (rhsD[$0] - lo[$0] - 1) }
    // lhs features act as the batch, the cotangent is the kernel (its batch the
    // contracted input features), and the output is laid out as the kernel.
    let params = ConvolutionParameters(
        windowStrides: p.rhsDilation, padding: (0..<n).map { [lo[$0], hi[$0]] },
        lhsDilation: p.lhsDilation, rhsDilation: p.windowStrides, featureGroupCount: featureGroups, batchGroupCount: batchGroups,
        dimensionNumbers: ConvolutionDimensionNumbers(
            lhsSpec: swappingFirstTwo(dn.lhsSpec), rhsSpec: swappingFirstTwo(dn.outSpec),
            outSpec: swappingFirstTwo(dn.rhsSpec)))
    return lax.convGeneralDilated(lhs, g, params)
}

/// Transpose of a windowed sum (JAX's formulation): every operand element
/// receives the cotangents of the windows that cover it — a windowed sum, with
/// stride `baseDilation`, over the cotangent dilated by the strides and padded
/// so that the window at operand index i covers exactly those outputs.
func reduceWindowSumTranspose(_ ct: Tensor, _ operand: AbstractValue, _ w: WindowParameters) -> Tensor {
    if ct.shape.contains(0) || operand.shape.contains(0) { return zeros(like: operand) }
    let n = operand.rank
    let inD = dilateShape(operand.shape, w.baseDilation), windowD = dilateShape(w.windowDimensions, w.windowDilation)
    let outD = dilateShape(ct.shape, w.windowStrides)
    let low = (0..<n).map { windowD[$0] - w.padding[$0][0] - 1 }
    let high = (0..<n).map { inD[$0] + windowD[$0] - 1 - outD[$0] - low[$0] }
    let padded = lax.pad(ct, Tensor(0, dtype: ct.dtype), low: low, high: high, interior: w.windowStrides.map { $0 - 1 })
    let ones = [Int](repeating: 1, count: n)
    let q = WindowParameters(
        windowDimensions: w.windowDimensions, windowStrides: w.baseDilation,
        padding: [[Int]](repeating: [0, 0], count: n), baseDilation: ones, windowDilation: w.windowDilation)
    return lax.reduceWindow(.sum, padded, q)
}
