import FlockCore
/// Inlining for execution: the bodies of nested calls (`call`, and
/// `customJVP`/`customVJP`/`checkpoint`, which evaluate as calls) are spliced
/// into the caller with fresh variables, and `stopGradient` becomes the
/// identity. The result evaluates like the input but has lost the structure
/// that differentiation needs, so it is for the executor only: `jit` keeps the
/// traced jaxpr for transforms. Inlining lets the other passes (fusion,
/// CSE, dead code) work across call boundaries.
package func inlineCalls(_ jaxpr: Jaxpr) -> Jaxpr {
    guard jaxpr.equations.contains(where: { $0.primitive.isInlinable }) else { return jaxpr }
    var supply = VarSupply(above: jaxpr)
    var subst = Substitution()
    var equations: [Equation] = []
    var constVars = jaxpr.constVars, consts = jaxpr.consts
    func splice(_ body: Jaxpr, _ args: [Atom]) -> [Atom] {
        // The body's variables live in their own scope (their ids may equal the
        // caller's), so they map one step to caller atoms, never through chains.
        var map: [Int: Atom] = [:]
        func local(_ a: Atom) -> Atom {
            if case .variable(let v) = a { return map[v.id]! }
            return a
        }
        for (v, a) in zip(body.inputs, args) { map[v.id] = a }
        for (v, c) in zip(body.constVars, body.consts) {
            let w = supply.fresh(v.aval)
            constVars.append(w)
            consts.append(c)
            map[v.id] = .variable(w)
        }
        for e in body.equations {
            let inputs = e.inputs.map(local)
            if let inner = e.primitive.inlinedBody {
                let outs = splice(inner, inputs)
                for (v, a) in zip(e.outputs, outs) { map[v.id] = a }
                continue
            }
            if case .stopGradient = e.primitive {
                map[e.outputs[0].id] = inputs[0]
                continue
            }
            let outs = e.outputs.map { supply.fresh($0.aval) }
            for (v, w) in zip(e.outputs, outs) { map[v.id] = .variable(w) }
            equations.append(Equation(primitive: e.primitive, inputs: inputs, outputs: outs))
        }
        return body.outputs.map(local)
    }
    for e in jaxpr.equations {
        let inputs = subst(e.inputs)
        if let body = e.primitive.inlinedBody {
            for (v, a) in zip(e.outputs, splice(body, inputs)) { subst.replace(v, with: a) }
        } else if case .stopGradient = e.primitive {
            subst.replace(e.outputs[0], with: inputs[0])
        } else {
            equations.append(Equation(primitive: e.primitive, inputs: inputs, outputs: e.outputs))
        }
    }
    return jaxpr.rebuilt(equations: equations, outputs: subst(jaxpr.outputs), constVars: constVars, consts: consts)
}

extension Primitive {
    /// The body that evaluating this primitive runs as a plain call, if any.
    var inlinedBody: Jaxpr? {
        switch self {
        case .call(let j, let kind): kind == .fusedElementwise ? nil : j
        case .customJVP(let j, _), .customVJP(let j, _), .checkpoint(let j): j
        case .unary, .binary, .compare, .select, .clamp, .fma, .convert, .bitcast, .reduce, .argReduce,
            .broadcastInDim, .reshape, .transpose, .reverse, .slice, .dynamicSlice, .dynamicUpdateSlice,
            .gather, .scatter, .concatenate, .pad, .iota, .dotGeneral, .convolution, .cumsum, .sort,
            .reduceWindow, .selectAndScatterAdd, .selectAndGatherAdd,
            .threefry2x32, .stopGradient, .debugCallback, .customVJPLinear, .cond, .whileLoop, .scan,
            .psum, .pmax, .pmin, .allGather, .psumScatter, .ppermute, .allToAll, .axisIndex, .pbroadcast:
            nil
        }
    }

    fileprivate var isInlinable: Bool {
        if case .stopGradient = self { return true }
        return inlinedBody != nil
    }
}
