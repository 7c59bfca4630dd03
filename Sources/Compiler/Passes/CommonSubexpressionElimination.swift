import FlockCore
/// Common-subexpression elimination: an equation that applies the same
/// primitive (parameters included: primitives are `Hashable`) to the same
/// atoms as an earlier one is removed, and its outputs are read from the
/// earlier equation's. Literals compare by value; carried jaxprs by identity.
/// Equations with effects (`debugCallback`) are never merged, nor are
/// all-gathers: a repeated all-gather is a deliberate choice of memory over
/// communication (jit over sharded arrays gathers an FSDP parameter again
/// for its backward use, so that the forward copy is freed in between).
package func eliminateCommonSubexpressions(_ jaxpr: Jaxpr) -> Jaxpr {
    struct Key: Hashable {
        let primitive: Primitive
        let inputs: [Atom]
    }
    var seen: [Key: [Var]] = [:]
    var subst = Substitution()
    var equations: [Equation] = []
    equations.reserveCapacity(jaxpr.equations.count)
    for e in jaxpr.equations {
        let inputs = subst(e.inputs)
        let key = Key(primitive: e.primitive, inputs: inputs)
        // An equation with effects runs as often as the program says.
        if !e.primitive.hasEffects, !isAllGather(e.primitive), let earlier = seen[key], earlier.map(\.aval) == e.outputs.map(\.aval) {
            for (v, w) in zip(e.outputs, earlier) { subst.replace(v, with: .variable(w)) }
            continue
        }
        seen[key] = e.outputs
        equations.append(Equation(primitive: e.primitive, inputs: inputs, outputs: e.outputs))
    }
    if equations.count == jaxpr.equations.count { return jaxpr }
    return jaxpr.rebuilt(equations: equations, outputs: subst(jaxpr.outputs))
}

private func isAllGather(_ p: Primitive) -> Bool {
    if case .allGather = p { return true }
    return false
}
