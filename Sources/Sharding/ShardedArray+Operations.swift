import Synchronization

// Computing directly on sharded arrays: elementwise operations work block by
// block on the calling thread (no communication); reductions over sharded
// dimensions add the collective that combines the devices' partial results.

extension ShardedArray {
    /// Applies an elementwise function to every block: `f` must keep the
    /// shape and not depend on where a block lies (e.g. `tanh`, `{ $0 * 2 }`).
    ///
    /// ```swift
    /// let y = try x.map { tanh($0) * 0.5 + 0.5 }
    /// ```
    public func map(_ f: (Tensor) -> Tensor) throws -> ShardedArray {
        let out = try catchingErrors { blocks.map(f) }
        for b in out where b.shape != shardShape {
            throw FlockError("ShardedArray.map: the function changed a block's shape from \(shardShape) to \(b.shape); it must be elementwise")
        }
        return ShardedArray(shape: shape, sharding: sharding, blocks: out)
    }

    /// Combines two arrays of the same shape on the same mesh elementwise;
    /// `other` is resharded to this array's layout first if needed (collective then).
    public func zipWith(_ other: ShardedArray, _ f: (Tensor, Tensor) -> Tensor, name: String = "zipWith") throws -> ShardedArray {
        guard other.mesh == mesh else {
            throw FlockError(
                "ShardedArray.\(name): arrays on different meshes cannot be combined: \(aval) on \(mesh) and "
                    + "\(other.aval) on \(other.mesh)")
        }
        guard other.shape == shape else {
            throw FlockError("ShardedArray.\(name): shapes differ: \(aval) and \(other.aval) (sharded arrays do not broadcast)")
        }
        let b = other.spec.padded(rank) == spec.padded(rank) ? other : try other.resharded(to: sharding)
        let out = try catchingErrors { zip(blocks, b.blocks).map(f) }
        return ShardedArray(shape: shape, sharding: sharding, blocks: out)
    }

    /// `f(block, scalar)` for every block, with a rank-0 `scalar`.
    func withScalar(_ scalar: Tensor, _ name: String, _ f: (Tensor, Tensor) -> Tensor) throws -> ShardedArray {
        guard scalar.rank == 0 else {
            throw FlockError("ShardedArray \(name): only rank-0 tensors combine with a sharded array, got \(scalar.aval)")
        }
        return try map { f($0, scalar) }
    }

    /// JAX's short form of the global array, e.g. `f32[8,4]`.
    var aval: AbstractValue { AbstractValue(shape: shape, dtype: dtype) }

    // Elementwise arithmetic: two sharded arrays of one shape on one mesh, or a
    // sharded array and a rank-0 tensor (`x * Tensor(2.0)`).
    /// Elementwise sum of two sharded arrays of one shape on one mesh, computed
    /// block by block in `a`'s layout: `try a + b`. When `b` is laid out
    /// differently it is resharded first (a collective); there is no broadcasting.
    /// - Throws: ``FlockError`` when the shapes or the meshes differ.
    public static func + (a: ShardedArray, b: ShardedArray) throws -> ShardedArray { try a.zipWith(b, { $0 + $1 }, name: "+") }
    /// Elementwise difference of two sharded arrays of one shape on one mesh, in `a`'s
    /// layout (`b` resharded if needed), as for the sum.
    /// - Throws: ``FlockError`` when the shapes or the meshes differ.
    public static func - (a: ShardedArray, b: ShardedArray) throws -> ShardedArray { try a.zipWith(b, { $0 - $1 }, name: "-") }
    /// Elementwise product of two sharded arrays of one shape on one mesh, in `a`'s
    /// layout (`b` resharded if needed), as for the sum.
    /// - Throws: ``FlockError`` when the shapes or the meshes differ.
    public static func * (a: ShardedArray, b: ShardedArray) throws -> ShardedArray { try a.zipWith(b, { $0 * $1 }, name: "*") }
    /// Elementwise true division of two sharded arrays of one shape on one mesh, in `a`'s
    /// layout (`b` resharded if needed), as for the sum.
    /// - Throws: ``FlockError`` when the shapes or the meshes differ.
    public static func / (a: ShardedArray, b: ShardedArray) throws -> ShardedArray { try a.zipWith(b, { $0 / $1 }, name: "/") }
    /// Adds a rank-0 tensor to every element, block by block: `try x + Tensor(1.0)`.
    /// - Throws: ``FlockError`` when `b` is not rank 0.
    public static func + (a: ShardedArray, b: Tensor) throws -> ShardedArray { try a.withScalar(b, "+") { $0 + $1 } }
    /// Subtracts a rank-0 tensor from every element, block by block.
    /// - Throws: ``FlockError`` when `b` is not rank 0.
    public static func - (a: ShardedArray, b: Tensor) throws -> ShardedArray { try a.withScalar(b, "-") { $0 - $1 } }
    /// Multiplies every element by a rank-0 tensor, block by block: `try x * Tensor(2.0)`.
    /// - Throws: ``FlockError`` when `b` is not rank 0.
    public static func * (a: ShardedArray, b: Tensor) throws -> ShardedArray { try a.withScalar(b, "*") { $0 * $1 } }
    /// Divides every element by a rank-0 tensor, block by block.
    /// - Throws: ``FlockError`` when `b` is not rank 0.
    public static func / (a: ShardedArray, b: Tensor) throws -> ShardedArray { try a.withScalar(b, "/") { $0 / $1 } }
    /// Adds every element to a rank-0 tensor, block by block.
    /// - Throws: ``FlockError`` when `a` is not rank 0.
    public static func + (a: Tensor, b: ShardedArray) throws -> ShardedArray { try b.withScalar(a, "+") { $1 + $0 } }
    /// Subtracts every element from a rank-0 tensor, block by block: `try Tensor(1.0) - x`.
    /// - Throws: ``FlockError`` when `a` is not rank 0.
    public static func - (a: Tensor, b: ShardedArray) throws -> ShardedArray { try b.withScalar(a, "-") { $1 - $0 } }
    /// Multiplies a rank-0 tensor by every element, block by block.
    /// - Throws: ``FlockError`` when `a` is not rank 0.
    public static func * (a: Tensor, b: ShardedArray) throws -> ShardedArray { try b.withScalar(a, "*") { $1 * $0 } }
    /// Divides a rank-0 tensor by every element, block by block.
    /// - Throws: ``FlockError`` when `a` is not rank 0.
    public static func / (a: Tensor, b: ShardedArray) throws -> ShardedArray { try b.withScalar(a, "/") { $1 / $0 } }
    /// Elementwise negation, block by block, keeping the sharding.
    public static prefix func - (a: ShardedArray) throws -> ShardedArray { try a.map { -$0 } }
}

// MARK: - Reductions

extension ShardedArray {
    /// The sum over `axes` (all when nil). Dimensions split over mesh axes are
    /// summed on each device and then across devices (a `psum`); the result
    /// keeps the layout of the other dimensions and is replicated along the
    /// mesh axes that split the summed ones. Collective.
    ///
    /// ```swift
    /// let colSums = try x.sum(axes: [0])     // x rows over "data": one psum over "data"
    /// ```
    public func sum(axes: [Int]? = nil) throws -> ShardedArray { try reduced(.sum, axes) }

    /// The mean over `axes` (all when nil); see ``sum(axes:)``.
    public func mean(axes: [Int]? = nil) throws -> ShardedArray { try reduced(.mean, axes) }

    /// The maximum over `axes` (all when nil), combined across devices with `pmax`.
    public func max(axes: [Int]? = nil) throws -> ShardedArray { try reduced(.max, axes) }

    /// The minimum over `axes` (all when nil), combined across devices with `pmin`.
    public func min(axes: [Int]? = nil) throws -> ShardedArray { try reduced(.min, axes) }

    private func reduced(_ op: Reduction.Op, _ axes: [Int]?) throws -> ShardedArray {
        var dims = axes ?? Array(0..<rank)
        for (i, a) in dims.enumerated() {
            guard a >= -rank && a < rank else {
                throw FlockError("ShardedArray.\(op.rawValue): axis \(a) is out of range for \(aval)")
            }
            dims[i] = a < 0 ? a + rank : a
        }
        guard Set(dims).count == dims.count else { throw FlockError("ShardedArray.\(op.rawValue): repeated axes \(axes ?? [])") }
        let f = Reduction.function(op, mesh: mesh, spec: spec.padded(rank), axes: dims.sorted())
        return try f([self])[0]
    }
}

/// Per-device reduction programs, cached per (operation, mesh, spec, axes).
enum Reduction {
    enum Op: String, Hashable { case sum, mean, max, min }
    private struct Key: Hashable {
        let op: Op
        let mesh: Mesh
        let spec: [[String]]
        let axes: [Int]
    }
    private static let cache = Mutex<[Key: ShardMapFunction]>([:])

    static func function(_ op: Op, mesh: Mesh, spec: [[String]], axes: [Int]) -> ShardMapFunction {
        let key = Key(op: op, mesh: mesh, spec: spec, axes: axes)
        if let f = cache.withLock({ $0[key] }) { return f }
        let names = axes.flatMap { spec[$0] }
        let kept = spec.indices.filter { !axes.contains($0) }.map { spec[$0] }
        let splits = axes.map { d in spec[d].map { try! mesh.axisSize($0) }.reduce(1, *) }.reduce(1, *)
        let body = { (x: Tensor) -> Tensor in
            switch op {
            case .sum: return names.isEmpty ? x.sum(axes: axes) : psum(x.sum(axes: axes), axisNames: names)
            case .mean:
                let total = names.isEmpty ? x.sum(axes: axes) : psum(x.sum(axes: axes), axisNames: names)
                let count = axes.map { x.shape[$0] }.reduce(1, *) * splits
                return total / Double(count)
            case .max: return names.isEmpty ? x.max(axes: axes) : pmax(x.max(axes: axes), axisNames: names)
            case .min: return names.isEmpty ? x.min(axes: axes) : pmin(x.min(axes: axes), axisNames: names)
            }
        }
        let f = shardMap({ [body($0[0])] }, mesh: mesh, inSpecs: [PartitionSpec(dimensions: spec)],
                         outSpecs: [PartitionSpec(dimensions: kept)], name: "sharded_\(op.rawValue)")
        cache.withLock { $0[key] = f }
        return f
    }
}
