import Synchronization

/// `shardMap`: a per-device program over the blocks of sharded arrays
/// (`jax.shard_map`).
///
/// Every local device of every process runs the function on its blocks, on a
/// thread of its own, with each mesh axis name bound to the communicator of
/// the devices that differ from it only along that axis (see
/// ``MeshCommunicators``): collectives inside the function (`psum`,
/// `allGather`, …) move data between devices, within a process in memory and
/// between processes over MPI. The function is jitted: traced once per
/// signature (on the calling thread), then run by every device.
///
/// Results become sharded arrays by `outSpecs`. A result whose spec omits a
/// mesh axis claims to be the same on every device along it; with `checkRep`
/// (the default, JAX's `check_rep`) the traced program is checked for that —
/// a value stays the same along an axis unless it comes from a sharded input
/// or a collective that tells the devices apart (`axisIndex`, `ppermute`,
/// `psumScatter`, `allToAll`), and `psum`, `pmax`, `pmin`, `allGather` and
/// `pbroadcast` make it the same again.
public final class ShardMapFunction: @unchecked Sendable {
    /// The devices the function runs on.
    public let mesh: Mesh
    /// How each argument is laid out for the function.
    public let inSpecs: [PartitionSpec]
    /// Whether results are checked to be replicated where their specs say so.
    public let checkRep: Bool
    /// The results' specs, given or computed from the results' per-device types.
    let outSpecsRule: OutSpecs
    /// The per-device function, its name and its jitted form.
    let f: ([Tensor]) -> [Tensor]
    let name: String
    let jitted: JitFunction
    /// Varying mesh axes of each output, per traced jaxpr (by identity).
    private let varying = Mutex<[Jaxpr: [Set<String>]]>([:])
    private let shardings = Mutex<(inputs: [NamedSharding]?, outputs: [NamedSharding]?)>((nil, nil))
    /// Pullback programs (see ShardMap+AD.swift).
    let backwards = Mutex<[BackwardKey: ShardMapFunction]>([:])

    enum OutSpecs {
        case fixed([PartitionSpec])
        /// pmap's: the specs follow the results' ranks.
        case computed(@Sendable ([AbstractValue]) -> [PartitionSpec])
    }

    init(_ f: @escaping ([Tensor]) -> [Tensor], mesh: Mesh, inSpecs: [PartitionSpec], outSpecs: OutSpecs,
         checkRep: Bool, name: String, donateArgnums: Set<Int> = []) {
        self.mesh = mesh
        self.inSpecs = inSpecs
        self.outSpecsRule = outSpecs
        self.checkRep = checkRep
        self.f = f
        self.name = name
        jitted = jit(name: name, donateArgnums: donateArgnums, f)
    }

    /// The results' specs (empty for `pmap`'s, which follow the results' ranks).
    public var outSpecs: [PartitionSpec] {
        if case .fixed(let specs) = outSpecsRule { return specs }
        return []
    }

    /// How many times the per-device function has been traced (once per signature).
    public var traceCount: Int { jitted.traceCount }

    /// Runs the function on every device's blocks of `args` (resharded to
    /// `inSpecs` first when laid out otherwise). Collective: every process
    /// calls it with the same global arrays.
    ///
    /// - Throws: ``FlockError`` — identically on every process — for arrays on
    ///   another mesh, specs that do not fit, errors while tracing the function,
    ///   results that do not fit `outSpecs`, or a collective called inconsistently.
    public func callAsFunction(_ args: [ShardedArray]) throws -> [ShardedArray] {
        // One multi-device program at a time per process: concurrent ones would pair each other's collectives.
        try CollectiveSection.run { try run(args) }
    }

    private func run(_ args: [ShardedArray]) throws -> [ShardedArray] {
        guard args.count == inSpecs.count else {
            throw FlockError("shardMap: inSpecs has \(inSpecs.count) entries but the function was called with \(args.count) arguments")
        }
        for (i, a) in args.enumerated() where a.mesh != mesh {
            throw FlockError(
                "shardMap: argument \(i) lives on \(a.mesh) but the function maps over \(mesh); arrays on different meshes "
                    + "cannot be combined (gather it with processAllgather and lay it out on this mesh)")
        }
        let inShardings = try self.inShardings()
        for (i, (a, s)) in zip(args, inShardings).enumerated() { try s.validate(shape: a.shape, for: "shardMap: argument \(i)") }
        let inputs = try zip(args, inShardings).map { a, s in
            a.spec.padded(a.rank) == s.spec.padded(a.rank) ? a : try a.resharded(to: s)
        }
        let comms = try MeshCommunicators.of(mesh)

        // Trace once per signature, here, with device 0's axes bound.
        // Trace and compile once per signature, here, with device 0's axes bound
        // (shapes and axis sizes are the same on every device).
        let lowered = try withFrames(comms.frames(local: 0)) { try catchingErrors { jitted.lower(inputs.map { $0.blocks[0] }) } }
        let jaxpr = lowered.jaxpr
        let outShardings = try self.outShardings(jaxpr.outputAvals)
        let outShapes = try outputShapes(jaxpr, outShardings)
        let compiled = try withFrames(comms.frames(local: 0)) { try catchingErrors { lowered.compile() } }

        let results = try onThreadsWithContext(Distributed.localDeviceCount) { i in
            try withFrames(comms.frames(local: i)) { try catchingErrors { compiled(inputs.map { $0.blocks[i] }) } }
        }
        return outShapes.indices.map { j in
            ShardedArray(shape: outShapes[j], sharding: outShardings[j], blocks: results.map { $0[j] })
        }
    }

    /// The arguments' shardings, validated once.
    private func inShardings() throws -> [NamedSharding] {
        if let s = shardings.withLock({ $0.inputs }) { return s }
        let s = try inSpecs.map { try NamedSharding(mesh: mesh, spec: $0) }
        _ = try outSpecs.map { try NamedSharding(mesh: mesh, spec: $0) }  // fixed ones: report bad names before tracing
        shardings.withLock { $0.inputs = s }
        return s
    }

    /// The results' shardings for results of types `avals`.
    private func outShardings(_ avals: [AbstractValue]) throws -> [NamedSharding] {
        switch outSpecsRule {
        case .fixed(let specs):
            if let s = shardings.withLock({ $0.outputs }) { return s }
            let s = try specs.map { try NamedSharding(mesh: mesh, spec: $0) }
            shardings.withLock { $0.outputs = s }
            return s
        case .computed(let rule):
            return try rule(avals).map { try NamedSharding(mesh: mesh, spec: $0) }
        }
    }

    /// Lays out `args` — the same global arrays on every process — by
    /// `inSpecs`, then runs the function (see ``callAsFunction(_:)-([ShardedArray])``).
    public func callAsFunction(_ args: [Tensor]) throws -> [ShardedArray] {
        guard args.count == inSpecs.count else {
            throw FlockError("shardMap: inSpecs has \(inSpecs.count) entries but the function was called with \(args.count) arguments")
        }
        var sharded: [ShardedArray] = []
        try agreeOnEveryProcess("shardMap", signature: args.map { "\($0.aval)" }.joined(separator: ",")) {
            sharded = try zip(args, inSpecs).enumerated().map { i, pair in
                try ShardedArray.fromHost(pair.0, NamedSharding(mesh: mesh, spec: pair.1), for: "shardMap: argument \(i)")
            }
        }
        return try self(sharded)
    }

    /// The global shapes of the results of `jaxpr` laid out by `shardings`,
    /// after checking they fit (and, with `checkRep`, their replication).
    private func outputShapes(_ jaxpr: Jaxpr, _ shardings: [NamedSharding]) throws -> [[Int]] {
        let avals = jaxpr.outputAvals
        guard avals.count == shardings.count else {
            throw FlockError("shardMap: outSpecs has \(shardings.count) entries but the function returned \(avals.count) results")
        }
        if checkRep {
            let varying = try varyingAxes(jaxpr)
            for (j, s) in shardings.enumerated() {
                let unmentioned = mesh.axisNames.filter { varying[j].contains($0) && !s.spec.usedAxes.contains($0) }
                guard unmentioned.isEmpty else {
                    if name == "pmap" {
                        // pmap's out axes are its own words for these specs.
                        throw FlockError(
                            "pmap: result \(j) (per-device \(avals[j])) differs across devices, but outAxes[\(j)] is nil "
                                + "(one copy for all devices); reduce it over the axis (psum, pmean, …) or map it with an out axis")
                    }
                    throw FlockError(
                        "shardMap: result \(j) (per-device \(avals[j])) varies along mesh axes \(unmentioned), but outSpecs[\(j)] = "
                            + "\(s.spec) does not name them, so its copies along them could differ; reduce it over them "
                            + "(psum, pmean, allGather, …), name them in the spec, or pass checkRep: false")
                }
            }
        }
        return try zip(avals, shardings).enumerated().map { j, pair in
            let (aval, s) = pair
            guard s.spec.dimensions.count <= aval.rank else {
                throw FlockError(
                    "shardMap: outSpecs[\(j)] = \(s.spec) has \(s.spec.dimensions.count) entries but result \(j) has rank "
                        + "\(aval.rank) (per-device \(aval))")
            }
            return zip(aval.shape, s.shardCounts(rank: aval.rank)).map { $0 * $1 }
        }
    }

    private func varyingAxes(_ jaxpr: Jaxpr) throws -> [Set<String>] {
        if let v = varying.withLock({ $0[jaxpr] }) { return v }
        let v = ReplicationAnalysis.varyingAxes(jaxpr, inputs: inSpecs.map { Set($0.usedAxes) })
        varying.withLock { $0[jaxpr] = v }
        return v
    }
}

/// Runs `body` with `frames` added to the named axes.
func withFrames<R>(_ frames: [AxisFrame], _ body: () throws -> R) rethrows -> R {
    try AxisEnvironment.$frames.withValue(AxisEnvironment.frames + frames, operation: body)
}

/// Maps `f` over the blocks of sharded arrays, one device at a time, with the
/// mesh's axis names bound for collectives (`jax.shard_map`).
///
/// `f` sees each device's block of every argument (laid out by `inSpecs`) and
/// returns its blocks of the results (laid out by `outSpecs`).
///
/// ```swift
/// // Rows of x over "data": each device multiplies its rows; the row sums of
/// // all devices are added with one psum.
/// let mesh = try Mesh.overAllDevices(shape: [Distributed.deviceCount], axisNames: ["data"])
/// let f = shardMap({ a in [matmul(a[0], a[1]), psum(a[0].sum(axes: [0]), axisName: "data")] },
///                  mesh: mesh, inSpecs: [PartitionSpec("data", nil), .replicated],
///                  outSpecs: [PartitionSpec("data", nil), .replicated])
/// let outs = try f([x, w])      // x [8, 3], w [3, 5] on every process → [8, 5] by rows, [3] replicated
/// ```
///
/// - Parameters:
///   - f: the per-device function over flat lists of blocks.
///   - mesh: the devices and their named axes (every device of the job).
///   - inSpecs: one spec per argument.
///   - outSpecs: one spec per result; a result whose spec omits a mesh axis
///     must be the same on every device along it.
///   - checkRep: whether to check that statically (JAX's `check_rep`).
public func shardMap(
    _ f: @escaping ([Tensor]) -> [Tensor], mesh: Mesh, inSpecs: [PartitionSpec], outSpecs: [PartitionSpec],
    checkRep: Bool = true
) -> ShardMapFunction {
    ShardMapFunction(f, mesh: mesh, inSpecs: inSpecs, outSpecs: .fixed(outSpecs), checkRep: checkRep, name: "shard_map")
}

func shardMap(
    _ f: @escaping ([Tensor]) -> [Tensor], mesh: Mesh, inSpecs: [PartitionSpec], outSpecs: [PartitionSpec],
    checkRep: Bool = true, name: String
) -> ShardMapFunction {
    ShardMapFunction(f, mesh: mesh, inSpecs: inSpecs, outSpecs: .fixed(outSpecs), checkRep: checkRep, name: name)
}

/// ``shardMap(_:mesh:inSpecs:outSpecs:checkRep:)`` for a function of one tensor.
///
/// ```swift
/// let total = shardMap({ x in psum(x.sum(), axisName: "data") }, mesh: mesh,
///                      inSpec: PartitionSpec("data"), outSpec: .replicated)
/// let s = try total(xs)                  // xs: a ShardedArray
/// ```
public func shardMap(
    _ f: @escaping (Tensor) -> Tensor, mesh: Mesh, inSpec: PartitionSpec, outSpec: PartitionSpec, checkRep: Bool = true
) -> (ShardedArray) throws -> ShardedArray {
    let g = shardMap({ [f($0[0])] }, mesh: mesh, inSpecs: [inSpec], outSpecs: [outSpec], checkRep: checkRep)
    return { try g([$0])[0] }
}

/// ``shardMap(_:mesh:inSpecs:outSpecs:checkRep:)`` for a function of two tensors.
///
/// ```swift
/// let mm = shardMap({ a, b in matmul(a, b) }, mesh: mesh,
///                   inSpecs: (PartitionSpec("x", nil), PartitionSpec(nil, "y")), outSpec: PartitionSpec("x", "y"))
/// ```
public func shardMap(
    _ f: @escaping (Tensor, Tensor) -> Tensor, mesh: Mesh, inSpecs: (PartitionSpec, PartitionSpec), outSpec: PartitionSpec,
    checkRep: Bool = true
) -> (ShardedArray, ShardedArray) throws -> ShardedArray {
    let g = shardMap({ [f($0[0], $0[1])] }, mesh: mesh, inSpecs: [inSpecs.0, inSpecs.1], outSpecs: [outSpec], checkRep: checkRep)
    return { try g([$0, $1])[0] }
}
