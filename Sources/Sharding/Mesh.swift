@_exported import FlockCore

/// A logical n-dimensional arrangement of global devices with named axes
/// (`jax.sharding.Mesh`).
///
/// Global device `d` lives on process `d / localDeviceCount` as local device
/// `d % localDeviceCount`. Axis names are what collectives and partition specs refer to.
///
/// ```swift
/// let mesh = try Mesh(shape: [2, 2], axisNames: ["data", "model"])
/// ```
public struct Mesh: Hashable, Sendable, CustomStringConvertible {
    /// Size of each mesh axis.
    public let shape: [Int]
    /// Name of each mesh axis.
    public let axisNames: [String]
    /// Global device ids in row-major mesh order.
    public let devices: [Int]

    /// A mesh over `devices` (default: `0..<product(shape)`) with the given axes.
    public init(shape: [Int], axisNames: [String], devices: [Int]? = nil) throws {
        guard shape.count == axisNames.count else {
            throw FlockError("Mesh: \(shape.count) axis sizes \(shape) but \(axisNames.count) axis names \(axisNames)")
        }
        guard shape.allSatisfy({ $0 >= 1 }) else { throw FlockError("Mesh: axis sizes must be positive, got \(shape)") }
        guard Set(axisNames).count == axisNames.count else {
            throw FlockError("Mesh: repeated axis name in \(axisNames)")
        }
        let count = shape.reduce(1, *)
        let ids = devices ?? Array(0..<count)
        guard ids.count == count else {
            throw FlockError("Mesh: shape \(shape) needs \(count) devices, got \(ids.count)")
        }
        guard Set(ids).count == ids.count, ids.allSatisfy({ $0 >= 0 }) else {
            throw FlockError("Mesh: device ids must be distinct and non-negative, got \(ids)")
        }
        self.shape = shape
        self.axisNames = axisNames
        self.devices = ids
    }

    /// Number of devices in the mesh.
    public var size: Int { devices.count }

    /// Size of the axis called `name`.
    public func axisSize(_ name: String) throws -> Int {
        guard let i = axisNames.firstIndex(of: name) else {
            throw FlockError("Mesh: unknown axis name '\(name)'; the mesh has axes \(axisNames)")
        }
        return shape[i]
    }

    /// Mesh coordinates of the device at flat position `position` (row-major).
    public func coordinates(ofPosition position: Int) -> [Int] {
        var r = position
        var c = [Int](repeating: 0, count: shape.count)
        for i in stride(from: shape.count - 1, through: 0, by: -1) {
            c[i] = r % shape[i]
            r /= shape[i]
        }
        return c
    }

    /// Mesh coordinates of global device `device`, if it is in the mesh.
    public func coordinates(of device: Int) -> [Int]? {
        devices.firstIndex(of: device).map { coordinates(ofPosition: $0) }
    }

    public var description: String {
        "Mesh(" + zip(axisNames, shape).map { "'\($0)': \($1)" }.joined(separator: ", ") + ")"
    }
}

/// How each dimension of an array is split over mesh axes (`jax.sharding.PartitionSpec`):
/// `nil` replicates a dimension, one or more axis names split it.
///
/// ```swift
/// let spec = PartitionSpec("data", nil)             // rows over "data", columns replicated
/// let both = PartitionSpec(["data", "model"])        // one dimension over two axes
/// ```
public struct PartitionSpec: Hashable, Sendable, CustomStringConvertible {
    /// For each array dimension, the mesh axes it is split over (empty = replicated).
    public let dimensions: [[String]]

    /// A spec with one entry per leading dimension: `nil`, an axis name, or a
    /// list of axis names (written as literals: `PartitionSpec("data", nil, ["x", "y"])`).
    public init(_ entries: MeshAxes...) { dimensions = entries.map(\.names) }

    /// Every dimension replicated.
    public static let replicated = PartitionSpec(dimensions: [])

    /// A spec from explicit per-dimension axis lists.
    public init(dimensions: [[String]]) { self.dimensions = dimensions }

    /// Every mesh axis the spec uses.
    public var usedAxes: [String] { dimensions.flatMap { $0 } }

    public var description: String {
        "PartitionSpec(" + dimensions.map { d in
            d.isEmpty ? "None" : (d.count == 1 ? "'\(d[0])'" : "(" + d.map { "'\($0)'" }.joined(separator: ", ") + ")")
        }.joined(separator: ", ") + ")"
    }
}

/// One entry of a ``PartitionSpec``: no axis (`nil`), one axis name, or several.
public struct MeshAxes: Hashable, Sendable, ExpressibleByNilLiteral, ExpressibleByStringLiteral, ExpressibleByArrayLiteral {
    /// The mesh axes the array dimension is split over, major first; empty for a replicated dimension.
    public let names: [String]
    public init(nilLiteral: ()) { names = [] }
    public init(stringLiteral value: String) { names = [value] }
    public init(arrayLiteral elements: String...) { names = elements }
    /// The entry for axis names held in variables.
    public init(_ names: [String]) { self.names = names }
}

/// A mesh and a partition spec: where every block of an array lives (`jax.sharding.NamedSharding`).
public struct NamedSharding: Hashable, Sendable, CustomStringConvertible {
    /// The devices the array is laid out on.
    public let mesh: Mesh
    /// How each array dimension is split over the mesh axes.
    public let spec: PartitionSpec

    /// Validates that `spec` only names axes of `mesh`, each at most once.
    public init(mesh: Mesh, spec: PartitionSpec) throws {
        for a in spec.usedAxes where !mesh.axisNames.contains(a) {
            throw FlockError("NamedSharding: \(spec) names axis '\(a)' which is not in \(mesh)")
        }
        let used = spec.usedAxes
        guard Set(used).count == used.count else {
            throw FlockError("NamedSharding: \(spec) uses a mesh axis more than once")
        }
        self.mesh = mesh
        self.spec = spec
    }

    /// Number of shards along each dimension of an array of `rank`.
    public func shardCounts(rank: Int) -> [Int] {
        (0..<rank).map { d in
            d < spec.dimensions.count ? spec.dimensions[d].map { try! mesh.axisSize($0) }.reduce(1, *) : 1
        }
    }

    /// Checks that an array of `shape` can be laid out by this sharding.
    public func validate(shape: [Int], for operation: String) throws {
        guard spec.dimensions.count <= shape.count else {
            throw FlockError("\(operation): \(spec) has \(spec.dimensions.count) entries but the array has rank \(shape.count) (shape \(shape))")
        }
        for (d, n) in shardCounts(rank: shape.count).enumerated() where shape[d] % n != 0 {
            throw FlockError("\(operation): dimension \(d) of shape \(shape) (size \(shape[d])) is not divisible by \(n), the size of mesh axes \(spec.dimensions[d]) of \(mesh)")
        }
    }

    /// Shape of each shard of an array of `shape`.
    public func shardShape(_ shape: [Int]) -> [Int] {
        zip(shape, shardCounts(rank: shape.count)).map { $0 / $1 }
    }

    /// The block of an array of `shape` held by the device at mesh position
    /// `position`: one index range per dimension.
    public func block(ofPosition position: Int, shape: [Int]) -> [Range<Int>] {
        let coords = mesh.coordinates(ofPosition: position)
        let shard = shardShape(shape)
        return (0..<shape.count).map { d in
            let axes = d < spec.dimensions.count ? spec.dimensions[d] : []
            // Row-major index over the named axes, in the order the spec lists them.
            var index = 0
            for a in axes {
                let i = mesh.axisNames.firstIndex(of: a)!
                index = index * mesh.shape[i] + coords[i]
            }
            return (index * shard[d])..<((index + 1) * shard[d])
        }
    }

    /// The block held by global device `device`, if it is in the mesh.
    public func block(of device: Int, shape: [Int]) -> [Range<Int>]? {
        mesh.devices.firstIndex(of: device).map { block(ofPosition: $0, shape: shape) }
    }

    public var description: String { "NamedSharding(mesh=\(mesh), spec=\(spec))" }
}
