import FlockCollectives
import FlockCore
import FlockIO
import FlockTransforms

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// Checkpoints of a training run: `step_<N>.safetensors` files in one
// directory. Each is written atomically, so a file with that exact name is
// complete; a writer killed half-way leaves only a `.tmp-…` file, which is
// ignored (and removed by the next save of process 0). After each save the
// oldest checkpoints beyond `keep` are deleted.

/// Keeps the last few checkpoints of a training run and finds the latest.
///
/// ```swift
/// let manager = try CheckpointManager(directory: "runs/mlp", keep: 3)
/// var state = initialState
/// var start = 0
/// if let (step, restored) = try manager.restoreLatest(like: state) {
///     (start, state) = (step, restored)
/// }
/// for step in start..<1000 {
///     state = trainStep(state, batch)
///     if (step + 1) % 100 == 0 { try manager.save(state, step: step + 1) }
/// }
/// ```
///
/// In a job of several processes call ``save(_:step:metadata:)`` on every
/// process with the same (replicated) state: process 0 writes the file, the
/// others wait for it, so a restore right after sees it everywhere. The
/// directory must be visible to every process (a shared file system).
public struct CheckpointManager: Sendable {
    /// The directory holding the checkpoints.
    public let directory: String
    /// How many of the most recent checkpoints ``save(_:step:metadata:)`` keeps.
    public let keep: Int

    /// A manager for `directory`, created (with its parents) if missing.
    ///
    /// - Parameters:
    ///   - directory: Where the `step_<N>.safetensors` files live.
    ///   - keep: How many recent checkpoints to keep (at least 1).
    /// - Throws: ``FlockError`` when `keep` < 1 or the directory cannot be created.
    public init(directory: String, keep: Int = 3) throws {
        guard keep >= 1 else { throw FlockError("CheckpointManager: keep must be at least 1, got \(keep)") }
        self.directory = directory
        self.keep = keep
        try makeDirectories(directory)
    }

    /// The file of the checkpoint at `step`.
    public func path(step: Int) -> String { "\(directory)/step_\(step).safetensors" }

    /// Saves `tree` as the checkpoint of `step`, then deletes the oldest
    /// beyond ``keep``. Only process 0 writes; every process returns once the
    /// file is complete.
    ///
    /// - Returns: The checkpoint's path.
    /// - Throws: ``FlockError`` when `step` is negative or the write fails
    ///   (the previous checkpoints are untouched).
    @discardableResult
    public func save<T: PyTree>(_ tree: T, step: Int, metadata: [String: String] = [:]) throws -> String {
        guard step >= 0 else { throw FlockError("CheckpointManager.save: step must be non-negative, got \(step)") }
        let target = path(step: step)
        var failure: FlockError?
        if Distributed.processIndex == 0 {
            do {
                var full = metadata
                full["step"] = full["step"] ?? String(step)
                try Checkpoint.save(tree, to: target, metadata: full)
                try removeStale()
            } catch let error as FlockError { failure = error }
        }
        try agreeOnSuccess(failure, operation: "CheckpointManager.save")
        return target
    }

    /// The steps of the complete checkpoints in the directory, ascending.
    public func steps() throws -> [Int] {
        guard let dir = opendir(directory) else {
            throw FlockError("CheckpointManager: cannot list \(directory): \(String(cString: strerror(errno)))")
        }
        defer { closedir(dir) }
        var steps: [Int] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
            if let step = Self.step(ofFileName: name) { steps.append(step) }
        }
        return steps.sorted()
    }

    /// The step of the latest complete checkpoint, or `nil` when there is none.
    public func latestStep() throws -> Int? { try steps().last }

    /// Restores the checkpoint of `step` into a tree like `template`.
    ///
    /// - Throws: ``FlockError`` when there is no such checkpoint, it is corrupt,
    ///   or it does not match the template (naming the first mismatching path).
    public func restore<T: PyTree>(like template: T, step: Int) throws -> T {
        let file = path(step: step)
        guard access(file, F_OK) == 0 else {
            let available = (try? steps()).map { $0.isEmpty ? "none" : $0.map(String.init).joined(separator: ", ") } ?? "none"
            throw FlockError("CheckpointManager.restore: no checkpoint for step \(step) in \(directory) (steps: \(available))")
        }
        return try Checkpoint.restore(like: template, from: file)
    }

    /// Restores the latest complete checkpoint, or returns `nil` when the
    /// directory has none (a fresh run).
    ///
    /// - Throws: ``FlockError`` when the latest checkpoint is corrupt or does
    ///   not match the template; an older one is never used silently.
    public func restoreLatest<T: PyTree>(like template: T) throws -> (step: Int, tree: T)? {
        guard let step = try latestStep() else { return nil }
        return (step, try restore(like: template, step: step))
    }

    /// The step in a file name `step_<N>.safetensors`, or `nil` for any other name.
    static func step(ofFileName name: String) -> Int? {
        let prefix = "step_", suffix = ".safetensors"
        guard name.hasPrefix(prefix), name.hasSuffix(suffix) else { return nil }
        let digits = name.dropFirst(prefix.count).dropLast(suffix.count)
        guard !digits.isEmpty, digits.allSatisfy(\.isASCII), digits.allSatisfy(\.isNumber) else { return nil }
        return Int(digits)
    }

    /// Deletes checkpoints older than the newest `keep`, and leftover temporary
    /// files of this directory's checkpoints (from a killed writer).
    private func removeStale() throws {
        for step in try steps().dropLast(keep) { unlink(path(step: step)) }
        guard let dir = opendir(directory) else { return }
        defer { closedir(dir) }
        var stale: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
            if name.hasPrefix(atomicTemporaryPrefix + "step_") && !name.hasSuffix("-\(getpid())") { stale.append(name) }
        }
        for name in stale { unlink("\(directory)/\(name)") }
    }
}

/// Every process learns whether process 0's write failed, so all of them throw
/// (or none does), and none returns before the file exists.
func agreeOnSuccess(_ failure: FlockError?, operation: String) throws {
    if Distributed.processCount > 1 {
        let failed = withAxis("processes", communicator: Distributed.processes) {
            psum(Tensor([Int32(failure == nil ? 0 : 1)]), axisName: "processes")
        }
        let anyFailed = try failed.concreteArray(for: operation).toArray(Int32.self)[0] > 0
        if anyFailed && failure == nil { throw FlockError("\(operation): another process failed to write the checkpoint") }
    }
    if let failure { throw failure }
}

/// `mkdir -p`.
func makeDirectories(_ path: String, operation: String = "CheckpointManager") throws {
    var prefix = path.hasPrefix("/") ? "/" : ""
    for component in path.split(separator: "/") {
        prefix += component + "/"
        if mkdir(prefix, 0o755) != 0 && errno != EEXIST {
            throw FlockError("\(operation): cannot create \(prefix): \(String(cString: strerror(errno)))")
        }
    }
    var info = stat()
    guard stat(path, &info) == 0, info.st_mode & S_IFMT == S_IFDIR else {
        throw FlockError("\(operation): \(path) is not a directory")
    }
}
