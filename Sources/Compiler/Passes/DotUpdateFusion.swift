import FlockCore
/// Product-update fusion: a floating-point `dotGeneral` whose only reader is
/// a fused loop computing `w ± c·g` or `w ± g` (an SGD step, a residual add)
/// becomes one call of kind ``CallKind/dotUpdate`` holding the product and the
/// update. The compiler runs it as a single gemm with `beta = 1` into `w`'s
/// buffer (when the plan owns it), so the product is never written out and
/// read back. Rounding may differ from the two-step form by an ulp (BLAS
/// scales the product inside its kernel). Runs after elementwise fusion.
package func fuseDotUpdates(_ jaxpr: Jaxpr) -> Jaxpr {
    var uses: [Int: Int] = [:]
    for e in jaxpr.equations { for case .variable(let v) in e.inputs { uses[v.id, default: 0] += 1 } }
    for case .variable(let v) in jaxpr.outputs { uses[v.id, default: 0] += 1 }
    var products: [Int: Int] = [:]  // product variable -> equation index
    for (i, e) in jaxpr.equations.enumerated() {
        if case .dotGeneral = e.primitive, e.outputs[0].aval.dtype == .float32 || e.outputs[0].aval.dtype == .float64 { products[e.outputs[0].id] = i }
    }
    guard !products.isEmpty else { return jaxpr }
    var removed = Set<Int>()
    var replaced: [Int: Equation] = [:]
    for (j, e) in jaxpr.equations.enumerated() {
        guard let body = updateBody(e), let form = UpdateForm(body) else { continue }
        // `w + g` reads the same either way round: the product is the input a product computed.
        let candidates = form.commutes ? [form, form.swapped] : [form]
        guard let update = candidates.first(where: { u in
            if case .variable(let g) = e.inputs[u.product], let i = products[g.id] { return uses[g.id] == 1 && !removed.contains(i) }
            return false
        }), case .variable(let g) = e.inputs[update.product], let i = products[g.id]
        else { continue }
        let product = jaxpr.equations[i]
        var supply = VarSupply(above: body)
        let lhs = supply.fresh(product.inputs[0].aval), rhs = supply.fresh(product.inputs[1].aval)
        let w = body.inputs[update.updated]
        let inner = Jaxpr(
            inputs: [lhs, rhs, w], constVars: [], consts: [],
            equations: [Equation(primitive: product.primitive, inputs: [.variable(lhs), .variable(rhs)], outputs: [body.inputs[update.product]])]
                + body.equations,
            outputs: body.outputs)
        removed.insert(i)
        replaced[j] = Equation(primitive: .call(inner, kind: .dotUpdate),
                               inputs: product.inputs + [e.inputs[update.updated]], outputs: e.outputs)
    }
    if replaced.isEmpty { return jaxpr }
    let equations = jaxpr.equations.enumerated().compactMap { i, e in removed.contains(i) ? nil : (replaced[i] ?? e) }
    return jaxpr.rebuilt(equations: equations, outputs: jaxpr.outputs)
}

/// The body of a fused update, or a lone `add`/`sub` of two variables as one.
private func updateBody(_ e: Equation) -> Jaxpr? {
    switch e.primitive {
    case .call(let body, .fusedElementwise): return body
    case .binary(.add), .binary(.sub):
        guard case .variable(let a) = e.inputs[0], case .variable(let b) = e.inputs[1], a != b else { return nil }
        return Jaxpr(inputs: [a, b], constVars: [], consts: [], equations: [e], outputs: [.variable(e.outputs[0])])
    default: return nil
    }
}

/// A fused body computing `w + alpha · g` for two of its inputs, as
/// `w - c·g`, `w + c·g`, `c·g + w`, `w - g`, `w + g` or `g + w` with a
/// literal scalar `c`, all of one type.
struct UpdateForm {
    /// Body input positions of the product and of the updated operand.
    private(set) var product: Int
    private(set) var updated: Int
    let alpha: Double
    /// Whether the two inputs may trade places (`w + g` without a scale).
    var commutes = false

    var swapped: UpdateForm {
        var u = self
        (u.product, u.updated) = (updated, product)
        return u
    }

    /// The form of a ``CallKind/dotUpdate`` body: its first equation is the product.
    init?(dotUpdate body: Jaxpr) {
        guard let first = body.equations.first, body.inputs.count == 3 else { return nil }
        let update = Jaxpr(inputs: [first.outputs[0], body.inputs[2]], constVars: [], consts: [],
                           equations: Array(body.equations.dropFirst()), outputs: body.outputs)
        guard let u = UpdateForm(update) else { return nil }
        self = u.product == 0 ? u : u.swapped
    }

    init?(_ body: Jaxpr) {
        guard body.outputs.count == 1, case .variable(let out) = body.outputs[0],
            body.inputs.count == 2, body.inputs.allSatisfy({ $0.aval == out.aval }), out.aval.dtype.isFloatingPoint
        else { return nil }
        func input(_ a: Atom) -> Int? {
            if case .variable(let v) = a { return body.inputs.firstIndex(of: v) }
            return nil
        }
        func literal(_ a: Atom) -> Double? {
            if case .literal(let l) = a, l.tensor.rank == 0, let x = try? l.tensor.concreteArray(for: "jit") { return x.double(at: 0) }
            return nil
        }
        let eqs = body.equations
        // The last equation combines the updated input with the (scaled) product.
        guard let last = eqs.last, last.outputs[0] == out, case .binary(let op) = last.primitive, op == .add || op == .sub else { return nil }
        var scale = 1.0
        var productAtom: Atom
        var updatedAtom: Atom
        if op == .sub {
            (updatedAtom, productAtom) = (last.inputs[0], last.inputs[1])
            scale = -1
        } else if input(last.inputs[0]) != nil && eqs.count == 1 {
            (updatedAtom, productAtom) = (last.inputs[0], last.inputs[1])
        } else {
            // w + t or t + w: the scaled product is the one computed in the body.
            let firstIsComputed: Bool
            if case .variable(let v) = last.inputs[0] { firstIsComputed = body.inputs.firstIndex(of: v) == nil } else { return nil }
            (updatedAtom, productAtom) = firstIsComputed ? (last.inputs[1], last.inputs[0]) : (last.inputs[0], last.inputs[1])
        }
        if eqs.count == 2 {
            let mul = eqs[0]
            guard case .binary(.mul) = mul.primitive, .variable(mul.outputs[0]) == productAtom else { return nil }
            if let c = literal(mul.inputs[1]) { scale *= c; productAtom = mul.inputs[0] }
            else if let c = literal(mul.inputs[0]) { scale *= c; productAtom = mul.inputs[1] }
            else { return nil }
        } else if eqs.count != 1 {
            return nil
        }
        guard let p = input(productAtom), let w = input(updatedAtom), p != w else { return nil }
        (product, updated, alpha) = (p, w, scale)
        commutes = op == .add && eqs.count == 1
    }
}
