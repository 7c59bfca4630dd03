import FlockCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// Atomic replacement of a file: the bytes go to a temporary file in the same
// directory (rename is atomic only within one file system), which is flushed
// to disk with fsync before it is renamed over the destination; the directory
// is then fsynced so the rename itself survives a crash. A reader therefore
// sees either the old file or the complete new one, never a partial write; a
// writer killed half-way leaves only a `.tmp-` file behind, which readers of
// the directory (the checkpoint manager) ignore.

/// The prefix of the temporary files ``writeFileAtomically(_:to:operation:)`` creates.
package let atomicTemporaryPrefix = ".tmp-"

/// Writes `bytes` to `path` atomically (temporary file, fsync, rename, fsync of the directory).
///
/// - Throws: ``FlockError`` naming `operation` and the path when a step fails;
///   the temporary file is removed and `path` is left as it was.
package func writeFileAtomically(_ bytes: [UInt8], to path: String, operation: String) throws {
    let (directory, name) = splitPath(path)
    let temporary = directory + "/" + atomicTemporaryPrefix + name + "-" + String(getpid())
    func failure(_ what: String) -> FlockError {
        FlockError("\(operation): cannot write \(path): \(what): \(String(cString: strerror(errno)))")
    }
    let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    guard fd >= 0 else { throw failure("cannot create \(temporary)") }
    do {
        var written = 0
        let pause = Configuration.slowWritePause
        try bytes.withUnsafeBytes { raw in
            while written < raw.count {
                // One chunk per pause under the test hook, otherwise everything at once.
                let chunk = pause > 0 ? min(raw.count - written, 1 << 20) : raw.count - written
                let n = write(fd, raw.baseAddress! + written, chunk)
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else { throw failure("write failed") }
                written += n
                if pause > 0 && written < raw.count { usleep(pause) }
            }
        }
        guard fsync(fd) == 0 else { throw failure("fsync failed") }
        guard close(fd) == 0 else {
            unlink(temporary)
            throw failure("close failed")
        }
    } catch {
        close(fd)
        unlink(temporary)
        throw error
    }
    guard rename(temporary, path) == 0 else {
        let e = failure("rename failed")
        unlink(temporary)
        throw e
    }
    // Make the rename durable; a failure here leaves a complete file, so it is not an error.
    let dirfd = open(directory, O_RDONLY)
    if dirfd >= 0 {
        _ = fsync(dirfd)
        close(dirfd)
    }
}

/// The directory (`.` when there is none) and last component of `path`.
package func splitPath(_ path: String) -> (directory: String, name: String) {
    guard let slash = path.lastIndex(of: "/") else { return (".", path) }
    let directory = String(path[..<slash])
    return (directory.isEmpty ? "/" : directory, String(path[path.index(after: slash)...]))
}
