@_spi(Engine) import FlockCore
import Synchronization

/// `pmap`: `shardMap` over a one-dimensional mesh of every device of the job
/// (`jax.pmap`).
///
/// Each process passes arguments whose mapped axis has one entry per local
/// device; together they form global arrays whose mapped axis has one entry
/// per device of the job, split over the mesh axis `axisName`. Each device
/// runs `f` on its entry (the mapped axis removed), jitted once per signature;
/// collectives over `axisName` span every device of every process. Results
/// are sharded arrays with the mapped axis at `outAxes`.
///
/// Numerically, `pmap(f, axisName: "i")` on the whole job equals
/// `vmap(f, axisName: "i")` on the concatenation of every process's arguments.
public final class PmapFunction: @unchecked Sendable {
    /// The name collectives use for the axis over every device.
    public let axisName: String
    /// Mapped axis of each dynamic argument (nil: the same value on every device).
    public let inAxes: [Int?]?
    /// The mapped axis of every argument when `inAxes` is nil.
    let defaultInAxis: Int?
    /// Mapped axis of each result (nil: one value, the same on every device).
    let outAxesRule: OutAxes
    /// Arguments passed by value (one trace per distinct value).
    public let staticBroadcastedArgnums: Set<Int>
    /// Arguments the caller gives up: the compiled step may write its results
    /// into their buffers (an unmapped one only with one local device).
    public let donateArgnums: Set<Int>
    let f: ([Tensor]) -> [Tensor]
    /// One shardMap per (static argument values, mapped dimensions).
    private let functions = Mutex<[Key: ShardMapFunction]>([:])
    private let layouts = Mutex<(mesh: Mesh?, shardings: [Int?: NamedSharding])>((nil, [:]))
    private struct Key: Hashable {
        let statics: [LiteralValue]
        let inAxes: [Int?]
    }

    enum OutAxes: Sendable {
        /// One entry per result.
        case each([Int?])
        /// The same for every result (pytrees; the default 0).
        case all(Int?)
        /// One axis per result leaf, known once the function has been traced
        /// (a pytree prefix resolved against the result's tree).
        case computed(@Sendable (Int) -> [Int?])

        func axes(count: Int) -> [Int?] {
            switch self {
            case .each(let axes): axes
            case .all(let a): [Int?](repeating: a, count: count)
            case .computed(let resolve): resolve(count)
            }
        }
    }

    init(_ f: @escaping ([Tensor]) -> [Tensor], axisName: String, inAxes: [Int?]?, defaultInAxis: Int? = 0,
         outAxes: OutAxes, staticBroadcastedArgnums: Set<Int>, donateArgnums: Set<Int>) {
        self.f = f
        self.axisName = axisName
        self.inAxes = inAxes
        self.defaultInAxis = defaultInAxis
        self.outAxesRule = outAxes
        self.staticBroadcastedArgnums = staticBroadcastedArgnums
        self.donateArgnums = donateArgnums
    }

    /// Mapped axis of each result, when given per result.
    public var outAxes: [Int?]? {
        if case .each(let axes) = outAxesRule { return axes }
        return nil
    }

    /// Traces of the per-device function, over every signature and static value.
    public var traceCount: Int { functions.withLock { $0.values.reduce(0) { $0 + $1.traceCount } } }

    /// Runs `f` on every device. Collective: every process calls it.
    ///
    /// - Parameter args: this process's arguments: mapped ones have
    ///   ``Distributed/localDeviceCount`` entries along their mapped axis.
    /// - Returns: the results as sharded arrays over the job's devices.
    /// - Throws: ``FlockError``, on every process, when some process passed
    ///   arguments that do not fit (e.g. a mapped axis that is not its local
    ///   device count) or `f` fails to trace.
    public func callAsFunction(_ args: [Tensor]) throws -> [ShardedArray] {
        let (mapFunction, inputs) = try prepare(args)
        defer { deleteDonated(args) }
        return try mapFunction(inputs)
    }

    /// Like ``callAsFunction(_:)``, returning this process's part of each
    /// result: mapped results stacked along their out axis (local device count
    /// entries), unmapped ones as they are.
    public func local(_ args: [Tensor]) throws -> [Tensor] {
        let (mapFunction, inputs) = try prepare(args)
        defer { deleteDonated(args) }
        let outs = try mapFunction(inputs)
        return try outs.map { out in out.spec.usedAxes.isEmpty ? out.blocks[0] : try out.processLocalData }
    }

    /// Donated arguments are deleted after the call, as in JAX, whether or not
    /// their buffers were reused: with several local devices the devices work
    /// on copies of their blocks, and the caller's array goes all the same.
    /// (One already deleted by the plan keeps the outputs made after that.)
    private func deleteDonated(_ args: [Tensor]) {
        for i in donateArgnums where i < args.count && !staticBroadcastedArgnums.contains(i) {
            guard case .some(let a) = try? args[i].concreteArray(for: "pmap"), !a.isDeleted else { continue }
            a.buffer.invalidateArrays()
        }
    }

    /// The results and a pullback from their cotangents to the cotangents of
    /// the non-static arguments (`jax.vjp` of a pmap): mapped arguments' as
    /// sharded arrays along their mapped axis, unmapped ones' summed over
    /// every device (replicated). Collective, as is the pullback.
    ///
    /// ```swift
    /// let (outs, pullback) = try pmap({ [tanh($0[0])] }, axisName: "i").vjp([xs])
    /// let dxs = try pullback([ShardedArray(ones(outs[0].shape), sharding: outs[0].sharding)])
    /// ```
    public func vjp(_ args: [Tensor]) throws -> (outputs: [ShardedArray], pullback: ([ShardedArray]) throws -> [ShardedArray]) {
        let (mapFunction, inputs) = try prepare(args)
        return try mapFunction.vjp(inputs)
    }

    /// The shardMap for `args`' static values and the sharded dynamic arguments.
    func prepare(_ args: [Tensor]) throws -> (ShardMapFunction, [ShardedArray]) {
        let L = Distributed.localDeviceCount
        var statics: [LiteralValue] = [], inputs: [ShardedArray] = [], dims: [Int?] = []
        let mesh = try self.mesh()
        try agreeOnEveryProcess("pmap", signature: args.enumerated().map { "\($0.offset):\($0.element.aval)" }.joined(separator: ",")) {
            try checkArgnums(args.count)
            var dynamic: [Tensor] = []
            for (i, x) in args.enumerated() {
                guard x.isConcrete else {
                    throw FlockError("pmap: argument \(i) is \(x.tracer != nil ? "a traced value \(x.aval)" : "poisoned by an earlier error"); pmap's arguments must be concrete")
                }
                if staticBroadcastedArgnums.contains(i) { statics.append(LiteralValue(x)) } else { dynamic.append(x) }
            }
            let axes = inAxes ?? [Int?](repeating: defaultInAxis, count: dynamic.count)
            guard axes.count == dynamic.count else {
                throw FlockError("pmap: inAxes has \(axes.count) entries but the function was called with \(dynamic.count) non-static arguments")
            }
            for (i, (x, a)) in zip(dynamic, axes).enumerated() {
                guard let a else {
                    dims.append(nil)
                    inputs.append(try .fromHost(x, try sharding(mesh, nil), for: "pmap"))
                    continue
                }
                guard a >= -x.rank && a < x.rank else {
                    throw FlockError("pmap: inAxes[\(i)] = \(a) is out of range for argument \(i) of shape \(x.shape)")
                }
                let d = a < 0 ? a + x.rank : a
                guard x.shape[d] == L else {
                    throw FlockError(
                        "pmap: argument \(i) of shape \(x.shape) has \(x.shape[d]) entries along its mapped axis \(d), but process "
                            + "\(Distributed.processIndex) has \(L) local device\(L == 1 ? "" : "s"); the mapped axis must have one entry per local device")
                }
                dims.append(d)
                inputs.append(try .fromProcessLocalData(x, try sharding(mesh, d), globalShape: nil, for: "pmap"))
            }
        }
        return (function(statics: statics, inDims: dims, mesh: mesh), inputs)
    }

    /// The 1-D mesh over every device, made once.
    private func mesh() throws -> Mesh {
        if let m = layouts.withLock({ $0.mesh }) { return m }
        let m = try Mesh.overAllDevices(shape: [Distributed.deviceCount], axisNames: [axisName])
        layouts.withLock { $0.mesh = m }
        return m
    }

    /// The sharding of an argument mapped along `dimension` (nil: replicated), made once.
    private func sharding(_ mesh: Mesh, _ dimension: Int?) throws -> NamedSharding {
        if let s = layouts.withLock({ $0.shardings[dimension] }) { return s }
        let s = try NamedSharding(mesh: mesh, spec: dimension.map(mappedSpec) ?? .replicated)
        layouts.withLock { $0.shardings[dimension] = s }
        return s
    }

    private func checkArgnums(_ count: Int) throws {
        for i in staticBroadcastedArgnums.union(donateArgnums) where !(0..<count).contains(i) {
            throw FlockError("pmap: argnum \(i) in staticBroadcastedArgnums or donateArgnums is out of range for \(count) arguments")
        }
        if let i = staticBroadcastedArgnums.intersection(donateArgnums).min() {
            throw FlockError("pmap: argument \(i) cannot be both static and donated")
        }
    }

    /// The spec splitting dimension `d` over the pmap axis.
    private func mappedSpec(_ d: Int) -> PartitionSpec {
        PartitionSpec(dimensions: (0..<d).map { _ in [] } + [[axisName]])
    }

    private func function(statics: [LiteralValue], inDims: [Int?], mesh: Mesh) -> ShardMapFunction {
        let key = Key(statics: statics, inAxes: inDims)
        if let g = functions.withLock({ $0[key] }) { return g }
        let f = self.f, staticArgs = statics.map(\.tensor), staticPositions = staticBroadcastedArgnums
        let outAxes = self.outAxesRule, axisName = self.axisName
        let total = staticArgs.count + inDims.count
        let body = { (blocks: [Tensor]) -> [Tensor] in
            // Each device's block has one entry along the mapped axis: drop it.
            var dynamic = zip(blocks, inDims).map { b, d in d.map { b.squeezed([$0]) } ?? b }[...]
            var fixed = staticArgs[...]
            let args = (0..<total).map { staticPositions.contains($0) ? fixed.removeFirst() : dynamic.removeFirst() }
            let outs = f(args)
            let axes = outAxes.axes(count: outs.count)
            guard axes.count == outs.count else {
                raise(FlockError("pmap: outAxes has \(axes.count) entries but the function returned \(outs.count) results"))
                return outs
            }
            return zip(outs, axes).map { y, a in
                guard let a else { return y }
                guard a >= -(y.rank + 1) && a <= y.rank else {
                    raise(FlockError("pmap: outAxes \(a) is out of range for a result of per-device shape \(y.shape)"))
                    return y
                }
                return y.expandingDims(a < 0 ? a + y.rank + 1 : a)
            }
        }
        // A mapped result has the pmap axis at its (normalised) out axis; an unmapped one is replicated.
        let outSpecs = { @Sendable (avals: [AbstractValue]) -> [PartitionSpec] in
            let axes = outAxes.axes(count: avals.count)
            return zip(avals, axes).map { aval, a in
                a.map { PartitionSpec(dimensions: (0..<($0 < 0 ? $0 + aval.rank : $0)).map { _ in [] } + [[axisName]]) } ?? .replicated
            }
        }
        // Donated arguments, by position among the dynamic ones. An unmapped argument's
        // block is one buffer shared by the local devices: donated only with one device.
        let dynamicPositions = (0..<total).filter { !staticPositions.contains($0) }
        let donated = Set(dynamicPositions.enumerated().compactMap { k, i in
            donateArgnums.contains(i) && (inDims[k] != nil || Distributed.localDeviceCount == 1) ? k : nil
        })
        let g = ShardMapFunction(body, mesh: mesh, inSpecs: inDims.map { $0.map(mappedSpec) ?? .replicated },
                                 outSpecs: .computed(outSpecs), checkRep: true, name: "pmap", donateArgnums: donated)
        functions.withLock { $0[key] = g }
        return g
    }
}

/// Maps `f` over the devices of every process (`jax.pmap`): see ``PmapFunction``.
///
/// ```swift
/// try Distributed.initialize()
/// let step = pmap({ a in
///     let g = grad { (w: Tensor) in loss(w, a[1]) }(a[0])
///     return [a[0] - 0.1 * pmean(g, axisName: "batch")]
/// }, axisName: "batch")
/// // Each process: w stacked once per local device, its shard of the batch split by device.
/// let newW = try step.local([wStack, batch])[0]
/// ```
///
/// - Parameters:
///   - f: the per-device function over flat lists of tensors.
///   - axisName: the name collectives use for the axis over all devices.
///   - inAxes: the mapped axis of each non-static argument, nil for one that
///     every device gets whole (default: 0 for all).
///   - outAxes: where each result's mapped axis goes, nil for a result that
///     is the same on every device (checked; default: 0 for all).
///   - staticBroadcastedArgnums: arguments passed by value: `f` sees the
///     concrete tensor, and each distinct value traces separately.
///   - donateArgnums: arguments the caller gives up: the compiled step may
///     write results into their buffers (`jax.pmap(donate_argnums=)`); an
///     unmapped argument is donated only when the process has one device.
public func pmap(
    _ f: @escaping ([Tensor]) -> [Tensor], axisName: String, inAxes: [Int?]? = nil, outAxes: [Int?]? = nil,
    staticBroadcastedArgnums: Set<Int> = [], donateArgnums: Set<Int> = []
) -> PmapFunction {
    PmapFunction(f, axisName: axisName, inAxes: inAxes, outAxes: outAxes.map { .each($0) } ?? .all(0),
                 staticBroadcastedArgnums: staticBroadcastedArgnums, donateArgnums: donateArgnums)
}

/// ``pmap(_:axisName:inAxes:outAxes:staticBroadcastedArgnums:donateArgnums:)``
/// over pytrees, returning this process's part of the result: every leaf of
/// the argument is mapped over `inAxes` and every leaf of the result stacked
/// along `outAxes` (one entry per local device).
///
/// ```swift
/// let normalized = pmap({ (x: Tensor) in x / psum(x.sum(), axisName: "d") }, axisName: "d")
/// let y = try normalized(xs)          // xs: [localDeviceCount, n]
/// ```
public func pmap<P: PyTree, Q: PyTree>(
    _ f: @escaping (P) -> Q, axisName: String, inAxes: Int? = 0, outAxes: Int? = 0
) -> (P) throws -> Q {
    // While a call traces, the body needs that call's input tree (for its
    // structure); the output structure is remembered per input structure.
    let state = PmapTreeState<P, Q>()
    let g = PmapFunction({ xs in
        let p = state.withLock { $0.current! }
        let q = f(treeUnflatten(like: p, xs))
        state.withLock { $0.outputs[treeStructure(p)] = q }
        return treeLeaves(q)
    }, axisName: axisName, inAxes: nil, defaultInAxis: inAxes, outAxes: .all(outAxes), staticBroadcastedArgnums: [],
       donateArgnums: [])
    return { p in
        let leaves = treeLeaves(p)
        state.withLock { $0.current = p }
        let outs = try g.local(leaves)
        guard let q = state.withLock({ $0.outputs[treeStructure(p)] }) else { throw FlockError("pmap: the function was not traced") }
        return treeUnflatten(like: q, outs)
    }
}

/// What a pytree `pmap` remembers between calls.
final class PmapTreeState<P, Q>: @unchecked Sendable {
    struct Fields {
        var current: P?
        var outputs: [TreeStructure: Q] = [:]
    }
    private let lock = Mutex<Void>(())
    private var fields = Fields()
    func withLock<R>(_ body: (inout Fields) -> R) -> R { lock.withLock { _ in body(&fields) } }
}
