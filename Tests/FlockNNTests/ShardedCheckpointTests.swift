import Foundation
import FlockTestSupport
import Testing

import FlockCollectives
import FlockCore
import FlockIO
import FlockSharding
@testable import FlockNN

// Oracles: the host array every process builds from the same key; a restored
// array, gathered, must equal it bit for bit whatever the layout it was saved
// and restored with. Runs as a one-process job and under `./launch -n 2`
// (all processes run the same tests in the same order: a serialized suite).
// Across jobs: with FLOCK_SHARDED_CHECKPOINT_DIR and
// FLOCK_SHARDED_CHECKPOINT_MODE=save a job writes a checkpoint that a later
// job with MODE=restore, on another number of processes, reads back
// (scripts/test-checkpoints runs 2 → 1, 1 → 2 and 2 → 1 × 4 devices).

private func hostArray(_ shape: [Int], seed: Int, dtype: DType = .float32) -> Tensor {
    dtype == .int32 ? Random.randint(PRNGKey(seed), shape: shape, minval: -1000, maxval: 1000)
        : Random.normal(PRNGKey(seed), shape: shape, dtype: dtype)
}

private func bits(_ t: Tensor) throws -> [UInt8] { Array(try t.concreteArray(for: "test").bytes) }

/// A directory every process agrees on: process 0 picks it, a psum shares it.
private func sharedDirectory() throws -> String {
    try Distributed.initialize()
    let mine = Distributed.processIndex == 0 ? Int32.random(in: 1...Int32.max) : 0
    let id = withAxis("processes", communicator: Distributed.processes) {
        psum(Tensor([mine]), axisName: "processes")
    }.toArray(Int32.self)[0]
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("flock-sharded-\(id)").path
    return path
}

/// The arrays of the cross-job test and the layouts they are saved and restored with.
private func crossJobArrays(_ mesh: Mesh) throws -> [String: (Tensor, NamedSharding)] {
    let n = Distributed.deviceCount
    return [
        "rows": (hostArray([4 * n, 3], seed: 1), try NamedSharding(mesh: mesh, spec: PartitionSpec("data", nil))),
        "replicated": (hostArray([5], seed: 2, dtype: .float64), try NamedSharding(mesh: mesh, spec: .replicated)),
        "ints": (hostArray([2, 2 * n], seed: 3, dtype: .int32), try NamedSharding(mesh: mesh, spec: PartitionSpec(nil, "data"))),
    ]
}

@Suite(.serialized) struct ShardedCheckpointTests {
    @Test func roundTripAcrossLayouts() throws {
        let directory = try sharedDirectory()
        let n = Distributed.deviceCount
        let meshes = try (1...n).filter { n % $0 == 0 }.map { try Mesh.overAllDevices(shape: [$0, n / $0], axisNames: ["x", "y"]) }
        let specs: [PartitionSpec] = [.replicated, PartitionSpec("x", nil), PartitionSpec(nil, "y"), PartitionSpec("x", "y"),
                                      PartitionSpec(["x", "y"], nil), PartitionSpec("y", "x")]
        let host = hostArray([2 * n, 2 * n], seed: 7)
        for (i, saveMesh) in meshes.enumerated() {
            for saveSpec in specs {
                let saved = try ShardedArray(host, sharding: NamedSharding(mesh: saveMesh, spec: saveSpec))
                let scalar = try ShardedArray(Tensor(Int32(42)), sharding: NamedSharding(mesh: saveMesh, spec: .replicated))
                let path = "\(directory)/\(i)-\(saveSpec)"
                try ShardedCheckpoint.save(["w": saved, "step": scalar], to: path, metadata: ["note": "x"])
                #expect(ShardedCheckpoint.isComplete(path))
                let restoreMesh = meshes[meshes.count - 1 - i]
                for restoreSpec in specs {
                    let back = try ShardedCheckpoint.restore(
                        ["w": NamedSharding(mesh: restoreMesh, spec: restoreSpec),
                         "step": NamedSharding(mesh: restoreMesh, spec: .replicated)], from: path)
                    #expect(back["w"]!.sharding.spec == restoreSpec)
                    #expect(try bits(back["w"]!.processAllgather()) == bits(host), "\(saveSpec) → \(restoreSpec)")
                    #expect(try back["step"]!.processAllgather().toArray(Int32.self) == [42])
                }
            }
        }
    }

    /// A block held by several devices is written once: the files hold each element once.
    @Test func replicatedBlocksAreWrittenOnce() throws {
        let directory = try sharedDirectory() + "-once"
        let n = Distributed.deviceCount
        let mesh = try Mesh.overAllDevices(shape: [n], axisNames: ["data"])
        let host = hostArray([n, 2], seed: 3)
        let arrays = [
            "replicated": try ShardedArray(host, sharding: NamedSharding(mesh: mesh, spec: .replicated)),
            "split": try ShardedArray(host, sharding: NamedSharding(mesh: mesh, spec: PartitionSpec("data"))),
        ]
        try ShardedCheckpoint.save(arrays, to: directory)
        var elements: [String: Int] = [:]
        for p in 0..<Distributed.processCount {
            let file = try Checkpoint.load(ShardedCheckpoint.processFile(directory, p))
            #expect(file.metadata?["processes"] == String(Distributed.processCount))
            for (name, t) in file.tensors { elements[ShardedCheckpoint.parseBlockName(name)!.0, default: 0] += t.shape.reduce(1, *) }
        }
        #expect(elements == ["replicated": 2 * n, "split": 2 * n])
    }

    @Test func damagedCheckpointsThrow() throws {
        let directory = try sharedDirectory() + "-bad"
        let mesh = try Mesh.overAllDevices(shape: [Distributed.deviceCount], axisNames: ["data"])
        let sharding = try NamedSharding(mesh: mesh, spec: .replicated)
        let x = try ShardedArray(hostArray([3], seed: 1), sharding: sharding)
        try ShardedCheckpoint.save(["x": x], to: directory)
        #expect(throws: Never.self) { try ShardedCheckpoint.restore(["x": sharding], from: directory) }
        expectFlockError("has no array 'y' (it has x)") { try ShardedCheckpoint.restore(["y": sharding], from: directory) }
        let wrong = try NamedSharding(mesh: mesh, spec: PartitionSpec("data"))
        if Distributed.deviceCount > 1 {
            expectFlockError("is not divisible by") { try ShardedCheckpoint.restore(["x": wrong], from: directory) }
        }
        expectFlockError("is not a complete sharded checkpoint") { try ShardedCheckpoint.restore(["x": sharding], from: directory + "-none") }
        // Process 0 damages its own file; every process then fails to restore.
        let file = ShardedCheckpoint.processFile(directory, 0)
        if Distributed.processIndex == 0 {
            var bytes = try Array(Data(contentsOf: URL(fileURLWithPath: file)))
            bytes[bytes.count - 1] ^= 0x40
            try Data(bytes).write(to: URL(fileURLWithPath: file))
        }
        _ = try sharedDirectory()  // a collective: the damage is done before anyone reads
        expectFlockError("checksum mismatch") { try ShardedCheckpoint.restore(["x": sharding], from: directory) }
    }

    /// The manager on every process of a job: process 0 writes, all see the file when save returns.
    @Test func managerAcrossProcesses() throws {
        let manager = try CheckpointManager(directory: try sharedDirectory() + "-manager", keep: 2)
        let state: [String: Tensor] = ["w": hostArray([3, 2], seed: 4), "step": Tensor(Int32(0))]
        for step in 1...3 {
            try manager.save(["w": hostArray([3, 2], seed: step), "step": Tensor(Int32(step))], step: step)
            let steps = try manager.steps()
            #expect(steps.last == step, "process \(Distributed.processIndex) sees steps \(steps) after saving \(step)")
            _ = try sharedDirectory()  // a barrier: process 0 may not start the next save before everyone has looked
        }
        #expect(try manager.steps() == [2, 3])
        let (step, restored) = try #require(try manager.restoreLatest(like: state))
        #expect(step == 3)
        #expect(try bits(restored["w"]!) == bits(hostArray([3, 2], seed: 3)))
        #expect(restored["step"]!.toArray(Int32.self) == [3])
    }

    @Test func blockNamesAndLayouts() {
        #expect(ShardedCheckpoint.blockName("w", [0..<4, 2..<3]) == "w[0:4,2:3]")
        #expect(ShardedCheckpoint.parseBlockName("a[b][0:4,2:3]")! == ("a[b]", [0..<4, 2..<3]))
        #expect(ShardedCheckpoint.parseBlockName("s[]")! == ("s", []))
        #expect(ShardedCheckpoint.parseBlockName("w[4:2]") == nil)
        #expect(ShardedCheckpoint.parseLayout("float32 [8, 3]")! == (.float32, [8, 3]))
        #expect(ShardedCheckpoint.parseLayout("int32 []")! == (.int32, []))
        #expect(ShardedCheckpoint.parseLayout("int64 [2]")! == (.int64, [2]))
        #expect(ShardedCheckpoint.parseLayout("complex64 [2]") == nil)
    }

    /// Saves (MODE=save) or restores and checks (MODE=restore) a checkpoint in
    /// FLOCK_SHARDED_CHECKPOINT_DIR, so that two jobs of different sizes meet.
    @Test func crossJob() throws {
        let environment = ProcessInfo.processInfo.environment
        guard let directory = environment["FLOCK_SHARDED_CHECKPOINT_DIR"], let mode = environment["FLOCK_SHARDED_CHECKPOINT_MODE"] else { return }
        try Distributed.initialize()
        let mesh = try Mesh.overAllDevices(shape: [Distributed.deviceCount], axisNames: ["data"])
        switch mode {
        case "save":
            // Sorted: dictionary order differs between processes, and creating a sharded array is collective.
            var arrays: [String: ShardedArray] = [:]
            for (name, (host, sharding)) in try crossJobArrays(mesh).sorted(by: { $0.key < $1.key }) {
                arrays[name] = try ShardedArray(host, sharding: sharding)
            }
            try ShardedCheckpoint.save(arrays, to: directory, metadata: ["saved_by": "\(Distributed.processCount) processes"])
        default:
            // The saving job had another device count: read its shapes from the metadata.
            let file = try Checkpoint.load(ShardedCheckpoint.processFile(directory, 0))
            let savedDevices = try #require(ShardedCheckpoint.parseLayout(file.metadata!["array.rows"]!)).1[0] / 4
            #expect(savedDevices != Distributed.deviceCount, "the cross-job test should change the device count")
            let expected: [String: Tensor] = [
                "rows": hostArray([4 * savedDevices, 3], seed: 1), "replicated": hostArray([5], seed: 2, dtype: .float64),
                "ints": hostArray([2, 2 * savedDevices], seed: 3, dtype: .int32),
            ]
            let n = Distributed.deviceCount
            let specs: [String: PartitionSpec] = [
                "rows": (4 * savedDevices) % n == 0 ? PartitionSpec("data", nil) : .replicated,
                "replicated": .replicated,
                "ints": (2 * savedDevices) % n == 0 ? PartitionSpec(nil, "data") : .replicated,
            ]
            let back = try ShardedCheckpoint.restore(try specs.mapValues { try NamedSharding(mesh: mesh, spec: $0) }, from: directory)
            for (name, host) in expected.sorted(by: { $0.key < $1.key }) {
                #expect(try bits(back[name]!.processAllgather()) == bits(host), "\(name)")
            }
        }
    }
}
