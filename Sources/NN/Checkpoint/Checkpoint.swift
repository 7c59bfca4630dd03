import FlockCore
import FlockIO
import FlockTransforms

// A checkpoint is a safetensors file: one tensor per leaf of a pytree, named
// by its key path (`layers.0.weight`), so the Python `safetensors` package and
// numpy read it as they read any other. The metadata holds the user's strings
// plus two reserved entries:
//   flock.format  "checkpoint-1"
//   flock.crc32   CRC-32 (8 hex digits) of the data section (the bytes after
//                 the header) followed by "key=value\n" for each user entry,
//                 keys in byte order
// so a flipped bit in any tensor or user string is found on load (a damaged
// header fails to parse, or fails the safetensors offset checks). Files are
// written atomically: a crash leaves the previous checkpoint intact.

/// Saving and restoring pytrees (model parameters, optimiser state, step,
/// PRNG key) as safetensors checkpoints.
///
/// ```swift
/// struct TrainState: PyTreeStruct {
///     var params: [String: Tensor]
///     var step: Tensor          // int32 scalar
///     var key: Tensor           // PRNGKey.data (uint32 [2])
///     static let fields: [PyTreeField<TrainState>] = [
///         .init(\.params, "params"), .init(\.step, "step"), .init(\.key, "key"),
///     ]
/// }
/// try Checkpoint.save(state, to: "/tmp/ckpt.safetensors", metadata: ["epoch": "3"])
/// let restored = try Checkpoint.restore(like: state, from: "/tmp/ckpt.safetensors")
/// let key = PRNGKey(data: restored.key)
/// ```
///
/// In Python: `safetensors.numpy.load_file("/tmp/ckpt.safetensors")["params.w"]`.
public enum Checkpoint {
    /// The metadata key of the format tag.
    public static let formatKey = "flock.format"
    /// The metadata key of the checksum.
    public static let checksumKey = "flock.crc32"
    /// The format tag this version writes.
    public static let formatVersion = "checkpoint-1"

    /// Writes every leaf of `tree` to `path` atomically (temporary file in the
    /// same directory, fsync, rename, fsync of the directory).
    ///
    /// - Parameters:
    ///   - tree: A pytree of concrete tensors.
    ///   - path: The file to create or replace.
    ///   - metadata: Strings stored with the tensors; keys may not start with `flock.`.
    /// - Throws: ``FlockError`` when a leaf is traced, two leaves share a name,
    ///   a metadata key is reserved, or the file cannot be written (then
    ///   nothing at `path` has changed).
    public static func save<T: PyTree>(_ tree: T, to path: String, metadata: [String: String] = [:]) throws {
        try writeFileAtomically(encode(tree, metadata: metadata), to: path, operation: "Checkpoint.save")
    }

    /// The bytes of a checkpoint of `tree` (what ``save(_:to:metadata:)`` writes).
    public static func encode<T: PyTree>(_ tree: T, metadata: [String: String] = [:]) throws -> [UInt8] {
        if let reserved = metadata.keys.sorted().first(where: { $0.hasPrefix("flock.") }) {
            throw FlockError("Checkpoint.save: metadata key '\(reserved)' is reserved (keys starting with 'flock.')")
        }
        let names = try treeKeyPaths(tree)
        let tensors = Dictionary(uniqueKeysWithValues: zip(names, treeLeaves(tree)))
        let unchecked = try encodeSafetensors(tensors, metadata: metadata)
        var full = metadata
        full[formatKey] = formatVersion
        full[checksumKey] = hex(checksum(of: unchecked, userMetadata: metadata))
        return try encodeSafetensors(tensors, metadata: full)
    }

    /// Reads a checkpoint's tensors and user metadata, verifying its checksum.
    ///
    /// - Parameters:
    ///   - path: A checkpoint file.
    ///   - requireChecksum: When `false`, a safetensors file without Flock's
    ///     checksum (one written by another tool) is accepted unverified.
    /// - Returns: The tensors by name and the user metadata (without the `flock.` entries).
    /// - Throws: ``FlockError`` when the file is missing, malformed, truncated
    ///   or fails its checksum.
    public static func load(_ path: String, requireChecksum: Bool = true) throws -> SafetensorsFile {
        let bytes = try readFile(path, operation: "Checkpoint.load")
        let file: SafetensorsFile
        do { file = try decodeSafetensors(bytes) } catch let error as FlockError {
            throw FlockError("Checkpoint.load: \(path): corrupt or truncated checkpoint: \(error.message)")
        }
        var user = file.metadata ?? [:]
        let stored = user.removeValue(forKey: checksumKey)
        user.removeValue(forKey: formatKey)
        if let stored {
            let actual = hex(checksum(of: bytes, userMetadata: user))
            guard stored == actual else {
                throw FlockError(
                    "Checkpoint.load: \(path): checksum mismatch (stored \(stored), computed \(actual)): the file is corrupt")
            }
        } else if requireChecksum {
            throw FlockError(
                "Checkpoint.load: \(path): no '\(checksumKey)' metadata: not a Flock checkpoint (pass requireChecksum: false to read it unverified)")
        }
        return SafetensorsFile(tensors: file.tensors, metadata: user)
    }

    /// Restores a checkpoint into a tree shaped like `template`.
    ///
    /// Every leaf of the template must have a tensor of the same name, shape
    /// and dtype in the file, and the file may hold no others.
    ///
    /// ```swift
    /// let params = try Checkpoint.restore(like: model, from: "model.safetensors")
    /// ```
    ///
    /// - Throws: ``FlockError`` naming the first mismatching path, shape or
    ///   dtype, or the problem with the file.
    public static func restore<T: PyTree>(like template: T, from path: String, requireChecksum: Bool = true) throws -> T {
        let file = try load(path, requireChecksum: requireChecksum)
        return try restore(like: template, from: file.tensors, source: path)
    }

    /// Builds a tree like `template` from named tensors (see ``restore(like:from:requireChecksum:)``).
    public static func restore<T: PyTree>(like template: T, from tensors: [String: Tensor], source: String = "tensors") throws -> T {
        let names = try treeKeyPaths(template)
        var leaves: [Tensor] = []
        for (name, expected) in zip(names, treeLeaves(template)) {
            guard let t = tensors[name] else {
                let known = tensors.keys.sorted().prefix(8).joined(separator: ", ")
                throw FlockError("Checkpoint.restore: \(source) has no tensor '\(name)' (it has \(tensors.count): \(known)\(tensors.count > 8 ? ", …" : ""))")
            }
            guard t.shape == expected.shape, t.dtype == expected.dtype else {
                throw FlockError(
                    "Checkpoint.restore: '\(name)' is \(t.dtype) \(t.shape) in \(source), the template expects \(expected.dtype) \(expected.shape)")
            }
            leaves.append(t)
        }
        let extra = Set(tensors.keys).subtracting(names).sorted()
        guard extra.isEmpty else {
            throw FlockError("Checkpoint.restore: \(source) has tensors the template lacks: \(extra.prefix(8).joined(separator: ", "))")
        }
        return treeUnflatten(like: template, leaves)
    }

    /// CRC-32 of the data section of safetensors `bytes` and the user metadata lines.
    static func checksum(of bytes: [UInt8], userMetadata: [String: String]) -> UInt32 {
        let headerLength = (0..<8).reduce(0) { $0 | Int(bytes[$1]) << (8 * $1) }
        var crc = CRC32()
        bytes.withUnsafeBytes { crc.update(UnsafeRawBufferPointer(rebasing: $0[(8 + headerLength)...])) }
        for key in userMetadata.keys.sorted(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) }) {
            Array("\(key)=\(userMetadata[key]!)\n".utf8).withUnsafeBytes { crc.update($0) }
        }
        return crc.value
    }

    private static func hex(_ value: UInt32) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 8 - digits.count) + digits
    }
}
