import FlockCore
/// All-reduce combining (XLA's all-reduce combiner): small `psum`s (or
/// `pmax`s, `pmin`s) over the same axes and of one type that do not depend on
/// each other become one all-reduce of their operands laid end to end.
///
/// A data-parallel step averages every gradient leaf and its loss with one
/// `pmean` each: eight collectives for a three-layer MLP. Each is a meeting of
/// every device, latency-bound for small arrays (and a scheduler round trip on
/// a busy machine), so one meeting of the concatenated operands costs about
/// what one of the eight did. The combined collective sits where the group's
/// first member was; a later member joins only when its operand is computed
/// before that point (so nothing moves before its inputs, and every reader of
/// a member's result still comes after it). Operands above
/// ``maxCombinedElements`` stay alone: for large arrays the all-reduce is
/// bandwidth-bound and the copies in and out would cost more than a meeting.
///
/// ```swift
/// // psum a, psum b (independent)  →  concatenate → one psum → slice, slice
/// ```
package func combineAllReduces(_ jaxpr: Jaxpr) -> Jaxpr {
    let eqs = jaxpr.equations
    var definedAt: [Int: Int] = [:]
    for (i, e) in eqs.enumerated() { for v in e.outputs { definedAt[v.id] = i } }

    struct Key: Hashable {
        let primitive: Primitive
        let dtype: DType
        let weakType: Bool
    }
    struct Group {
        let anchor: Int
        var members: [Int]
        var elements: Int
    }
    var groups: [Group] = []
    var openGroup: [Key: Int] = [:]
    for (i, e) in eqs.enumerated() {
        guard e.inputs.count == 1, e.outputs.count == 1, case .variable(let x) = e.inputs[0] else { continue }
        switch e.primitive {
        case .psum, .pmax, .pmin: break
        default: continue
        }
        let n = x.aval.count
        guard n > 0, n <= maxCombinedElements else { continue }
        let key = Key(primitive: e.primitive, dtype: x.aval.dtype, weakType: x.aval.weakType)
        if let g = openGroup[key], definedAt[x.id, default: -1] < groups[g].anchor,
           groups[g].elements + n <= maxCombinedElements * 4 {
            groups[g].members.append(i)
            groups[g].elements += n
        } else {
            openGroup[key] = groups.count
            groups.append(Group(anchor: i, members: [i], elements: n))
        }
    }
    let combined = groups.filter { $0.members.count > 1 }
    if combined.isEmpty { return jaxpr }

    var supply = VarSupply(above: jaxpr)
    var replacement: [Int: [Equation]] = [:]
    var removed = Set<Int>()
    for g in combined {
        var prologue: [Equation] = [], flat: [Atom] = [], epilogue: [Equation] = []
        let first = eqs[g.anchor]
        let dtype = first.inputs[0].aval.dtype, weak = first.inputs[0].aval.weakType
        var offset = 0
        let total = AbstractValue(shape: [g.elements], dtype: dtype, weakType: weak)
        let reduced = supply.fresh(total)
        for m in g.members {
            let e = eqs[m]
            let x = e.inputs[0], n = x.aval.count
            if x.aval.rank == 1 {
                flat.append(x)
            } else {
                let v = supply.fresh(AbstractValue(shape: [n], dtype: dtype, weakType: weak))
                prologue.append(Equation(primitive: .reshape([n]), inputs: [x], outputs: [v]))
                flat.append(.variable(v))
            }
            let out = e.outputs[0]
            let slice = Primitive.slice(start: [offset], limit: [offset + n], strides: [1])
            if out.aval.rank == 1 {
                epilogue.append(Equation(primitive: slice, inputs: [.variable(reduced)], outputs: [out]))
            } else {
                let part = supply.fresh(AbstractValue(shape: [n], dtype: dtype, weakType: weak))
                epilogue.append(Equation(primitive: slice, inputs: [.variable(reduced)], outputs: [part]))
                epilogue.append(Equation(primitive: .reshape(out.aval.shape), inputs: [.variable(part)], outputs: [out]))
            }
            offset += n
            removed.insert(m)
        }
        let joined = supply.fresh(total)
        prologue.append(Equation(primitive: .concatenate(axis: 0), inputs: flat, outputs: [joined]))
        prologue.append(Equation(primitive: first.primitive, inputs: [.variable(joined)], outputs: [reduced]))
        replacement[g.anchor] = prologue + epilogue
    }
    var equations: [Equation] = []
    for (i, e) in eqs.enumerated() {
        if let r = replacement[i] { equations += r } else if !removed.contains(i) { equations.append(e) }
    }
    return jaxpr.rebuilt(equations: equations, outputs: jaxpr.outputs)
}

/// The largest operand (in elements) that ``combineAllReduces(_:)`` merges
/// with others: 64 Ki elements (256 KiB of float32); a group holds at most
/// four times that.
package let maxCombinedElements = 1 << 16
