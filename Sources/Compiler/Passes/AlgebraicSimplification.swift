import FlockCore
/// Algebraic simplification: rewrites that make a program cheaper without
/// changing its results.
///
/// - `x * 1`, `1 * x`, `x + 0`, `0 + x`, `x - 0`, `x / 1`, `x ** 1` → `x` (when
///   the result has `x`'s type; `-0.0 + 0` gives `+0.0` in IEEE arithmetic,
///   and like XLA we accept that difference of signed zeros);
/// - reshape∘reshape → one reshape; reshape, transpose, broadcast or convert
///   to what the operand already is → the operand; transpose∘transpose → one
///   transpose; broadcast∘broadcast → one broadcast;
/// - an elementwise operand that is a rank-0 value broadcast to the result's
///   shape → the rank-0 value (elementwise primitives accept rank-0 operands,
///   so the broadcast is never materialised);
/// - a transposed `dotGeneral` operand → the untransposed operand with
///   renumbered dimensions (the kernel then uses BLAS transpose flags), and a
///   transpose that swaps a product's two free blocks → the swapped product.
package func simplifyAlgebraically(_ jaxpr: Jaxpr) -> Jaxpr {
    var uses: [Int: Int] = [:]
    for e in jaxpr.equations { for case .variable(let v) in e.inputs { uses[v.id, default: 0] += 1 } }
    for case .variable(let v) in jaxpr.outputs { uses[v.id, default: 0] += 2 }
    var simplifier = Simplifier(consts: jaxpr.constValues, uses: uses)
    var equations: [Equation] = []
    equations.reserveCapacity(jaxpr.equations.count)
    var changed = false
    for e in jaxpr.equations {
        var current = Equation(primitive: e.primitive, inputs: simplifier.subst(e.inputs), outputs: e.outputs)
        var aliased = false
        rules: for _ in 0..<8 {
            switch simplifier.rewrite(current) {
            case .keep: break rules
            case .alias(let a):
                simplifier.subst.replace(e.outputs[0], with: a)
                aliased = true
                changed = true
                break rules
            case .replace(let r):
                current = r
                changed = true
            }
        }
        if aliased { continue }
        if let v = e.outputs.first { simplifier.producers[v.id] = current }
        equations.append(current)
    }
    if !changed { return jaxpr }
    return jaxpr.rebuilt(equations: equations, outputs: simplifier.subst(jaxpr.outputs))
}

private enum Rewrite {
    case keep
    /// The equation's (single) output is this atom.
    case alias(Atom)
    case replace(Equation)
}

private struct Simplifier {
    let consts: [Int: Tensor]
    let uses: [Int: Int]
    var subst = Substitution()
    /// Emitted equations by their first output's id.
    var producers: [Int: Equation] = [:]

    init(consts: [Int: Tensor], uses: [Int: Int]) {
        self.consts = consts
        self.uses = uses
    }

    func producer(_ a: Atom) -> Equation? {
        if case .variable(let v) = a { return producers[v.id] }
        return nil
    }

    /// Whether `a` is a known value all of whose elements equal `value`.
    func isConstant(_ a: Atom, _ value: Double) -> Bool {
        guard let t = a.knownValue(consts), t.count <= 1 << 16,
            let x = try? t.concreteArray(for: "simplify")
        else { return false }
        return (0..<x.count).allSatisfy { x.double(at: $0) == value }
    }

    func rewrite(_ e: Equation) -> Rewrite {
        guard let out = e.outputs.first?.aval else { return .keep }  // no results (debugCallback): nothing to simplify
        let x = e.inputs.first
        func identity(_ a: Atom) -> Rewrite { a.aval == out ? .alias(a) : .keep }
        func with(_ p: Primitive, _ inputs: [Atom]) -> Rewrite {
            .replace(Equation(primitive: p, inputs: inputs, outputs: e.outputs))
        }
        switch e.primitive {
        case .binary(let op):
            let (a, b) = (e.inputs[0], e.inputs[1])
            switch op {
            case .mul where isConstant(b, 1) && a.aval == out: return .alias(a)
            case .mul where isConstant(a, 1) && b.aval == out: return .alias(b)
            case .add where isConstant(b, 0) && a.aval == out: return .alias(a)
            case .add where isConstant(a, 0) && b.aval == out: return .alias(b)
            case .sub where isConstant(b, 0), .div where isConstant(b, 1), .pow where isConstant(b, 1):
                return identity(a)
            default: return absorbScalarBroadcasts(e, operands: [0, 1])
            }
        case .compare:
            return absorbScalarBroadcasts(e, operands: [0, 1])
        case .select:
            return absorbScalarBroadcasts(e, operands: [0])
        case .clamp:
            return absorbScalarBroadcasts(e, operands: [0, 2])
        case .convert(let dtype, let weak):
            return x!.aval.dtype == dtype && x!.aval.weakType == weak ? identity(x!) : .keep
        case .reshape(let shape):
            if x!.aval.shape == shape { return identity(x!) }
            if let p = producer(x!), case .reshape = p.primitive { return with(.reshape(shape), p.inputs) }
            return .keep
        case .transpose(let perm):
            if perm == Array(perm.indices) { return identity(x!) }
            if let p = producer(x!), case .transpose(let inner) = p.primitive {
                return with(.transpose(perm.map { inner[$0] }), p.inputs)
            }
            if let p = producer(x!), case .dotGeneral(let dn) = p.primitive, uses[p.outputs[0].id] == 1,
                let swapped = swappedProduct(dn, perm, lhs: p.inputs[0].aval, rhs: p.inputs[1].aval)
            {
                return with(.dotGeneral(swapped), [p.inputs[1], p.inputs[0]])
            }
            return .keep
        case .broadcastInDim(let shape, let dims):
            if x!.aval.shape == shape && dims == Array(dims.indices) { return identity(x!) }
            if let p = producer(x!), case .broadcastInDim(_, let inner) = p.primitive {
                return with(.broadcastInDim(shape: shape, broadcastDimensions: inner.map { dims[$0] }), p.inputs)
            }
            return .keep
        case .dotGeneral(let dn):
            for side in 0..<2 {
                guard let p = producer(e.inputs[side]), case .transpose(let perm) = p.primitive,
                    let absorbed = absorbingTranspose(dn, perm, side: side, rank: perm.count)
                else { continue }
                var inputs = e.inputs
                inputs[side] = p.inputs[0]
                return with(.dotGeneral(absorbed), inputs)
            }
            return .keep
        default:
            return .keep
        }
    }

    /// Replaces operands that broadcast a rank-0 value to the result's shape
    /// by that value, keeping at least one full-shape operand.
    func absorbScalarBroadcasts(_ e: Equation, operands: [Int]) -> Rewrite {
        let shape = e.outputs[0].aval.shape
        guard !shape.isEmpty else { return .keep }
        var inputs = e.inputs
        for k in operands {
            guard let p = producer(inputs[k]), case .broadcastInDim = p.primitive, p.inputs[0].aval.rank == 0 else { continue }
            let others = inputs.indices.filter { $0 != k }
            // Something else must still give the result its shape (select's branches always do).
            let shaped = others.contains { inputs[$0].aval.shape == shape }
            if case .select = e.primitive, k != 0 { continue }
            if shaped { inputs[k] = p.inputs[0] }
        }
        if inputs == e.inputs { return .keep }
        return .replace(Equation(primitive: e.primitive, inputs: inputs, outputs: e.outputs))
    }
}

/// The dimension numbers of `dotGeneral` applied to the untransposed operand
/// on `side` (0 lhs, 1 rhs), when the result's layout does not change (the
/// free dimensions keep their relative order).
private func absorbingTranspose(_ dn: DotDimensionNumbers, _ perm: [Int], side: Int, rank: Int) -> DotDimensionNumbers? {
    let contracting = side == 0 ? dn.lhsContracting : dn.rhsContracting
    let batch = side == 0 ? dn.lhsBatch : dn.rhsBatch
    let free = (0..<rank).filter { !contracting.contains($0) && !batch.contains($0) }.map { perm[$0] }
    guard zip(free, free.dropFirst()).allSatisfy({ $0 < $1 }) else { return nil }
    var out = dn
    if side == 0 {
        out.lhsContracting = contracting.map { perm[$0] }
        out.lhsBatch = batch.map { perm[$0] }
    } else {
        out.rhsContracting = contracting.map { perm[$0] }
        out.rhsBatch = batch.map { perm[$0] }
    }
    return out
}

/// When `perm` moves the rhs free dimensions of a product before its lhs free
/// dimensions (batch dimensions staying first), the product with its operands
/// swapped computes the transposed result directly.
private func swappedProduct(_ dn: DotDimensionNumbers, _ perm: [Int], lhs: AbstractValue, rhs: AbstractValue) -> DotDimensionNumbers? {
    let nb = dn.lhsBatch.count
    let nl = lhs.rank - nb - dn.lhsContracting.count
    let nr = rhs.rank - nb - dn.rhsContracting.count
    guard nl > 0, nr > 0 else { return nil }
    let expected = Array(0..<nb) + Array((nb + nl)..<(nb + nl + nr)) + Array(nb..<(nb + nl))
    guard perm == expected else { return nil }
    return DotDimensionNumbers(lhsContracting: dn.rhsContracting, rhsContracting: dn.lhsContracting,
                               lhsBatch: dn.rhsBatch, rhsBatch: dn.lhsBatch)
}
