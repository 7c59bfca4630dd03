import Foundation
import FlockTestSupport
import Testing

import FlockCore
import FlockIO
@testable import FlockNN

// Oracles: a checkpoint written from Python (tools/make_io_fixtures.py, with
// the checksum computed by zlib) restores with numpy's values; round trips are
// bit for bit; names follow the key-path rule (struct field `.f`, dictionary
// key `['k']`, list index `[i]` → `f.k.i`); damaged files fail with a
// FlockError; a killed writer's temporary file never hides the latest checkpoint.

struct Dense: PyTreeStruct {
    var w: Tensor
    var b: Tensor
    static let fields: [PyTreeField<Dense>] = [.init(\.w, "w"), .init(\.b, "b")]
}

struct Params: PyTreeStruct {
    var dense: Dense
    var layers: [[String: Tensor]]
    static let fields: [PyTreeField<Params>] = [.init(\.dense, "dense"), .init(\.layers, "layers")]
}

struct TrainState: PyTreeStruct {
    var params: Params
    var step: Tensor
    var key: Tensor
    static let fields: [PyTreeField<TrainState>] = [.init(\.params, "params"), .init(\.step, "step"), .init(\.key, "key")]
}

private func randomTensor(_ shape: [Int], _ dtype: DType, seed: UInt64) -> Tensor {
    var rng = SplitMix64(seed: seed)
    let a = DenseArray(uninitializedShape: shape, dtype: dtype)
    let bytes = UnsafeMutableRawBufferPointer(start: a.buffer.pointer, count: a.byteCount)
    for i in bytes.indices { bytes[i] = UInt8(truncatingIfNeeded: rng.next()) & (dtype == .bool ? 1 : 0xFF) }
    return Tensor(concrete: a)
}

private func sampleState(seed: UInt64 = 1) -> TrainState {
    TrainState(
        params: Params(
            dense: Dense(w: randomTensor([3, 2], .float32, seed: seed), b: randomTensor([2], .float32, seed: seed + 1)),
            layers: [["weight": randomTensor([2, 2], .float64, seed: seed + 2)], ["weight": randomTensor([2, 1], .float64, seed: seed + 3)]]),
        step: Tensor(Int32(7)),
        key: PRNGKey(1234).data)
}

private func bytesOf(_ t: Tensor) throws -> [UInt8] { Array(try t.concreteArray(for: "test").bytes) }

private func temporaryDirectory() throws -> String {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("flock-ckpt-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url.path
}

private let fixtures = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.appendingPathComponent("checkpoint")

@Suite struct CheckpointTests {
    @Test func namesFollowKeyPaths() throws {
        #expect(try treeKeyPaths(sampleState()) == [
            "params.dense.w", "params.dense.b", "params.layers.0.weight", "params.layers.1.weight", "step", "key",
        ])
        #expect(try treeKeyPaths(Tensor(Float(1))) == ["."])
        #expect(try treeKeyPaths(["b": [Tensor(Float(1))], "a.x": [Tensor(Float(2)), Tensor(Float(3))]]) == ["a.x.0", "a.x.1", "b.0"])
        #expect(try treeKeyPaths(["it's']": Tensor(Float(1))]) == ["it's']"])
    }

    @Test func collidingNamesThrow() {
        let tree: [String: [String: Tensor]] = ["a": ["b": Tensor(Float(1))], "a.b": ["": Tensor(Float(2))]]
        #expect(throws: Never.self) { try treeKeyPaths(tree) }
        let colliding: [String: [String: Tensor]] = ["a": ["b.c": Tensor(Float(1))], "a.b": ["c": Tensor(Float(2))]]
        expectFlockError("both have the name 'a.b.c'") { try treeKeyPaths(colliding) }
    }

    @Test func roundTripBitForBit() throws {
        let path = try temporaryDirectory() + "/state.safetensors"
        let state = sampleState()
        try Checkpoint.save(state, to: path, metadata: ["epoch": "3", "note": "é\n\"x\""])
        let back = try Checkpoint.restore(like: sampleState(seed: 99), from: path)
        for (a, b) in zip(treeLeaves(state), treeLeaves(back)) {
            #expect(a.dtype == b.dtype && a.shape == b.shape)
            #expect(try bytesOf(a) == bytesOf(b))
        }
        #expect(try Checkpoint.load(path).metadata == ["epoch": "3", "note": "é\n\"x\""])
        // A plain safetensors file: names, metadata and the checksum entries as documented.
        let raw = try loadSafetensors(path)
        #expect(raw.tensors.keys.sorted() == (try treeKeyPaths(state)).sorted())
        #expect(raw.metadata?[Checkpoint.formatKey] == "checkpoint-1")
        #expect(raw.metadata?[Checkpoint.checksumKey]?.count == 8)
    }

    /// The file tools/make_io_fixtures.py wrote with safetensors.numpy and zlib's CRC-32.
    @Test func restoresPythonWrittenCheckpoint() throws {
        struct Manifest: Decodable { var tensors: [String: Expected]; var metadata: [String: String] }
        struct Expected: Decodable { var dtype: String; var shape: [Int]; var crc32: UInt32 }
        let manifest = try JSONDecoder().decode(Manifest.self, from: Data(contentsOf: fixtures.appendingPathComponent("manifest.json")))
        let path = fixtures.appendingPathComponent("python_checkpoint.safetensors").path
        let restored = try Checkpoint.restore(like: sampleState(seed: 5), from: path)
        for (name, leaf) in zip(try treeKeyPaths(restored), treeLeaves(restored)) {
            let expected = try #require(manifest.tensors[name])
            #expect(leaf.dtype.rawValue == expected.dtype && leaf.shape == expected.shape, "\(name)")
            #expect(CRC32.checksum(try bytesOf(leaf)) == expected.crc32, "\(name)")
        }
        #expect(try Checkpoint.load(path).metadata == manifest.metadata)
    }

    @Test func flippedDataOrMetadataFailsChecksum() throws {
        let directory = try temporaryDirectory()
        let path = directory + "/c.safetensors"
        try Checkpoint.save(sampleState(), to: path, metadata: ["user": "value"])
        let bytes = try Array(Data(contentsOf: URL(fileURLWithPath: path)))
        let headerLength = (0..<8).reduce(0) { $0 | Int(bytes[$1]) << (8 * $1) }
        for i in (8 + headerLength)..<bytes.count {
            var corrupt = bytes
            corrupt[i] ^= 0x10
            try Data(corrupt).write(to: URL(fileURLWithPath: path))
            expectFlockError("checksum mismatch") { try Checkpoint.restore(like: sampleState(), from: path) }
        }
        var metadata = bytes
        let value = Array("\"value\"".utf8)
        let at = (0..<headerLength).first { Array(bytes[(8 + $0)..<(8 + $0 + value.count)]) == value }!
        metadata[8 + at + 1] = UInt8(ascii: "V")
        try Data(metadata).write(to: URL(fileURLWithPath: path))
        expectFlockError("checksum mismatch") { try Checkpoint.load(path) }
    }

    @Test func truncatedFileThrows() throws {
        let path = try temporaryDirectory() + "/c.safetensors"
        try Checkpoint.save(sampleState(), to: path)
        let bytes = try Array(Data(contentsOf: URL(fileURLWithPath: path)))
        for n in [0, 4, 8, 20, bytes.count / 2, bytes.count - 1] {
            try Data(bytes[0..<n]).write(to: URL(fileURLWithPath: path))
            expectFlockError("corrupt or truncated checkpoint") { try Checkpoint.load(path) }
        }
    }

    @Test func mismatchNamesFirstPath() throws {
        let path = try temporaryDirectory() + "/c.safetensors"
        try Checkpoint.save(sampleState(), to: path)
        var wrongShape = sampleState()
        wrongShape.params.dense.b = Tensor([Float](repeating: 0, count: 3))
        expectFlockError("'params.dense.b' is float32 [2] in \(path), the template expects float32 [3]") {
            try Checkpoint.restore(like: wrongShape, from: path)
        }
        var wrongDType = sampleState()
        wrongDType.step = Tensor(Float(0))
        expectFlockError("'step' is int32 [] in \(path), the template expects float32 []") {
            try Checkpoint.restore(like: wrongDType, from: path)
        }
        var extraLayer = sampleState()
        extraLayer.params.layers.append(["weight": Tensor(Float(0))])
        expectFlockError("has no tensor 'params.layers.2.weight'") { try Checkpoint.restore(like: extraLayer, from: path) }
        var fewerLayers = sampleState()
        fewerLayers.params.layers.removeLast()
        expectFlockError("has tensors the template lacks: params.layers.1.weight") {
            try Checkpoint.restore(like: fewerLayers, from: path)
        }
    }

    @Test func badInputThrows() throws {
        let directory = try temporaryDirectory()
        expectFlockError("metadata key 'flock.crc32' is reserved") {
            try Checkpoint.save(sampleState(), to: directory + "/x.safetensors", metadata: ["flock.crc32": "0"])
        }
        expectFlockError("cannot create") { try Checkpoint.save(sampleState(), to: directory + "/missing/x.safetensors") }
        #expect(!FileManager.default.fileExists(atPath: directory + "/x.safetensors"))
        try saveSafetensors(["step": Tensor(Int32(1))], to: directory + "/plain.safetensors")
        expectFlockError("not a Flock checkpoint") { try Checkpoint.load(directory + "/plain.safetensors") }
        #expect(try Checkpoint.load(directory + "/plain.safetensors", requireChecksum: false).tensors.count == 1)
        expectFlockError("cannot read") { try Checkpoint.load(directory + "/none.safetensors") }
        expectFlockError("keep must be at least 1, got 0") { try CheckpointManager(directory: directory, keep: 0) }
        let manager = try CheckpointManager(directory: directory + "/run")
        expectFlockError("step must be non-negative") { try manager.save(sampleState(), step: -1) }
        expectFlockError("no checkpoint for step 4 in \(directory)/run (steps: none)") { try manager.restore(like: sampleState(), step: 4) }
    }

    @Test func managerKeepsLastNAndRestoresLatest() throws {
        let manager = try CheckpointManager(directory: try temporaryDirectory() + "/a/b", keep: 2)
        #expect(try manager.restoreLatest(like: sampleState()) == nil)
        for step in [1, 2, 10, 3] { try manager.save(sampleState(seed: UInt64(step)), step: step) }
        #expect(try manager.steps() == [3, 10])
        let (step, tree) = try #require(try manager.restoreLatest(like: sampleState()))
        #expect(step == 10)
        #expect(try bytesOf(tree.params.dense.w) == bytesOf(sampleState(seed: 10).params.dense.w))
        #expect(try Checkpoint.load(manager.path(step: 10)).metadata == ["step": "10"])
    }

    /// A writer killed after writing part of its temporary file: the latest
    /// complete checkpoint is unaffected, and the next save removes the leftover.
    @Test func killedWriterNeverCorruptsLatest() throws {
        let directory = try temporaryDirectory()
        let manager = try CheckpointManager(directory: directory, keep: 3)
        try manager.save(sampleState(seed: 1), step: 1)
        try manager.save(sampleState(seed: 2), step: 2)
        let full = try Checkpoint.encode(sampleState(seed: 3))
        let leftover = directory + "/.tmp-step_3.safetensors-99999"
        try Data(full[0..<(full.count / 2)]).write(to: URL(fileURLWithPath: leftover))
        FileManager.default.createFile(atPath: directory + "/step_4.safetensors.partial", contents: Data([1, 2]))
        FileManager.default.createFile(atPath: directory + "/step_x.safetensors", contents: Data([1, 2]))
        #expect(try manager.latestStep() == 2)
        let (step, tree) = try #require(try manager.restoreLatest(like: sampleState()))
        #expect(step == 2)
        #expect(try bytesOf(tree.params.layers[1]["weight"]!) == bytesOf(sampleState(seed: 2).params.layers[1]["weight"]!))
        try manager.save(sampleState(seed: 5), step: 5)
        #expect(!FileManager.default.fileExists(atPath: leftover))
        #expect(try manager.steps() == [1, 2, 5])
    }

    /// A save caught in the middle of its write (slowed down by the
    /// FLOCK_TEST_SLOW_WRITES hook that scripts/test-checkpoint-kills uses):
    /// while the temporary file is half written, the latest checkpoint is
    /// still the previous one and restores bit for bit; the new one appears
    /// complete (its bytes equal `Checkpoint.encode`'s) once the write ends.
    @Test func saveInProgressLeavesLatestLoadable() throws {
        let directory = try temporaryDirectory()
        let manager = try CheckpointManager(directory: directory, keep: 3)
        let old = ["w": randomTensor([3 << 18], .float32, seed: 21)]  // 3 MiB: three chunks, two pauses
        let new = ["w": randomTensor([3 << 18], .float32, seed: 22)]
        try manager.save(old, step: 1)
        Configuration.slowWritePause = Configuration.slowWritePause(parsing: "300")
        defer { Configuration.slowWritePause = 0 }
        #expect(Configuration.slowWritePause == 300_000)
        let finished = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            _ = try? manager.save(new, step: 2)
            finished.signal()
        }
        // Wait until the temporary file holds a first chunk, not all of it.
        let temporary = directory + "/.tmp-step_2.safetensors-\(getpid())"
        var size = 0
        for _ in 0..<2000 {
            size = (try? FileManager.default.attributesOfItem(atPath: temporary)[.size] as? Int) ?? 0
            if size > 0 { break }
            usleep(2000)
        }
        let full = try Checkpoint.encode(new, metadata: ["step": "2"])
        #expect(size > 0 && size < full.count, "the write was not caught in progress (temporary file of \(size) bytes)")
        #expect(try manager.latestStep() == 1)
        let (step, tree) = try #require(try manager.restoreLatest(like: old))
        #expect(step == 1)
        #expect(try bytesOf(tree["w"]!) == bytesOf(old["w"]!))
        finished.wait()
        #expect(try manager.latestStep() == 2)
        #expect(try Array(Data(contentsOf: URL(fileURLWithPath: manager.path(step: 2)))) == full)
        #expect(!FileManager.default.fileExists(atPath: temporary))
    }

    /// The test hook's value: milliseconds per MiB, anything else is no pause.
    @Test(arguments: [("40", UInt32(40_000)), ("0.5", 500), ("0", 0), ("-3", 0), ("x", 0), ("", 0), ("20000", 0)])
    func slowWritesSetting(text: String, expected: UInt32) {
        // (Read only by writeFileAtomically; no other test writes more than 1 MiB at once.)
        #expect(Configuration.slowWritePause(parsing: text) == expected)
    }

    /// With FLOCK_IO_CHECK_DIR set, writes a checkpoint for `python tools/make_io_fixtures.py --check DIR`.
    @Test func exportForPythonCheck() throws {
        guard let directory = ProcessInfo.processInfo.environment["FLOCK_IO_CHECK_DIR"] else { return }
        try Checkpoint.save(sampleState(), to: directory + "/flock_checkpoint.safetensors", metadata: ["note": "from Flock"])
    }
}
