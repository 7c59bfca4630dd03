import FlockCollectives
import FlockCore
import FlockIO
import FlockSharding
import FlockTransforms

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// A checkpoint of sharded arrays is a directory: one checkpoint file per
// process, `process_<p>.safetensors`, holding the blocks that process is
// responsible for, and a `COMPLETE` marker written by process 0 once every
// process has written its file. A block held by several devices (replicated
// along some mesh axis) is written once, by the holder with the lowest
// device id, so the files together hold every element exactly once. Tensor
// names are the array name and the block's box, `w[0:4,0:3]`; the metadata
// entry `array.<name>` records the global dtype and shape.
//
// Restoring reads every process file (each is checked by its CRC-32),
// assembles each array on the host and lays it out by the sharding asked for,
// so the number of processes, local devices and the mesh may all differ from
// the run that saved it. (Reading only the blocks a process needs is a later
// optimisation; the checkpoint format already allows it.)

/// Checkpoints of ``ShardedArray``s written shard-wise by the processes that hold them.
///
/// ```swift
/// // Every process, 2 ranks:
/// let mesh = try Mesh.overAllDevices(shape: [Distributed.deviceCount], axisNames: ["data"])
/// let w = try ShardedArray(weights, sharding: NamedSharding(mesh: mesh, spec: PartitionSpec("data", nil)))
/// try ShardedCheckpoint.save(["w": w], to: "ckpt/step_100")
///
/// // Later, on any number of processes:
/// let restored = try ShardedCheckpoint.restore(["w": NamedSharding(mesh: newMesh, spec: PartitionSpec(nil, "model"))],
///                                              from: "ckpt/step_100")
/// ```
public enum ShardedCheckpoint {
    /// The marker file that makes a checkpoint directory complete.
    public static let markerName = "COMPLETE"

    /// Writes `arrays` to `directory`: each process its own blocks, atomically;
    /// then process 0 marks the checkpoint complete. Every process must call it
    /// with the same names and arrays.
    ///
    /// - Throws: ``FlockError`` on every process when any process fails to write.
    public static func save(_ arrays: [String: ShardedArray], to directory: String, metadata: [String: String] = [:]) throws {
        var failure: FlockError?
        do {
            try makeDirectories(directory, operation: "ShardedCheckpoint.save")
            unlink(directory + "/" + markerName)  // an older checkpoint here is no longer complete
            var blocks: [String: Tensor] = [:]
            var full = metadata
            for name in arrays.keys.sorted() {
                let array = arrays[name]!
                full["array.\(name)"] = "\(array.dtype) \(array.shape)"
                let owners = blockOwners(array.sharding, shape: array.shape)
                for shard in array.addressableShards where owners[shard.index] == shard.device {
                    blocks[blockName(name, shard.index)] = shard.data
                }
            }
            full["processes"] = String(Distributed.processCount)
            try Checkpoint.save(blocks, to: processFile(directory, Distributed.processIndex), metadata: full)
        } catch let error as FlockError { failure = error }
        try agreeOnSuccess(failure, operation: "ShardedCheckpoint.save")
        if Distributed.processIndex == 0 {
            do {
                let marker = Array("processes=\(Distributed.processCount)\n".utf8)
                try writeFileAtomically(marker, to: directory + "/" + markerName, operation: "ShardedCheckpoint.save")
            } catch let error as FlockError { failure = error }
        }
        try agreeOnSuccess(failure, operation: "ShardedCheckpoint.save")
    }

    /// Whether `directory` holds a complete sharded checkpoint.
    public static func isComplete(_ directory: String) -> Bool {
        access(directory + "/" + markerName, F_OK) == 0
    }

    /// Reads the arrays named in `shardings` and lays each out by its sharding.
    ///
    /// - Parameters:
    ///   - shardings: The arrays to restore and how to lay them out now
    ///     (any mesh over this job's devices).
    ///   - directory: A directory written by ``save(_:to:metadata:)``.
    /// - Throws: ``FlockError`` when the checkpoint is incomplete or corrupt, lacks
    ///   an array, or an array does not fit its sharding.
    public static func restore(_ shardings: [String: NamedSharding], from directory: String) throws -> [String: ShardedArray] {
        let operation = "ShardedCheckpoint.restore"
        guard let marker = try? readFile(directory + "/" + markerName, operation: operation),
            let line = String(validating: marker, as: UTF8.self), line.hasPrefix("processes="),
            let processes = Int(line.dropFirst("processes=".count).prefix { $0.isNumber }), processes >= 1
        else {
            throw FlockError("\(operation): \(directory) is not a complete sharded checkpoint (no valid \(markerName) marker)")
        }
        var pieces: [String: [([Range<Int>], Tensor)]] = [:]
        var layout: [String: String] = [:]
        for p in 0..<processes {
            let file = try Checkpoint.load(processFile(directory, p))
            for (key, value) in file.metadata ?? [:] where key.hasPrefix("array.") { layout[String(key.dropFirst(6))] = value }
            for (name, t) in file.tensors {
                guard let (array, box) = parseBlockName(name) else {
                    throw FlockError("\(operation): \(processFile(directory, p)) holds '\(name)', not a block name like 'w[0:4,0:3]'")
                }
                pieces[array, default: []].append((box, t))
            }
        }
        var restored: [String: ShardedArray] = [:]
        for name in shardings.keys.sorted() {
            guard let description = layout[name], let (dtype, shape) = parseLayout(description) else {
                throw FlockError("\(operation): \(directory) has no array '\(name)' (it has \(layout.keys.sorted().joined(separator: ", ")))")
            }
            let global = try assemble(name, dtype: dtype, shape: shape, pieces: pieces[name] ?? [], operation: operation)
            restored[name] = try ShardedArray(Tensor(concrete: global), sharding: shardings[name]!)
        }
        return restored
    }

    static func processFile(_ directory: String, _ process: Int) -> String { "\(directory)/process_\(process).safetensors" }

    /// `w[0:4,0:3]`.
    static func blockName(_ name: String, _ box: [Range<Int>]) -> String {
        name + "[" + box.map { "\($0.lowerBound):\($0.upperBound)" }.joined(separator: ",") + "]"
    }

    static func parseBlockName(_ text: String) -> (String, [Range<Int>])? {
        guard text.hasSuffix("]"), let open = text.lastIndex(of: "[") else { return nil }
        let inside = text[text.index(after: open)..<text.index(before: text.endIndex)]
        var box: [Range<Int>] = []
        for part in inside.split(separator: ",", omittingEmptySubsequences: false) where !inside.isEmpty {
            let bounds = part.split(separator: ":")
            guard bounds.count == 2, let lo = Int(bounds[0]), let hi = Int(bounds[1]), 0 <= lo, lo <= hi else { return nil }
            box.append(lo..<hi)
        }
        return (String(text[..<open]), box)
    }

    /// `float32 [8, 3]` → (.float32, [8, 3]).
    static func parseLayout(_ text: String) -> (DType, [Int])? {
        guard let space = text.firstIndex(of: " "), let dtype = DType(rawValue: String(text[..<space])) else { return nil }
        let dims = text[text.index(after: space)...].filter { !"[] ".contains($0) }
        if dims.isEmpty { return (dtype, []) }
        let shape = dims.split(separator: ",").compactMap { Int($0) }
        return shape.count == dims.split(separator: ",").count && shape.allSatisfy({ $0 >= 0 }) ? (dtype, shape) : nil
    }

    /// For each block of the sharding's grid, the lowest device id holding it.
    static func blockOwners(_ sharding: NamedSharding, shape: [Int]) -> [[Range<Int>]: Int] {
        var owners: [[Range<Int>]: Int] = [:]
        for position in 0..<sharding.mesh.size {
            let box = sharding.block(ofPosition: position, shape: shape)
            let device = sharding.mesh.devices[position]
            owners[box] = min(owners[box] ?? device, device)
        }
        return owners
    }

    /// The global array from its disjoint blocks, checking that they cover it exactly.
    static func assemble(
        _ name: String, dtype: DType, shape: [Int], pieces: [([Range<Int>], Tensor)], operation: String
    ) throws -> DenseArray {
        let global = DenseArray(uninitializedShape: shape, dtype: dtype)
        let strides = rowMajorStrides(shape)
        let item = dtype.byteSize
        var covered = 0
        for (box, tensor) in pieces {
            let block = try tensor.concreteArray(for: operation)
            guard box.count == shape.count, zip(box, shape).allSatisfy({ $0.upperBound <= $1 }),
                block.shape == box.map(\.count), block.dtype == dtype
            else {
                throw FlockError(
                    "\(operation): block \(blockName(name, box)) (\(block.dtype) \(block.shape)) does not fit '\(name)' (\(dtype) \(shape))")
            }
            covered += block.count
            guard block.count > 0 else { continue }
            // Copy row by row: the last dimension is contiguous in both.
            let rowBytes = (box.last?.count ?? 1) * item
            let rows = block.count / (box.last?.count ?? 1)
            let src = block.bytes.baseAddress!
            let dst = UnsafeMutableRawPointer(global.buffer.pointer)
            var index = [Int](repeating: 0, count: max(shape.count - 1, 0))
            for row in 0..<rows {
                var offset = (box.last?.lowerBound ?? 0)
                for d in 0..<index.count { offset += (box[d].lowerBound + index[d]) * strides[d] }
                dst.advanced(by: offset * item).copyMemory(from: src.advanced(by: row * rowBytes), byteCount: rowBytes)
                var d = index.count - 1
                while d >= 0 {
                    index[d] += 1
                    if index[d] < box[d].count { break }
                    index[d] = 0
                    d -= 1
                }
            }
        }
        guard covered == global.count else {
            throw FlockError("\(operation): the blocks of '\(name)' cover \(covered) of its \(global.count) elements (a process file is missing blocks)")
        }
        return global
    }
}
