// Partial sums carried through linear operations (see ShardingPropagation):
// Megatron's backward pass sums the partial cotangents of the query, key and
// value projections' input before its one all-reduce; reducing each product
// where it is made would cost one all-reduce each.

extension ShardingPropagation {
    /// `p` applied to operands holding partial sums (pending `psum`s) without
    /// reducing them, where `p` is linear in them: the result is a partial
    /// sum over the same axes, reduced once by its first consumer that is
    /// not. Nil where that does not hold, and the operands are reduced first.
    ///
    /// Linear here: `neg`, a widening float `convert`, `reshape` (when the
    /// blocks stay contiguous), `transpose`; `add`/`sub` of partial sums over
    /// the same axes laid out alike; `mul` of a partial sum by a value that is
    /// not one, and `div` of one by such a value (the same on every device of
    /// the partial axes, cut locally to the partial sum's layout); a
    /// scatter-add of partial updates into zeros. A partial sum plus (or
    /// minus) a value that is not one stays partial too: adding the value on
    /// every device would count it once per device, so it is added on the
    /// first device of the partial axes only (`onFirstDevice`) — the exact
    /// form of dividing it by their size. The bytes are those of reducing
    /// first, and the sums that follow need no reduction of their own.
    ///
    /// A partial sum read by more than one equation (`readOnce` false) is
    /// reduced where it is read: carried through one reader it would be
    /// reduced twice, once for each path.
    func linearOfPartials(_ p: Primitive, _ ins: [Value], readOnce: [Bool], _ avals: [AbstractValue]) -> [Value]? {
        let partials = ins.indices.filter { ins[$0].pending != nil }
        guard avals.count == 1, let first = partials.first, let pending = ins[first].pending,
              case .psum(let axes) = pending.reduction, partials.allSatisfy({ readOnce[$0] }),
              partials.allSatisfy({ i in
                  if case .psum(let a) = ins[i].pending!.reduction { Set(a) == Set(axes) && ins[i].layout == ins[first].layout } else { false }
              })
        else { return nil }
        let x = ins[first], aval = avals[0]
        let carried = " (carried through linear operations)"
        let reason = pending.reason.hasSuffix(carried) ? pending.reason : pending.reason + carried
        var local = p, layout = x.layout, operands = ins
        switch p {
        case .unary(.neg):
            break
        case .convert(let dtype, _):
            // Not a narrowing one: its partial sums would round before they are summed.
            guard dtype.isFloatingPoint, x.aval.dtype.isFloatingPoint, dtype.byteSize >= x.aval.dtype.byteSize else { return nil }
        case .reshape(let shape):
            guard let l = reshapeLayout(x, shape) else { return nil }
            (layout, local) = (l, .reshape(localShape(shape, l)))
        case .transpose(let perm):
            layout = perm.map { x.layout[$0] }
        case .binary(.add), .binary(.sub), .binary(.mul), .binary(.div):
            if partials.count == ins.count {
                guard p == .binary(.add) || p == .binary(.sub) else { return nil }
                break
            }
            guard p != .binary(.div) || first == 0 else { return nil }
            let other = 1 - first, y = ins[other]
            if y.aval.rank != x.aval.rank {
                // A whole scalar meets the partial sum as it is; a partial
                // scalar broadcast against an array is reduced first.
                guard y.aval.rank == 0, aval.rank == x.aval.rank else { return nil }
            } else {
                // Cut locally to the partial sum's layout; split otherwise, it
                // would have to move (the elementwise rule decides that).
                guard zip(y.layout, layout).allSatisfy({ $0.isEmpty || $0 == $1 }) else { return nil }
                operands[other] = reshard(y, to: layout, consumer: p.name, reason: "operands of \(p.name) laid out alike")
            }
            // A whole term joins the sum once: on the first device of the
            // partial axes only (a residual's cotangent added to the partial
            // cotangents of the projections it feeds).
            if (p == .binary(.add) || p == .binary(.sub)) && !y.zero { operands[other] = onFirstDevice(operands[other], of: axes) }
        case .scatter(.add, _, _):
            // Linear in its updates: partial updates scattered into zeros
            // (a gather's gradient: the position embedding's, whose
            // cotangent is a sum over the split batch) give partial sums,
            // over the updates' own split axes too if the rule keeps them.
            guard partials == [2], ins[0].zero else { return nil }
            var updates = ins[2]
            updates.pending = nil
            guard var z = scatter(p, [ins[0], ins[1], updates], aval)?.first else { return nil }
            var all = axes
            if let inner = z.pending, case .psum(let more) = inner.reduction { all += more }
            z.pending = Pending(reduction: .psum(axes: all), consumer: pending.consumer, reason: reason)
            return [z]
        default:
            return nil
        }
        var y = apply(local, operands, [layout], [aval])[0]
        y.pending = Pending(reduction: pending.reduction, consumer: pending.consumer, reason: reason)
        return [y]
    }
}
