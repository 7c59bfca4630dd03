/// Sharding propagation (GSPMD's) over a traced global jaxpr, building the
/// per-device program.
///
/// Every value gets a layout: one list of mesh axes per dimension. Layouts
/// asked by `withShardingConstraint` and requested output shardings first
/// flow backward to the values that produce them (see `backwardHints`), and
/// cut operands that are whole on every device; then layouts flow forward
/// from the arguments, and a constraint or a requested output sharding
/// reshards to its layout. Forward rules:
///
/// | primitive | result's layout | communication |
/// |---|---|---|
/// | elementwise, compare, select, clamp, convert, `threefry2x32` | the operand split over most devices | other operands resharded to it (a replicated one is cut locally) |
/// | `broadcast_in_dim` | the operand's axes on the dimensions they map to | none |
/// | `transpose` | the operand's, permuted | none |
/// | `slice`, `pad`, `rev`, `cumsum`, `argmax`/`argmin` | the operand's | the dimensions they work along gathered |
/// | `concatenate`, `sort` | the first operand's | the joined/sorted dimension gathered, others resharded alike |
/// | `conv_general_dilated` | batch and output-feature axes | `psum` over axes splitting the input features on both sides; spatial dimensions gathered |
/// | `reshape` | the leading dimension of each run of dimensions keeps its axes, if the block stays contiguous | none (else gathered) |
/// | `reduce_sum`/`max`/`min` | the operand's, reduced dimensions dropped | `psum`/`pmax`/`pmin` over the axes splitting reduced dimensions (pending, see below) |
/// | `dot_general` | batch (lhs's), lhs free, rhs free dimensions keep their axes | `psum` over axes splitting a contracting dimension on both sides; see below |
/// | `dynamic_slice`, `dynamic_update_slice` | the operand's | dimensions not taken whole gathered |
/// | `gather` | operand's whole-slice dimensions, indices' batch dimensions | indexed dimensions gathered |
/// | `scatter` | the operand's whole-window dimensions | indexed dimensions gathered; scatter-add's updates split over the batch: `psum` (pending) |
/// | `cond`, `while`, `scan` | the operands' (carries keep their initial layout) | bodies partitioned once; a scan's scanned dimension gathered |
/// | anything else | replicated | `all_gather` of its split operands |
///
/// A contracting dimension split on one side only: either the other side is
/// cut alike (no communication) and the partial products are psummed, or the
/// split side is all-gathered — whichever moves fewer bytes per device (the
/// choice is listed in the decisions). Split differently on both sides: both
/// are gathered. An axis that would split two dimensions of a product is
/// gathered on the right operand.
///
/// Reductions over devices are pending until a consumer reads the value;
/// partial sums pass through linear operations (`add` of two, `mul` by a
/// whole value, `reshape`, `transpose`, …: see `linearOfPartials`) and are
/// reduced once, at the first consumer that is not linear; resharding partial
/// sums to a layout that splits one more dimension over the same axes is a
/// reduce-scatter.
///
/// Memory (FSDP): an argument gathered and read again after other arguments
/// were first gathered is gathered again rather than kept whole (see
/// `reshard`), and a result asked in a layout that nothing else reads is
/// laid out as soon as it is computed (a gradient's reduce-scatter right
/// after its partial sums), so a device holds 1/N of the parameters plus
/// about one layer whole.
final class ShardingPropagation {
    typealias Layout = [[String]]
    typealias Operand = PartitionedProgram.Operand

    struct Value {
        let operand: Operand
        let layout: Layout
        /// Global shape and dtype.
        let aval: AbstractValue
        /// A reduction over devices still to apply: the operand holds each
        /// device's partial result (reduced when first read, or scattered
        /// when resharded to a layout split over the same axes).
        var pending: Pending? = nil
        /// Known to be all zeros (a broadcast zero, as the operand of the
        /// scatter-add a gather's gradient is), so that a partial sum into it
        /// needs no masking.
        var zero = false
    }
    struct Pending {
        /// `psum`, `pmax` or `pmin`.
        let reduction: Primitive
        let consumer: String
        let reason: String
    }

    let mesh: Mesh
    var steps: [PartitionedProgram.Step] = []
    var collectives: [InsertedCollective] = []
    var decisions: [String] = []
    var nextSlot = 0
    struct ReshardKey: Hashable {
        let slot: Int
        let layout: Layout
    }
    var resharded: [ReshardKey: Value] = [:]
    /// Values that are a program argument moved only by `transpose`,
    /// `reshape` or `convert`: by slot, the argument's slot.
    var argumentOf: [Int: Int] = [:]
    /// How many arguments were gathered so far (first gathers only, not
    /// gathers again): the clock by which a gathered argument is judged
    /// stale (see `reshard`).
    var argumentGathers = 0
    /// For each gather of an argument in `resharded`: `argumentGathers` when
    /// it was last read (`Int.max`: not read yet, as after a sharding
    /// constraint, which lays out and does not read).
    var lastRead: [ReshardKey: Int] = [:]
    /// Gathered arguments (by the gathered value's slot): the argument-derived
    /// value gathered, so that a read after other arguments were gathered
    /// gathers it again (see `walk`).
    var gatheredFrom: [Int: Value] = [:]
    /// Broadcasts by their result's slot: the operand and the dimensions it
    /// maps to, so that cutting the result along a broadcast dimension
    /// broadcasts the operand to the block instead (no whole result, no slice).
    var broadcastOrigins: [Int: (operand: Value, dims: [Int])] = [:]
    /// Pending reductions already applied, by the partial result's slot.
    var reduced: [Int: Value] = [:]

    init(mesh: Mesh) { self.mesh = mesh }

    /// The per-device program of `jaxpr` for arguments laid out by `inLayouts`;
    /// results laid out by `outLayouts` where given, as propagated otherwise.
    static func partition(_ jaxpr: Jaxpr, mesh: Mesh, inLayouts: [Layout], outLayouts: [Layout?]) throws -> PartitionedProgram {
        let p = ShardingPropagation(mesh: mesh)
        let inputs = zip(jaxpr.inputAvals, inLayouts).map { aval, layout in
            let slot = p.fresh()
            p.argumentOf[slot] = slot
            return Value(operand: .slot(slot), layout: layout, aval: aval)
        }
        var outs = try p.walk(jaxpr, inputs, outHints: outLayouts)
        for (j, target) in outLayouts.enumerated() {
            guard let target else { continue }
            outs[j] = p.reshard(outs[j], to: target, consumer: "output", reason: "result \(j) laid out as outShardings[\(j)] asks")
        }
        outs = outs.map(p.materialize)
        return PartitionedProgram(
            inputSlots: inputs.map { if case .slot(let s) = $0.operand { s } else { -1 } }, steps: p.steps,
            outputs: outs.map(\.operand), outSpecs: outs.map(\.layout), collectives: p.collectives, decisions: p.decisions)
    }

    func fresh() -> Int {
        defer { nextSlot += 1 }
        return nextSlot
    }

    // MARK: - Layout arithmetic

    func size(_ axes: [String]) -> Int { axes.reduce(1) { $0 * ((try? mesh.axisSize($1)) ?? 1) } }
    func replicated(_ rank: Int) -> Layout { Layout(repeating: [], count: rank) }
    func localShape(_ shape: [Int], _ layout: Layout) -> [Int] { zip(shape, layout).map { $0 / size($1) } }
    func localAval(_ aval: AbstractValue, _ layout: Layout) -> AbstractValue {
        AbstractValue(shape: localShape(aval.shape, layout), dtype: aval.dtype, weakType: aval.weakType)
    }
    func localBytes(_ aval: AbstractValue, _ layout: Layout) -> Int {
        localShape(aval.shape, layout).reduce(1, *) * aval.dtype.byteSize
    }
    func deviceCount(_ layout: Layout) -> Int { layout.reduce(1) { $0 * size($1) } }

    // MARK: - Emitting

    func apply(_ p: Primitive, _ ins: [Value], _ layouts: [Layout], _ avals: [AbstractValue]) -> [Value] {
        let slots = avals.map { _ in fresh() }
        steps.append(.apply(p, inputs: ins.map(\.operand), outputs: slots))
        switch p {
        case .transpose, .reshape, .convert:
            if case .slot(let s) = ins[0].operand, let argument = argumentOf[s] { argumentOf[slots[0]] = argument }
        default: break
        }
        return zip(slots, zip(layouts, avals)).map { Value(operand: .slot($0), layout: $1.0, aval: $1.1) }
    }

    /// `x` laid out by `target` (recording the collectives the move needs).
    func reshard(_ x: Value, to target: Layout, consumer: String, reason: String) -> Value {
        if x.layout == target { return x }
        // A value resharded once serves every later consumer of that layout,
        // except an argument read again after other arguments were first
        // gathered: that is gathered again (FSDP: a parameter is whole around
        // its forward use and again around its backward use, so that a device
        // holds 1/N of the model plus a layer, not the whole model between
        // the passes). The compiler's CSE never merges all-gathers, so the
        // earlier copy is freed after its last reader.
        var again = false
        if case .slot(let source) = x.operand, let done = resharded[ReshardKey(slot: source, layout: target)] {
            let key = ReshardKey(slot: source, layout: target)
            guard let last = lastRead[key], last != .max, last < argumentGathers, let argument = argumentOf[source] else {
                if lastRead[key] != nil { lastRead[key] = argumentGathers }
                return done
            }
            again = true
            decisions.append(
                "\(consumer): argument \(argument) (\(localAval(x.aval, x.layout)) per device) all-gathered again rather than "
                    + "kept whole since its last use (\(argumentGathers - last) other arguments were gathered in between)")
        }
        let changed = x.layout.indices.filter { x.layout[$0] != target[$0] }
        if x.pending == nil, case .slot(let source) = x.operand, let origin = broadcastOrigins[source],
           changed.allSatisfy({ x.layout[$0].isEmpty }) {
            // Only cuts of a broadcast: each device broadcasts its block of
            // the operand (cut along the dimensions it maps to, itself
            // through this rule when it is a broadcast too) to its block of
            // the result, as a bias meets a batch-split activation — never
            // the whole result and a slice of it.
            var operandTarget = origin.operand.layout
            for (i, d) in origin.dims.enumerated() where origin.operand.aval.shape[i] == x.aval.shape[d] { operandTarget[i] = target[d] }
            let operand = reshard(origin.operand, to: operandTarget, consumer: consumer, reason: reason)
            let local = Primitive.broadcastInDim(shape: localShape(x.aval.shape, target), broadcastDimensions: origin.dims)
            var y = apply(local, [operand], [target], [x.aval])[0]
            y.zero = x.zero
            resharded[ReshardKey(slot: source, layout: target)] = y
            return y
        }
        if let pending = x.pending, case .slot(let source) = x.operand {
            // Partial sums wanted split over their own axes along one more
            // dimension: a reduce-scatter (each device receives only its block).
            if case .psum(let axes) = pending.reduction, changed.count == 1, x.layout[changed[0]].isEmpty, target[changed[0]] == axes {
                record(Primitive.psumScatter(axes: axes, scatterDimension: 0, tiled: true).name, axes, localAval(x.aval, x.layout),
                       pending.consumer, pending.reason + ", scattered along dimension \(changed[0]) for \(consumer)")
                let y = apply(.psumScatter(axes: axes, scatterDimension: changed[0], tiled: true), [x], [target], [x.aval])[0]
                resharded[ReshardKey(slot: source, layout: target)] = y
                return y
            }
            return reshard(materialize(x), to: target, consumer: consumer, reason: reason)
        }
        let slot = fresh()
        defer {
            if case .slot(let source) = x.operand {
                let key = ReshardKey(slot: source, layout: target)
                resharded[key] = Value(operand: .slot(slot), layout: target, aval: x.aval)
                if argumentOf[source] != nil, target.joined().count < x.layout.joined().count {
                    if !again { argumentGathers += 1 }
                    lastRead[key] = argumentGathers
                    gatheredFrom[slot] = x
                }
            }
        }
        steps.append(.reshard(x.operand, output: slot, from: x.layout, to: target, shape: x.aval.shape))
        // What Resharding.body does: one all-to-all for one set of axes moving
        // between dimensions, otherwise gathers of the changed dimensions
        // (cutting new blocks is local).
        let from = x.layout
        if changed.count == 2 {
            let (a, b) = (changed[0], changed[1])
            for (i, j) in [(a, b), (b, a)] where from[j].isEmpty && target[i].isEmpty && from[i] == target[j] {
                record("all_to_all", from[i], localAval(x.aval, from), consumer, reason)
                return Value(operand: .slot(slot), layout: target, aval: x.aval)
            }
        }
        var layout = from
        for d in changed where !from[d].isEmpty {
            record("all_gather", from[d], localAval(x.aval, layout), consumer, reason)
            layout[d] = []
        }
        return Value(operand: .slot(slot), layout: target, aval: x.aval)
    }

    /// `x` (a partial result on each device) to be reduced by `p` (`psum`,
    /// `pmax`, `pmin`) when read: a result nothing reads costs nothing, and
    /// one resharded over the same axes becomes a reduce-scatter.
    func allReduce(_ p: Primitive, _ x: Value, consumer: String, reason: String) -> Value {
        var y = x
        y.pending = Pending(reduction: p, consumer: consumer, reason: reason)
        return y
    }

    /// `x` with its pending reduction applied (once per value).
    func materialize(_ x: Value) -> Value {
        guard let pending = x.pending, case .slot(let source) = x.operand else { return x }
        if let done = reduced[source] { return done }
        let p = pending.reduction
        record(p.name, p.collectiveAxes ?? [], localAval(x.aval, x.layout), pending.consumer, pending.reason)
        var partial = x
        partial.pending = nil
        let y = apply(p, [partial], [x.layout], [x.aval])[0]
        reduced[source] = y
        return y
    }

    func record(_ name: String, _ axes: [String], _ operand: AbstractValue, _ consumer: String, _ reason: String) {
        collectives.append(InsertedCollective(name: name, axes: axes, operand: operand, consumer: consumer, reason: reason))
    }

    // MARK: - Propagation

    func walk(_ jaxpr: Jaxpr, _ inputs: [Value], outHints: [Layout?] = []) throws -> [Value] {
        var env: [Int: Value] = [:]
        for (v, c) in zip(jaxpr.constVars, jaxpr.consts) {
            env[v.id] = Value(operand: .constant(c), layout: replicated(c.rank), aval: v.aval)
        }
        for (v, x) in zip(jaxpr.inputs, inputs) { env[v.id] = x }
        func read(_ a: Atom) -> Value {
            switch a {
            case .variable(let v): return env[v.id]!
            case .literal(let l): return Value(operand: .constant(l.tensor), layout: replicated(l.tensor.rank), aval: l.tensor.aval)
            }
        }
        // Dead equations (tracing leaves some, e.g. a loss only grad reads)
        // must not cost collectives.
        var live = Set(jaxpr.outputs.compactMap { if case .variable(let v) = $0 { v.id } else { nil } })
        var keep = [Bool](repeating: false, count: jaxpr.equations.count)
        for (k, e) in jaxpr.equations.enumerated().reversed() where e.outputs.contains(where: { live.contains($0.id) }) {
            keep[k] = true
            for case .variable(let v) in e.inputs { live.insert(v.id) }
        }
        let splitInputs = Set(zip(jaxpr.inputs, inputs).compactMap { v, x in
            x.pending != nil || x.layout.contains(where: { !$0.isEmpty }) ? v.id : nil
        })
        // How many equations (or results) read each value: a partial sum is
        // carried through a linear reader only if it has no other.
        var readers: [Int: Int] = [:]
        for (k, e) in jaxpr.equations.enumerated() where keep[k] {
            for id in Set(e.inputs.compactMap({ if case .variable(let v) = $0 { v.id } else { nil } })) { readers[id, default: 0] += 1 }
        }
        var resultIndex: [Int: Int] = [:]
        for (j, a) in jaxpr.outputs.enumerated() {
            guard case .variable(let v) = a else { continue }
            readers[v.id, default: 0] += 1
            if resultIndex[v.id] == nil { resultIndex[v.id] = j }
        }
        let asked = try backwardHints(jaxpr, keep: keep, outHints: outHints, splitInputs: splitInputs)
        for (k, e) in jaxpr.equations.enumerated() where keep[k] {
            // A gathered argument (an FSDP parameter gathered by a sharding
            // constraint, say) read after other arguments were gathered is
            // gathered again, as for a reshard (see `reshard`): its forward
            // copy is not kept for the backward pass.
            var ins = e.inputs.map(read).map { x in
                guard case .slot(let s) = x.operand, let source = gatheredFrom[s] else { return x }
                return reshard(source, to: x.layout, consumer: e.primitive.name, reason: "a parameter gathered again for a later use")
            }
            // Backward propagation: where every operand is whole on each
            // device, cutting them as the result's consumers ask is free and
            // saves the work (and memory) of computing the whole result.
            if let asked = asked[k], ins.allSatisfy({ $0.pending == nil && $0.layout.allSatisfy(\.isEmpty) }) {
                for (i, l) in asked.enumerated() {
                    guard let l, l.contains(where: { !$0.isEmpty }) else { continue }
                    ins[i] = reshard(ins[i], to: l, consumer: e.primitive.name, reason: "laid out as its consumers ask (backward propagation)")
                }
            }
            let readOnce = e.inputs.map { if case .variable(let v) = $0 { readers[v.id] == 1 } else { true } }
            let outs = try equation(e, ins, readOnce: readOnce)
            for (v, x) in zip(e.outputs, outs) {
                env[v.id] = x
                // A result asked in a layout that nothing else reads is laid
                // out at once, not after the whole program: a gradient's
                // reduce-scatter then runs as soon as its partial sums are
                // complete, and the whole partial sums are freed (FSDP holds
                // one layer's, not the model's).
                if let j = resultIndex[v.id], readers[v.id] == 1, j < outHints.count, let target = outHints[j] {
                    env[v.id] = reshard(x, to: target, consumer: "output", reason: "result \(j) laid out as outShardings[\(j)] asks")
                }
            }
        }
        return jaxpr.outputs.map(read)
    }

    func equation(_ e: Equation, _ pendingIns: [Value], readOnce: [Bool]) throws -> [Value] {
        let p = e.primitive, avals = e.outputs.map(\.aval)
        if case .call(_, .shardingConstraint(let dims)) = p { return [try constrain(pendingIns[0], dims)] }
        if let y = linearOfPartials(p, pendingIns, readOnce: readOnce, avals) { return y }
        let ins = pendingIns.map(materialize)
        switch p {
        case .unary, .binary, .compare, .select, .clamp, .fma, .convert, .bitcast, .stopGradient:
            return elementwise(p, ins, avals[0])
        case .debugCallback:
            // Each device's callback sees its own block of a sharded operand.
            return apply(p, ins, [], [])
        case .broadcastInDim(let shape, let dims):
            let x = ins[0]
            var layout = replicated(shape.count)
            for (i, d) in dims.enumerated() where x.aval.shape[i] == shape[d] { layout[d] = x.layout[i] }
            // A size-1 dimension that is broadcast is 1 on every device (its axes have size 1).
            let local = Primitive.broadcastInDim(shape: localShape(shape, layout), broadcastDimensions: dims)
            var y = apply(local, [x], [layout], avals)
            if case .constant(let t) = x.operand, t.rank == 0, t.item() == 0 { y[0].zero = true }
            if x.pending == nil, case .slot(let s) = y[0].operand { broadcastOrigins[s] = (x, dims) }
            return y
        case .reshape(let shape):
            if let layout = reshapeLayout(ins[0], shape) {
                return apply(.reshape(localShape(shape, layout)), ins, [layout], avals)
            }
            return fallback(p, ins, avals)
        case .transpose(let perm):
            return apply(p, ins, [perm.map { ins[0].layout[$0] }], avals)
        case .reduce(let op, let axes):
            return [reduce(op, axes, ins[0], avals[0])]
        case .dotGeneral(let dn):
            return [dot(dn, ins[0], ins[1], avals[0])]
        case .call(let body, _):
            return try walk(body, ins)
        case .customJVP(let body, _), .customVJP(let body, _), .checkpoint(let body):
            return try walk(body, ins)
        case .psum, .pmax, .pmin, .allGather, .psumScatter, .ppermute, .allToAll, .axisIndex, .pbroadcast:
            throw FlockError(
                "jit over sharded arrays: the function calls \(p.name) over \(p.collectiveAxes ?? []); collectives over mesh axes "
                    + "belong in shardMap (here the compiler inserts them), so remove it or wrap that part in shardMap")
        case .slice(let start, let limit, let strides):
            let x = whole(ins[0], ins[0].aval.shape.indices.filter {
                start[$0] != 0 || limit[$0] != ins[0].aval.shape[$0] || strides[$0] != 1
            }, for: p)
            let local = localShape(x.aval.shape, x.layout)
            let kept = x.layout.indices.map { !x.layout[$0].isEmpty }
            let q = Primitive.slice(start: start.indices.map { kept[$0] ? 0 : start[$0] },
                                    limit: limit.indices.map { kept[$0] ? local[$0] : limit[$0] },
                                    strides: strides.indices.map { kept[$0] ? 1 : strides[$0] })
            return apply(q, [x], [x.layout], avals)
        case .pad(let low, let high, let interior):
            let x = whole(ins[0], low.indices.filter { low[$0] != 0 || high[$0] != 0 || interior[$0] != 0 }, for: p)
            return apply(p, [x, ins[1]], [x.layout], avals)
        case .reverse(let axes):
            let x = whole(ins[0], axes, for: p)
            return apply(p, [x], [x.layout], avals)
        case .cumsum(let axis, _):
            let x = whole(ins[0], [axis], for: p)
            return apply(p, [x], [x.layout], avals)
        case .argReduce(_, let axis):
            let x = whole(ins[0], [axis], for: p)
            return apply(p, [x], [x.layout.indices.filter { $0 != axis }.map { x.layout[$0] }], avals)
        case .concatenate(let axis), .sort(let axis, _):
            // Every operand laid out as the first, the joined or sorted dimension whole.
            let first = whole(ins[0], [axis], for: p)
            let operands = ins.map { reshard($0, to: first.layout, consumer: p.name, reason: "operands of \(p.name) laid out alike") }
            return apply(p, operands, avals.map { _ in first.layout }, avals)
        case .convolution(let params):
            return [convolution(params, ins[0], ins[1], avals[0])]
        case .dynamicSlice(let sizes):
            return dynamicSlice(sizes, ins, avals[0])
        case .dynamicUpdateSlice:
            return dynamicUpdateSlice(ins, avals[0])
        case .gather:
            return gather(p, ins, avals[0]) ?? fallback(p, ins, avals)
        case .scatter:
            return scatter(p, ins, avals[0]) ?? fallback(p, ins, avals)
        case .cond, .whileLoop, .scan:
            return try controlFlow(p, ins, avals) ?? fallback(p, ins, avals)
        case .threefry2x32:
            // Elementwise over its counters (the keys may be scalars): each
            // device hashes its block's counters, so the bits do not depend on
            // the layout.
            return elementwise(p, ins, avals)
        case .iota, .reduceWindow, .selectAndScatterAdd,
            .selectAndGatherAdd, .customVJPLinear:
            return fallback(p, ins, avals)
        }
    }

    /// No rule (yet): computed on whole arrays, which is always correct.
    func fallback(_ p: Primitive, _ ins: [Value], _ avals: [AbstractValue]) -> [Value] {
        let whole = ins.map {
            reshard($0, to: replicated($0.aval.rank), consumer: p.name, reason: "\(p.name) has no sharding rule here: computed replicated")
        }
        return apply(p, whole, avals.map { replicated($0.rank) }, avals)
    }
}
