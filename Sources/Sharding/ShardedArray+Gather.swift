import Synchronization

// Moving sharded data: whole arrays to processes, and between layouts.

extension ShardedArray {
    /// The whole global array on every process
    /// (`jax.experimental.multihost_utils.process_allgather(x, tiled=True)`).
    /// Collective: every process must call it.
    ///
    /// ```swift
    /// let full = try x.processAllgather()      // a Tensor of shape x.shape
    /// ```
    public func processAllgather() throws -> Tensor {
        try gatherBlocks()
    }

    /// The whole global array on process `root` and nil on the others.
    /// Collective: every process must call it (the blocks travel by one
    /// all-gather, so it costs what ``processAllgather()`` costs).
    public func gathered(toProcess root: Int) throws -> Tensor? {
        guard (0..<Distributed.processCount).contains(root) else {
            throw FlockError("gathered(toProcess:): process \(root) is out of range for \(Distributed.processCount) processes")
        }
        let full = try gatherBlocks()
        return Distributed.processIndex == root ? full : nil
    }

    /// Every device's block, joined into the global array.
    private func gatherBlocks() throws -> Tensor {
        let counts = sharding.shardCounts(rank: rank)
        let L = Distributed.localDeviceCount
        let world = Distributed.processTransport
        // Block of every global device, by device id.
        var byDevice: [Tensor]
        if world.size == 1 {
            byDevice = blocks
        } else {
            let local = try catchingErrors { stack(blocks) }.concreteArray(for: "processAllgather")
            let all = Tensor(concrete: try world.allGather(local))  // [P, L] + block
            let flat = all.reshaped([world.size * L] + shardShape)
            byDevice = (0..<(world.size * L)).map { flat[$0] }
        }
        var byGrid: [[Int]: Tensor] = [:]
        for (p, d) in mesh.devices.enumerated() where byGrid.count < counts.reduce(1, *) {
            byGrid[sharding.block(ofPosition: p, shape: counts).map(\.lowerBound)] = byDevice[d]
        }
        var tuples: [[Int]] = [[]]
        for c in counts { tuples = tuples.flatMap { t in (0..<c).map { t + [$0] } } }
        return try catchingErrors { assembleBlocks(tuples.map { byGrid[$0]! }, grid: counts) }
    }
}

// MARK: - Resharding

extension ShardedArray {
    /// The same array laid out by `spec` on the same mesh. Collective.
    ///
    /// Moving one set of mesh axes from one dimension to another is one
    /// all-to-all; otherwise the dimensions whose axes change are gathered
    /// (all-gather) and the new blocks cut out of them. Going back with the
    /// old spec gives the original blocks exactly.
    ///
    /// ```swift
    /// let rows = try x.resharded(to: PartitionSpec("data", nil))
    /// let cols = try rows.resharded(to: PartitionSpec(nil, "data"))   // one all-to-all
    /// ```
    public func resharded(to spec: PartitionSpec) throws -> ShardedArray {
        try resharded(to: NamedSharding(mesh: mesh, spec: spec))
    }

    /// The same array laid out by `sharding`, whose mesh must be this array's. Collective.
    public func resharded(to target: NamedSharding) throws -> ShardedArray {
        guard target.mesh == mesh else {
            throw FlockError(
                "resharded(to:): the array lives on \(mesh) and cannot move to \(target.mesh); arrays on different meshes "
                    + "cannot be combined (gather it with processAllgather and lay it out again)")
        }
        try target.validate(shape: shape, for: "resharded(to:)")
        if target.spec.padded(rank) == spec.padded(rank) {
            return ShardedArray(shape: shape, sharding: target, blocks: blocks)
        }
        let f = Resharding.function(mesh: mesh, from: spec.padded(rank), to: target.spec.padded(rank), shape: shape)
        let out = try f([self])[0]
        return ShardedArray(shape: shape, sharding: target, blocks: out.blocks)
    }
}

extension PartitionSpec {
    /// The axis lists of the first `rank` dimensions (missing ones replicated).
    func padded(_ rank: Int) -> [[String]] {
        (0..<rank).map { $0 < dimensions.count ? dimensions[$0] : [] }
    }
}

/// Per-device programs that change a layout, cached per (mesh, specs, shape).
enum Resharding {
    private struct Key: Hashable {
        let mesh: Mesh
        let from: [[String]]
        let to: [[String]]
        let shape: [Int]
    }
    private static let cache = Mutex<[Key: ShardMapFunction]>([:])

    static func function(mesh: Mesh, from: [[String]], to: [[String]], shape: [Int]) -> ShardMapFunction {
        let key = Key(mesh: mesh, from: from, to: to, shape: shape)
        if let f = cache.withLock({ $0[key] }) { return f }
        let f = shardMap(
            { [body(from: from, to: to, shape: shape, mesh: mesh)($0[0])] }, mesh: mesh,
            inSpecs: [PartitionSpec(dimensions: from)], outSpecs: [PartitionSpec(dimensions: to)], name: "reshard")
        cache.withLock { $0[key] = f }
        return f
    }

    /// The per-device program from blocks of `from` to blocks of `to`.
    static func body(from: [[String]], to: [[String]], shape: [Int], mesh: Mesh) -> (Tensor) -> Tensor {
        let changed = from.indices.filter { from[$0] != to[$0] }
        // One set of axes moving from dimension i to dimension j: an all-to-all.
        if changed.count == 2 {
            let (a, b) = (changed[0], changed[1])
            for (i, j) in [(a, b), (b, a)] where from[j].isEmpty && to[i].isEmpty && from[i] == to[j] {
                return { allToAll($0, axisNames: from[i], splitAxis: j, concatAxis: i, tiled: true) }
            }
        }
        return { x in
            var y = x
            for d in changed where !from[d].isEmpty { y = allGather(y, axisNames: from[d], axis: d, tiled: true) }
            for d in changed where !to[d].isEmpty {
                let size = to[d].map { try! mesh.axisSize($0) }.reduce(1, *)
                let length = shape[d] / size
                var starts = [Tensor](repeating: Tensor(Int32(0)), count: y.rank)
                starts[d] = axisIndex(axisNames: to[d]) * Tensor(Int32(length))
                var sizes = y.shape
                sizes[d] = length
                y = bind1(.dynamicSlice(sizes: sizes), [y] + starts)
            }
            return y
        }
    }
}
