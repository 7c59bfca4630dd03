import Synchronization
import Testing
import FlockTestSupport
@testable import FlockSharding

extension ShardingTests {
    /// Bad input: a clear error on every process, and the job goes on (no hang:
    /// a later collective still works).
    @Suite struct ShardingErrors {
        /// Expects `body` to fail with a message containing every one of `parts`,
        /// then checks that all processes are still in step.
        func expectError(_ parts: [String], sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> Void) {
            let start = monotonicSeconds()
            let message = errorMessage(body) ?? "no error"
            for part in parts {
                #expect(message.contains(part), "expected '\(part)' in: \(message)", sourceLocation: sourceLocation)
            }
            #expect(monotonicSeconds() - start < 10, "the error took \(monotonicSeconds() - start) s", sourceLocation: sourceLocation)
            let total = try? ShardedArray(Tensor([1.0]), sharding: NamedSharding(mesh: dataMesh(), spec: .replicated)).sum()
            #expect(total.flatMap { try? $0.processAllgather().item(Double.self) } == 1, "processes out of step after the error",
                    sourceLocation: sourceLocation)
        }

        @Test func pmapLeadingAxisMustBeTheLocalDeviceCount() {
            let L = Distributed.localDeviceCount
            let p = pmap({ [psum($0[0], axisName: "i")] }, axisName: "i")
            expectError(["pmap: argument 0 of shape [\(L + 1), 2] has \(L + 1) entries along its mapped axis 0",
                         "has \(L) local device", "one entry per local device"]) {
                _ = try p([hostArray([L + 1, 2])])
            }
            // Only the last process passes a wrong shape: every process reports it.
            guard Distributed.processCount > 1 else { return }
            let last = Distributed.processCount - 1
            let wrong = Distributed.processIndex == last
            expectError(wrong ? ["pmap: argument 0 of shape [\(L + 2), 2]"] : ["pmap: process \(last) rejected its arguments", "[\(L + 2), 2]"]) {
                _ = try p([hostArray([wrong ? L + 2 : L, 2])])
            }
        }

        /// A global shape too large for 64-bit sizes is an error, not an overflow.
        @Test func globalShapeTooLarge() throws {
            let s = try NamedSharding(mesh: dataMesh(), spec: .replicated)
            let blocks = (0..<Distributed.localDeviceCount).map { _ in Tensor([1.0]) }
            expectError(["ShardedArray(localBlocks:): shape [4611686018427387904, 4611686018427387904] is too large", "float64"]) {
                _ = try ShardedArray(shape: [1 << 62, 1 << 62], sharding: s, localBlocks: blocks)
            }
            expectError(["makeArrayFromProcessLocalData", "global shape"]) {
                _ = try ShardedArray(processLocalData: Tensor([1.0]), sharding: s, globalShape: [1 << 62, 1 << 62])
            }
        }

        @Test func pmapAxesAndArgnumsThatDoNotFit() {
            let L = Distributed.localDeviceCount
            let x = hostArray([L, 2])
            let unmapped = pmap({ [$0[0] * 2] }, axisName: "i", outAxes: [nil])
            expectError(["pmap: result 0 (per-device f64[2]) differs across devices, but outAxes[0] is nil"]) {
                _ = try unmapped([x])
            }
            let inAxis = pmap({ [$0[0]] }, axisName: "i", inAxes: [2])
            expectError(["pmap: inAxes[0] = 2 is out of range for argument 0 of shape [\(L), 2]"]) { _ = try inAxis([x]) }
            let negativeInAxis = pmap({ [$0[0]] }, axisName: "i", inAxes: [-3])
            expectError(["pmap: inAxes[0] = -3 is out of range"]) { _ = try negativeInAxis([x]) }
            let inCount = pmap({ [$0[0]] }, axisName: "i", inAxes: [0, 0])
            expectError(["pmap: inAxes has 2 entries but the function was called with 1 non-static arguments"]) { _ = try inCount([x]) }
            let outAxis = pmap({ [$0[0]] }, axisName: "i", outAxes: [2])
            expectError(["pmap: outAxes 2 is out of range for a result of per-device shape [2]"]) { _ = try outAxis([x]) }
            let outCount = pmap({ [$0[0]] }, axisName: "i", outAxes: [0, 0])
            expectError(["pmap: outAxes has 2 entries but the function returned 1 results"]) { _ = try outCount([x]) }
            let both = pmap({ [$0[0] * $0[1]] }, axisName: "i", staticBroadcastedArgnums: [1], donateArgnums: [1])
            expectError(["pmap: argument 1 cannot be both static and donated"]) { _ = try both([x, Tensor(2.0)]) }
            let outside = pmap({ [$0[0]] }, axisName: "i", donateArgnums: [3])
            expectError(["pmap: argnum 3 in staticBroadcastedArgnums or donateArgnums is out of range for 1 arguments"]) { _ = try outside([x]) }
        }

        /// pmap takes concrete arguments: inside jit (or grad) it reports that, not a wrong result.
        @Test func pmapInsideJitOrGradIsAnError() {
            let L = Distributed.localDeviceCount
            let p = pmap({ [psum($0[0], axisName: "i")] }, axisName: "i")
            for (name, transform) in [("jit", { (f: @escaping (Tensor) -> Tensor) in jit(f) }),
                                      ("grad", { (f: @escaping (Tensor) -> Tensor) in grad { f($0).sum() } })] {
                expectError(["pmap: argument 0 is a traced value", "pmap's arguments must be concrete"]) {
                    let caught = Mutex<(any Error)?>(nil)
                    _ = transform { x in
                        do { return try p([x])[0].processLocalData } catch {
                            caught.withLock { $0 = error }
                            return x
                        }
                    }(hostArray([L, 2]))
                    guard let e = caught.withLock({ $0 }) else { Issue.record("\(name): no error"); return }
                    throw e
                }
            }
        }

        @Test func specsThatDoNotFitAreReported() throws {
            let mesh = dataMesh(), n = deviceCount
            expectError(["ShardedArray: PartitionSpec('data', None) has 2 entries but the array has rank 1"]) {
                _ = try ShardedArray(hostArray([n]), sharding: NamedSharding(mesh: mesh, spec: PartitionSpec("data", nil)))
            }
            if n > 1 {
                expectError(["dimension 0 of shape [\(2 * n + 1)] (size \(2 * n + 1)) is not divisible by \(n)"]) {
                    _ = try ShardedArray(hostArray([2 * n + 1]), sharding: NamedSharding(mesh: mesh, spec: PartitionSpec("data")))
                }
                let f = shardMap({ $0 }, mesh: mesh, inSpecs: [PartitionSpec("data")], outSpecs: [PartitionSpec("data")])
                expectError(["shardMap: argument 0: dimension 0", "not divisible"]) { _ = try f([hostArray([n + 1])]) }
            }
            expectError(["names axis 'model' which is not in Mesh('data': \(n))"]) {
                _ = try NamedSharding(mesh: mesh, spec: PartitionSpec("model"))
            }
            expectError(["uses a mesh axis more than once"]) {
                _ = try NamedSharding(mesh: mesh, spec: PartitionSpec("data", "data"))
            }
            expectError(["Mesh: repeated axis name in [\"a\", \"a\"]"]) { _ = try Mesh(shape: [n, 1], axisNames: ["a", "a"]) }
            expectError(["has \(n + 1) devices", "but the job has \(n)"]) {
                _ = try Mesh.overAllDevices(shape: [n + 1], axisNames: ["data"])
            }
            let unknown = shardMap({ [psum($0[0], axisName: "model")] }, mesh: mesh, inSpecs: [.replicated], outSpecs: [.replicated])
            expectError(["psum: unbound axis name 'model'", "active axes: 'data'"]) { _ = try unknown([hostArray([2])]) }
            expectError(["psum: unbound axis name 'model'"]) { _ = try unknown([hostArray([2])]) }  // not cached as a good trace
            let tooLong = shardMap({ [$0[0].sum()] }, mesh: mesh, inSpecs: [.replicated], outSpecs: [PartitionSpec("data")])
            expectError(["outSpecs[0] = PartitionSpec('data') has 1 entries but result 0 has rank 0"]) { _ = try tooLong([hostArray([2])]) }
            let repeated = pmap({ [psum($0[0], axisNames: ["i", "i"])] }, axisName: "i")
            expectError(["axis names repeat"]) { _ = try repeated([hostArray([Distributed.localDeviceCount])]) }
        }

        @Test func arraysOnDifferentMeshesAreNotCombined() throws {
            let a = try ShardedArray(hostArray([4]), sharding: NamedSharding(mesh: dataMesh("data"), spec: .replicated))
            let b = try ShardedArray(hostArray([4]), sharding: NamedSharding(mesh: dataMesh("batch"), spec: .replicated))
            expectError(["arrays on different meshes cannot be combined", "Mesh('data'", "Mesh('batch'"]) { _ = try a + b }
            let f = shardMap({ [$0[0] + $0[1]] }, mesh: dataMesh("data"), inSpecs: [.replicated, .replicated], outSpecs: [.replicated])
            expectError(["shardMap: argument 1 lives on Mesh('batch'", "different meshes"]) { _ = try f([a, b]) }
            expectError(["cannot move to Mesh('batch'"]) { _ = try a.resharded(to: b.sharding) }
        }

        @Test func processLocalDataOfTheWrongShapeOnOneProcess() {
            let mesh = dataMesh(), L = Distributed.localDeviceCount
            let sharding = try! NamedSharding(mesh: mesh, spec: PartitionSpec("data"))
            expectError(["makeArrayFromProcessLocalData: local data of shape [\(2 * L)]", "makes the global shape [\(2 * deviceCount)], not [3]"]) {
                _ = try makeArrayFromProcessLocalData(sharding, hostArray([2 * L]), globalShape: [3])
            }
            guard Distributed.processCount > 1 else { return }
            let odd = Distributed.processIndex == 0
            let rows = try! NamedSharding(mesh: mesh, spec: PartitionSpec("data", nil))
            expectError(odd ? ["PartitionSpec('data', None) has 2 entries but the local data has rank 1"]
                            : ["makeArrayFromProcessLocalData: process 0 rejected its arguments", "has 2 entries"]) {
                _ = try makeArrayFromProcessLocalData(rows, odd ? hostArray([2 * L]) : hostArray([2 * L, 3]))
            }
            // Consistent shapes everywhere, but one process's shape differs from the others.
            expectError(["makeArrayFromProcessLocalData: the processes were called with different arguments"]) {
                _ = try makeArrayFromProcessLocalData(sharding, hostArray([odd ? 4 * L : 2 * L]))
            }
        }
    }
}

func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

#if canImport(Glibc)
import Glibc
#endif
