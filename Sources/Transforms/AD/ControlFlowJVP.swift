@_spi(Engine) import FlockCore
// JVP rules of the higher-order primitives: each builds the JVP of its body
// as a new closed jaxpr and binds the same primitive on primals + tangents.

/// Indices of floating-point values (the ones that carry tangents).
func floatIndices(_ xs: [Tensor]) -> [Int] { xs.indices.filter { xs[$0].dtype.isFloatingPoint } }

/// A jaxpr computing `[primal outputs] + [tangent outputs of float outputs]`
/// from `[primals] + [tangents of float primals]` (tangents instantiated).
func jvpJaxpr(_ j: Jaxpr, primalAvals: [AbstractValue]) -> (jaxpr: Jaxpr, constArgs: [Tensor]) {
    let floats = primalAvals.indices.filter { primalAvals[$0].dtype.isFloatingPoint }
    return traceClosed(primalAvals + floats.map { primalAvals[$0] }) { args in
        let primals = Array(args.prefix(primalAvals.count))
        var tangents = [Tensor?](repeating: nil, count: primals.count)
        for (k, i) in floats.enumerated() { tangents[i] = args[primalAvals.count + k] }
        let (outs, outTangents) = try! jvpOfJaxpr(j, primals, tangents)
        let outFloats = outs.indices.filter { outs[$0].dtype.isFloatingPoint }
        return outs + outFloats.map { instantiate(outTangents[$0], outs[$0].aval) }
    }
}

/// Under `linearize` (a partial-evaluation parent), primal outputs of control
/// flow must stay known: they are computed by the original primitive and only
/// the tangents are taken from the staged JVP primitive (which recomputes the
/// primal inside, as rematerialisation). In plain forward mode both come from
/// the JVP primitive.
func jvpControlFlow(_ p: Primitive, _ x: [Tensor], _ t: [Tensor?]) throws -> ([Tensor], [Tensor?]) {
    var (outs, tangents) = try jvpControlFlowCombined(p, x, t)
    if let staging = InterpreterContext.current as? StagingInterpreter, staging.partial {
        outs = lax.apply(p, x)
    }
    return (outs, tangents)
}

func jvpControlFlowCombined(_ p: Primitive, _ x: [Tensor], _ t: [Tensor?]) throws -> ([Tensor], [Tensor?]) {
    switch p {
    case .checkpoint(let j):
        // Tangents through a checkpointed JVP body, so that under linearize the
        // body's primal work is recomputed in the backward pass, not saved.
        let outs = Array(repeating: x[0], count: j.outputs.count)  // replaced by the caller
        let floats = floatIndices(x)
        let jj = jvpJaxpr(j, primalAvals: x.map(\.aval))
        let tangents = floats.map { instantiate(t[$0], x[$0].aval) }
        let all = lax.checkpoint(jj.jaxpr, jj.constArgs + x + tangents)
        let primalOuts = Array(all.prefix(j.outputs.count))
        var outTangents = [Tensor?](repeating: nil, count: outs.count)
        for (k, i) in floatIndices(primalOuts).enumerated() { outTangents[i] = all[outs.count + k] }
        return (InterpreterContext.current is StagingInterpreter ? evalJaxpr(j, x) : primalOuts, outTangents)

    case .cond(let branches):
        let ops = Array(x.dropFirst())
        let opTangents = Array(t.dropFirst())
        let floats = floatIndices(ops)
        let built = branches.map { jvpJaxpr($0, primalAvals: ops.map(\.aval)) }
        let (jaxprs, consts) = unifyClosures(built)
        let tangents = floats.map { instantiate(opTangents[$0], ops[$0].aval) }
        let all = lax.cond(x[0], branches: jaxprs, consts + ops + tangents)
        let n = branches[0].outputs.count
        let outs = Array(all.prefix(n))
        var outTangents = [Tensor?](repeating: nil, count: n)
        for (k, i) in floatIndices(outs).enumerated() { outTangents[i] = all[n + k] }
        return (outs, outTangents)

    case .whileLoop(let cond, let body, let nc, let nb):
        let condConsts = Array(x.prefix(nc))
        let bodyConsts = Array(x.dropFirst(nc).prefix(nb))
        let carry = Array(x.dropFirst(nc + nb))
        let bodyTangents = Array(t.dropFirst(nc).prefix(nb)), carryTangents = Array(t.dropFirst(nc + nb))
        let fb = floatIndices(bodyConsts), fc = floatIndices(carry)
        let bt = fb.map { instantiate(bodyTangents[$0], bodyConsts[$0].aval) }
        let ct = fc.map { instantiate(carryTangents[$0], carry[$0].aval) }
        // body': (bodyConsts, bodyConstTangents, carry, carryTangents) → (carry, carryTangents)
        let bodyAvals = (bodyConsts + bt + carry + ct).map(\.aval)
        let newBody = traceClosed(bodyAvals) { args in
            let c = Array(args.prefix(nb)), tc = Array(args.dropFirst(nb).prefix(fb.count))
            let cr = Array(args.dropFirst(nb + fb.count).prefix(carry.count)), tcr = Array(args.dropFirst(nb + fb.count + carry.count))
            var tangents = [Tensor?](repeating: nil, count: nb + carry.count)
            for (k, i) in fb.enumerated() { tangents[i] = tc[k] }
            for (k, i) in fc.enumerated() { tangents[nb + i] = tcr[k] }
            let (outs, outT) = try! jvpOfJaxpr(body, c + cr, tangents)
            return outs + fc.map { instantiate(outT[$0], outs[$0].aval) }
        }
        // cond': (condConsts, carry, carryTangents) → cond(condConsts, carry)
        let newCond = traceClosed((condConsts + carry + ct).map(\.aval)) { args in
            evalJaxpr(cond, Array(args.prefix(nc + carry.count)))
        }
        let inputs = newCond.constArgs + condConsts + newBody.constArgs + bodyConsts + bt + carry + ct
        let all = lax.whileLoop(
            cond: newCond.jaxpr, body: newBody.jaxpr, condConstCount: newCond.constArgs.count + nc,
            bodyConstCount: newBody.constArgs.count + nb + fb.count, inputs)
        let outs = Array(all.prefix(carry.count))
        var outTangents = [Tensor?](repeating: nil, count: carry.count)
        for (k, i) in fc.enumerated() { outTangents[i] = all[carry.count + k] }
        return (outs, outTangents)

    case .scan(let body, let length, let reverse, let nConsts, let nCarry):
        let consts = Array(x.prefix(nConsts)), carry = Array(x.dropFirst(nConsts).prefix(nCarry))
        let xs = Array(x.dropFirst(nConsts + nCarry))
        let fk = floatIndices(consts), fc = floatIndices(carry), fx = floatIndices(xs)
        let tk = fk.map { instantiate(t[$0], consts[$0].aval) }
        let tc = fc.map { instantiate(t[nConsts + $0], carry[$0].aval) }
        let tx = fx.map { instantiate(t[nConsts + nCarry + $0], xs[$0].aval) }
        let sliceAval = { (a: AbstractValue) in AbstractValue(shape: Array(a.shape.dropFirst()), dtype: a.dtype, weakType: a.weakType) }
        let avals = (consts + tk + carry + tc).map(\.aval) + (xs + tx).map { sliceAval($0.aval) }
        let nYs = body.outputs.count - nCarry
        let yFloats = (0..<nYs).filter { body.outputAvals[nCarry + $0].dtype.isFloatingPoint }
        // body': (consts, constT, carry, carryT, x, xT) → (carry, carryT, y, yT)
        let newBody = traceClosed(avals) { args in
            var i = 0
            func take(_ n: Int) -> [Tensor] { defer { i += n }; return Array(args[i..<(i + n)]) }
            let c = take(nConsts), ctg = take(fk.count), cr = take(nCarry), crt = take(fc.count), xv = take(xs.count), xt = take(fx.count)
            var tangents = [Tensor?](repeating: nil, count: nConsts + nCarry + xs.count)
            for (k, j) in fk.enumerated() { tangents[j] = ctg[k] }
            for (k, j) in fc.enumerated() { tangents[nConsts + j] = crt[k] }
            for (k, j) in fx.enumerated() { tangents[nConsts + nCarry + j] = xt[k] }
            let (outs, outT) = try! jvpOfJaxpr(body, c + cr + xv, tangents)
            let carryOut = Array(outs.prefix(nCarry)), ys = Array(outs.dropFirst(nCarry))
            return carryOut + fc.map { instantiate(outT[$0], carryOut[$0].aval) }
                + ys + yFloats.map { instantiate(outT[nCarry + $0], ys[$0].aval) }
        }
        let inputs = newBody.constArgs + consts + tk + carry + tc + xs + tx
        let all = lax.scan(
            body: newBody.jaxpr, length: length, reverse: reverse,
            constCount: newBody.constArgs.count + nConsts + fk.count, carryCount: nCarry + fc.count, inputs)
        var outs: [Tensor] = Array(all.prefix(nCarry))
        var outTangents = [Tensor?](repeating: nil, count: nCarry + nYs)
        for (k, j) in fc.enumerated() { outTangents[j] = all[nCarry + k] }
        let ysStart = nCarry + fc.count
        outs += all[ysStart..<(ysStart + nYs)]
        for (k, j) in yFloats.enumerated() { outTangents[nCarry + j] = all[ysStart + nYs + k] }
        return (outs, outTangents)

    default:
        throw FlockError("\(p.name): no JVP rule")
    }
}

/// JVP of a `customVJP` function: primal outputs from the user's forward
/// rule; tangents through a `customVJPLinear` equation that remembers the
/// residuals, so reverse mode can call the user's backward rule.
/// JAX's restriction: a custom rule covers the function's explicit arguments
/// only, so a captured value must not carry a tangent.
func checkNoClosedOverTangents(_ rule: CustomRule, _ t: [Tensor?], _ what: String) throws {
    if t.prefix(rule.constCount).contains(where: { $0 != nil }) {
        throw FlockError(
            "\(what): differentiating with respect to a value the function captures (closes over) is not supported: "
                + "the custom rule only says how to differentiate with respect to the function's arguments. "
                + "Pass the value as an argument and extend the rule")
    }
}

func jvpOfCustomVJP(_ j: Jaxpr, _ rule: CustomRule, _ x: [Tensor], _ t: [Tensor?]) throws -> ([Tensor], [Tensor?]) {
    try checkNoClosedOverTangents(rule, t, "customVJP")
    let (outs, residuals) = rule.forward!(x)
    let tangents = zip(t, x).map { instantiate($0, $1.aval) }
    let outTangents = lax.customVJPLinear(
        rule: rule, residualCount: residuals.count, outAvals: outs.map(\.aval), residuals + tangents)
    return (outs, outTangents.map { Optional($0) })
}
