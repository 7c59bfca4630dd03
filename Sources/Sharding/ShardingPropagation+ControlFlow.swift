/// Control flow under jit over sharded arrays: `cond`, `while` and `scan`
/// keep their operands' layouts, and their bodies are partitioned once, as
/// programs of their own (a child propagation), whose collectives run on
/// every iteration.
///
/// - `cond`: the branch index is a whole scalar (every device takes the same
///   branch, so a branch's collectives run on all of them); each branch is
///   partitioned for the operands' layouts; each result takes the layout
///   split over most devices among the branches' results (the others are
///   cut to it, locally), and the report lists every branch's collectives.
/// - `while`: the carry keeps the initial value's layout: the body is
///   partitioned for it and its results resharded back to it; the condition's
///   predicate is reduced to one whole value.
/// - `scan`: the scanned inputs' leading dimension is made whole (each step
///   reads one slice); the body sees the consts' and carry's layouts and the
///   slices' (the rest of the scanned inputs' dimensions); the carry keeps its
///   layout as in `while`, and a carry the body keeps as partial sums stays
///   partial across iterations, reduced once after the loop; the stacked
///   outputs take the body's layouts with a whole leading dimension.
extension ShardingPropagation {
    func controlFlow(_ p: Primitive, _ ins: [Value], _ avals: [AbstractValue]) throws -> [Value]? {
        switch p {
        case .cond(let branches):
            // The index is a scalar, whole on every device once its pending
            // reduction is applied (equation() applies it).
            let index = ins[0]
            let operands = Array(ins.dropFirst())
            // Each result takes the layout split over most devices among the
            // branches' (the others cut to it locally; ties: the first
            // branch's), then every branch is partitioned for those layouts.
            let free = try branches.map { try partitionBody($0, operands.map(\.layout), outLayouts: nil, what: "", record: false) }
            // Ties by the number of axes named, so that axes of size 1 still count.
            func score(_ l: Layout) -> (Int, Int) { (deviceCount(l), l.reduce(0) { $0 + $1.count }) }
            let outLayouts: [Layout] = avals.indices.map { j in
                free.map { $0.outSpecs[j] }.reduce(free[0].outSpecs[j]) { score($1) > score($0) ? $1 : $0 }
            }
            let bodies = try branches.enumerated().map { i, b in
                try partitionBody(b, operands.map(\.layout), outLayouts: outLayouts, what: "cond branch \(i)")
            }
            let first = bodies[0]
            let step = ControlStep(
                name: p.name, bodies: bodies, bodyInAvals: Array(repeating: zip(operands.map(\.aval), operands.map(\.layout)).map(localAval), count: bodies.count),
                rebuild: { .cond(branches: $0) })
            return emit(step, [index] + operands, first.outSpecs, avals)

        case .whileLoop(let condJaxpr, let bodyJaxpr, let nc, let nb):
            let condConsts = Array(ins[..<nc]), bodyConsts = Array(ins[nc..<(nc + nb)]), carry = Array(ins[(nc + nb)...])
            let carryLayouts = carry.map(\.layout)
            let condProgram = try partitionBody(condJaxpr, condConsts.map(\.layout) + carryLayouts, outLayouts: [[]], what: "while condition")
            let bodyProgram = try partitionBody(bodyJaxpr, bodyConsts.map(\.layout) + carryLayouts, outLayouts: carryLayouts, what: "while body")
            let step = ControlStep(
                name: p.name, bodies: [condProgram, bodyProgram],
                bodyInAvals: [(condConsts + carry).map { localAval($0.aval, $0.layout) }, (bodyConsts + carry).map { localAval($0.aval, $0.layout) }],
                rebuild: { .whileLoop(cond: $0[0], body: $0[1], condConstCount: nc, bodyConstCount: nb) })
            return emit(step, ins, carryLayouts, avals)

        case .scan(let bodyJaxpr, let length, let reverse, let nConsts, let nCarry):
            let consts = Array(ins[..<nConsts]), carry = Array(ins[nConsts..<(nConsts + nCarry)])
            let xs = ins[(nConsts + nCarry)...].map { whole($0, [0], for: p) }
            let carryLayouts = carry.map(\.layout)
            let sliceLayouts = xs.map { Array($0.layout.dropFirst()) }
            let yCount = bodyJaxpr.outputs.count - nCarry
            let inLayouts = consts.map(\.layout) + carryLayouts + sliceLayouts
            let outLayouts = carryLayouts + Array(repeating: nil, count: yCount)
            // A carry the body leaves as partial sums (a weight gradient
            // accumulated over a split batch in a backward scan) stays partial
            // across iterations and is reduced once after the loop, if the
            // body keeps it partial when it comes in partial: start from the
            // carries the body leaves partial when they come in whole, and
            // drop those it does not keep partial until none is dropped. The
            // last pass is the body used, so every carry kept partial is.
            let carries = Set(0..<nCarry)
            func axes(_ pending: Pending?) -> [String]? {
                if let pending, case .psum(let axes) = pending.reduction { axes } else { nil }
            }
            var partialCarries = try partitionBody(
                bodyJaxpr, inLayouts, outLayouts: outLayouts, what: "", record: false, keepPartialOutputs: carries
            ).pending.prefix(nCarry).map(axes)
            var body: PartitionedProgram
            while true {
                var inPending = [Pending?](repeating: nil, count: inLayouts.count)
                for (j, a) in partialCarries.enumerated() where a != nil {
                    inPending[nConsts + j] = Pending(reduction: .psum(axes: a!), consumer: "scan", reason: "partial sums carried by the loop")
                }
                let keep = carries.filter { partialCarries[$0] != nil }
                let pass = try partitionBody(
                    bodyJaxpr, inLayouts, outLayouts: outLayouts, what: "scan body", record: false, inPending: inPending,
                    keepPartialOutputs: keep)
                let dropped = keep.filter { axes(pass.pending[$0]) != partialCarries[$0] }
                if dropped.isEmpty {
                    body = pass.program
                    break
                }
                for j in dropped { partialCarries[j] = nil }
            }
            adopt(body, what: "scan body")
            // A whole initial carry joins the partial sums once: on the first
            // device of their axes (zeros as they are).
            var carryIn = carry
            for (j, axes) in partialCarries.enumerated() {
                guard let axes, !carry[j].zero else { continue }
                carryIn[j] = onFirstDevice(carry[j], of: axes)
            }
            let sliceAvals = xs.map { x in
                localAval(AbstractValue(shape: Array(x.aval.shape.dropFirst()), dtype: x.aval.dtype, weakType: x.aval.weakType), Array(x.layout.dropFirst()))
            }
            let step = ControlStep(
                name: p.name, bodies: [body], bodyInAvals: [(consts + carry).map { localAval($0.aval, $0.layout) } + sliceAvals],
                rebuild: { .scan(body: $0[0], length: length, reverse: reverse, constCount: nConsts, carryCount: nCarry) })
            let yLayouts = body.outSpecs.dropFirst(nCarry).map { [[]] + $0 }
            var outs = emit(step, consts + carryIn + xs, carryLayouts + yLayouts, avals)
            for (j, axes) in partialCarries.enumerated() {
                guard let axes else { continue }
                outs[j] = allReduce(.psum(axes: axes), outs[j], consumer: "scan",
                                    reason: "partial sums a scan carried over \(axes), reduced once after the loop")
            }
            return outs

        default:
            return nil
        }
    }

    /// `jaxpr` partitioned as a program of its own for inputs laid out by
    /// `inLayouts`, its results resharded to `outLayouts` where given (and
    /// reduced where pending); its collectives join this program's report.
    private func partitionBody(
        _ jaxpr: Jaxpr, _ inLayouts: [Layout], outLayouts: [Layout?]?, what: String, record: Bool = true
    ) throws -> PartitionedProgram {
        try partitionBody(jaxpr, inLayouts, outLayouts: outLayouts, what: what, record: record, inPending: [], keepPartialOutputs: []).program
    }

    /// As above; inputs marked by `inPending` come in as partial sums, and
    /// results in `keepPartialOutputs` are left partial where they are
    /// (their pending reductions returned).
    private func partitionBody(
        _ jaxpr: Jaxpr, _ inLayouts: [Layout], outLayouts: [Layout?]?, what: String, record: Bool = true,
        inPending: [Pending?] = [], keepPartialOutputs: Set<Int>
    ) throws -> (program: PartitionedProgram, pending: [Pending?]) {
        let child = ShardingPropagation(mesh: mesh)
        let inputs = zip(jaxpr.inputAvals, inLayouts).enumerated().map { i, pair in
            Value(operand: .slot(child.fresh()), layout: pair.1, aval: pair.0, pending: i < inPending.count ? inPending[i] : nil)
        }
        var outs = try child.walk(jaxpr, inputs)
        var pending = [Pending?](repeating: nil, count: outs.count)
        for (j, x) in outs.enumerated() {
            let keep = keepPartialOutputs.contains(j)
            if let targets = outLayouts, j < targets.count, let target = targets[j], !(keep && x.pending != nil && x.layout == target) {
                outs[j] = child.reshard(x, to: target, consumer: "output", reason: "\(what) result \(j) laid out as the loop or the other branches need")
            }
            if keep, outs[j].pending != nil {
                pending[j] = outs[j].pending
                outs[j].pending = nil
            } else {
                outs[j] = child.materialize(outs[j])
            }
        }
        let program = PartitionedProgram(
            inputSlots: inputs.map { if case .slot(let s) = $0.operand { s } else { -1 } }, steps: child.steps,
            outputs: outs.map(\.operand), outSpecs: outs.map(\.layout), collectives: child.collectives, decisions: child.decisions)
        if record { adopt(program, what: what) }
        return (program, pending)
    }

    /// `body`'s collectives and decisions joined to this program's report.
    private func adopt(_ body: PartitionedProgram, what: String) {
        collectives += body.collectives.map {
            InsertedCollective(name: $0.name, axes: $0.axes, operand: $0.operand, consumer: $0.consumer, reason: "in the \(what): \($0.reason)")
        }
        decisions += body.decisions.map { "in the \(what): \($0)" }
    }

    private func emit(_ step: ControlStep, _ ins: [Value], _ layouts: [Layout], _ avals: [AbstractValue]) -> [Value] {
        let slots = avals.map { _ in fresh() }
        steps.append(.control(step, inputs: ins.map(\.operand), outputs: slots))
        return zip(slots, zip(layouts, avals)).map { Value(operand: .slot($0), layout: $1.0, aval: $1.1) }
    }
}

/// A control-flow primitive of the per-device program: its bodies are
/// partitioned programs, traced to jaxprs on the local blocks' shapes when the
/// per-device program is traced (inside shardMap, so their collectives bind
/// the mesh axes).
struct ControlStep {
    /// The primitive's name (`cond`, `while`, `scan`).
    let name: String
    let bodies: [PartitionedProgram]
    /// Each body's inputs: one device's blocks.
    let bodyInAvals: [[AbstractValue]]
    /// The primitive, from its bodies' local jaxprs.
    let rebuild: ([Jaxpr]) -> Primitive

    func primitive(mesh: Mesh) -> Primitive {
        rebuild(zip(bodies, bodyInAvals).map { body, avals in traceToJaxpr(avals) { body.run($0, mesh: mesh) } })
    }
}
