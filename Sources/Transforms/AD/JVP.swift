@_spi(Engine) import FlockCore
/// Forward-mode differentiation: the JVP interpreter.
///
/// Its tracer carries a primal value and a tangent (nil = symbolic zero, so
/// unused derivatives cost nothing). Rules run under the parent interpreter:
/// primal work goes to the parent, tangent work too — which, under
/// `linearize`, is a partial-evaluation staging interpreter that records only
/// the operations touching tangents.
package final class JVPInterpreter: Interpreter, @unchecked Sendable {
    /// The interpreter that runs the primal and tangent computations.
    package let parent: any Interpreter

    /// A JVP interpreter over `parent`.
    package init(parent: any Interpreter) { self.parent = parent }

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
    package func lift(_ primal: Tensor, tangent: Tensor?) -> Tensor {
        Tensor(tracer: JVPTracer(primal: primal, tangent: tangent, owner: self))
    }

    /// The primal and tangent of `x` as seen by this interpreter.
    package func unpack(_ x: Tensor) -> (primal: Tensor, tangent: Tensor?) {
        if let t = x.tracer as? JVPTracer, t.owner === self { return (t.primal, t.tangent) }
        return (x, nil)
    }

    package func process(_ primitive: Primitive, _ inputs: [Tensor]) throws -> [Tensor] {
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

/// `t` broadcast to `shape` when it is a rank-0 tangent of a scalar operand.
func fit(_ t: Tensor, _ shape: [Int]) -> Tensor { t.shape == shape ? t : t.broadcast(to: shape) }

/// Sum of optional tangents (nil = zero).
func addTangents(_ a: Tensor?, _ b: Tensor?) -> Tensor? {
    switch (a, b) {
    case (nil, nil): return nil
    case (let x?, nil): return x
    case (nil, let y?): return y
    case (let x?, let y?): return lax.add(x, y)
    }
}

@inline(__always) func lit(_ v: Double, _ like: Tensor) -> Tensor { Tensor(v, dtype: like.dtype) }

/// `t * factor` where `t` may be a rank-0 tangent of a rank-0 operand and `factor` full.
func scaled(_ t: Tensor?, _ factor: Tensor, shape: [Int]) -> Tensor? {
    guard let t else { return nil }
    return lax.mul(fit(t, shape), factor)
}

// MARK: - The JVP table

/// JVP rules: given primals and tangents (nil = zero), the primal outputs and
/// their tangents. One case per primitive, no `default:`.
func jvpRule(_ p: Primitive, _ x: [Tensor], _ t: [Tensor?]) throws -> ([Tensor], [Tensor?]) {
    func one(_ out: Tensor, _ tangent: Tensor?) -> ([Tensor], [Tensor?]) { ([out], [tangent]) }
    func linear() -> ([Tensor], [Tensor?]) {
        // Linear in all its (float) operands: apply the same primitive to the tangents.
        let outs = lax.apply(p, x)
        let tangents = zip(t, x).map { instantiate($0, $1.aval) }
        return (outs, lax.apply(p, tangents))
    }
    func zeroTangent() -> ([Tensor], [Tensor?]) {
        let outs = lax.apply(p, x)
        return (outs, outs.map { _ in nil })
    }

    switch p {
    case .unary(let op):
        let a = x[0], ta = t[0]!
        let y = lax.unary(op, a)
        // Rules follow JAX's formulas and order, so derivatives round alike.
        switch op {
        case .neg: return one(y, lax.neg(ta))
        case .exp: return one(y, lax.mul(ta, y))
        case .log: return one(y, lax.div(ta, a))
        case .log1p: return one(y, lax.div(ta, lax.add(a, lit(1, a))))
        case .expm1: return one(y, lax.mul(ta, lax.add(y, lit(1, y))))
        case .sin: return one(y, lax.mul(ta, lax.cos(a)))
        case .cos: return one(y, lax.neg(lax.mul(ta, lax.sin(a))))
        case .tan: return one(y, lax.mul(ta, lax.add(lit(1, y), lax.mul(y, y))))
        // JAX's forms so the derivatives round alike. tanh': JAX computes
        // d + d·y with d = t(1 − y), which XLA contracts into one fused
        // multiply-add, d(1 + y) rounded once; d·(1 + y) is that exactly when
        // 1 + y is exact (y ≤ −½), within an ulp otherwise -- and d + d·y would
        // lose a thousand ulp to cancellation as y → −1. The logistic's: t·y(1 − y).
        case .tanh:
            let d = lax.mul(ta, lax.sub(lit(1, y), y))
            return one(y, lax.mul(d, lax.add(lit(1, y), y)))
        case .logistic: return one(y, lax.mul(ta, lax.mul(y, lax.sub(lit(1, y), y))))
        case .sqrt: return one(y, lax.mul(ta, lax.div(lit(0.5, y), y)))
        case .rsqrt: return one(y, lax.mul(ta, lax.mul(lit(-0.5, y), lax.div(y, a))))
        case .abs:
            // JAX's one-sided choice: +1 from 0 and -0 on, -1 below zero and at NaN.
            let nonNegative = lax.ge(a, lit(0, a))
            return one(y, lax.select(nonNegative, ta, lax.neg(ta)))
        case .erf:
            let c = lit(2 / Double.pi.squareRoot(), a)
            return one(y, lax.mul(c, lax.mul(ta, lax.exp(lax.neg(lax.mul(a, a))))))
        case .erfc:
            let c = lit(-2 / Double.pi.squareRoot(), a)
            return one(y, lax.mul(c, lax.mul(ta, lax.exp(lax.neg(lax.mul(a, a))))))
        case .erfInv:
            let c = lit(Double.pi.squareRoot() / 2, a)
            return one(y, lax.mul(ta, lax.mul(c, lax.exp(lax.mul(y, y)))))
        case .sign, .floor, .ceil, .round: return one(y, zeros(like: y.aval))
        case .isFinite, .not: return one(y, nil)
        }

    case .binary(let op):
        let (a, b) = (x[0], x[1])
        let (ta, tb) = (t[0], t[1])
        let y = lax.binary(op, a, b)
        let s = y.shape
        switch op {
        case .add: return one(y, addTangents(ta.map { fit($0, s) }, tb.map { fit($0, s) }))
        case .sub: return one(y, addTangents(ta.map { fit($0, s) }, tb.map { lax.neg(fit($0, s)) }))
        case .mul: return one(y, addTangents(scaled(ta, b, shape: s), scaled(tb, a, shape: s)))
        case .div:
            // d(a/b) = ta/b − tb·y/b
            return one(y, addTangents(ta.map { lax.div(fit($0, s), b) }, tb.map { lax.neg(lax.div(lax.mul(fit($0, s), y), b)) }))
        case .rem:
            // ∂/∂b = −trunc(a/b)
            let q = lax.div(a, b)
            let truncated = lax.mul(lax.sign(q), lax.floor(lax.abs(q)))
            return one(y, addTangents(ta.map { fit($0, s) }, tb.map { lax.neg(lax.mul(fit($0, s), truncated)) }))
        case .pow:
            // ∂/∂a = b·a^(b−1); ∂/∂b = y·log(a) with log(0) taken as 0 where a = 0 (as JAX).
            let da = ta.map { lax.mul(fit($0, s), lax.mul(b, lax.pow(a, lax.sub(b, lit(1, b))))) }
            let db = tb.map { tb -> Tensor in
                let isZero = lax.eq(a, lit(0, a))
                let safe = lax.select(isZero, full(a.shape, 1, dtype: a.dtype), a)
                let logA = lax.log(safe)
                return lax.mul(fit(tb, s), lax.mul(y, logA))
            }
            return one(y, addTangents(da, db))
        case .max, .min:
            // Ties split the derivative evenly, as JAX does: the weight of an
            // operand is 1 where it is selected, ½ on ties, else 0 (built from
            // converted masks, so a scalar operand is never materialised).
            let tieHalf = lax.mul(lax.convertElementType(lax.eq(a, b), y.dtype), lit(0.5, y))
            func weight(_ chosen: CompareOp) -> Tensor {
                lax.add(lax.convertElementType(lax.compare(chosen, a, b), y.dtype), tieHalf)
            }
            let da = ta.map { _ in weight(op == .max ? .gt : .lt) }
            let db = tb.map { _ in weight(op == .max ? .lt : .gt) }
            return one(y, addTangents(da.flatMap { scaled(ta, $0, shape: s) }, db.flatMap { scaled(tb, $0, shape: s) }))
        case .atan2:
            // d atan2(a, b) = (ta·b − tb·a) / (a² + b²)
            let denom = lax.add(lax.mul(a, a), lax.mul(b, b))
            return one(y, addTangents(scaled(ta, lax.div(b, denom), shape: s), scaled(tb, lax.neg(lax.div(a, denom)), shape: s)))
        case .and, .or, .xor, .shiftLeft, .shiftRightLogical: return one(y, nil)
        }

    case .compare, .argReduce, .iota, .threefry2x32, .bitcast:
        return zeroTangent()

    case .select:
        let y = lax.select(x[0], x[1], x[2])
        guard t[1] != nil || t[2] != nil else { return one(y, nil) }
        return one(y, lax.select(x[0], instantiate(t[1], x[1].aval), instantiate(t[2], x[2].aval)))

    case .clamp:
        // JAX's lax.clamp rule: the operand's tangent strictly inside (lo, hi),
        // lo's where lo > x (and lo < hi), hi's where hi < x; nothing at the bounds.
        let (lo, v, hi) = (x[0], x[1], x[2])
        let y = lax.clamp(lo, v, hi)
        let s = y.shape
        let zero = zeros(like: y.aval)
        let inside = lax.and(fit(lax.gt(v, lo), s), fit(lax.lt(v, hi), s))
        var out: Tensor? = t[1].map { lax.select(inside, fit($0, s), zero) }
        if let tl = t[0] {
            let below = lax.and(fit(lax.gt(lo, v), s), fit(lax.lt(lo, hi), s))
            out = addTangents(out, lax.select(below, fit(tl, s), zero))
        }
        if let th = t[2] { out = addTangents(out, lax.select(fit(lax.lt(hi, v), s), fit(th, s), zero)) }
        return one(y, out)

    case .fma:
        // The product rule of a · b, plus c's tangent (nothing here is fused:
        // only the primal rounds as XLA's contracted multiply-add does).
        let (a, b) = (x[0], x[1])
        let y = lax.fma(a, b, x[2])
        let s = y.shape
        return one(y, addTangents(addTangents(scaled(t[0], b, shape: s), scaled(t[1], a, shape: s)), t[2].map { fit($0, s) }))

    case .convert(let dtype, let weakType):
        let y = lax.convertElementType(x[0], dtype, weakType: weakType)
        guard dtype.isFloatingPoint, x[0].dtype.isFloatingPoint, let ta = t[0] else { return one(y, nil) }
        return one(y, lax.convertElementType(ta, dtype))

    case .reduce(let op, let axes):
        let a = x[0], ta = t[0]!
        let y = lax.reduce(op, a, axes: axes)
        switch op {
        case .sum: return one(y, lax.reduceSum(ta, axes: axes))
        case .max, .min:
            // The tangent of the selected element(s), averaged over ties.
            let kept = (0..<a.rank).filter { !axes.contains($0) }
            let yb = lax.broadcastInDim(y, shape: a.shape, dims: kept)
            let mask = lax.convertElementType(lax.eq(a, yb), a.dtype)
            let count = lax.reduceSum(mask, axes: axes)
            return one(y, lax.div(lax.reduceSum(lax.mul(ta, mask), axes: axes), count))
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

    case .concatenate(let axis):
        let y = lax.concatenate(x, axis: axis)
        return one(y, lax.concatenate(zip(t, x).map { instantiate($0, $1.aval) }, axis: axis))

    case .pad(let low, let high, let interior):
        let y = lax.pad(x[0], x[1], low: low, high: high, interior: interior)
        return one(y, lax.pad(instantiate(t[0], x[0].aval), instantiate(t[1], x[1].aval), low: low, high: high, interior: interior))

    case .dynamicSlice(let sizes):
        let starts = Array(x.dropFirst())
        let y = lax.dynamicSlice(x[0], starts, sizes: sizes)
        guard let ta = t[0] else { return one(y, nil) }
        return one(y, lax.dynamicSlice(ta, starts, sizes: sizes))

    case .dynamicUpdateSlice:
        let starts = Array(x.dropFirst(2))
        let y = lax.dynamicUpdateSlice(x[0], x[1], starts)
        guard t[0] != nil || t[1] != nil else { return one(y, nil) }
        return one(y, lax.dynamicUpdateSlice(instantiate(t[0], x[0].aval), instantiate(t[1], x[1].aval), starts))

    case .gather(let dn, let sliceSizes, let mode, let fillValue):
        // Linear in the operand; filled windows have a zero tangent.
        let y = lax.gather(x[0], x[1], dn, sliceSizes: sliceSizes, mode: mode, fillValue: fillValue)
        guard let ta = t[0] else { return one(y, nil) }
        return one(y, lax.gather(ta, x[1], dn, sliceSizes: sliceSizes, mode: mode, fillValue: 0))

    case .scatter(let op, let dn, let mode):
        let y = lax.scatter(op, x[0], x[1], x[2], dn, mode: mode)
        guard t[0] != nil || t[2] != nil else { return one(y, nil) }
        switch op {
        case .add, .replace:
            // Linear in (operand, updates); a replace keeps the same winners.
            return one(y, lax.scatter(op, instantiate(t[0], x[0].aval), x[1], instantiate(t[2], x[2].aval), dn, mode: mode))
        case .mul:
            guard t[2] == nil else {
                throw FlockError(
                    "scatter-mul (at.multiply): differentiation with respect to the updates is not supported (as in JAX without unique_indices); differentiate with respect to the operand only")
            }
            return one(y, lax.scatter(.mul, t[0]!, x[1], x[2], dn, mode: mode))
        case .min, .max:
            return one(y, scatterExtremalTangent(x, t, y, dn, mode))
        }

    case .dotGeneral, .convolution:
        // Bilinear: d(a ⋆ b) = ta ⋆ b + a ⋆ tb.
        let y = lax.apply(p, x[0], x[1])
        let da = t[0].map { lax.apply(p, $0, x[1]) }
        let db = t[1].map { lax.apply(p, x[0], $0) }
        return one(y, addTangents(da, db))

    case .reduceWindow(let op, let w):
        let y = lax.reduceWindow(op, x[0], w)
        guard let ta = t[0] else { return one(y, nil) }
        switch op {
        case .sum: return one(y, lax.reduceWindow(.sum, ta, w))
        case .max: return one(y, lax.selectAndGatherAdd(ta, x[0], select: .ge, w))
        case .min: return one(y, lax.selectAndGatherAdd(ta, x[0], select: .le, w))
        }

    case .selectAndScatterAdd, .selectAndGatherAdd:
        // Linear in the first operand; piecewise constant in the operand.
        let y = lax.apply(p, x[0], x[1])
        return one(y, t[0].map { lax.apply(p, $0, x[1]) })

    case .sort(let dimension, let numKeys):
        // Sort an iota along with the operands to learn the permutation, then
        // apply it to the tangents.
        let iota = lax.iota(.int32, shape: x[0].shape, dimension: dimension)
        let sorted = lax.sort(x + [iota], dimension: dimension, numKeys: numKeys)
        let perm = sorted.last!
        let tangents = zip(t, x).map { ti, xi in ti.map { takeAlongAxis($0, perm, axis: dimension, mode: .promiseInBounds) } }
        return (Array(sorted.dropLast()), tangents)

    case .call(_, .shardingConstraint(let spec)):
        // Kept (not inlined) on the primal and the tangent, so the constraint
        // survives `grad` inside jit over sharded arrays.
        let y = lax.apply(p, x[0])
        return one(y, t[0].map { lax.call(traceToJaxpr([$0.aval]) { $0 }, kind: .shardingConstraint(spec), [$0])[0] })

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
        let a = x[0], y = lax.apply(p, a)
        let mask = lax.convertElementType(lax.eq(a, y), a.dtype)
        let count = lax.psum(mask, axes: axes)
        return one(y, lax.div(lax.psum(lax.mul(t[0]!, mask), axes: axes), count))

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
    let xa = lax.reshape(lax.transpose(a, perm), keptShape + [n])
    let xt = lax.reshape(lax.transpose(ta, perm), keptShape + [n])
    var total: Tensor? = nil
    for i in 0..<n {
        // Π over j ≠ i, times t_i.
        var term = sliceLast(xt, i)
        for j in 0..<n where j != i { term = lax.mul(term, sliceLast(xa, j)) }
        total = addTangents(total, term)
    }
    return total ?? zeros(like: AbstractValue(shape: keptShape, dtype: a.dtype))
}

func sliceLast(_ x: Tensor, _ i: Int) -> Tensor {
    lax.reshape(lax.sliceInDim(x, start: i, limit: i + 1, axis: x.rank - 1), Array(x.shape.dropLast()))
}

/// The tangent of scatter-min/max (JAX's rule): where updates land, the mean
/// of the tangents of the contenders that equal the result (the operand
/// element and every update); elsewhere the operand's tangent.
func scatterExtremalTangent(
    _ x: [Tensor], _ t: [Tensor?], _ out: Tensor, _ dn: ScatterDimensionNumbers, _ mode: GatherScatterMode
) -> Tensor {
    let (operand, indices, updates) = (x[0], x[1], x[2])
    let dtype = operand.dtype
    func scatterAdd(_ a: Tensor, _ u: Tensor) -> Tensor { lax.scatter(.add, a, indices, u, dn, mode: mode) }
    func asFloat(_ b: Tensor) -> Tensor { lax.convertElementType(b, dtype) }
    // The result at each update's destination (dropped updates never count).
    let target = lax.gather(
        out, indices, inverseGatherDimensions(dn), sliceSizes: inverseSliceSizes(dn, operand.shape, updates.shape),
        mode: mode == .clip ? .clip : .promiseInBounds, fillValue: nil)
    let winning = asFloat(lax.eq(updates, target))
    let retained = asFloat(lax.eq(operand, out))
    let zero = zeros(like: operand.aval)
    let winners = lax.add(scatterAdd(zero, winning), retained)
    let touched = lax.gt(scatterAdd(zero, lax.broadcastInDim(Tensor(1, dtype: dtype), shape: updates.shape, dims: [])), zero)
    let tOperand = instantiate(t[0], operand.aval), tUpdates = instantiate(t[2], updates.aval)
    let summed = scatterAdd(lax.mul(tOperand, retained), lax.mul(tUpdates, winning))
    // Untouched elements divide by 1 (they are not selected).
    let mean = lax.div(summed, lax.select(touched, winners, lax.broadcastInDim(Tensor(1, dtype: dtype), shape: operand.shape, dims: [])))
    return lax.select(touched, mean, tOperand)
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
