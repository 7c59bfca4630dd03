/// One collective that jit over sharded arrays inserted into the per-device
/// program (see ``ShardedLoweredFunction/partitionReport``).
public struct InsertedCollective: Hashable, Sendable, CustomStringConvertible {
    /// JAX's name of the collective: `all_gather`, `all_to_all`, `psum`, `pmax` or `pmin`.
    public let name: String
    /// The mesh axes it runs over.
    public let axes: [String]
    /// Shape and dtype of one device's operand.
    public let operand: AbstractValue
    /// The traced primitive it serves (`dot_general`, `reduce_sum`, …), or
    /// `output` for a requested output sharding.
    public let consumer: String
    /// Why it is there.
    public let reason: String

    /// Size of one device's operand in bytes.
    public var bytes: Int { operand.count * operand.dtype.byteSize }

    /// One line: name, axes, operand, bytes, consumer and reason.
    public var description: String {
        "\(name) over \(axes) of \(operand) (\(bytes) B per device) for \(consumer): \(reason)"
    }
}

/// The per-device program of a function jitted over sharded arrays: the traced
/// global program's equations on local blocks, with resharding steps and
/// collectives where the propagated layouts need them.
struct PartitionedProgram {
    enum Operand {
        case slot(Int)
        /// A literal or captured constant: the same full value on every device.
        case constant(Tensor)
    }
    enum Step {
        /// `outputs = primitive(inputs)` on local blocks.
        case apply(Primitive, inputs: [Operand], outputs: [Int])
        /// The local block of a value of global `shape` laid out by `from`, laid out by `to` instead.
        case reshard(Operand, output: Int, from: [[String]], to: [[String]], shape: [Int])
    }

    let inputSlots: [Int]
    let steps: [Step]
    let outputs: [Operand]
    /// The results' layouts (one axis list per dimension).
    let outSpecs: [[[String]]]
    let collectives: [InsertedCollective]
    /// The choices between gathering and reducing, in words.
    let decisions: [String]

    /// Runs the program on one device's blocks (under shardMap, so the mesh
    /// axis names are bound to the device's communicators).
    func run(_ inputs: [Tensor], mesh: Mesh) -> [Tensor] {
        var env: [Int: Tensor] = [:]
        for (slot, x) in zip(inputSlots, inputs) { env[slot] = x }
        func read(_ o: Operand) -> Tensor {
            switch o {
            case .slot(let s): env[s]!
            case .constant(let t): t
            }
        }
        for step in steps {
            switch step {
            case .apply(let p, let ins, let outs):
                for (s, y) in zip(outs, bind(p, ins.map(read))) { env[s] = y }
            case .reshard(let x, let out, let from, let to, let shape):
                env[out] = Resharding.body(from: from, to: to, shape: shape, mesh: mesh)(read(x))
            }
        }
        return outputs.map(read)
    }
}

/// Sharding propagation (GSPMD's, forward only) over a traced global jaxpr,
/// building the per-device program.
///
/// Every value gets a layout: one list of mesh axes per dimension. Layouts
/// flow forward from the arguments; a `withShardingConstraint` or a requested
/// output sharding reshards to its layout. Rules:
///
/// | primitive | result's layout | communication |
/// |---|---|---|
/// | elementwise, compare, select, clamp, convert | the operand split over most devices | other operands resharded to it (a replicated one is cut locally) |
/// | `broadcast_in_dim` | the operand's axes on the dimensions they map to | none |
/// | `transpose` | the operand's, permuted | none |
/// | `slice`, `pad`, `rev`, `cumsum`, `argmax`/`argmin` | the operand's | the dimensions they work along gathered |
/// | `concatenate`, `sort` | the first operand's | the joined/sorted dimension gathered, others resharded alike |
/// | `conv_general_dilated` | batch and output-feature axes | `psum` over axes splitting the input features on both sides; spatial dimensions gathered |
/// | `reshape` | the leading dimension of each run of dimensions keeps its axes, if the block stays contiguous | none (else gathered) |
/// | `reduce_sum`/`max`/`min` | the operand's, reduced dimensions dropped | `psum`/`pmax`/`pmin` over the axes splitting reduced dimensions (pending, see below) |
/// | `dot_general` | batch (lhs's), lhs free, rhs free dimensions keep their axes | `psum` over axes splitting a contracting dimension on both sides; see below |
/// | anything else | replicated | `all_gather` of its split operands |
///
/// A contracting dimension split on one side only: either the other side is
/// cut alike (no communication) and the partial products are psummed, or the
/// split side is all-gathered — whichever moves fewer bytes per device (the
/// choice is listed in the decisions). Split differently on both sides: both
/// are gathered. An axis that would split two dimensions of a product is
/// gathered on the right operand.
///
/// Reductions over devices are pending until a consumer reads the value
/// (`transpose` passes them through); resharding partial sums to a layout
/// that splits one more dimension over the same axes is a reduce-scatter.
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
    }
    struct Pending {
        /// `psum`, `pmax` or `pmin`.
        let reduction: Primitive
        let consumer: String
        let reason: String
    }

    let mesh: Mesh
    private var steps: [PartitionedProgram.Step] = []
    private var collectives: [InsertedCollective] = []
    private var decisions: [String] = []
    private var nextSlot = 0
    private struct ReshardKey: Hashable {
        let slot: Int
        let layout: Layout
    }
    private var resharded: [ReshardKey: Value] = [:]
    /// Pending reductions already applied, by the partial result's slot.
    private var reduced: [Int: Value] = [:]

    init(mesh: Mesh) { self.mesh = mesh }

    /// The per-device program of `jaxpr` for arguments laid out by `inLayouts`;
    /// results laid out by `outLayouts` where given, as propagated otherwise.
    static func partition(_ jaxpr: Jaxpr, mesh: Mesh, inLayouts: [Layout], outLayouts: [Layout?]) throws -> PartitionedProgram {
        let p = ShardingPropagation(mesh: mesh)
        let inputs = zip(jaxpr.inputAvals, inLayouts).map { aval, layout in
            Value(operand: .slot(p.fresh()), layout: layout, aval: aval)
        }
        var outs = try p.walk(jaxpr, inputs)
        for (j, target) in outLayouts.enumerated() {
            guard let target else { continue }
            outs[j] = p.reshard(outs[j], to: target, consumer: "output", reason: "result \(j) laid out as outShardings[\(j)] asks")
        }
        outs = outs.map(p.materialize)
        return PartitionedProgram(
            inputSlots: inputs.map { if case .slot(let s) = $0.operand { s } else { -1 } }, steps: p.steps,
            outputs: outs.map(\.operand), outSpecs: outs.map(\.layout), collectives: p.collectives, decisions: p.decisions)
    }

    private func fresh() -> Int {
        defer { nextSlot += 1 }
        return nextSlot
    }

    // MARK: - Layout arithmetic

    private func size(_ axes: [String]) -> Int { axes.reduce(1) { $0 * ((try? mesh.axisSize($1)) ?? 1) } }
    private func replicated(_ rank: Int) -> Layout { Layout(repeating: [], count: rank) }
    private func localShape(_ shape: [Int], _ layout: Layout) -> [Int] { zip(shape, layout).map { $0 / size($1) } }
    private func localAval(_ aval: AbstractValue, _ layout: Layout) -> AbstractValue {
        AbstractValue(shape: localShape(aval.shape, layout), dtype: aval.dtype, weakType: aval.weakType)
    }
    private func localBytes(_ aval: AbstractValue, _ layout: Layout) -> Int {
        localShape(aval.shape, layout).reduce(1, *) * aval.dtype.byteSize
    }
    private func deviceCount(_ layout: Layout) -> Int { layout.reduce(1) { $0 * size($1) } }

    // MARK: - Emitting

    private func apply(_ p: Primitive, _ ins: [Value], _ layouts: [Layout], _ avals: [AbstractValue]) -> [Value] {
        let slots = avals.map { _ in fresh() }
        steps.append(.apply(p, inputs: ins.map(\.operand), outputs: slots))
        return zip(slots, zip(layouts, avals)).map { Value(operand: .slot($0), layout: $1.0, aval: $1.1) }
    }

    /// `x` laid out by `target` (recording the collectives the move needs).
    func reshard(_ x: Value, to target: Layout, consumer: String, reason: String) -> Value {
        if x.layout == target { return x }
        // A value resharded once serves every later consumer of that layout.
        if case .slot(let source) = x.operand, let done = resharded[ReshardKey(slot: source, layout: target)] { return done }
        let changed = x.layout.indices.filter { x.layout[$0] != target[$0] }
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
                resharded[ReshardKey(slot: source, layout: target)] = Value(operand: .slot(slot), layout: target, aval: x.aval)
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
    private func allReduce(_ p: Primitive, _ x: Value, consumer: String, reason: String) -> Value {
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

    private func record(_ name: String, _ axes: [String], _ operand: AbstractValue, _ consumer: String, _ reason: String) {
        collectives.append(InsertedCollective(name: name, axes: axes, operand: operand, consumer: consumer, reason: reason))
    }

    // MARK: - Propagation

    private func walk(_ jaxpr: Jaxpr, _ inputs: [Value]) throws -> [Value] {
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
        for (k, e) in jaxpr.equations.enumerated() where keep[k] {
            let outs = try equation(e, e.inputs.map(read))
            for (v, x) in zip(e.outputs, outs) { env[v.id] = x }
        }
        return jaxpr.outputs.map(read)
    }

    private func equation(_ e: Equation, _ pendingIns: [Value]) throws -> [Value] {
        let p = e.primitive, avals = e.outputs.map(\.aval)
        if case .call(_, .shardingConstraint(let dims)) = p { return [try constrain(pendingIns[0], dims)] }
        if case .transpose(let perm) = p, let pending = pendingIns[0].pending {
            // Linear and local: the partial results are transposed, reduced later.
            var y = apply(p, pendingIns, [perm.map { pendingIns[0].layout[$0] }], avals)[0]
            y.pending = pending
            return [y]
        }
        let ins = pendingIns.map(materialize)
        switch p {
        case .unary, .binary, .compare, .select, .clamp, .convert, .bitcast, .stopGradient:
            return elementwise(p, ins, avals[0])
        case .broadcastInDim(let shape, let dims):
            let x = ins[0]
            var layout = replicated(shape.count)
            for (i, d) in dims.enumerated() where x.aval.shape[i] == shape[d] { layout[d] = x.layout[i] }
            // A size-1 dimension that is broadcast is 1 on every device (its axes have size 1).
            let local = Primitive.broadcastInDim(shape: localShape(shape, layout), broadcastDimensions: dims)
            return apply(local, [x], [layout], avals)
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
        case .dynamicSlice, .dynamicUpdateSlice, .gather, .scatter, .iota, .reduceWindow, .selectAndScatterAdd,
            .selectAndGatherAdd, .threefry2x32, .cond, .whileLoop, .scan, .customVJPLinear:
            return fallback(p, ins, avals)
        }
    }

    /// No rule (yet): computed on whole arrays, which is always correct.
    private func fallback(_ p: Primitive, _ ins: [Value], _ avals: [AbstractValue]) -> [Value] {
        let whole = ins.map {
            reshard($0, to: replicated($0.aval.rank), consumer: p.name, reason: "\(p.name) has no sharding rule here: computed replicated")
        }
        return apply(p, whole, avals.map { replicated($0.rank) }, avals)
    }

    /// `x` with dimensions `dims` gathered whole (the others keep their axes).
    private func whole(_ x: Value, _ dims: [Int], for p: Primitive) -> Value {
        var layout = x.layout
        for d in dims { layout[d] = [] }
        return reshard(x, to: layout, consumer: p.name, reason: "\(p.name) needs dimensions \(dims) whole")
    }

    /// `lhs` [N, C, spatial…] ⊛ `rhs` [O, I, spatial…] → [N, O, spatial…]: the
    /// batch N and output features O keep their axes; input features split
    /// alike on C and I give partial sums (psum); spatial dimensions (and,
    /// with feature groups, the feature dimensions) are gathered.
    private func convolution(_ params: ConvolutionParameters, _ lhs: Value, _ rhs: Value, _ aval: AbstractValue) -> Value {
        var l = lhs.layout, r = rhs.layout
        for d in 2..<l.count {
            l[d] = []
            r[d] = []
        }
        var partial: [String] = []
        if params.featureGroupCount != 1 {
            (l[1], r[0], r[1]) = ([], [], [])
        } else if l[1] == r[1] {
            partial = l[1]
        } else {
            if !l[1].isEmpty || !r[1].isEmpty {
                decisions.append("conv_general_dilated: input features split over \(l[1]) on the left and \(r[1]) on the right: both all-gathered")
            }
            (l[1], r[1]) = ([], [])
        }
        if !Set(r[0]).isDisjoint(with: l[0] + partial) {
            decisions.append("conv_general_dilated: output features split over \(r[0]), an axis the batch or the partial sums use: all-gathered")
            r[0] = []
        }
        let a = reshard(lhs, to: l, consumer: "conv_general_dilated", reason: "left operand laid out for the convolution")
        let b = reshard(rhs, to: r, consumer: "conv_general_dilated", reason: "right operand laid out for the convolution")
        let y = apply(.convolution(params), [a, b], [[l[0], r[0]] + replicated(aval.rank - 2)], [aval])[0]
        if partial.isEmpty { return y }
        return allReduce(.psum(axes: partial), y, consumer: "conv_general_dilated",
                         reason: "partial sums of input features split over \(partial)")
    }

    /// The layout of `x` reshaped to `shape` when every device's block stays
    /// one block: dimensions are grouped into runs of equal product, and in
    /// each run only the leading dimension may be split, over axes whose size
    /// divides the run's leading result dimension (a split block of a
    /// row-major run is contiguous). Nil otherwise.
    private func reshapeLayout(_ x: Value, _ shape: [Int]) -> Layout? {
        let from = x.aval.shape
        guard !from.contains(0), !shape.contains(0) else { return nil }
        var layout = replicated(shape.count)
        var i = 0, j = 0
        while i < from.count && j < shape.count {
            var (pi, pj, ie, je) = (from[i], shape[j], i + 1, j + 1)
            while pi != pj {
                if pi < pj {
                    guard ie < from.count else { return nil }
                    pi *= from[ie]
                    ie += 1
                } else {
                    guard je < shape.count else { return nil }
                    pj *= shape[je]
                    je += 1
                }
            }
            guard (i + 1..<ie).allSatisfy({ x.layout[$0].isEmpty }) else { return nil }
            guard shape[j] % size(x.layout[i]) == 0 else { return nil }
            layout[j] = x.layout[i]
            (i, j) = (ie, je)
        }
        // Trailing size-1 dimensions on either side.
        guard (i..<from.count).allSatisfy({ x.layout[$0].isEmpty }) else { return nil }
        return layout
    }

    /// Operands of the output's rank take the layout of the one split over
    /// most devices (the first of those): cutting a replicated operand costs
    /// nothing, gathering a split one costs bytes.
    private func elementwise(_ p: Primitive, _ ins: [Value], _ aval: AbstractValue) -> [Value] {
        // Ties by the number of axes named, so that axes of size 1 still count.
        func score(_ l: Layout) -> (Int, Int) { (deviceCount(l), l.reduce(0) { $0 + $1.count }) }
        var target = replicated(aval.rank)
        for x in ins where x.aval.rank == aval.rank && score(x.layout) > score(target) { target = x.layout }
        let operands = ins.map {
            $0.aval.rank == aval.rank
                ? reshard($0, to: target, consumer: p.name, reason: "operands of \(p.name) laid out alike") : $0
        }
        return apply(p, operands, [target], [aval])
    }

    private func reduce(_ op: ReduceOp, _ axes: [Int], _ x: Value, _ aval: AbstractValue) -> Value {
        let split = axes.flatMap { x.layout[$0] }
        var input = x
        var combine: Primitive? = nil
        if !split.isEmpty {
            switch op {
            case .sum: combine = .psum(axes: split)
            case .max: combine = .pmax(axes: split)
            case .min: combine = .pmin(axes: split)
            case .prod, .and, .or:
                var whole = x.layout
                for a in axes { whole[a] = [] }
                input = reshard(x, to: whole, consumer: "reduce_\(op.rawValue)",
                                reason: "reduce_\(op.rawValue) over split dimensions: gathered (no partial-result collective for it)")
            }
        }
        let layout = x.layout.indices.filter { !axes.contains($0) }.map { input.layout[$0] }
        let y = apply(.reduce(op, axes: axes), [input], [layout], [aval])[0]
        guard let combine else { return y }
        return allReduce(combine, y, consumer: "reduce_\(op.rawValue)",
                         reason: "partial results of reduced dimensions split over \(split)")
    }

    private func dot(_ dn: DotDimensionNumbers, _ lhs: Value, _ rhs: Value, _ aval: AbstractValue) -> Value {
        var l = lhs.layout, r = rhs.layout
        let lhsFree = l.indices.filter { !dn.lhsContracting.contains($0) && !dn.lhsBatch.contains($0) }
        let rhsFree = r.indices.filter { !dn.rhsContracting.contains($0) && !dn.rhsBatch.contains($0) }
        // Batch dimensions: the right operand follows the left.
        for (a, b) in zip(dn.lhsBatch, dn.rhsBatch) { r[b] = l[a] }
        // Bytes of one device's result for the layouts chosen so far.
        func outputBytes() -> Int {
            let dims = dn.lhsBatch.map { (lhs.aval.shape[$0], l[$0]) } + lhsFree.map { (lhs.aval.shape[$0], l[$0]) }
                + rhsFree.map { (rhs.aval.shape[$0], r[$0]) }
            return dims.reduce(aval.dtype.byteSize) { $0 * ($1.0 / size($1.1)) }
        }
        var partial: [String] = []
        for (a, b) in zip(dn.lhsContracting, dn.rhsContracting) {
            let (la, rb) = (l[a], r[b])
            if la == rb {
                partial += la
            } else if la.isEmpty || rb.isEmpty {
                let leftSplit = !la.isEmpty, axes = leftSplit ? la : rb
                var gathered = leftSplit ? l : r
                gathered[leftSplit ? a : b] = []
                let gatherBytes = localBytes(leftSplit ? lhs.aval : rhs.aval, gathered)
                let reduceBytes = outputBytes()
                let otherFree = Set((leftSplit ? r : l).flatMap { $0 }).isDisjoint(with: axes)
                if otherFree && reduceBytes < gatherBytes {
                    if leftSplit { r[b] = axes } else { l[a] = axes }
                    partial += axes
                    decisions.append(
                        "dot_general: contracting dimension split over \(axes) on the \(leftSplit ? "left" : "right") operand only: "
                            + "cut the other alike and psum the partial products (\(reduceBytes) B) rather than all-gather (\(gatherBytes) B)")
                } else {
                    if leftSplit { l[a] = [] } else { r[b] = [] }
                    decisions.append(
                        "dot_general: contracting dimension split over \(axes) on the \(leftSplit ? "left" : "right") operand only: "
                            + "all-gather it (\(gatherBytes) B) rather than psum the partial products (\(reduceBytes) B)"
                            + (otherFree ? "" : "; the other operand already uses \(axes)"))
                }
            } else {
                l[a] = []
                r[b] = []
                decisions.append("dot_general: contracting dimension split over \(la) on the left and \(rb) on the right: both all-gathered")
            }
        }
        // The result's layout; an axis may split one of its dimensions only.
        var used = Set(partial)
        var layout: Layout = []
        for d in dn.lhsBatch + lhsFree {
            layout.append(l[d])
            used.formUnion(l[d])
        }
        for d in rhsFree {
            if !used.isDisjoint(with: r[d]) {
                decisions.append("dot_general: right operand's free dimension \(d) split over \(r[d]), an axis the result already uses: all-gathered")
                r[d] = []
            }
            layout.append(r[d])
            used.formUnion(r[d])
        }
        let a = reshard(lhs, to: l, consumer: "dot_general", reason: "left operand laid out for the product")
        let b = reshard(rhs, to: r, consumer: "dot_general", reason: "right operand laid out for the product")
        let y = apply(.dotGeneral(dn), [a, b], [layout], [aval])[0]
        if partial.isEmpty { return y }
        return allReduce(.psum(axes: partial), y, consumer: "dot_general",
                         reason: "partial products of contracting dimensions split over \(partial)")
    }

    private func constrain(_ x: Value, _ dims: [[String]]) throws -> Value {
        let spec = PartitionSpec(dimensions: dims)
        let sharding: NamedSharding
        do { sharding = try NamedSharding(mesh: mesh, spec: spec) } catch let e as FlockError {
            throw FlockError("withShardingConstraint: \(e.message) (the function's arguments live on \(mesh))")
        }
        try sharding.validate(shape: x.aval.shape, for: "withShardingConstraint on a value of shape \(x.aval.shape)")
        return reshard(x, to: spec.padded(x.aval.rank), consumer: "sharding_constraint", reason: "withShardingConstraint(\(spec))")
    }
}
