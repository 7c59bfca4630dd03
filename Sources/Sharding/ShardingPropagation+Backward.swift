// Backward propagation (GSPMD's backward pass): layouts asked for by
// consumers — `withShardingConstraint`, requested output shardings, and the
// layouts they imply further up — flow back to the values that produce them.

extension ShardingPropagation {
    /// Where a layout asked for a value comes from, strongest first: a user's
    /// `withShardingConstraint` or `outShardings` outranks one propagated from
    /// a consumer (the arguments' own layouts outrank both: hints only ever
    /// cut replicated values).
    enum HintSource: Int, Comparable {
        case propagated = 0, user = 1
        static func < (a: HintSource, b: HintSource) -> Bool { a.rawValue < b.rawValue }
    }
    struct Hint {
        let layout: Layout
        let source: HintSource
        /// The constraint's spec, for the conflict message.
        let what: String
    }

    /// Per equation, the layout each operand is asked to have by the layout
    /// asked of the equation's results (nil: none). One pass in reverse
    /// program order reaches the fixpoint: a jaxpr is acyclic, so every
    /// consumer of a value is visited before it.
    ///
    /// - Throws: ``FlockError`` for a constraint that does not fit its value
    ///   or the mesh, and for two constraints on one value asking different
    ///   layouts.
    ///
    /// Arguments outrank propagated layouts (GSPMD's priorities), so a layout
    /// propagated back to a value that depends on a split argument
    /// (`splitInputs`) stops there: that value takes its layout forward from
    /// the argument. Passing it on would cut the value's replicated
    /// producers (a bias's broadcast, say) along dimensions that then meet
    /// the argument-derived layout and need an all-to-all (FSDP's gradient
    /// layouts reaching its activations). A user's constraint is not stopped.
    func backwardHints(_ jaxpr: Jaxpr, keep: [Bool], outHints: [Layout?], splitInputs: Set<Int> = []) throws -> [Int: [Layout?]] {
        var hints: [Int: Hint] = [:]
        // Values computed from a split argument.
        var fromSplit = splitInputs
        for (k, e) in jaxpr.equations.enumerated() where keep[k] {
            if e.inputs.contains(where: { if case .variable(let v) = $0 { fromSplit.contains(v.id) } else { false } }) {
                for o in e.outputs { fromSplit.insert(o.id) }
            }
        }
        func ask(_ v: Var, _ h: Hint) throws {
            guard let old = hints[v.id] else {
                hints[v.id] = h
                return
            }
            if old.source == .user && h.source == .user && old.layout != h.layout {
                throw FlockError(
                    "withShardingConstraint: conflicting constraints on one value of shape \(v.aval.shape): \(old.what) and \(h.what); "
                        + "a value has one layout, so make them agree or drop one (a later constraint on the constrained result reshards it)")
            }
            // Ties by the number of axes named, so that axes of size 1 still count.
            func score(_ l: Layout) -> (Int, Int) { (deviceCount(l), l.reduce(0) { $0 + $1.count }) }
            if h.source > old.source || (h.source == old.source && score(h.layout) > score(old.layout)) { hints[v.id] = h }
        }
        for (v, h) in zip(jaxpr.outputs, outHints) {
            if case .variable(let v) = v, let h { try ask(v, Hint(layout: h, source: .user, what: "outShardings")) }
        }
        var operandHints: [Int: [Layout?]] = [:]
        for (k, e) in jaxpr.equations.enumerated().reversed() where keep[k] {
            let inAvals = e.inputs.map(\.aval)
            if case .call(_, .shardingConstraint(let dims)) = e.primitive {
                let layout = try constraintLayout(dims, inAvals[0])
                if case .variable(let v) = e.inputs[0] {
                    try ask(v, Hint(layout: layout, source: .user, what: "withShardingConstraint(\(PartitionSpec(dimensions: dims)))"))
                }
                continue
            }
            // One result, or results of one shape (threefry's two words): the
            // strongest hint any of them has.
            guard let first = e.outputs.first, e.outputs.allSatisfy({ $0.aval.shape == first.aval.shape }),
                  let (v, hint) = e.outputs.compactMap({ o in hints[o.id].map { (o, $0) } }).max(by: { $0.1.source < $1.1.source }),
                  hint.source == .user || !fromSplit.contains(v.id),
                  let asked = operandLayouts(e.primitive, inAvals, v.aval, hint.layout)
            else { continue }
            operandHints[k] = asked
            for (a, l) in zip(e.inputs, asked) {
                if case .variable(let v) = a, let l, l.contains(where: { !$0.isEmpty }) { try ask(v, Hint(layout: l, source: .propagated, what: "")) }
            }
        }
        return operandHints
    }

    /// The operands' layouts that give `p`'s result the layout `out` with no
    /// communication (nil for an operand or a primitive with no such rule).
    func operandLayouts(_ p: Primitive, _ ins: [AbstractValue], _ aval: AbstractValue, _ out: Layout) -> [Layout?]? {
        switch p {
        case .unary, .binary, .compare, .select, .clamp, .fma, .convert, .stopGradient, .threefry2x32:
            return ins.map { $0.shape == aval.shape ? out : nil }
        case .bitcast:
            // Same-width bitcasts keep the shape (others add or drop a dimension).
            return ins[0].shape == aval.shape ? [out] : nil
        case .transpose(let perm):
            var l = replicated(perm.count)
            for (i, d) in perm.enumerated() { l[d] = out[i] }
            return [l]
        case .broadcastInDim(let shape, let dims):
            return [dims.enumerated().map { i, d in ins[0].shape[i] == shape[d] ? out[d] : [] }]
        case .reduce(_, let axes):
            var rest = out.makeIterator()
            return [(0..<ins[0].rank).map { axes.contains($0) ? [] : rest.next() ?? [] }]
        case .dotGeneral(let dn):
            let lhsFree = (0..<ins[0].rank).filter { !dn.lhsContracting.contains($0) && !dn.lhsBatch.contains($0) }
            let rhsFree = (0..<ins[1].rank).filter { !dn.rhsContracting.contains($0) && !dn.rhsBatch.contains($0) }
            var l = replicated(ins[0].rank), r = replicated(ins[1].rank)
            var o = out.makeIterator()
            for (a, b) in zip(dn.lhsBatch, dn.rhsBatch) {
                l[a] = o.next() ?? []
                r[b] = l[a]
            }
            for d in lhsFree { l[d] = o.next() ?? [] }
            for d in rhsFree { r[d] = o.next() ?? [] }
            return [l, r]
        default:
            return nil
        }
    }

    /// A constraint's layout for a value of `aval`, checked against the mesh
    /// and the value's shape.
    func constraintLayout(_ dims: [[String]], _ aval: AbstractValue) throws -> Layout {
        let spec = PartitionSpec(dimensions: dims)
        let sharding: NamedSharding
        do { sharding = try NamedSharding(mesh: mesh, spec: spec) } catch let e as FlockError {
            throw FlockError("withShardingConstraint: \(e.message) (the function's arguments live on \(mesh))")
        }
        try sharding.validate(shape: aval.shape, for: "withShardingConstraint on a value of shape \(aval.shape)")
        return spec.padded(aval.rank)
    }
}
