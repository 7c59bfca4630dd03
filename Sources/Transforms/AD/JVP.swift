@_spi(Engine) import FlockCore
/// Forward-mode differentiation: the JVP interpreter.
///
/// Its tracer carries a primal value and a tangent (nil = symbolic zero, so
/// unused derivatives cost nothing). Rules run under the parent interpreter:
/// primal work goes to the parent, tangent work too — which, under
/// `linearize`, is a partial-evaluation staging interpreter that records only
/// the operations touching tangents.
public final class JVPInterpreter: Interpreter, @unchecked Sendable {
    /// The interpreter that runs the primal and tangent computations.
    public let parent: any Interpreter

    /// A JVP interpreter over `parent`.
    public init(parent: any Interpreter) { self.parent = parent }

    final class JVPTracer: Tracer, @unchecked Sendable {
        let primal: Tensor
        let tangent: Tensor?
        init(primal: Tensor, tangent: Tensor?, owner: JVPInterpreter) {
            self.primal = primal
            self.tangent = tangent
            super.init(aval: primal.aval, owner: owner)
        }
    }

    /// A tensor of this interpreter carrying `primal` and `tangent`.
    public func lift(_ primal: Tensor, tangent: Tensor?) -> Tensor {
        Tensor(tracer: JVPTracer(primal: primal, tangent: tangent, owner: self))
    }

    /// The primal and tangent of `x` as seen by this interpreter.
    public func unpack(_ x: Tensor) -> (primal: Tensor, tangent: Tensor?) {
        if let t = x.tracer as? JVPTracer, t.owner === self { return (t.primal, t.tangent) }
        return (x, nil)
    }

    public func process(_ primitive: Primitive, _ inputs: [Tensor]) throws -> [Tensor] {
        let unpacked = inputs.map(unpack)
        let primals = unpacked.map(\.primal)
        let tangents = unpacked.map(\.tangent)
        if tangents.allSatisfy({ $0 == nil }) {
            return try withInterpreter(parent) { try parent.process(primitive, primals) }
        }
        let (outs, outTangents) = try withInterpreter(parent) { try jvpRule(primitive, primals, tangents) }
        return zip(outs, outTangents).map { out, t in
            guard let t, out.dtype.isFloatingPoint else { return out }
            return lift(out, tangent: t)
        }
    }
}

// MARK: - Helpers used by the rules (they run under the parent interpreter)

/// Zeros with the shape and dtype of `aval`.
func zeros(like aval: AbstractValue) -> Tensor { full(aval.shape, 0, dtype: aval.dtype) }

/// `t`, or zeros like `aval` for a symbolic zero.
func instantiate(_ t: Tensor?, _ aval: AbstractValue) -> Tensor { t ?? zeros(like: aval) }

/// `t` broadcast to `shape` when it is a rank-0 tangent of a scalar operand.
func fit(_ t: Tensor, _ shape: [Int]) -> Tensor { t.shape == shape ? t : t.broadcast(to: shape) }

/// Sum of optional tangents (nil = zero).
func addTangents(_ a: Tensor?, _ b: Tensor?) -> Tensor? {
    switch (a, b) {
    case (nil, nil): return nil
    case (let x?, nil): return x
    case (nil, let y?): return y
    case (let x?, let y?): return bind1(.binary(.add), x, y)
    }
}

@inline(__always) func lit(_ v: Double, _ like: Tensor) -> Tensor { Tensor(v, dtype: like.dtype) }

/// Primitive-level ops (no promotion), for rules.
@inline(__always) func pmul(_ a: Tensor, _ b: Tensor) -> Tensor { bind1(.binary(.mul), a, b) }
@inline(__always) func padd(_ a: Tensor, _ b: Tensor) -> Tensor { bind1(.binary(.add), a, b) }
@inline(__always) func psub(_ a: Tensor, _ b: Tensor) -> Tensor { bind1(.binary(.sub), a, b) }
@inline(__always) func pdiv(_ a: Tensor, _ b: Tensor) -> Tensor { bind1(.binary(.div), a, b) }
@inline(__always) func pneg(_ a: Tensor) -> Tensor { bind1(.unary(.neg), a) }

/// `t * factor` where `t` may be a rank-0 tangent of a rank-0 operand and `factor` full.
func scaled(_ t: Tensor?, _ factor: Tensor, shape: [Int]) -> Tensor? {
    guard let t else { return nil }
    return pmul(fit(t, shape), factor)
}

// MARK: - The JVP table

/// JVP rules: given primals and tangents (nil = zero), the primal outputs and
/// their tangents. One case per primitive, no `default:`.
func jvpRule(_ p: Primitive, _ x: [Tensor], _ t: [Tensor?]) throws -> ([Tensor], [Tensor?]) {
    func one(_ out: Tensor, _ tangent: Tensor?) -> ([Tensor], [Tensor?]) { ([out], [tangent]) }
    func linear() -> ([Tensor], [Tensor?]) {
        // Linear in all its (float) operands: apply the same primitive to the tangents.
        let outs = bind(p, x)
        let tangents = zip(t, x).map { instantiate($0, $1.aval) }
        return (outs, bind(p, tangents))
    }
    func zeroTangent() -> ([Tensor], [Tensor?]) {
        let outs = bind(p, x)
        return (outs, outs.map { _ in nil })
    }

    switch p {
    case .unary(let op):
        let a = x[0], ta = t[0]!
        let y = bind1(p, a)
        // Rules follow JAX's formulas and order, so derivatives round alike.
        switch op {
        case .neg: return one(y, pneg(ta))
        case .exp: return one(y, pmul(ta, y))
        case .log: return one(y, pdiv(ta, a))
        case .log1p: return one(y, pdiv(ta, padd(a, lit(1, a))))
        case .expm1: return one(y, pmul(ta, padd(y, lit(1, y))))
        case .sin: return one(y, pmul(ta, bind1(.unary(.cos), a)))
        case .cos: return one(y, pneg(pmul(ta, bind1(.unary(.sin), a))))
        case .tan: return one(y, pmul(ta, padd(lit(1, y), pmul(y, y))))
        // JAX's forms so the derivatives round alike. tanh': JAX computes
        // d + d·y with d = t(1 − y), which XLA contracts into one fused
        // multiply-add, d(1 + y) rounded once; d·(1 + y) is that exactly when
        // 1 + y is exact (y ≤ −½), within an ulp otherwise -- and d + d·y would
        // lose a thousand ulp to cancellation as y → −1. The logistic's: t·y(1 − y).
        case .tanh:
            let d = pmul(ta, psub(lit(1, y), y))
            return one(y, pmul(d, padd(lit(1, y), y)))
        case .logistic: return one(y, pmul(ta, pmul(y, psub(lit(1, y), y))))
        case .sqrt: return one(y, pmul(ta, pdiv(lit(0.5, y), y)))
        case .rsqrt: return one(y, pmul(ta, pmul(lit(-0.5, y), pdiv(y, a))))
        case .abs:
            // JAX's one-sided choice: +1 from 0 and -0 on, -1 below zero and at NaN.
            let nonNegative = bind1(.compare(.ge), a, lit(0, a))
            return one(y, bind1(.select, nonNegative, ta, pneg(ta)))
        case .erf:
            let c = lit(2 / Double.pi.squareRoot(), a)
            return one(y, pmul(c, pmul(ta, bind1(.unary(.exp), pneg(pmul(a, a))))))
        case .erfc:
            let c = lit(-2 / Double.pi.squareRoot(), a)
            return one(y, pmul(c, pmul(ta, bind1(.unary(.exp), pneg(pmul(a, a))))))
        case .erfInv:
            let c = lit(Double.pi.squareRoot() / 2, a)
            return one(y, pmul(ta, pmul(c, bind1(.unary(.exp), pmul(y, y)))))
        case .sign, .floor, .ceil, .round: return one(y, zeros(like: y.aval))
        case .isFinite, .not: return one(y, nil)
        }

    case .binary(let op):
        let (a, b) = (x[0], x[1])
        let (ta, tb) = (t[0], t[1])
        let y = bind1(p, a, b)
        let s = y.shape
        switch op {
        case .add: return one(y, addTangents(ta.map { fit($0, s) }, tb.map { fit($0, s) }))
        case .sub: return one(y, addTangents(ta.map { fit($0, s) }, tb.map { pneg(fit($0, s)) }))
        case .mul: return one(y, addTangents(scaled(ta, b, shape: s), scaled(tb, a, shape: s)))
        case .div:
            // d(a/b) = ta/b − tb·y/b
            return one(y, addTangents(ta.map { pdiv(fit($0, s), b) }, tb.map { pneg(pdiv(pmul(fit($0, s), y), b)) }))
        case .rem:
            // ∂/∂b = −trunc(a/b)
            let q = pdiv(a, b)
            let truncated = pmul(bind1(.unary(.sign), q), bind1(.unary(.floor), bind1(.unary(.abs), q)))
            return one(y, addTangents(ta.map { fit($0, s) }, tb.map { pneg(pmul(fit($0, s), truncated)) }))
        case .pow:
            // ∂/∂a = b·a^(b−1); ∂/∂b = y·log(a) with log(0) taken as 0 where a = 0 (as JAX).
            let da = ta.map { pmul(fit($0, s), pmul(b, bind1(.binary(.pow), a, psub(b, lit(1, b))))) }
            let db = tb.map { tb -> Tensor in
                let isZero = bind1(.compare(.eq), a, lit(0, a))
                let safe = bind1(.select, isZero, full(a.shape, 1, dtype: a.dtype), a)
                let logA = bind1(.unary(.log), safe)
                return pmul(fit(tb, s), pmul(y, logA))
            }
            return one(y, addTangents(da, db))
        case .max, .min:
            // Ties split the derivative evenly, as JAX does: the weight of an
            // operand is 1 where it is selected, ½ on ties, else 0 (built from
            // converted masks, so a scalar operand is never materialised).
            let tieHalf = pmul(bind1(.convert(y.dtype, weakType: false), bind1(.compare(.eq), a, b)), lit(0.5, y))
            func weight(_ chosen: CompareOp) -> Tensor {
                padd(bind1(.convert(y.dtype, weakType: false), bind1(.compare(chosen), a, b)), tieHalf)
            }
            let da = ta.map { _ in weight(op == .max ? .gt : .lt) }
            let db = tb.map { _ in weight(op == .max ? .lt : .gt) }
            return one(y, addTangents(da.flatMap { scaled(ta, $0, shape: s) }, db.flatMap { scaled(tb, $0, shape: s) }))
        case .atan2:
            // d atan2(a, b) = (ta·b − tb·a) / (a² + b²)
            let denom = padd(pmul(a, a), pmul(b, b))
            return one(y, addTangents(scaled(ta, pdiv(b, denom), shape: s), scaled(tb, pneg(pdiv(a, denom)), shape: s)))
        case .and, .or, .xor, .shiftLeft, .shiftRightLogical: return one(y, nil)
        }

    case .compare, .argReduce, .iota, .threefry2x32, .bitcast:
        return zeroTangent()

    case .select:
        let y = bind1(p, x)
        guard t[1] != nil || t[2] != nil else { return one(y, nil) }
        return one(y, bind1(.select, x[0], instantiate(t[1], x[1].aval), instantiate(t[2], x[2].aval)))

    case .clamp:
        // JAX's lax.clamp rule: the operand's tangent strictly inside (lo, hi),
        // lo's where lo > x (and lo < hi), hi's where hi < x; nothing at the bounds.
        let (lo, v, hi) = (x[0], x[1], x[2])
        let y = bind1(p, x)
        let s = y.shape
        let zero = zeros(like: y.aval)
        let inside = bind1(.binary(.and), fit(bind1(.compare(.gt), v, lo), s), fit(bind1(.compare(.lt), v, hi), s))
        var out: Tensor? = t[1].map { bind1(.select, inside, fit($0, s), zero) }
        if let tl = t[0] {
            let below = bind1(.binary(.and), fit(bind1(.compare(.gt), lo, v), s), fit(bind1(.compare(.lt), lo, hi), s))
            out = addTangents(out, bind1(.select, below, fit(tl, s), zero))
        }
        if let th = t[2] { out = addTangents(out, bind1(.select, fit(bind1(.compare(.lt), hi, v), s), fit(th, s), zero)) }
        return one(y, out)

    case .convert(let dtype, _):
        let y = bind1(p, x[0])
        guard dtype.isFloatingPoint, x[0].dtype.isFloatingPoint, let ta = t[0] else { return one(y, nil) }
        return one(y, bind1(.convert(dtype, weakType: false), ta))

    case .reduce(let op, let axes):
        let a = x[0], ta = t[0]!
        let y = bind1(p, a)
        switch op {
        case .sum: return one(y, bind1(p, ta))
        case .max, .min:
            // The tangent of the selected element(s), averaged over ties.
            let kept = (0..<a.rank).filter { !axes.contains($0) }
            let yb = bind1(.broadcastInDim(shape: a.shape, broadcastDimensions: kept), y)
            let mask = bind1(.convert(a.dtype, weakType: false), bind1(.compare(.eq), a, yb))
            let count = bind1(.reduce(.sum, axes: axes), mask)
            return one(y, pdiv(bind1(.reduce(.sum, axes: axes), pmul(ta, mask)), count))
        case .prod:
            // Σ tᵢ · Π_{j≠i} xⱼ, computed without dividing by x (exact at zeros).
            return one(y, productTangent(a, ta, axes: axes))
        case .and, .or: return one(y, nil)
        }

    case .stopGradient:
        return zeroTangent()

    case .debugCallback:
        // The callback sees the primal values; it has no results to differentiate.
        return (bind(p, x), [])

    case .broadcastInDim, .reshape, .transpose, .reverse, .slice, .cumsum:
        return linear()

    case .concatenate:
        let outs = bind(p, x)
        return (outs, [bind(p, zip(t, x).map { instantiate($0, $1.aval) })[0]])

    case .pad:
        let outs = bind(p, x)
        return (outs, [bind1(p, instantiate(t[0], x[0].aval), instantiate(t[1], x[1].aval))])

    case .dynamicSlice:
        let outs = bind(p, x)
        guard let ta = t[0] else { return (outs, [nil]) }
        return (outs, [bind1(p, [ta] + x.dropFirst())])

    case .dynamicUpdateSlice:
        let outs = bind(p, x)
        guard t[0] != nil || t[1] != nil else { return (outs, [nil]) }
        return (outs, [bind1(p, [instantiate(t[0], x[0].aval), instantiate(t[1], x[1].aval)] + x.dropFirst(2))])

    case .gather(let dn, let sliceSizes, let mode, _):
        // Linear in the operand; filled windows have a zero tangent.
        let outs = bind(p, x)
        guard let ta = t[0] else { return (outs, [nil]) }
        return (outs, [bind1(.gather(dn, sliceSizes: sliceSizes, mode: mode, fillValue: 0), ta, x[1])])

    case .scatter(let op, let dn, let mode):
        let outs = bind(p, x)
        guard t[0] != nil || t[2] != nil else { return (outs, [nil]) }
        switch op {
        case .add, .replace:
            // Linear in (operand, updates); a replace keeps the same winners.
            return (outs, [bind1(p, instantiate(t[0], x[0].aval), x[1], instantiate(t[2], x[2].aval))])
        case .mul:
            guard t[2] == nil else {
                throw FlockError(
                    "scatter-mul (at.multiply): differentiation with respect to the updates is not supported (as in JAX without unique_indices); differentiate with respect to the operand only")
            }
            return (outs, [bind1(p, t[0]!, x[1], x[2])])
        case .min, .max:
            return (outs, [scatterExtremalTangent(x, t, outs[0], dn, mode)])
        }

    case .dotGeneral, .convolution:
        // Bilinear: d(a ⋆ b) = ta ⋆ b + a ⋆ tb.
        let y = bind1(p, x[0], x[1])
        let da = t[0].map { bind1(p, $0, x[1]) }
        let db = t[1].map { bind1(p, x[0], $0) }
        return one(y, addTangents(da, db))

    case .reduceWindow(let op, let w):
        let y = bind1(p, x[0])
        guard let ta = t[0] else { return one(y, nil) }
        switch op {
        case .sum: return one(y, bind1(p, ta))
        case .max: return one(y, bind1(.selectAndGatherAdd(select: .ge, w), ta, x[0]))
        case .min: return one(y, bind1(.selectAndGatherAdd(select: .le, w), ta, x[0]))
        }

    case .selectAndScatterAdd, .selectAndGatherAdd:
        // Linear in the first operand; piecewise constant in the operand.
        let y = bind1(p, x[0], x[1])
        return one(y, t[0].map { bind1(p, $0, x[1]) })

    case .sort(let dimension, let numKeys):
        // Sort an iota along with the operands to learn the permutation, then
        // apply it to the tangents.
        let iota = bind1(.iota(.int32, shape: x[0].shape, dimension: dimension))
        let sorted = bind(.sort(dimension: dimension, numKeys: numKeys), x + [iota])
        let perm = sorted.last!
        let tangents = zip(t, x).map { ti, xi in ti.map { takeAlongAxis($0, perm, axis: dimension, mode: .promiseInBounds) } }
        return (Array(sorted.dropLast()), tangents)

    case .call(_, .shardingConstraint(let spec)):
        // Kept (not inlined) on the primal and the tangent, so the constraint
        // survives `grad` inside jit over sharded arrays.
        return one(bind1(p, x[0]), t[0].map { bind1(.call(traceToJaxpr([$0.aval]) { $0 }, kind: .shardingConstraint(spec)), $0) })

    case .call(let j, _):
        // Inline: differentiate the body equation by equation.
        return try jvpOfJaxpr(j, x, t)

    case .cond, .whileLoop, .scan, .checkpoint:
        return try jvpControlFlow(p, x, t)

    case .customJVP(let j, let rule):
        try checkNoClosedOverTangents(rule, t, "customJVP")
        let tangents = zip(t, x).map { instantiate($0, $1.aval) }
        let (outs, outTangents) = rule.jvp!(x, tangents)
        try checkCustomJVPOutputs(j.outputAvals, outs, outTangents)
        return (outs, outTangents.map { Optional($0) })

    case .customVJP(let j, let rule):
        return try jvpOfCustomVJP(j, rule, x, t)

    case .customVJPLinear:
        throw FlockError("custom_vjp: can't apply forward-mode differentiation (jvp) to a custom_vjp function; use customJVP, or reverse mode")

    case .psum, .allGather, .psumScatter, .ppermute, .allToAll, .pbroadcast:
        return linear()

    case .pmax(let axes), .pmin(let axes):
        // The tangent of the members holding the extremum, averaged over ties
        // (as reduce max/min does; JAX has no rule here).
        let a = x[0], y = bind1(p, a)
        let mask = bind1(.convert(a.dtype, weakType: false), bind1(.compare(.eq), a, y))
        let count = bind1(.psum(axes: axes), mask)
        return one(y, pdiv(bind1(.psum(axes: axes), pmul(t[0]!, mask)), count))

    case .axisIndex:
        return zeroTangent()
    }
}

/// Tangent of a product reduction: Σᵢ tᵢ Πⱼ≠ᵢ xⱼ along `axes`, via exclusive
/// products from both sides (no division, exact with zeros).
func productTangent(_ a: Tensor, _ ta: Tensor, axes: [Int]) -> Tensor {
    // Move reduced axes last and flatten them to one axis of length n.
    let kept = (0..<a.rank).filter { !axes.contains($0) }
    let perm = kept + axes
    let keptShape = kept.map { a.shape[$0] }
    let n = axes.map { a.shape[$0] }.reduce(1, *)
    let xa = bind1(.reshape(keptShape + [n]), bind1(.transpose(perm), a))
    let xt = bind1(.reshape(keptShape + [n]), bind1(.transpose(perm), ta))
    var total: Tensor? = nil
    for i in 0..<n {
        // Π over j ≠ i, times t_i.
        var term = sliceLast(xt, i)
        for j in 0..<n where j != i { term = pmul(term, sliceLast(xa, j)) }
        total = addTangents(total, term)
    }
    return total ?? zeros(like: AbstractValue(shape: keptShape, dtype: a.dtype))
}

func sliceLast(_ x: Tensor, _ i: Int) -> Tensor {
    let r = x.rank
    let start = [Int](repeating: 0, count: r - 1) + [i]
    let limit = Array(x.shape.dropLast()) + [i + 1]
    return bind1(.reshape(Array(x.shape.dropLast())), bind1(.slice(start: start, limit: limit, strides: [Int](repeating: 1, count: r)), x))
}

/// `x` gathered along `axis` at `indices` of the same shape (`jnp.take_along_axis`).
///
/// - Parameters:
///   - mode: `.fill` (JAX's default), `.clip`, `.drop` (as `.fill`) or
///     `.promiseInBounds` (`.wrap` is an error, as in JAX). Negative indices
///     count from the end in every mode but `.promiseInBounds`, as in JAX.
///   - fillValue: what `.fill` reads out of bounds (nil: NaN for floats, the
///     minimum of signed and the maximum of unsigned integers, true for bool).
public func takeAlongAxis(_ x: Tensor, _ indices: Tensor, axis: Int, mode: IndexMode = .fill, fillValue: Double? = nil) -> Tensor {
    let r = x.rank
    let axis = axis < 0 ? axis + r : axis
    guard axis >= 0 && axis < r else {
        raise(FlockError("takeAlongAxis: axis \(axis) is out of bounds for array of dimension \(r)"))
        return .poisoned
    }
    guard indices.rank == r else {
        raise(FlockError("takeAlongAxis: indices \(indices.shape) and array \(x.shape) must have the same number of dimensions"))
        return .poisoned
    }
    let n = Int32(x.shape[axis])
    var i = indices.converted(to: .int32)
    guard let gatherMode = mode.primitiveMode("takeAlongAxis") else { return .poisoned }
    if mode != .promiseInBounds { i = `where`(i .< Tensor(Int32(0)), i + Tensor(n), i) }
    var columns: [Tensor] = []
    for d in 0..<r {
        let c = d == axis ? i : bind1(.iota(.int32, shape: indices.shape, dimension: d))
        columns.append(bind1(.reshape(indices.shape + [1]), c))
    }
    let idx = r == 1 ? columns[0] : bind(.concatenate(axis: r), columns)[0]
    let dn = GatherDimensionNumbers(offsetDims: [], collapsedSliceDims: Array(0..<r), startIndexMap: Array(0..<r))
    return bind1(.gather(dn, sliceSizes: [Int](repeating: 1, count: r), mode: gatherMode, fillValue: canonicalFill(fillValue, x.dtype)), x, idx)
}

/// The tangent of scatter-min/max (JAX's rule): where updates land, the mean
/// of the tangents of the contenders that equal the result (the operand
/// element and every update); elsewhere the operand's tangent.
func scatterExtremalTangent(
    _ x: [Tensor], _ t: [Tensor?], _ out: Tensor, _ dn: ScatterDimensionNumbers, _ mode: GatherScatterMode
) -> Tensor {
    let (operand, indices, updates) = (x[0], x[1], x[2])
    let dtype = operand.dtype
    func scatterAdd(_ a: Tensor, _ u: Tensor) -> Tensor { bind1(.scatter(.add, dn, mode: mode), a, indices, u) }
    func asFloat(_ b: Tensor) -> Tensor { bind1(.convert(dtype, weakType: false), b) }
    // The result at each update's destination (dropped updates never count).
    let target = bind1(
        .gather(inverseGatherDimensions(dn), sliceSizes: inverseSliceSizes(dn, operand.shape, updates.shape),
            mode: mode == .clip ? .clip : .promiseInBounds, fillValue: nil), out, indices)
    let winning = asFloat(bind1(.compare(.eq), updates, target))
    let retained = asFloat(bind1(.compare(.eq), operand, out))
    let zero = zeros(like: operand.aval)
    let winners = bind1(.binary(.add), scatterAdd(zero, winning), retained)
    let touched = bind1(.compare(.gt), scatterAdd(zero, bind1(.broadcastInDim(shape: updates.shape, broadcastDimensions: []), Tensor(1, dtype: dtype))), zero)
    let tOperand = instantiate(t[0], operand.aval), tUpdates = instantiate(t[2], updates.aval)
    let summed = scatterAdd(bind1(.binary(.mul), tOperand, retained), bind1(.binary(.mul), tUpdates, winning))
    // Untouched elements divide by 1 (they are not selected).
    let mean = bind1(.binary(.div), summed, bind1(.select, touched, winners, bind1(.broadcastInDim(shape: operand.shape, broadcastDimensions: []), Tensor(1, dtype: dtype))))
    return bind1(.select, touched, mean, tOperand)
}

/// The gather that reads back, for each update element, the operand element it lands on.
func inverseGatherDimensions(_ dn: ScatterDimensionNumbers) -> GatherDimensionNumbers {
    GatherDimensionNumbers(
        offsetDims: dn.updateWindowDims, collapsedSliceDims: dn.insertedWindowDims,
        startIndexMap: dn.scatterDimsToOperandDims, operandBatchingDims: dn.operandBatchingDims,
        startIndicesBatchingDims: dn.scatterIndicesBatchingDims)
}

/// Slice sizes of ``inverseGatherDimensions(_:)``: the update window's extents.
func inverseSliceSizes(_ dn: ScatterDimensionNumbers, _ operandShape: [Int], _ updatesShape: [Int]) -> [Int] {
    let windowOperandDims = (0..<operandShape.count).filter { !dn.insertedWindowDims.contains($0) && !dn.operandBatchingDims.contains($0) }
    var sliceSizes = [Int](repeating: 1, count: operandShape.count)
    for (k, od) in windowOperandDims.enumerated() { sliceSizes[od] = updatesShape[dn.updateWindowDims[k]] }
    return sliceSizes
}

/// JVP of a jaxpr evaluated inline under a fresh JVP interpreter.
func jvpOfJaxpr(_ j: Jaxpr, _ x: [Tensor], _ t: [Tensor?]) throws -> ([Tensor], [Tensor?]) {
    let jvp = JVPInterpreter(parent: InterpreterContext.current)
    let inputs = zip(x, t).map { jvp.lift($0, tangent: $1) }
    let outs = withInterpreter(jvp) { evalJaxpr(j, inputs) }
    let unpacked = outs.map(jvp.unpack)
    return (unpacked.map(\.primal), unpacked.map(\.tangent))
}

/// A custom JVP rule's outputs must match the function's: as many primal
/// outputs of its shapes and dtypes, and a tangent of each primal's shape and
/// (floating-point) dtype — as JAX checks — or a wrong shape spreads into every
/// derivative silently.
func checkCustomJVPOutputs(_ expected: [AbstractValue], _ outs: [Tensor], _ tangents: [Tensor]) throws {
    guard outs.count == expected.count, tangents.count == expected.count else {
        throw FlockError(
            "custom_jvp: the rule returned \(outs.count) primal and \(tangents.count) tangent outputs, "
                + "expected \(expected.count) of each (the function's outputs)")
    }
    for (k, (a, y)) in zip(expected, outs).enumerated() where y.shape != a.shape || y.dtype != a.dtype {
        throw FlockError(
            "custom_jvp: the rule's primal output \(k) has shape \(y.shape) and dtype \(y.dtype), "
                + "expected \(a.shape) and \(a.dtype) (the function's output)")
    }
    for (k, (a, t)) in zip(expected, tangents).enumerated()
    where t.shape != a.shape || (a.dtype.isFloatingPoint && t.dtype != a.dtype) {
        throw FlockError(
            "custom_jvp: the rule's tangent output \(k) has shape \(t.shape) and dtype \(t.dtype), "
                + "expected \(a.shape) and \(a.dtype) (the primal output's)")
    }
}
