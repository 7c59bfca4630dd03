#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Machine code in pages of its own: written while the pages are read-write,
/// then made read+execute (never writable and executable at once), and
/// unmapped when the object goes away.
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
