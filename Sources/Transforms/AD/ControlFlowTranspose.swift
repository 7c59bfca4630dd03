// Transposition of cond and scan equations that are linear in some operands.

func transposeCond(_ branches: [Jaxpr], _ x: [TransposeInput], _ cts: [Tensor?]) throws -> [Tensor?] {
    let ops = Array(x.dropFirst())
    let knownIdx = ops.indices.filter { !ops[$0].isLinear }
    let linIdx = ops.indices.filter { ops[$0].isLinear }
    let outAvals = branches[0].outputAvals
    let ctValues = zip(cts, outAvals).map { instantiate($0, $1) }
    // Each transposed branch: (known operands, output cotangents) → linear-operand cotangents.
    let built = branches.map { b in
        traceClosed(knownIdx.map { ops[$0].aval } + outAvals) { args in
            var a = [Tensor?](repeating: nil, count: ops.count)
            for (k, i) in knownIdx.enumerated() { a[i] = args[k] }
            let r = try! backwardPass(b, a, args.dropFirst(knownIdx.count).map { Optional($0) })
            return linIdx.map { instantiate(r[$0], ops[$0].aval) }
        }
    }
    let (jaxprs, consts) = unifyClosures(built)
    let res = lax.cond(x[0].value!, branches: jaxprs, consts + knownIdx.map { ops[$0].value! } + ctValues)
    var out = [Tensor?](repeating: nil, count: x.count)
    for (k, i) in linIdx.enumerated() { out[1 + i] = res[k] }
    return out
}

/// Which carry entries stay known through the loop: known initially and
/// computed by the body from known inputs only (a fixed point).
func knownCarry(_ body: Jaxpr, constKnown: [Bool], carryKnown: [Bool], xsKnown: [Bool]) -> [Bool] {
    var carry = carryKnown
    while true {
        let inputsKnown = constKnown + carry + xsKnown
        let outKnown = knownOutputs(body, inputsKnown)
        let next = zip(carry, outKnown.prefix(carry.count)).map { $0 && $1 }
        if next == carry { return carry }
        carry = next
    }
}

/// Which outputs of `j` depend only on known inputs.
func knownOutputs(_ j: Jaxpr, _ inputsKnown: [Bool]) -> [Bool] {
    var known = Set<Int>(j.constVars.map(\.id))
    for (v, k) in zip(j.inputs, inputsKnown) where k { known.insert(v.id) }
    func isKnown(_ a: Atom) -> Bool {
        if case .variable(let v) = a { return known.contains(v.id) }
        return true
    }
    for e in j.equations where e.inputs.allSatisfy(isKnown) {
        for v in e.outputs { known.insert(v.id) }
    }
    return j.outputs.map(isKnown)
}

/// Transposes a scan linear in some consts, carries and scanned inputs. The
/// known part of the carry is first recomputed by a forward scan that stacks
/// it per step; a reversed scan then runs the body's backward pass.
func transposeScan(_ p: Primitive, _ x: [TransposeInput], _ cts: [Tensor?]) throws -> [Tensor?] {
    guard case .scan(let body, let length, let reverse, let nConsts, let nCarry) = p else { fatalError("unreachable") }
    let consts = Array(x.prefix(nConsts)), carry = Array(x.dropFirst(nConsts).prefix(nCarry))
    let xs = Array(x.dropFirst(nConsts + nCarry))
    let nYs = body.outputs.count - nCarry
    let constKnown = consts.map { !$0.isLinear }, xsKnown = xs.map { !$0.isLinear }
    let carryKnown = knownCarry(body, constKnown: constKnown, carryKnown: carry.map { !$0.isLinear }, xsKnown: xsKnown)
    // A carry that starts known but the body mixes with linear values is a
    // tangent carry whose symbolic zero was instantiated by the JVP rule: in a
    // linear program its known initial value is zero, so it is treated as linear.
    let slice = { (a: AbstractValue) in AbstractValue(shape: Array(a.shape.dropFirst()), dtype: a.dtype, weakType: a.weakType) }
    let kc = consts.indices.filter { constKnown[$0] }, lc = consts.indices.filter { !constKnown[$0] }
    let kcar = carry.indices.filter { carryKnown[$0] }, lcar = carry.indices.filter { !carryKnown[$0] }
    let kx = xs.indices.filter { xsKnown[$0] }, lx = xs.indices.filter { !xsKnown[$0] }

    // 1. Forward scan over the known part, stacking the known carry seen by each step.
    var stackedKnownCarry: [Tensor] = []
    if !kcar.isEmpty {
        let avals = kc.map { consts[$0].aval } + kcar.map { carry[$0].aval } + kx.map { slice(xs[$0].aval) }
        let fwd = traceClosed(avals) { args in
            var inputs: [Tensor] = []
            var i = 0
            func next() -> Tensor { defer { i += 1 }; return args[i] }
            var c = [Tensor](), cr = [Tensor](), xv = [Tensor]()
            for k in 0..<nConsts { c.append(constKnown[k] ? next() : zeros(like: consts[k].aval)) }
            for k in 0..<nCarry { cr.append(carryKnown[k] ? next() : zeros(like: carry[k].aval)) }
            for k in 0..<xs.count { xv.append(xsKnown[k] ? next() : zeros(like: slice(xs[k].aval))) }
            inputs = c + cr + xv
            let outs = evalJaxpr(body, inputs)
            let knownCarryIn = kcar.map { cr[$0] }
            return kcar.map { outs[$0] } + knownCarryIn
        }
        let res = lax.scan(
            body: fwd.jaxpr, length: length, reverse: reverse, constCount: fwd.constArgs.count + kc.count,
            carryCount: kcar.count,
            fwd.constArgs + kc.map { consts[$0].value! } + kcar.map { carry[$0].value! } + kx.map { xs[$0].value! })
        stackedKnownCarry = Array(res.dropFirst(kcar.count))
    }

    // 2. Reversed scan of the backward pass.
    let ctCarry = lcar.map { instantiate(cts[$0], carry[$0].aval) }
    let ctYs = (0..<nYs).map { instantiate(cts[nCarry + $0], body.outputAvals[nCarry + $0].withLeading(length)) }
    let accAvals = lc.map { consts[$0].aval }
    let tAvals = kc.map { consts[$0].aval } + accAvals + lcar.map { carry[$0].aval }
        + kx.map { slice(xs[$0].aval) } + kcar.map { carry[$0].aval } + (0..<nYs).map { body.outputAvals[nCarry + $0] }
    let bwd = traceClosed(tAvals) { args in
        var i = 0
        func take(_ n: Int) -> [Tensor] { defer { i += n }; return Array(args[i..<(i + n)]) }
        let kcv = take(kc.count), acc = take(lc.count), ctc = take(lcar.count)
        let kxv = take(kx.count), kcarv = take(kcar.count), cty = take(nYs)
        var a = [Tensor?](repeating: nil, count: nConsts + nCarry + xs.count)
        for (k, j) in kc.enumerated() { a[j] = kcv[k] }
        for (k, j) in kcar.enumerated() { a[nConsts + j] = kcarv[k] }
        for (k, j) in kx.enumerated() { a[nConsts + nCarry + j] = kxv[k] }
        var outCts = [Tensor?](repeating: nil, count: nCarry + nYs)
        for (k, j) in lcar.enumerated() { outCts[j] = ctc[k] }
        for k in 0..<nYs { outCts[nCarry + k] = cty[k] }
        let r = try! backwardPass(body, a, outCts)
        let newAcc = lc.enumerated().map { k, j in lax.add(acc[k], instantiate(r[j], consts[j].aval)) }
        let newCt = lcar.map { instantiate(r[nConsts + $0], carry[$0].aval) }
        let ctX = lx.map { instantiate(r[nConsts + nCarry + $0], slice(xs[$0].aval)) }
        return newAcc + newCt + ctX
    }
    let accInit = accAvals.map { zeros(like: $0) }
    let res = lax.scan(
        body: bwd.jaxpr, length: length, reverse: !reverse, constCount: bwd.constArgs.count + kc.count,
        carryCount: lc.count + lcar.count,
        bwd.constArgs + kc.map { consts[$0].value! } + accInit + ctCarry
            + kx.map { xs[$0].value! } + stackedKnownCarry + ctYs)
    var out = [Tensor?](repeating: nil, count: x.count)
    for (k, j) in lc.enumerated() { out[j] = res[k] }
    for (k, j) in lcar.enumerated() { out[nConsts + j] = res[lc.count + k] }
    for (k, j) in lx.enumerated() { out[nConsts + nCarry + j] = res[lc.count + lcar.count + k] }
    return out
}

extension AbstractValue {
    func withLeading(_ n: Int) -> AbstractValue { AbstractValue(shape: [n] + shape, dtype: dtype, weakType: weakType) }
}
