// Random values for one block of a larger array.
//
// With partitionable counters (the default), element i of a sampler's output
// hashes its row-major index i and nothing else. A device that holds one
// block of a sharded array can therefore compute exactly its block's values:
// the counters become the block elements' *global* indices. The values do not
// depend on how the array is split, or on how many processes split it — the
// property JAX's `jax_threefry_partitionable` exists for.

extension Random {
    /// Where the block being generated lies in the global array.
    struct Block: Sendable {
        let globalShape: [Int]
        let start: [Int]
        let shape: [Int]
    }

    @TaskLocal static var block: Block?

    /// Runs `body`, in which samplers called with `shape` return the block of
    /// shape `shape` at `start` of the array of `globalShape` that the same
    /// call with `globalShape` would return (bit for bit).
    ///
    /// Only samplers whose values are elementwise functions of the random bits
    /// of their output shape qualify: `bits`, `uniform`, `normal`,
    /// `truncatedNormal`, `bernoulli`, `gumbel`, `randint` (with bounds that
    /// are scalars). Asking for bits of any other shape inside `body` is an
    /// error. With ``RandomConfig/threefryPartitionable`` off, the whole array's
    /// bits are computed and the block is cut out of them (correct, not cheap).
    ///
    /// ```swift
    /// let key = PRNGKey(0)
    /// let full = Random.normal(key, shape: [8, 4])
    /// let rows = Random.inBlock(of: [8, 4], start: [4, 0], shape: [4, 4]) {
    ///     Random.normal(key, shape: [4, 4])
    /// }                                     // == full[4..<8]
    /// ```
    public static func inBlock<R>(of globalShape: [Int], start: [Int], shape: [Int], _ body: () throws -> R) rethrows -> R {
        let fits = globalShape.count == start.count && start.count == shape.count
            && zip(zip(start, shape), globalShape).allSatisfy { $0.0 >= 0 && $0.1 >= 0 && $0.0 + $0.1 <= $1 }
        if !fits {
            raise(FlockError("Random.inBlock: block at \(start) of shape \(shape) does not lie inside an array of shape \(globalShape)"))
        }
        return try $block.withValue(fits ? Block(globalShape: globalShape, start: start, shape: shape) : nil, operation: body)
    }

    /// The (high, low) counters of the elements of `shape`: their row-major
    /// indices, global ones inside ``inBlock(of:start:shape:_:)``. Nil after
    /// reporting a sampler that asks for another shape inside a block.
    static func elementCounters(_ shape: [Int], _ operation: String) -> (Tensor, Tensor)? {
        guard let b = block else { return iota2x32(shape) }
        guard checkBlockShape(shape, b, operation), checkShape(b.globalShape, operation) else { return nil }
        // Global index = Σ_d (start_d + i_d) · stride_d, below 2³¹ (checked above).
        let strides = rowMajorStrides(b.globalShape)
        var low = zeros(shape, dtype: .uint32)
        for d in 0..<shape.count where shape[d] > 1 || b.start[d] > 0 {
            let i = bind1(.iota(.uint32, shape: shape, dimension: d)) + Tensor(UInt32(b.start[d]))
            low = low + i * Tensor(UInt32(strides[d]))
        }
        return (zeros(shape, dtype: .uint32), low)
    }

    /// Whether a sampler inside block `b` asks for bits of the block's shape (reports it if not).
    static func checkBlockShape(_ shape: [Int], _ b: Block, _ operation: String) -> Bool {
        if shape == b.shape { return true }
        raise(FlockError(
            "\(operation): inside Random.inBlock for a block of shape \(b.shape), a sampler asked for random bits of "
                + "shape \(shape); only elementwise samplers called with the block's shape can generate a block"))
        return false
    }

    /// The block of `values` (computed for the block's global shape) when
    /// generating a block without partitionable counters.
    static func cutBlock(_ values: Tensor, _ b: Block) -> Tensor {
        bind1(.slice(start: b.start, limit: zip(b.start, b.shape).map { $0 + $1 }, strides: b.shape.map { _ in 1 }), values)
    }
}
