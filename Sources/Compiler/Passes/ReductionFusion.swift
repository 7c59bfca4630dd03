import FlockCore
/// Reduction fusion: a `reduce` (sum, max or min of floats over trailing
/// axes, a whole array included) whose operand is made by an elementwise
/// loop and read by nothing else joins that loop, which then accumulates the
/// rows block by block: the operand is never written to memory (`sum(x * x)`,
/// a softmax's denominators, a loss over a large output).
///
/// The loop adds in the order the reduce kernel uses (four interleaved partial
/// results per row), so fused and unfused results are the same bit for bit.
/// A single elementwise equation feeding such a reduce is outlined into a
/// loop of its own first.
package func fuseReductions(_ jaxpr: Jaxpr) -> Jaxpr {
    var eqs = jaxpr.equations
    var producer: [Int: Int] = [:]
    var uses: [Int: Int] = [:]
    for (i, e) in eqs.enumerated() {
        for v in e.outputs { producer[v.id] = i }
        for case .variable(let v) in e.inputs { uses[v.id, default: 0] += 1 }
    }
    for case .variable(let v) in jaxpr.outputs { uses[v.id, default: 0] += 1 }
    var removed = Set<Int>()
    var changed = false
    for (r, e) in eqs.enumerated() {
        guard let length = fusibleReductionRowLength(e), case .variable(let v) = e.inputs[0], uses[v.id] == 1,
            let p = producer[v.id], !removed.contains(p)
        else { continue }
        // The producer as a fused loop: an outlined group, or a single elementwise equation.
        var call = eqs[p]
        if isFusible(call) && !isLoopBroadcast(call) { call = outline([call], Set(call.outputs.map(\.id))) }
        guard case .call(let body, .fusedElementwise) = call.primitive,
            let k = call.outputs.firstIndex(where: { $0.id == v.id }), case .variable(let inner) = body.outputs[k],
            body.equations.allSatisfy({ fusibleReductionRowLength($0).map { $0 == length } ?? true }),
            body.equations.contains(where: { $0.outputs[0].aval.shape == v.aval.shape })
        else { continue }
        // The reduce moves into the body; the call outputs its result where it output the operand.
        var supply = VarSupply(above: body)  // the body's variables are its own
        let result = supply.fresh(e.outputs[0].aval)
        var outputs = body.outputs
        outputs[k] = .variable(result)
        let newBody = Jaxpr(inputs: body.inputs, constVars: body.constVars, consts: body.consts,
                            equations: body.equations + [Equation(primitive: e.primitive, inputs: [.variable(inner)], outputs: [result])],
                            outputs: outputs)
        var callOutputs = call.outputs
        callOutputs[k] = e.outputs[0]
        eqs[p] = Equation(primitive: .call(newBody, kind: .fusedElementwise), inputs: call.inputs, outputs: callOutputs)
        removed.insert(r)
        changed = true
    }
    guard changed else { return jaxpr }
    return jaxpr.rebuilt(equations: eqs.indices.filter { !removed.contains($0) }.map { eqs[$0] }, outputs: jaxpr.outputs)
}

/// The row length of a reduce a fused loop can take on: sum, max or min of
/// float32/float64 over a suffix of the dimensions; nil otherwise.
func fusibleReductionRowLength(_ e: Equation) -> Int? {
    guard case .reduce(let op, let axes) = e.primitive, [.sum, .max, .min].contains(op) else { return nil }
    let x = e.inputs[0].aval
    guard x.dtype == .float32 || x.dtype == .float64, x.rank >= 1, x.count > 0,
        axes.sorted() == Array((x.rank - axes.count)..<x.rank), !axes.isEmpty
    else { return nil }
    return axes.map { x.shape[$0] }.reduce(1, *)
}
