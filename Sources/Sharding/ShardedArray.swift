/// One block of a ``ShardedArray``, held by a device of this process.
public struct Shard: Sendable {
    /// The global device id.
    public let device: Int
    /// Where the block lies in the global array: one range per dimension.
    public let index: [Range<Int>]
    /// The block's values.
    public let data: Tensor
}

/// An array laid out over the devices of a mesh (`jax.Array` with a
/// `NamedSharding`): a global shape and dtype, a sharding that says which
/// block each device holds, and this process's blocks.
///
/// Every process describes the same global array; each holds only the blocks
/// of its own devices (its *addressable shards*). Operations on sharded arrays
/// are SPMD: every process calls them in the same order.
///
/// ```swift
/// try Distributed.initialize()
/// let mesh = try Mesh.overAllDevices(shape: [Distributed.deviceCount], axisNames: ["data"])
/// let x = try ShardedArray(arange(0, 8).reshaped([8, 1]),
///                          sharding: NamedSharding(mesh: mesh, spec: PartitionSpec("data", nil)))
/// print(x)                               // the layout: which device holds which rows
/// let total = try x.sum()                // a replicated scalar (a psum over "data")
/// let back = try x.processAllgather()    // the whole array, on every process
/// ```
public struct ShardedArray: Sendable {
    /// The global shape.
    public let shape: [Int]
    /// The element type.
    public let dtype: DType
    /// Where every block lives.
    public let sharding: NamedSharding
    /// This process's blocks, one per local device in local device order.
    public let addressableShards: [Shard]

    /// The devices the array is laid out over.
    public var mesh: Mesh { sharding.mesh }
    /// How the array's dimensions are split over the mesh axes.
    public var spec: PartitionSpec { sharding.spec }
    /// Number of dimensions.
    public var rank: Int { shape.count }
    /// Number of elements of the global array.
    public var count: Int { shape.reduce(1, *) }

    /// An array from this process's blocks, in local device order (shapes checked by the caller).
    init(shape: [Int], sharding: NamedSharding, blocks: [Tensor]) {
        self.shape = shape
        self.sharding = sharding
        dtype = blocks.first?.dtype ?? .float32
        let positions = sharding.mesh.localPositions
        addressableShards = zip(positions, blocks).map { p, b in
            Shard(device: sharding.mesh.devices[p], index: sharding.block(ofPosition: p, shape: shape), data: b)
        }
    }

    /// The local blocks, in local device order: what a per-device function sees.
    var blocks: [Tensor] { addressableShards.map(\.data) }

    /// Shape of every block.
    public var shardShape: [Int] { sharding.shardShape(shape) }
}

// MARK: - Creation

extension ShardedArray {
    /// Lays out `array` — the same global array on every process — by
    /// `sharding`: each process keeps the blocks of its devices
    /// (`jax.device_put(x, sharding)`).
    ///
    /// - Throws: ``FlockError`` on every process when the spec does not fit
    ///   the array (too many entries, a dimension not divisible by its mesh
    ///   axes), the mesh does not hold the job's devices, or some process
    ///   passed an array of another shape.
    public init(_ array: Tensor, sharding: NamedSharding) throws {
        var made: ShardedArray? = nil
        try agreeOnEveryProcess("ShardedArray", signature: "\(array.aval) as \(sharding)") {
            made = try ShardedArray.fromHost(array, sharding, for: "ShardedArray")
        }
        self = made!
    }

    /// A host array's local blocks, after checks that involve only this
    /// process (callers agree with the other processes on the outcome).
    static func fromHost(_ array: Tensor, _ sharding: NamedSharding, for operation: String) throws -> ShardedArray {
        let x = Tensor(concrete: try array.concreteArray(for: operation), weakType: array.weakType)
        try sharding.mesh.checkCoversJob(for: operation)
        try sharding.validate(shape: array.shape, for: operation)
        return ShardedArray(shape: array.shape, sharding: sharding,
                            blocks: sharding.mesh.localPositions.map { cutBlock(x, sharding.block(ofPosition: $0, shape: array.shape)) })
    }

    /// An array from one block per local device, in local device order
    /// (`jax.make_array_from_single_device_arrays`): each block must have the
    /// shape the sharding gives it.
    public init(shape: [Int], sharding: NamedSharding, localBlocks: [Tensor]) throws {
        let operation = "ShardedArray(localBlocks:)"
        try sharding.mesh.checkCoversJob(for: operation)
        try validateShape(shape, dtype: localBlocks.first?.dtype ?? .float32, operation: operation)
        try sharding.validate(shape: shape, for: operation)
        guard localBlocks.count == Distributed.localDeviceCount else {
            throw FlockError("\(operation): got \(localBlocks.count) blocks for \(Distributed.localDeviceCount) local devices")
        }
        let expected = sharding.shardShape(shape)
        for (i, b) in localBlocks.enumerated() {
            guard b.isConcrete, b.shape == expected, b.dtype == localBlocks[0].dtype else {
                throw FlockError(
                    "\(operation): block \(i) is \(b.isConcrete ? "\(b.aval)" : "a traced value"); every block of \(shape) "
                        + "under \(sharding.spec) must be a concrete \(localBlocks[0].dtype)\(expected)")
            }
        }
        self.init(shape: shape, sharding: sharding, blocks: localBlocks)
    }

    /// An array made from each process's part of it
    /// (`jax.make_array_from_process_local_data`): `localData` is the box of
    /// the global array covered by this process's devices, e.g. this process's
    /// slice of the batch.
    ///
    /// ```swift
    /// // 2 processes, mesh ["data": 2]: each passes its 4 rows of an [8, 3] batch.
    /// let batch = try ShardedArray(processLocalData: myRows,
    ///                              sharding: NamedSharding(mesh: mesh, spec: PartitionSpec("data")))
    /// ```
    ///
    /// - Parameter globalShape: the global shape; by default every dimension is
    ///   the local one scaled by the number of processes it is split over.
    /// - Throws: ``FlockError`` on every process when a process's data does not
    ///   fit (wrong shape, not divisible), or the devices of a process do not
    ///   cover a box of the array.
    public init(processLocalData localData: Tensor, sharding: NamedSharding, globalShape: [Int]? = nil) throws {
        let operation = "makeArrayFromProcessLocalData"
        var made: ShardedArray? = nil
        try agreeOnEveryProcess(operation, signature: "\(localData.aval) as \(sharding) global \(globalShape.map { "\($0)" } ?? "inferred")") {
            made = try ShardedArray.fromProcessLocalData(localData, sharding, globalShape: globalShape, for: operation)
        }
        self = made!
    }

    /// The array made from this process's data, after checks that involve only
    /// this process (callers agree with the other processes on the outcome).
    static func fromProcessLocalData(
        _ localData: Tensor, _ sharding: NamedSharding, globalShape: [Int]?, for operation: String
    ) throws -> ShardedArray {
        let x = Tensor(concrete: try localData.concreteArray(for: operation), weakType: localData.weakType)
        try sharding.mesh.checkCoversJob(for: operation)
        guard sharding.spec.dimensions.count <= localData.rank else {
            throw FlockError(
                "\(operation): \(sharding.spec) has \(sharding.spec.dimensions.count) entries but the local data has rank "
                    + "\(localData.rank) (shape \(localData.shape))")
        }
        let box = try ProcessBox(sharding, rank: localData.rank, for: operation)
        let shape = try box.globalShape(local: localData.shape, given: globalShape, for: operation)
        try validateShape(shape, dtype: localData.dtype, operation: operation)
        try sharding.validate(shape: shape, for: operation)
        let blockShape = sharding.shardShape(shape)
        return ShardedArray(shape: shape, sharding: sharding, blocks: box.localGrid.map { g in
            cutBlock(x, (0..<shape.count).map { d in
                let start = (g[d] - box.lower[d]) * blockShape[d]
                return start..<(start + blockShape[d])
            })
        })
    }

    /// This process's part of the array: the box its devices cover (the inverse
    /// of ``init(processLocalData:sharding:globalShape:)``), e.g. `pmap`'s
    /// per-process stack of results.
    public var processLocalData: Tensor {
        get throws {
            let box = try ProcessBox(sharding, rank: rank, for: "processLocalData")
            var byGrid: [[Int]: Tensor] = [:]
            for (g, b) in zip(box.localGrid, blocks) { byGrid[g] = b }
            return assembleBlocks(box.gridTuples.map { byGrid[$0]! }, grid: box.upper.enumerated().map { $1 - box.lower[$0] })
        }
    }
}

/// `x[ranges]` as one slice.
func cutBlock(_ x: Tensor, _ ranges: [Range<Int>]) -> Tensor {
    if zip(ranges, x.shape).allSatisfy({ $0.lowerBound == 0 && $0.count == $1 }) { return x }
    return bind1(.slice(start: ranges.map(\.lowerBound), limit: ranges.map(\.upperBound), strides: ranges.map { _ in 1 }), x)
}

/// Blocks of equal shape, given in row-major order over a `grid`, joined into
/// one array whose dimension `d` is `grid[d] × block[d]`.
func assembleBlocks(_ blocks: [Tensor], grid: [Int]) -> Tensor {
    if blocks.count == 1 { return blocks[0] }
    let blockShape = blocks[0].shape, n = grid.count
    // [g0, g1, …, b0, b1, …] → [g0, b0, g1, b1, …] → [g0·b0, g1·b1, …]
    let stacked = stack(blocks).reshaped(grid + blockShape)
    let interleaved = stacked.transposed((0..<n).flatMap { [$0, n + $0] })
    return interleaved.reshaped(zip(grid, blockShape).map { $0 * $1 })
}

/// The blocks a process holds, as a box on the sharding's grid of blocks.
///
/// The grid has `shardCounts[d]` blocks along dimension `d`; the process's
/// devices must hold exactly the blocks of a box `lower..<upper` of it (any
/// block possibly on several devices).
struct ProcessBox {
    let counts: [Int]
    let lower: [Int]
    let upper: [Int]
    /// Grid coordinates of each local device's block, in local device order.
    let localGrid: [[Int]]

    init(_ sharding: NamedSharding, rank: Int, for operation: String) throws {
        let counts = sharding.shardCounts(rank: rank)
        self.counts = counts
        let grid = sharding.mesh.localPositions.map { p in sharding.block(ofPosition: p, shape: counts).map(\.lowerBound) }
        let lower = (0..<rank).map { d in grid.map { $0[d] }.min() ?? 0 }
        let upper = (0..<rank).map { d in (grid.map { $0[d] }.max() ?? -1) + 1 }
        (self.lower, self.upper, localGrid) = (lower, upper, grid)
        let boxCount = zip(lower, upper).map { $1 - $0 }.reduce(1, *)
        guard Set(grid).count == boxCount else {
            throw FlockError(
                "\(operation): the blocks of \(sharding) held by process \(Distributed.processIndex) (grid positions "
                    + "\(Set(grid).sorted { $0.lexicographicallyPrecedes($1) })) do not form a box of the array, so they have no "
                    + "process-local array; choose a spec whose process-spanning axes come first")
        }
    }

    /// Every grid position of the box, row-major.
    var gridTuples: [[Int]] {
        var out: [[Int]] = [[]]
        for d in lower.indices { out = out.flatMap { t in (lower[d]..<upper[d]).map { t + [$0] } } }
        return out
    }

    /// The global shape for process-local data of shape `local`.
    func globalShape(local: [Int], given: [Int]?, for operation: String) throws -> [Int] {
        let boxBlocks = zip(lower, upper).map { $1 - $0 }
        let inferred = try (0..<local.count).map { d in
            let (n, overflow) = (local[d] / boxBlocks[d]).multipliedReportingOverflow(by: counts[d])
            if overflow { throw FlockError("\(operation): the global size of dimension \(d) of local data \(local) overflows a 64-bit integer") }
            return n
        }
        for d in local.indices where local[d] % boxBlocks[d] != 0 {
            throw FlockError(
                "\(operation): dimension \(d) of the local data (shape \(local)) holds \(boxBlocks[d]) blocks on this process, "
                    + "but \(local[d]) is not divisible by \(boxBlocks[d])")
        }
        guard let given else { return inferred }
        guard given.count == local.count, given == inferred else {
            throw FlockError(
                "\(operation): local data of shape \(local) is this process's \(boxBlocks) of \(counts) blocks, "
                    + "which makes the global shape \(inferred), not \(given)")
        }
        return given
    }
}

/// ``ShardedArray/init(processLocalData:sharding:globalShape:)`` by JAX's name.
public func makeArrayFromProcessLocalData(
    _ sharding: NamedSharding, _ localData: Tensor, globalShape: [Int]? = nil
) throws -> ShardedArray {
    try ShardedArray(processLocalData: localData, sharding: sharding, globalShape: globalShape)
}
