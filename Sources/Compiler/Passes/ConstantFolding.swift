import FlockCore
/// Constant folding: an equation whose operands are all known (literals or
/// constants) and whose results are small is evaluated now. Rank-0 results
/// become literals, others new constants (when `allowNewConstants`: the
/// jaxprs of higher-order primitives stay closed, so there only literals).
/// Large results are left to run time, so folding never bloats a program.
package func foldConstants(_ jaxpr: Jaxpr, maxElements: Int = 1024, allowNewConstants: Bool = true) -> Jaxpr {
    var known = jaxpr.constValues
    var constVars = jaxpr.constVars, consts = jaxpr.consts
    var subst = Substitution()
    var equations: [Equation] = []
    equations.reserveCapacity(jaxpr.equations.count)
    var changed = false
    for e in jaxpr.equations {
        let inputs = subst(e.inputs)
        let small = e.outputs.reduce(0) { $0 + $1.aval.count } <= maxElements
        let rank0 = e.outputs.allSatisfy { $0.aval.rank == 0 }
        if small && (rank0 || allowNewConstants), e.primitive.isFoldable,
            let values = inputs.map({ $0.knownValue(known) }) as? [Tensor],
            let results = evaluateNow(e.primitive, values, e.outputs.map(\.aval))
        {
            for (v, r) in zip(e.outputs, results) {
                if v.aval.rank == 0 {
                    subst.replace(v, with: .literal(LiteralValue(r)))
                } else {
                    // The equation's output variable becomes the constant's variable.
                    known[v.id] = r
                    constVars.append(v)
                    consts.append(r)
                }
            }
            changed = true
            continue
        }
        equations.append(Equation(primitive: e.primitive, inputs: inputs, outputs: e.outputs))
    }
    if !changed { return jaxpr }
    return jaxpr.rebuilt(equations: equations, outputs: subst(jaxpr.outputs), constVars: constVars, consts: consts)
}

/// Runs one primitive's kernel on concrete values; nil if it fails (the
/// error is then reported when the program runs, with its usual message).
private func evaluateNow(_ p: Primitive, _ inputs: [Tensor], _ outAvals: [AbstractValue]) -> [Tensor]? {
    guard let arrays = try? inputs.map({ try $0.concreteArray(for: "constant folding") }),
        let avals = try? p.abstractEval(inputs.map(\.aval)), avals == outAvals,
        // In the subnormal mode of a plan's run, so folded values equal run-time ones.
        let outs = try? SubnormalMode.flushing({ () throws -> [DenseArray] in try p.evaluate(arrays, outAvals: avals) })
    else { return nil }
    return zip(outs, avals).map { Tensor(concrete: $0, weakType: $1.weakType) }
}

extension Primitive {
    /// Whether evaluating at compile time is possible and harmless: the
    /// linear part of a custom VJP has no forward evaluation, and collectives
    /// communicate (they run with the program, never at compile time).
    fileprivate var isFoldable: Bool {
        switch self {
        case .customVJPLinear, .psum, .pmax, .pmin, .allGather, .psumScatter, .ppermute, .allToAll, .axisIndex, .pbroadcast: false
        default: !hasEffects
        }
    }
}
