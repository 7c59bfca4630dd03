import FlockCore
/// Dead-code elimination: drops equations none of whose outputs reach the
/// jaxpr's outputs, and constants nothing reads. Only equations with effects
/// (`debugCallback`, or a call holding one) are kept without a read result.
/// Inputs stay, so the signature is kept.
package func eliminateDeadCode(_ jaxpr: Jaxpr) -> Jaxpr {
    var live = Set<Int>()
    for case .variable(let v) in jaxpr.outputs { live.insert(v.id) }
    var kept: [Equation] = []
    for e in jaxpr.equations.reversed() where e.outputs.contains(where: { live.contains($0.id) }) || e.primitive.hasEffects {
        kept.append(e)
        for case .variable(let v) in e.inputs { live.insert(v.id) }
    }
    if kept.count == jaxpr.equations.count && jaxpr.constVars.allSatisfy({ live.contains($0.id) }) { return jaxpr }
    return jaxpr.rebuilt(equations: kept.reversed(), outputs: jaxpr.outputs)
}
