import Testing
@testable import FlockSharding

/// Every test that communicates lives in this serialized suite (nested suites
/// inherit `.serialized`), so that under `./launch -n N` all processes run the
/// same collectives in the same order. The tests adapt to the job: 1, 2 or 4
/// processes, 1 or more local devices each.
@Suite(.serialized) struct ShardingTests {}

/// The number of devices of the job (initialising it on first use).
var deviceCount: Int {
    try! Distributed.initialize()
    return Distributed.deviceCount
}

/// A 1-D mesh over every device.
func dataMesh(_ name: String = "data") -> Mesh {
    try! Mesh.overAllDevices(shape: [deviceCount], axisNames: [name])
}

/// Every 2-D mesh over the job's devices: (a, b) with a · b = devices.
func meshes2D(_ names: [String] = ["x", "y"]) -> [Mesh] {
    let n = deviceCount
    return (1...n).filter { n % $0 == 0 }.map { try! Mesh.overAllDevices(shape: [$0, n / $0], axisNames: names) }
}

/// The same float64 array on every process.
func hostArray(_ shape: [Int], seed: Int = 0) -> Tensor {
    Random.normal(PRNGKey(seed), shape: shape, dtype: .float64)
}

/// Specs of a rank-2 array over a 2-D mesh with axes x and y.
let specs2D: [PartitionSpec] = [
    .replicated, PartitionSpec("x", nil), PartitionSpec(nil, "y"), PartitionSpec("x", "y"), PartitionSpec("y", "x"),
    PartitionSpec(["x", "y"], nil), PartitionSpec(nil, ["y", "x"]), PartitionSpec("y"),
]
