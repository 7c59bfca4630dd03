/// The eval table: runs each primitive's CPU kernel on concrete arrays whose
/// shapes the shape rule has already checked (`outAvals` is its result).
extension Primitive {
    /// Runs the primitive's CPU kernel on concrete inputs.
    /// - Parameters:
    ///   - x: The operands, already checked by ``abstractEval(_:)``.
    ///   - outAvals: What ``abstractEval(_:)`` returned for them.
    /// - Returns: One array per result.
    package func evaluate(_ x: [DenseArray], outAvals: [AbstractValue]) throws -> [DenseArray] {
        if widens(x, outAvals) { return try evaluateWidened(x, outAvals: outAvals) }
        let shape = outAvals.first?.shape ?? []
        try checkScratch(x)
        switch self {
        case .unary, .binary, .compare, .select, .clamp, .fma: return [evalElementwise(self, x, out: outAvals[0])]
        case .convert(let dtype, _): return [convertArray(x[0], to: dtype)]
        case .bitcast(let dtype): return [bitcastArray(x[0], to: dtype)]
        case .reduce(let op, let axes): return [evalReduce(op, x[0], axes: axes, shape: shape)]
        case .argReduce(let op, let axis): return [evalArgReduce(op, x[0], axis: axis, shape: shape)]
        case .broadcastInDim(let s, let dims): return [evalBroadcastInDim(x[0], shape: s, dims: dims)]
        case .reshape(let s): return [x[0].reshaped(s)]
        case .transpose(let perm): return [evalTranspose(x[0], perm: perm)]
        case .reverse(let axes): return [evalReverse(x[0], axes: axes)]
        case .slice(let start, let limit, let strides):
            return [evalSlice(x[0], start: start, limit: limit, steps: strides, shape: shape)]
        case .dynamicSlice(let sizes): return [evalDynamicSlice(x[0], starts: Array(x[1...]), sizes: sizes)]
        case .dynamicUpdateSlice: return [evalDynamicUpdateSlice(x[0], x[1], starts: Array(x[2...]))]
        case .gather(let dn, let sliceSizes, let mode, let fill):
            return [evalGather(x[0], x[1], dn: dn, sliceSizes: sliceSizes, mode: mode, fill: fill, shape: shape)]
        case .scatter(let op, let dn, let mode): return [evalScatter(op, x[0], x[1], x[2], dn: dn, mode: mode)]
        case .concatenate(let axis): return [evalConcatenate(x, axis: axis, shape: shape)]
        case .pad(let low, let high, let interior):
            return [evalPad(x[0], value: x[1], low: low, high: high, interior: interior, shape: shape)]
        case .iota(let dtype, let s, let dimension): return [evalIota(dtype, shape: s, dimension: dimension)]
        case .dotGeneral(let dn): return [evalDotGeneral(x[0], x[1], dn: dn, shape: shape)]
        case .convolution(let p): return [evalConvolution(x[0], x[1], p: p, shape: shape)]
        case .reduceWindow(let op, let w): return [evalReduceWindow(op, x[0], w, shape: shape)]
        case .selectAndScatterAdd(let select, let w): return [evalSelectAndScatterAdd(select, x[0], x[1], w)]
        case .selectAndGatherAdd(let select, let w): return [evalSelectAndGatherAdd(select, x[0], x[1], w, shape: shape)]
        case .cumsum(let axis, let reverse): return [evalCumsum(x[0], axis: axis, reverse: reverse)]
        case .sort(let dimension, let numKeys): return evalSort(x, dimension: dimension, numKeys: numKeys)
        case .threefry2x32: return evalThreefry(x[0], x[1], x[2], x[3])
        case .stopGradient: return x
        case .debugCallback(let c):
            c.callback(x.map { Tensor(concrete: $0) })
            return []
        case .psum, .pmax, .pmin, .allGather, .psumScatter, .ppermute, .allToAll, .axisIndex, .pbroadcast:
            return [try evaluateCollective(x, shape: shape)]
        case .customVJPLinear:
            throw FlockError("custom_vjp: can't apply forward-mode differentiation (jvp) to a custom_vjp function; use customJVP, or reverse mode")
        case .call(let j, _), .customJVP(let j, _), .customVJP(let j, _), .checkpoint(let j):
            return try evalConcrete(j, x)
        case .cond(let branches):
            let i = Swift.min(Swift.max(Int(x[0].double(at: 0)), 0), branches.count - 1)
            return try evalConcrete(branches[i], Array(x.dropFirst()))
        case .whileLoop(let cond, let body, let nc, let nb):
            let condConsts = Array(x.prefix(nc)), bodyConsts = Array(x.dropFirst(nc).prefix(nb))
            var carry = Array(x.dropFirst(nc + nb))
            while try evalConcrete(cond, condConsts + carry)[0].double(at: 0) != 0 {
                carry = try evalConcrete(body, bodyConsts + carry)
            }
            return carry
        case .scan(let body, let length, let reverse, let nConsts, let nCarry):
            let consts = Array(x.prefix(nConsts))
            var carry = Array(x[nConsts..<(nConsts + nCarry)])
            let xs = Array(x.dropFirst(nConsts + nCarry))
            var ys: [[DenseArray]] = []
            for step in 0..<length {
                let i = reverse ? length - 1 - step : step
                let slices = xs.map { a in
                    evalSlice(a, start: [i] + [Int](repeating: 0, count: a.rank - 1),
                              limit: [i + 1] + Array(a.shape.dropFirst()), steps: [Int](repeating: 1, count: a.rank),
                              shape: [1] + Array(a.shape.dropFirst())).reshaped(Array(a.shape.dropFirst()))
                }
                let outs = try evalConcrete(body, consts + carry + slices)
                carry = Array(outs.prefix(nCarry))
                ys.append(Array(outs.dropFirst(nCarry)))
            }
            if reverse { ys.reverse() }
            let yAvals = outAvals.dropFirst(nCarry)
            let stacked = yAvals.enumerated().map { (k, aval) in
                ys.isEmpty ? DenseArray(uninitializedShape: aval.shape, dtype: aval.dtype) : evalConcatenate(ys.map { $0[k].reshaped([1] + $0[k].shape) }, axis: 0, shape: aval.shape)
            }
            return carry + stacked
        }
    }
}

/// Runs a jaxpr on concrete arrays with the eval interpreter.
func evalConcrete(_ j: Jaxpr, _ args: [DenseArray]) throws -> [DenseArray] {
    let outs = withInterpreter(EvalInterpreter.shared) { evalJaxpr(j, args.map { Tensor(concrete: $0) }) }
    return try outs.map { try $0.concreteArray(for: "jaxpr evaluation") }
}

// MARK: - 8- and 16-bit dtypes

extension Primitive {
    /// Whether this equation runs through ``evaluateWidened(_:outAvals:)``:
    /// an operand or a result is an 8/16-bit dtype (other than a conversion,
    /// a bitcast, or a primitive that only wraps a jaxpr, whose equations widen
    /// on their own).
    @inline(__always)
    package func widens(_ x: [DenseArray], _ outAvals: [AbstractValue]) -> Bool {
        var any = false
        for a in x where a.dtype.isWidened { any = true; break }
        if !any { for a in outAvals where a.dtype.isWidened { any = true; break } }
        guard any else { return false }
        switch self {
        case .convert, .bitcast, .reshape, .stopGradient, .scatter, .call, .customJVP, .customVJP, .checkpoint, .cond,
            .whileLoop, .scan, .customVJPLinear, .debugCallback:
            return false
        default: return true
        }
    }

    /// Runs the primitive on the compute types of its operands (int32/uint32
    /// for 8/16-bit integers, float32 for float16/bfloat16) and rounds the
    /// results back to their dtypes: XLA CPU's per-operation rounding. Integer
    /// results wrap (the low bits are those of the narrow computation); sums,
    /// products and contractions accumulate in float32.
    func evaluateWidened(_ x: [DenseArray], outAvals: [AbstractValue]) throws -> [DenseArray] {
        var wide = x.map { convertArray($0, to: $0.dtype.computeType) }
        if case .binary(.shiftRightLogical) = self, x[0].dtype == .int8 || x[0].dtype == .int16 {
            // A logical shift sees the narrow bits, not their sign extension.
            let unsigned: DType = x[0].dtype == .int8 ? .uint8 : .uint16
            wide[0] = bitcastArray(convertArray(bitcastArray(x[0], to: unsigned), to: .uint32), to: .int32)
        }
        let wideAvals = outAvals.map { AbstractValue(shape: $0.shape, dtype: $0.dtype.computeType, weakType: $0.weakType) }
        var p = self
        if case .iota(let dtype, let shape, let dimension) = self { p = .iota(dtype.computeType, shape: shape, dimension: dimension) }
        let outs = try p.evaluate(wide, outAvals: wideAvals)
        return zip(outs, outAvals).map { convertArray($0, to: $1.dtype) }
    }
}
