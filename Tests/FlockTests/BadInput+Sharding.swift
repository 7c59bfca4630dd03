import Flock

/// A 1-D mesh over the job's devices (one process: one device), initialising the job on first use.
func oneMesh(_ name: String = "data") throws -> Mesh {
    try Distributed.initialize()
    return try Mesh.overAllDevices(shape: [Distributed.deviceCount], axisNames: [name])
}

// Meshes, shardings, sharded arrays, shardMap and pmap (single process); the configuration.
extension BadInput {
    static let sharding: [BadInput] = [
        BadInput("shardings", "a PartitionSpec naming an axis the mesh lacks", "NamedSharding: PartitionSpec('model') names axis 'model' which is not in Mesh('data': 1)") {
            _ = try NamedSharding(mesh: oneMesh(), spec: PartitionSpec("model"))
        },
        BadInput("shardings", "a PartitionSpec using an axis twice", "NamedSharding: PartitionSpec('data', 'data') uses a mesh axis more than once") {
            _ = try NamedSharding(mesh: oneMesh(), spec: PartitionSpec("data", "data"))
        },
        BadInput("shardings", "a Mesh with a repeated axis name", "Mesh: repeated axis name in [\"a\", \"a\"]") {
            _ = try Mesh(shape: [1, 1], axisNames: ["a", "a"])
        },
        BadInput("shardings", "a Mesh with more sizes than names", "Mesh: 2 axis sizes [1, 1] but 1 axis names [\"a\"]") {
            _ = try Mesh(shape: [1, 1], axisNames: ["a"])
        },
        BadInput("shardings", "a Mesh with a zero axis size", "Mesh: axis sizes must be positive, got [0]") { _ = try Mesh(shape: [0], axisNames: ["a"]) },
        BadInput("shardings", "a Mesh over more devices than the job has", "has 3 devices") {
            _ = try oneMesh()
            _ = try Mesh.overAllDevices(shape: [3], axisNames: ["data"])
        },
        BadInput("shardings", "a Mesh with repeated device ids", "Mesh: device ids must be distinct and non-negative") {
            _ = try Mesh(shape: [2], axisNames: ["a"], devices: [0, 0])
        },
        BadInput("shardings", "the size of an axis the mesh lacks", "Mesh: unknown axis name 'model'") { _ = try oneMesh().axisSize("model") },
        BadInput("shardings", "a spec with more entries than the array's rank", "ShardedArray: PartitionSpec('data', None) has 2 entries but the array has rank 1") {
            _ = try ShardedArray(iota([4]), sharding: NamedSharding(mesh: oneMesh(), spec: PartitionSpec("data", nil)))
        },
        BadInput("shardings", "sharded arrays of different shapes added", "ShardedArray.+: shapes differ: f32[2] and f32[3] (sharded arrays do not broadcast)") {
            let s = try NamedSharding(mesh: oneMesh(), spec: .replicated)
            _ = try ShardedArray(iota([2]), sharding: s) + ShardedArray(iota([3]), sharding: s)
        },
        BadInput("shardings", "a sharded array combined with a non-scalar tensor", "only rank-0 tensors combine with a sharded array") {
            _ = try ShardedArray(iota([2]), sharding: NamedSharding(mesh: oneMesh(), spec: .replicated)) + iota([2])
        },
        BadInput("shardings", "sharded arrays on different meshes added", "arrays on different meshes cannot be combined") {
            let a = try ShardedArray(iota([2]), sharding: NamedSharding(mesh: oneMesh("data"), spec: .replicated))
            let b = try ShardedArray(iota([2]), sharding: NamedSharding(mesh: oneMesh("batch"), spec: .replicated))
            _ = try a + b
        },
        BadInput("shardings", "a sharded sum over an axis out of range", "ShardedArray.sum: axis 3 is out of range for f32[2]") {
            _ = try ShardedArray(iota([2]), sharding: NamedSharding(mesh: oneMesh(), spec: .replicated)).sum(axes: [3])
        },
        BadInput("shardings", "ShardedArray.map changing the block's shape", "ShardedArray.map: the function changed a block's shape") {
            _ = try ShardedArray(iota([2]), sharding: NamedSharding(mesh: oneMesh(), spec: .replicated)).map { $0.sum() }
        },
        BadInput("shardings", "resharding to another mesh", "cannot move to Mesh('batch'") {
            let a = try ShardedArray(iota([2]), sharding: NamedSharding(mesh: oneMesh("data"), spec: .replicated))
            _ = try a.resharded(to: NamedSharding(mesh: oneMesh("batch"), spec: .replicated))
        },
        BadInput("shardings", "gathering to a process outside the job", "gathered(toProcess:): process 4 is out of range for 1 processes") {
            _ = try ShardedArray(iota([2]), sharding: NamedSharding(mesh: oneMesh(), spec: .replicated)).gathered(toProcess: 4)
        },
        BadInput("shardings", "local blocks of the wrong count", "got 2 blocks for 1 local devices") {
            _ = try ShardedArray(shape: [2], sharding: NamedSharding(mesh: oneMesh(), spec: .replicated), localBlocks: [iota([2]), iota([2])])
        },
        BadInput("shardings", "process-local data that does not make the global shape", "makeArrayFromProcessLocalData: local data of shape [2]") {
            _ = try makeArrayFromProcessLocalData(NamedSharding(mesh: oneMesh(), spec: PartitionSpec("data")), iota([2]), globalShape: [3])
        },
        BadInput("shardings", "a ShardedArray.random sampler of the wrong shape", "ShardedArray.random: the sampler returned") {
            _ = try ShardedArray.random(shape: [2], sharding: NamedSharding(mesh: oneMesh(), spec: .replicated)) { _ in iota([5]) }
        },
        BadInput("shardings", "restoring a sharded checkpoint from a missing directory", "is not a complete sharded checkpoint") {
            _ = try ShardedCheckpoint.restore(["w": NamedSharding(mesh: oneMesh(), spec: .replicated)], from: "\(scratch)/no-checkpoint")
        },
        BadInput("shardMap", "inSpecs with fewer entries than arguments", "shardMap: inSpecs has 1 entries but the function was called with 2 arguments") {
            _ = try shardMap({ $0 }, mesh: oneMesh(), inSpecs: [.replicated], outSpecs: [.replicated, .replicated])([iota([2]), iota([2])])
        },
        BadInput("shardMap", "outSpecs with fewer entries than results", "shardMap: outSpecs has 1 entries but the function returned 2 results") {
            _ = try shardMap({ $0 + $0 }, mesh: oneMesh(), inSpecs: [.replicated], outSpecs: [.replicated])([iota([2])])
        },
        BadInput("shardMap", "an outSpec longer than the result's rank", "outSpecs[0] = PartitionSpec('data') has 1 entries but result 0 has rank 0") {
            _ = try shardMap({ [$0[0].sum()] }, mesh: oneMesh(), inSpecs: [.replicated], outSpecs: [PartitionSpec("data")])([iota([2])])
        },
        BadInput("collectives", "psum inside shardMap over an axis the mesh lacks", "psum: unbound axis name 'model'") {
            _ = try shardMap({ [psum($0[0], axisName: "model")] }, mesh: oneMesh(), inSpecs: [.replicated], outSpecs: [.replicated])([iota([2])])
        },
        BadInput("shardMap", "valueAndGrad of a vector result", "shardMap valueAndGrad: the first result must be a scalar") {
            let s = try NamedSharding(mesh: oneMesh(), spec: .replicated)
            _ = try shardMap({ $0 }, mesh: oneMesh(), inSpecs: [.replicated], outSpecs: [.replicated]).valueAndGrad([ShardedArray(iota([2]), sharding: s)])
        },
        BadInput("pmap", "a leading axis that is not the local device count", "pmap: argument 0 of shape [3, 2] has 3 entries along its mapped axis 0") {
            _ = try oneMesh()
            _ = try pmap({ $0 }, axisName: "i")([iota([3, 2])])
        },
        BadInput("pmap", "an inAxes entry out of range", "pmap: inAxes[0] = 2 is out of range for argument 0 of shape [1, 2]") {
            _ = try oneMesh()
            _ = try pmap({ $0 }, axisName: "i", inAxes: [2])([iota([1, 2])])
        },
        BadInput("pmap", "inAxes with more entries than arguments", "pmap: inAxes has 2 entries but the function was called with 1 non-static arguments") {
            _ = try oneMesh()
            _ = try pmap({ $0 }, axisName: "i", inAxes: [0, 0])([iota([1, 2])])
        },
        BadInput("pmap", "an argument both static and donated", "pmap: argument 1 cannot be both static and donated") {
            _ = try oneMesh()
            _ = try pmap({ [$0[0] * $0[1]] }, axisName: "i", staticBroadcastedArgnums: [1], donateArgnums: [1])([iota([1, 2]), Tensor(Float(2))])
        },
        BadInput("pmap", "a donated argnum out of range", "pmap: argnum 3 in staticBroadcastedArgnums or donateArgnums is out of range for 1 arguments") {
            _ = try oneMesh()
            _ = try pmap({ $0 }, axisName: "i", donateArgnums: [3])([iota([1, 2])])
        },
        BadInput("pmap", "an unmapped result that differs across devices", "pmap: result 0 (per-device f32[2]) differs across devices, but outAxes[0] is nil") {
            _ = try oneMesh()
            _ = try pmap({ [$0[0] * 2] }, axisName: "i", outAxes: [nil])([iota([1, 2])])
        },
        BadInput("pmap", "outAxes with more entries than results", "pmap: outAxes has 2 entries but the function returned 1 results") {
            _ = try oneMesh()
            _ = try pmap({ $0 }, axisName: "i", outAxes: [0, 0])([iota([1, 2])])
        },
        BadInput("collectives", "psum inside pmap over another axis name", "psum: unbound axis name 'j'") {
            _ = try oneMesh()
            _ = try pmap({ [psum($0[0], axisName: "j")] }, axisName: "i")([iota([1, 2])])
        },
    ]

    static let flags: [BadInput] = [
        BadInput("flags", "Configuration.update of an unknown setting", "Configuration.update: no setting named 'debugNaN'") {
            try Configuration.update("debugNaN", "1")
        },
        BadInput("flags", "a negative collective timeout", "Configuration.update: '-5' is not a valid value for collectiveTimeout") {
            try Configuration.update("collectiveTimeout", "-5")
        },
        BadInput("flags", "a heartbeat timeout that is not a number", "'soon' is not a valid value for heartbeatTimeout") {
            try Configuration.update("FLOCK_HEARTBEAT_TIMEOUT", "soon")
        },
        BadInput("flags", "zero local devices", "'0' is not a valid value for localDevices") { try Configuration.update("localDevices", "0") },
        BadInput("flags", "a thread count that is not a number", "'many' is not a valid value for numThreads") {
            try Configuration.update("FLOCK_NUM_THREADS", "many")
        },
        BadInput("flags", "shared collective bytes that are not a number", "is not a valid value for sharedCollectiveBytes") {
            try Configuration.update("sharedCollectiveBytes", "1MB")
        },
        BadInput("flags", "Distributed.initialize again with another device count", "Distributed.initialize: already initialised with 1 local devices, asked for 0") {
            try Distributed.initialize()
            try Distributed.initialize(localDeviceCount: 0)
        },
    ]
}
