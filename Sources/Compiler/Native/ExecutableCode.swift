import FlockCore
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Machine code in pages of its own: written while the pages are read-write,
/// then made read+execute (never writable and executable at once), and
/// unmapped when the object goes away (the plans using it and the cache of
/// ``shared(_:)`` have let go).
final class ExecutableCode: @unchecked Sendable {
    /// The first byte of the code.
    let address: UnsafeRawPointer
    private let mapping: UnsafeMutableRawPointer
    private let length: Int

    /// Copies `code` into fresh pages and makes them executable, or nil when
    /// the system refuses (then the caller keeps its interpreter).
    init?(_ code: [UInt8]) {
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let length = max(page, (code.count + page - 1) / page * page)
        #if canImport(Glibc)
        let flags = MAP_PRIVATE | MAP_ANONYMOUS
        #else
        let flags = MAP_PRIVATE | MAP_ANON
        #endif
        guard let p = mmap(nil, length, PROT_READ | PROT_WRITE, flags, -1, 0), p != MAP_FAILED else { return nil }
        code.withUnsafeBytes { p.copyMemory(from: $0.baseAddress!, byteCount: code.count) }
        guard mprotect(p, length, PROT_READ | PROT_EXEC) == 0 else {
            munmap(p, length)
            return nil
        }
        mapping = p
        self.length = length
        address = UnsafeRawPointer(p)
    }

    deinit { munmap(mapping, length) }
}

extension ExecutableCode {
    /// Mapped code for `bytes`, shared with earlier requests for the same
    /// bytes: compiling a function again (a new `jit`, a retrace) then costs
    /// no system calls, which are most of a native loop's compile time
    /// (mapping, then changing protections and unmapping both interrupt the
    /// other cores). Keeps at most ``cacheBudget`` bytes of recent code.
    static func shared(_ bytes: [UInt8]) -> ExecutableCode? {
        if let hit = codeCache.withLock({ $0.lookup(bytes) }) { return hit }
        guard let code = ExecutableCode(bytes) else { return nil }
        codeCache.withLock { $0.insert(bytes, code) }
        return code
    }

    /// Bytes of code the cache keeps mapped.
    static let cacheBudget = 4 << 20
}

private struct CodeCache {
    /// Code bytes as a key hashed in one call (an array of bytes hashes byte by byte).
    struct Key: Hashable {
        let bytes: [UInt8]
        func hash(into hasher: inout Hasher) { bytes.withUnsafeBytes { hasher.combine(bytes: $0) } }
    }
    var entries: [Key: ExecutableCode] = [:]
    /// Keys, least recently used first.
    var order: [Key] = []
    var bytes = 0

    mutating func lookup(_ bytes: [UInt8]) -> ExecutableCode? {
        let key = Key(bytes: bytes)
        guard let code = entries[key] else { return nil }
        if let i = order.lastIndex(of: key) { order.remove(at: i) }
        order.append(key)
        return code
    }

    mutating func insert(_ bytes: [UInt8], _ code: ExecutableCode) {
        let key = Key(bytes: bytes)
        guard entries[key] == nil else { return }
        entries[key] = code
        order.append(key)
        self.bytes += bytes.count
        while self.bytes > ExecutableCode.cacheBudget, let oldest = order.first {
            order.removeFirst()
            self.bytes -= oldest.bytes.count
            entries[oldest] = nil
        }
    }
}

private let codeCache = Mutex(CodeCache())
