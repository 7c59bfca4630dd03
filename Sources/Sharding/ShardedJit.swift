import FlockCompiler
import Synchronization

/// A function jitted over sharded arrays (`jax.jit` with `in_shardings` /
/// `out_shardings`): the compiler partitions the program and inserts the
/// collectives.
///
/// A call traces the function once per signature on the *global* shapes,
/// propagates the arguments' layouts through the traced program (see
/// ``ShardedLoweredFunction/partitionReport`` for what it inserted), and runs
/// the resulting per-device program on every device's blocks through
/// ``ShardMapFunction``'s machinery (compiled plans, one thread per local
/// device, collectives over the mesh axes' communicators).
public final class ShardedJitFunction: @unchecked Sendable {
    /// Layouts asked for the arguments (nil: the argument's own).
    public let inShardings: [NamedSharding?]?
    /// Layouts asked for the results (nil: the propagated one).
    public let outShardings: [NamedSharding?]?
    let traced: JitFunction
    /// The results' layouts from their number, where they are given as one
    /// for a tree of results (`jit(inShardings:outShardings:_:)` over pytrees).
    var outShardingsForCount: ((Int) throws -> [NamedSharding?])? = nil

    private struct Key: Hashable {
        let avals: [AbstractValue]
        let shardings: [NamedSharding]
    }
    private let cache = Mutex<[Key: ShardedLoweredFunction]>([:])

    init(_ f: @escaping ([Tensor]) -> [Tensor], inShardings: [NamedSharding?]?, outShardings: [NamedSharding?]?) {
        self.inShardings = inShardings
        self.outShardings = outShardings
        traced = jit(name: "sharded_jit", f)
    }

    /// Runs the function on sharded arguments. Collective: every process calls
    /// it with the same global arrays.
    ///
    /// - Throws: ``FlockError``, identically on every process and before any
    ///   collective, for shardings on another mesh than their argument's,
    ///   specs that do not fit, constraints naming unknown axes, collectives
    ///   written in the function, and errors while tracing it.
    public func callAsFunction(_ args: [ShardedArray]) throws -> [ShardedArray] {
        try lower(args)(args)
    }

    /// The partitioned program for arguments like `args` (traced and
    /// propagated on the first call with their global shapes and shardings).
    public func lower(_ args: [ShardedArray]) throws -> ShardedLoweredFunction {
        let shardings = try argumentShardings(args)
        let avals = args.map { AbstractValue(shape: $0.shape, dtype: $0.dtype, weakType: $0.addressableShards.first?.data.weakType ?? false) }
        let key = Key(avals: avals, shardings: shardings)
        if let l = cache.withLock({ $0[key] }) { return l }
        let jaxpr: Jaxpr
        do { jaxpr = try catchingErrors { traced.lower(avals).jaxpr } } catch let e as FlockError where e.message.contains("unbound axis name") {
            // The global program is traced with no mesh axis bound.
            throw FlockError(
                "\(e.message). In jit over sharded arrays the compiler inserts the collectives: write the function for the "
                    + "global arrays, or run the part with explicit collectives in shardMap")
        }
        let mesh = shardings.first?.mesh ?? args.first!.mesh
        let outLayouts = try requestedOutLayouts(jaxpr, mesh: mesh)
        let program = try ShardingPropagation.partition(
            jaxpr, mesh: mesh, inLayouts: zip(shardings, args).map { $0.spec.padded($1.rank) }, outLayouts: outLayouts)
        let lowered = try ShardedLoweredFunction(jaxpr: jaxpr, mesh: mesh, inShardings: shardings, program: program)
        cache.withLock { $0[key] = lowered }
        return lowered
    }

    /// The inserted collectives for arguments like `args`.
    public func collectives(for args: [ShardedArray]) throws -> [InsertedCollective] {
        try lower(args).collectives
    }

    /// Each argument's layout: the requested one, or its own.
    private func argumentShardings(_ args: [ShardedArray]) throws -> [NamedSharding] {
        if let inShardings, inShardings.count != args.count {
            throw FlockError("jit: inShardings has \(inShardings.count) entries but the function was called with \(args.count) arguments")
        }
        guard let first = args.first else {
            throw FlockError("jit over sharded arrays: the function was called with no arguments, so there is no mesh to run on")
        }
        let shardings = args.indices.map { i in inShardings?[i] ?? args[i].sharding }
        for (i, (a, s)) in zip(args, shardings).enumerated() {
            guard s.mesh == a.mesh else {
                throw FlockError(
                    "jit: inShardings[\(i)] lays argument \(i) out on \(s.mesh) but it lives on \(a.mesh); move it to that mesh "
                        + "first (processAllgather, then ShardedArray(_:sharding:))")
            }
            guard a.mesh == first.mesh else {
                throw FlockError(
                    "jit: argument \(i) lives on \(a.mesh) but argument 0 on \(first.mesh); the arguments of one call must share a mesh")
            }
            try s.validate(shape: a.shape, for: "jit: inShardings[\(i)] for argument \(i)")
        }
        return shardings
    }

    private func requestedOutLayouts(_ jaxpr: Jaxpr, mesh: Mesh) throws -> [[[String]]?] {
        let avals = jaxpr.outputAvals
        guard let outShardings = try outShardings ?? outShardingsForCount?(avals.count) else { return avals.map { _ in nil } }
        guard outShardings.count == avals.count else {
            throw FlockError("jit: outShardings has \(outShardings.count) entries but the function returned \(avals.count) results")
        }
        return try zip(outShardings, avals).enumerated().map { j, pair in
            guard let s = pair.0 else { return nil }
            guard s.mesh == mesh else {
                throw FlockError("jit: outShardings[\(j)] is on \(s.mesh) but the arguments live on \(mesh)")
            }
            try s.validate(shape: pair.1.shape, for: "jit: outShardings[\(j)] for result \(j)")
            return s.spec.padded(pair.1.rank)
        }
    }
}

/// A function jitted over sharded arrays, partitioned for one signature: its
/// layouts, its inserted collectives, and the per-device program.
public final class ShardedLoweredFunction: @unchecked Sendable {
    /// The traced program over global shapes.
    public let jaxpr: Jaxpr
    /// The arguments' layouts.
    public let inShardings: [NamedSharding]
    /// The results' layouts (propagated, or as requested).
    public let outShardings: [NamedSharding]
    /// Every collective the partitioner inserted, in program order.
    public let collectives: [InsertedCollective]
    /// Where it chose between gathering an operand and reducing partial
    /// results, and why (bytes per device).
    public let decisions: [String]
    let perDevice: ShardMapFunction
    /// The per-device program (its steps, for tests).
    let program: PartitionedProgram

    init(jaxpr: Jaxpr, mesh: Mesh, inShardings: [NamedSharding], program: PartitionedProgram) throws {
        self.jaxpr = jaxpr
        self.inShardings = inShardings
        // Trailing replicated dimensions dropped, as specs are usually written.
        outShardings = try program.outSpecs.map { layout in
            let end = (layout.lastIndex { !$0.isEmpty } ?? -1) + 1
            return try NamedSharding(mesh: mesh, spec: PartitionSpec(dimensions: Array(layout[..<end])))
        }
        self.program = program
        collectives = program.collectives
        decisions = program.decisions
        perDevice = ShardMapFunction(
            { program.run($0, mesh: mesh) }, mesh: mesh, inSpecs: inShardings.map(\.spec),
            outSpecs: .fixed(outShardings.map(\.spec)), checkRep: true, name: "sharded_jit")
    }

    /// Runs the per-device program (arguments laid out otherwise than
    /// ``inShardings`` are resharded first). Collective.
    public func callAsFunction(_ args: [ShardedArray]) throws -> [ShardedArray] {
        try perDevice(args)
    }

    /// The estimated peak bytes of one device's live arrays while the
    /// partitioned program runs (the plan of its compiled shardMap body; its
    /// blocks of the arguments and results included), for comparing layouts'
    /// memory, e.g. FSDP's against data parallelism's.
    ///
    /// ```swift
    /// print(try step.lower(args).perDevicePeakBytes())
    /// ```
    public func perDevicePeakBytes() throws -> Int {
        try compile().peakBytes
    }

    /// The per-device program compiled (`jax.jit(f).lower(x).compile()`):
    /// its plan (the one every device runs on its blocks), its peak memory,
    /// and the inserted collectives.
    ///
    /// ```swift
    /// let compiled = try step.lower(args).compile()
    /// print(compiled)   // the partition report, then the plan's size and peak
    /// ```
    public func compile() throws -> ShardedCompiledFunction {
        let comms = try MeshCommunicators.of(perDevice.mesh)
        let avals = zip(jaxpr.inputAvals, inShardings).map { a, s in
            AbstractValue(shape: s.shardShape(a.shape), dtype: a.dtype, weakType: a.weakType)
        }
        let plan = try withFrames(comms.frames(local: 0)) { try catchingErrors { perDevice.jitted.lower(avals).compile() } }
        return ShardedCompiledFunction(lowered: self, perDevice: plan)
    }

    /// Bytes one device sends into the inserted collectives (their operands).
    public var collectiveBytes: Int { collectives.reduce(0) { $0 + $1.bytes } }

    /// The layouts, inserted collectives and choices, one per line:
    ///
    /// ```
    /// jit over sharded arrays on Mesh('data': 2)
    ///   argument 0: f64[8, 3] PartitionSpec('data', None)
    ///   result 0: f64[3, 4] PartitionSpec(None, None)
    ///   1 collective, 96 B per device:
    ///     psum over ["data"] of f64[3, 4] (96 B per device) for dot_general: partial products of …
    /// ```
    public var partitionReport: String {
        var lines = ["jit over sharded arrays on \(perDevice.mesh)"]
        for (i, (a, s)) in zip(jaxpr.inputAvals, inShardings).enumerated() { lines.append("  argument \(i): \(a) \(s.spec)") }
        for (j, (a, s)) in zip(jaxpr.outputAvals, outShardings).enumerated() { lines.append("  result \(j): \(a) \(s.spec)") }
        lines.append("  \(collectives.count) collective\(collectives.count == 1 ? "" : "s"), \(collectiveBytes) B per device\(collectives.isEmpty ? "" : ":")")
        lines += collectives.map { "    \($0)" }
        if !decisions.isEmpty {
            lines.append("  decisions:")
            lines += decisions.map { "    \($0)" }
        }
        return lines.joined(separator: "\n")
    }
}

/// A function jitted over sharded arrays, compiled for one signature
/// (`jax.stages.Compiled`): the partitioned program's report and one
/// device's compiled plan.
public final class ShardedCompiledFunction: @unchecked Sendable, CustomStringConvertible {
    /// The partitioned program it was compiled from.
    public let lowered: ShardedLoweredFunction
    /// One device's compiled program (every device runs the same plan on
    /// its blocks of the arguments).
    public let perDevice: CompiledFunction

    init(lowered: ShardedLoweredFunction, perDevice: CompiledFunction) {
        self.lowered = lowered
        self.perDevice = perDevice
    }

    /// Every collective the partitioner inserted, in program order.
    public var collectives: [InsertedCollective] { lowered.collectives }
    /// Bytes one device sends into the inserted collectives per call.
    public var collectiveBytes: Int { lowered.collectiveBytes }
    /// The estimated peak bytes of one device's live arrays while the plan
    /// runs (its blocks of the arguments and results included).
    public var peakBytes: Int { perDevice.peakBytes }

    /// Runs the program (see ``ShardedLoweredFunction/callAsFunction(_:)``). Collective.
    public func callAsFunction(_ args: [ShardedArray]) throws -> [ShardedArray] { try lowered(args) }

    /// The partition report (layouts, inserted collectives with their bytes,
    /// decisions), then the per-device plan's instructions and peak.
    public var description: String {
        lowered.partitionReport
            + "\n  per-device plan: \(perDevice.instructionCount) instructions, \(perDevice.bufferCount) buffers, peak \(peakBytes) B"
    }
}

/// Compiles `f` for sharded arrays (`jax.jit(f, in_shardings=…, out_shardings=…)`):
/// the compiler propagates the arguments' layouts through the program and
/// inserts the collectives, so `f` is written as for one device.
///
/// ```swift
/// // Data parallelism with no collective in the model: the batch is split over
/// // "data", the parameters replicated; the weight gradient (a product over the
/// // batch) becomes a partial sum and gets a psum.
/// let step = jit(inShardings: nil) { a in
///     let (loss, g) = valueAndGrad { (w: Tensor) in square(tanh(matmul(a[1], w)) - a[2]).mean() }(a[0])
///     return [loss, a[0] - 0.1 * g]
/// }
/// let outs = try step([w, xs, ys])            // ShardedArrays; outs replicated
/// print(try step.lower([w, xs, ys]).partitionReport)
/// ```
///
/// - Parameters:
///   - inShardings: one entry per argument (nil, or a nil entry: the
///     argument's own sharding); an argument laid out otherwise is resharded.
///     Every sharding must be on the arguments' mesh.
///   - outShardings: one entry per result (nil, or a nil entry: the
///     propagated layout).
///   - f: the function over flat lists of global tensors. It may call
///     ``withShardingConstraint(_:_:)``, `grad` and the other transforms, but
///     not collectives.
public func jit(
    inShardings: [NamedSharding?]?, outShardings: [NamedSharding?]? = nil, _ f: @escaping ([Tensor]) -> [Tensor]
) -> ShardedJitFunction {
    ShardedJitFunction(f, inShardings: inShardings, outShardings: outShardings)
}
