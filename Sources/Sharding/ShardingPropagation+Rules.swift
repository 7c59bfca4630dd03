// The propagation rules of the primitive families (see ShardingPropagation).

extension ShardingPropagation {
    /// `x` with dimensions `dims` gathered whole (the others keep their axes).
    func whole(_ x: Value, _ dims: [Int], for p: Primitive) -> Value {
        var layout = x.layout
        for d in dims { layout[d] = [] }
        return reshard(x, to: layout, consumer: p.name, reason: "\(p.name) needs dimensions \(dims) whole")
    }

    /// `lhs` (N, C, spatial…) ⊛ `rhs` (O, I, spatial…) → (N, O, spatial…), each
    /// laid out as the dimension numbers say: the batch N and output features O
    /// keep their axes; input features split alike on C and I give partial sums
    /// (psum); spatial dimensions (and, with feature groups, the feature
    /// dimensions; with batch groups, the batch and the output features) are
    /// gathered.
    func convolution(_ params: ConvolutionParameters, _ lhs: Value, _ rhs: Value, _ aval: AbstractValue) -> Value {
        let dn = params.dimensionNumbers
        let (ln, lc, ro, ri) = (dn.lhsSpec[0], dn.lhsSpec[1], dn.rhsSpec[0], dn.rhsSpec[1])
        var l = lhs.layout, r = rhs.layout
        for d in dn.lhsSpec.dropFirst(2) { l[d] = [] }
        for d in dn.rhsSpec.dropFirst(2) { r[d] = [] }
        var partial: [String] = []
        // Batch groups pair lhs images with output features: both whole (the
        // input features still contract as usual: the kernel gradient of a
        // data-parallel grouped convolution is a partial sum).
        if params.batchGroupCount != 1 { (l[ln], r[ro]) = ([], []) }
        if params.featureGroupCount != 1 {
            (l[lc], r[ro], r[ri]) = ([], [], [])
        } else if l[lc] == r[ri] {
            partial = l[lc]
        } else {
            if !l[lc].isEmpty || !r[ri].isEmpty {
                decisions.append("conv_general_dilated: input features split over \(l[lc]) on the left and \(r[ri]) on the right: both all-gathered")
            }
            (l[lc], r[ri]) = ([], [])
        }
        if !Set(r[ro]).isDisjoint(with: l[ln] + partial) {
            decisions.append("conv_general_dilated: output features split over \(r[ro]), an axis the batch or the partial sums use: all-gathered")
            r[ro] = []
        }
        let a = reshard(lhs, to: l, consumer: "conv_general_dilated", reason: "left operand laid out for the convolution")
        let b = reshard(rhs, to: r, consumer: "conv_general_dilated", reason: "right operand laid out for the convolution")
        var out = replicated(aval.rank)
        out[dn.outSpec[0]] = l[ln]
        out[dn.outSpec[1]] = r[ro]
        let y = apply(.convolution(params), [a, b], [out], [aval])[0]
        if partial.isEmpty { return y }
        return allReduce(.psum(axes: partial), y, consumer: "conv_general_dilated",
                         reason: "partial sums of input features split over \(partial)")
    }

    /// The layout of `x` reshaped to `shape` when every device's block stays
    /// one block: dimensions are grouped into runs of equal product, and in
    /// each run only the leading dimension may be split, over axes whose size
    /// divides the run's leading result dimension (a split block of a
    /// row-major run is contiguous). Nil otherwise.
    func reshapeLayout(_ x: Value, _ shape: [Int]) -> Layout? {
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
    func elementwise(_ p: Primitive, _ ins: [Value], _ aval: AbstractValue) -> [Value] {
        elementwise(p, ins, [aval])
    }

    /// An elementwise primitive with results of one shape (`avals`; two for
    /// threefry's words): operands of that rank laid out alike, the results too.
    func elementwise(_ p: Primitive, _ ins: [Value], _ avals: [AbstractValue]) -> [Value] {
        let rank = avals[0].rank
        // Ties by the number of axes named, so that axes of size 1 still count.
        func score(_ l: Layout) -> (Int, Int) { (deviceCount(l), l.reduce(0) { $0 + $1.count }) }
        var target = replicated(rank)
        for x in ins where x.aval.rank == rank && score(x.layout) > score(target) { target = x.layout }
        let operands = ins.map {
            $0.aval.rank == rank
                ? reshard($0, to: target, consumer: p.name, reason: "operands of \(p.name) laid out alike") : $0
        }
        return apply(p, operands, avals.map { _ in target }, avals)
    }

    func reduce(_ op: ReduceOp, _ axes: [Int], _ x: Value, _ aval: AbstractValue) -> Value {
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

    func dot(_ dn: DotDimensionNumbers, _ lhs: Value, _ rhs: Value, _ aval: AbstractValue) -> Value {
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

    func constrain(_ x: Value, _ dims: [[String]]) throws -> Value {
        let layout = try constraintLayout(dims, x.aval)
        let first = nextSlot
        let y = reshard(x, to: layout, consumer: "sharding_constraint", reason: "withShardingConstraint(\(PartitionSpec(dimensions: dims)))")
        // A constraint lays out and does not read: a gathered argument's
        // first read is its consumer's (FSDP's block of parameters gathered
        // together is not gathered again at their first uses).
        if case .slot(let source) = x.operand, case .slot(let gathered) = y.operand, gathered >= first, gatheredFrom[gathered] != nil {
            lastRead[ReshardKey(slot: source, layout: layout)] = .max
        }
        return y
    }
}
