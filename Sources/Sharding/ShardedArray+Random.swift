extension ShardedArray {
    /// Random values for a sharded array: each device computes only its own
    /// block, and the values equal those of the same sampler called for the
    /// whole array — for any mesh, spec and number of processes (JAX's
    /// partitionable threefry; see `Random.inBlock`).
    ///
    /// `sample` is called once per local device with the block's shape and must
    /// call one elementwise sampler (`uniform`, `normal`, `bernoulli`, …) with it.
    ///
    /// ```swift
    /// let key = PRNGKey(0)
    /// let w = try ShardedArray.random(shape: [1024, 512], sharding: rowsOverData) {
    ///     Random.normal(key, shape: $0) * 0.02
    /// }                              // == Random.normal(key, shape: [1024, 512]) * 0.02, by rows
    /// ```
    public static func random(shape: [Int], sharding: NamedSharding, _ sample: ([Int]) -> Tensor) throws -> ShardedArray {
        try sharding.mesh.checkCoversJob(for: "ShardedArray.random")
        try sharding.validate(shape: shape, for: "ShardedArray.random")
        let blockShape = sharding.shardShape(shape)
        let blocks = try catchingErrors {
            sharding.mesh.localPositions.map { p in
                Random.inBlock(of: shape, start: sharding.block(ofPosition: p, shape: shape).map(\.lowerBound), shape: blockShape) {
                    sample(blockShape)
                }
            }
        }
        for b in blocks where b.shape != blockShape {
            throw FlockError("ShardedArray.random: the sampler returned \(b.aval) for a block of shape \(blockShape)")
        }
        return ShardedArray(shape: shape, sharding: sharding, blocks: blocks)
    }
}
