/// Shape rules and evaluation of the collective primitives.
///
/// A collective names axes; each name is looked up in the ``AxisEnvironment``.
/// Evaluation reaches here only for names bound to communicators: `vmap`'s
/// batch interpreter handles the names it maps before anything is evaluated.
/// Several names form one axis whose members are numbered row-major over the
/// names (`index = i₀·S₁·S₂… + i₁·S₂… + …`); reductions, gathers and
/// broadcasts decompose over the names, while permutations and all-to-all over
/// several names go through one gather.
extension Primitive {
    /// The sizes of the named axes, checked for being bound and distinct.
    func collectiveAxisSize(_ axes: [String]) throws -> Int {
        var size = 1
        for (k, axis) in axes.enumerated() {
            if axes[..<k].contains(axis) { throw FlockError("\(name): axis names repeat in \(axes)") }
            size *= try boundAxis(axis, for: name).size
        }
        return size
    }

    func collectiveAbstractEval(_ inputs: [AbstractValue]) throws -> [AbstractValue] {
        func fail(_ message: String) -> FlockError { FlockError("\(name): \(message)") }
        let axes = collectiveAxes!
        let size = try collectiveAxisSize(axes)
        if case .axisIndex = self {
            guard inputs.isEmpty else { throw fail("expected no operands, got \(inputs.count)") }
            return [AbstractValue(shape: [], dtype: .int32)]
        }
        guard inputs.count == 1 else { throw fail("expected 1 operand, got \(inputs.count)") }
        let x = inputs[0]
        var over: String { axes.count == 1 ? "axis '\(axes[0])' of size \(size)" : "axes \(axes) of total size \(size)" }
        switch self {
        case .psum, .pmax, .pmin, .psumScatter:
            guard x.dtype != .bool else {
                throw fail("expected a numeric operand (float32, float64 or int32), got bool \(x.shape); convert it first")
            }
        default: break
        }
        switch self {
        case .psum, .pmax, .pmin:
            return [x]
        case .allGather(_, let axis, let tiled):
            var shape = x.shape
            if tiled {
                guard axis >= 0 && axis < x.rank else { throw fail("axis \(axis) is out of range for shape \(x.shape) (tiled)") }
                shape[axis] = try checkedMultiply(shape[axis], size, "the gathered size of axis \(axis) of \(x.shape)", fail)
            } else {
                guard axis >= 0 && axis <= x.rank else { throw fail("axis \(axis) is out of range for shape \(x.shape)") }
                shape.insert(size, at: axis)
            }
            return [AbstractValue(shape: shape, dtype: x.dtype, weakType: x.weakType)]
        case .psumScatter(_, let d, let tiled):
            guard d >= 0 && d < x.rank else { throw fail("scatter dimension \(d) is out of range for shape \(x.shape)") }
            var shape = x.shape
            if tiled {
                guard shape[d] % size == 0 else {
                    throw fail("dimension \(d) of shape \(x.shape) must be divisible by the size of \(over)")
                }
                shape[d] /= size
            } else {
                guard shape[d] == size else { throw fail("dimension \(d) of shape \(x.shape) must equal the size of \(over)") }
                shape.remove(at: d)
            }
            return [AbstractValue(shape: shape, dtype: x.dtype, weakType: x.weakType)]
        case .ppermute(_, let pairs):
            do { try checkPermutation(pairs, size: size) } catch let e as FlockError { throw fail(e.message + " (over \(over))") }
            return [x]
        case .allToAll(_, let split, let concat, let tiled):
            guard split >= 0 && split < x.rank else { throw fail("split axis \(split) is out of range for shape \(x.shape)") }
            guard concat >= 0 && concat < x.rank else { throw fail("concat axis \(concat) is out of range for shape \(x.shape)") }
            var shape = x.shape
            if tiled {
                guard shape[split] % size == 0 else {
                    throw fail("split axis \(split) of shape \(x.shape) must be divisible by the size of \(over)")
                }
                shape[split] /= size
                shape[concat] = try checkedMultiply(shape[concat], size, "the concatenated size of axis \(concat) of \(x.shape)", fail)
            } else {
                guard shape[split] == size else {
                    throw fail("split axis \(split) of shape \(x.shape) must equal the size of \(over)")
                }
                shape.remove(at: split)
                shape.insert(size, at: concat)
            }
            return [AbstractValue(shape: shape, dtype: x.dtype, weakType: x.weakType)]
        case .pbroadcast(_, let source):
            guard source >= 0 && source < size else { throw fail("source \(source) is out of range for \(over)") }
            return [x]
        default:
            preconditionFailure("collectiveAbstractEval: \(name) is not a collective")
        }
    }

    /// The transport of the communicator bound to `axis`.
    func boundCommunicator(_ axis: String) throws -> any CollectiveTransport {
        let frame = try boundAxis(axis, for: name)
        if let c = frame.transport { return c }
        if case .unsupported(let c) = frame.binding {
            // The callers prefix "<name> over '<axis>': ".
            throw FlockError("the axis is bound by withAxis to \(unsupportedCommunicatorText(c))")
        }
        throw FlockError(
            "\(name): axis '\(axis)' is mapped by vmap, but the collective reached evaluation outside "
                + "its batch interpreter (was a traced value carried out of the vmap?)")
    }

    func evaluateCollective(_ inputs: [DenseArray], shape: [Int]) throws -> DenseArray {
        if let (op, axis) = singleAxisAllReduce { return try evaluateAllReduce(inputs[0], op, axis: axis) }
        let axes = collectiveAxes!
        try skipAfterEarlierError()
        var frames: [AxisFrame] = []
        do {
            frames = try axes.map { try boundAxis($0, for: name) }
            let comms = try axes.map(boundCommunicator)
            let site = CollectiveSite.current
            let calls = comms.map { collectiveCall(inputs.first, on: $0, site: site) }
            return try evaluateCollective(inputs.first, comms, calls: calls, shape: shape)
        } catch let e as FlockError {
            // Every member failed this collective together: they are in step again.
            for f in frames { f.transport?.caughtErrors.acknowledge() }
            throw FlockError("\(name) over \(axes.map { "'\($0)'" }.joined(separator: ", ")): \(e.message)")
        }
    }

    /// Throws when the enclosing ``catchingErrors(_:)`` scope has already
    /// recorded an error: the scope's later collectives are skipped (the
    /// scope's result is discarded anyway). After a collective that failed on
    /// every member, every member thus skips the same ones and leaves the scope
    /// in step; a member whose error was its own carries it into its next
    /// collective (``CaughtErrors``), which then fails on every member.
    func skipAfterEarlierError() throws {
        if ErrorSink.currentHasError {
            throw FlockError("\(name): skipped after an earlier error in this catchingErrors scope")
        }
    }

    /// The ``CollectiveCall`` of this collective on `operand` through
    /// `communicator` at `site`, with the errors caught on its member.
    func collectiveCall(_ operand: DenseArray?, on communicator: any CollectiveTransport, site: CollectiveSite?) -> CollectiveCall {
        CollectiveCall(self, operand: operand.map { AbstractValue(shape: $0.shape, dtype: $0.dtype) }, site: site)
            .withCaughtErrors(of: communicator)
    }

    /// The reduction and the axis name of a psum, pmax or pmin over one name
    /// (nil for anything else): the common, latency-bound collective, which
    /// ``evaluateAllReduce(_:_:axis:inPlace:site:prepared:)`` runs without the general machinery.
    package var singleAxisAllReduce: (op: ReduceOp, axis: String)? {
        guard let op = allReduceOp, let axes = collectiveAxes, axes.count == 1 else { return nil }
        return (op, axes[0])
    }

    /// Evaluates this psum, pmax or pmin over the one name `axis` through the
    /// communicator bound to it (see ``singleAxisAllReduce``), called at
    /// ``CollectiveSite/current``.
    func evaluateAllReduce(_ x: DenseArray, _ op: ReduceOp, axis: String) throws -> DenseArray {
        let call = CollectiveCall(
            allReduce: op, axis: axis, operand: AbstractValue(shape: x.shape, dtype: x.dtype), site: CollectiveSite.current)
        return try Self.evaluateAllReduce(x, op, axis: axis, call: call)
    }

    /// The all-reduce `op` (psum, pmax or pmin) of `x` over the one name
    /// `axis`, through the communicator bound to it, for `call` (a jitted
    /// plan's, made at compile time).
    package static func evaluateAllReduce(
        _ x: DenseArray, _ op: ReduceOp, axis: String, inPlace: Bool = false, call: CollectiveCall
    ) throws -> DenseArray {
        let c: any CollectiveTransport
        do {
            let frame = try boundAxis(axis, for: allReduce(op, axes: [axis]).name)
            c = try frame.transport ?? allReduce(op, axes: [axis]).boundCommunicator(axis)
        } catch let e as FlockError {
            throw FlockError("\(allReduce(op, axes: [axis]).name) over '\(axis)': \(e.message)")
        }
        return try evaluateAllReduce(x, op, through: c, axis: axis, inPlace: inPlace, call: call)
    }

    /// The all-reduce `op` (psum, pmax or pmin) of `x` over the one name
    /// `axis`, through `c`, the communicator bound to it, for `call` (to
    /// which the errors caught on this member are added): what evaluating the
    /// primitive does, for the latency-bound paths that look the communicator
    /// up themselves (eager psum) or prepare the call once (a jitted plan).
    package static func evaluateAllReduce(
        _ x: DenseArray, _ op: ReduceOp, through c: any CollectiveTransport, axis: String, inPlace: Bool = false, call: CollectiveCall
    ) throws -> DenseArray {
        var name: String { allReduce(op, axes: [axis]).name }  // for errors only
        if ErrorSink.currentHasError { throw FlockError("\(name): skipped after an earlier error in this catchingErrors scope") }
        do {
            // The call as it is, unless errors were caught (no copy in the common case).
            if c.caughtErrors.pendingCount > 0 {
                let call = call.withCaughtErrors(of: c)
                return try inPlace ? c.allReduceInPlace(x, op, call: call) : c.perform(.allReduce(op), x, call: call)
            }
            return try inPlace ? c.allReduceInPlace(x, op, call: call) : c.perform(.allReduce(op), x, call: call)
        } catch let e as FlockError {
            c.caughtErrors.acknowledge()  // every member failed together
            throw FlockError("\(name) over '\(axis)': \(e.message)")
        }
    }

    /// The reduction of psum, pmax and pmin.
    private var allReduceOp: ReduceOp? {
        switch self {
        case .psum: .sum
        case .pmax: .max
        case .pmin: .min
        default: nil
        }
    }

    private func evaluateCollective(
        _ operand: DenseArray?, _ comms: [any CollectiveTransport], calls: [CollectiveCall], shape: [Int]
    ) throws -> DenseArray {
        func reduce(_ op: ReduceOp) throws -> DenseArray {
            // A one-member axis (one device) leaves the operand as it is: no copy.
            try zip(comms, calls).reduce(operand!) { $1.0.size == 1 ? $0 : try $1.0.allReduce($0, op, call: $1.1) }
        }
        switch self {
        case .psum: return try reduce(.sum)
        case .pmax: return try reduce(.max)
        case .pmin: return try reduce(.min)
        case .axisIndex:
            return DenseArray([Int32(combinedIndex(comms))], shape: [])
        case .pbroadcast(_, let source):
            var x = operand!
            for (k, root) in memberIndices(source, comms).enumerated() { x = try comms[k].broadcast(x, root: root, call: calls[k]) }
            return x
        case .allGather(_, let axis, let tiled):
            let x = operand!
            let g = try gatherAll(x, comms, calls)
            return tiled ? mergeLeading(g, into: axis) : moveLeading(g, to: axis)
        case .psumScatter(_, let d, let tiled):
            let x = operand!
            // Blocks along d, by destination. Scatter over each name in turn: the block
            // for the first name's member i₀ holds the blocks of the remaining names.
            var block = moveToFront(x, d)
            for (c, call) in zip(comms, calls) {
                block = try c.reduceScatter(block.reshaped([c.size, block.count / c.size]), .sum, call: call)
            }
            var rest = x.shape
            rest.remove(at: d)
            if !tiled { return block.reshaped(rest) }
            let size = comms.map(\.size).reduce(1, *)
            return moveLeading(block.reshaped([x.shape[d] / size] + rest), to: d)
        case .ppermute(_, let pairs):
            let x = operand!
            if comms.count == 1 { return try comms[0].perform(.permute(pairs), x, call: calls[0]) }
            // Several names: no single communicator spans them, so gather and pick the source.
            let g = try gatherAll(x, comms, calls)
            let me = combinedIndex(comms)
            guard let pair = pairs.first(where: { $0.destination == me }) else { return zeroArray(shape: x.shape, dtype: x.dtype) }
            return arrayCopy(leadingBlock(g, pair.source, of: g.shape[0]), shape: x.shape, dtype: x.dtype)
        case .allToAll(_, let split, let concat, let tiled):
            let x = operand!
            let size = comms.map(\.size).reduce(1, *)
            let chunk = x.shape[split] / size
            // received: [S] + x.shape with the split axis cut to one chunk; block i came from member i.
            var withChunk = x.shape
            withChunk[split] = chunk
            let received: DenseArray
            if comms.count == 1 {
                // [S, chunk] + the other axes, blocks by destination, then exchanged.
                let front = moveToFront(x, split).reshaped([size, chunk] + x.shape.enumerated().filter { $0.offset != split }.map(\.element))
                let exchanged = try comms[0].perform(.allToAll, front, call: calls[0])
                var perm = Array(0..<exchanged.rank)
                perm.remove(at: 1)
                perm.insert(1, at: split + 1)
                received = exchanged.transposed(perm)
            } else {
                let g = try gatherAll(x, comms, calls)
                let me = combinedIndex(comms)
                received = sliceAxis(g, axis: split + 1, start: me * chunk, length: chunk)
            }
            if tiled { return mergeLeading(received.reshaped([size] + withChunk), into: concat) }
            var dropped = x.shape
            dropped.remove(at: split)
            return moveLeading(received.reshaped([size] + dropped), to: concat)
        default:
            preconditionFailure("evaluateCollective: \(name) is not a collective")
        }
    }
}

// MARK: - Helpers over the communicators of several names

/// The member's index over several communicators, row-major.
func combinedIndex(_ comms: [any CollectiveTransport]) -> Int {
    comms.reduce(0) { $0 * $1.size + $1.rank }
}

/// The per-communicator indices of combined index `index`.
func memberIndices(_ index: Int, _ comms: [any CollectiveTransport]) -> [Int] {
    var rest = index
    var out = [Int](repeating: 0, count: comms.count)
    for k in stride(from: comms.count - 1, through: 0, by: -1) {
        out[k] = rest % comms[k].size
        rest /= comms[k].size
    }
    return out
}

/// Every member's `x` stacked in combined-index order: `[S] + x.shape`.
func gatherAll(_ x: DenseArray, _ comms: [any CollectiveTransport], _ calls: [CollectiveCall]) throws -> DenseArray {
    var g = x
    for (c, call) in zip(comms, calls).reversed() { g = try c.allGather(g, call: call) }
    return g.reshaped([comms.map(\.size).reduce(1, *)] + x.shape)
}

/// `x` with axis `axis` moved to the front.
func moveToFront(_ x: DenseArray, _ axis: Int) -> DenseArray {
    if axis == 0 { return x }
    var perm = Array(0..<x.rank)
    perm.remove(at: axis)
    return x.transposed([axis] + perm)
}

/// `x` with its leading axis moved to position `axis`.
func moveLeading(_ x: DenseArray, to axis: Int) -> DenseArray {
    if axis == 0 { return x }
    var perm = Array(1..<x.rank)
    perm.insert(0, at: axis)
    return x.transposed(perm)
}

/// `x` (`[S] + shape`) with its leading axis merged into `shape[axis]` as the major part.
func mergeLeading(_ x: DenseArray, into axis: Int) -> DenseArray {
    var shape = Array(x.shape.dropFirst())
    let moved = moveLeading(x, to: axis)
    shape[axis] *= x.shape[0]
    return moved.reshaped(shape)
}

/// Elements `start..<start+length` of `x` along `axis`.
func sliceAxis(_ x: DenseArray, axis: Int, start: Int, length: Int) -> DenseArray {
    var lo = [Int](repeating: 0, count: x.rank), hi = x.shape
    lo[axis] = start
    hi[axis] = start + length
    var shape = x.shape
    shape[axis] = length
    return evalSlice(x, start: lo, limit: hi, steps: [Int](repeating: 1, count: x.rank), shape: shape)
}
