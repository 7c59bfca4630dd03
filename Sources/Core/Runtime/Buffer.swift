#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// Raw, immutable-after-construction storage behind concrete arrays.
///
/// A kernel fills a fresh buffer once and never writes it again after it is
/// wrapped in a ``DenseArray``; that is what makes `Tensor` a value type without
/// copy-on-write. Large buffers are 2 MiB aligned with transparent huge pages
/// and are recycled through ``BufferPool`` when released: a fresh 40 MB buffer
/// costs ~10k page faults, more than the elementwise work that fills it.
@usableFromInline package final class Buffer: @unchecked Sendable {
    /// The start of the storage, aligned for every dtype.
    @usableFromInline package let pointer: UnsafeMutableRawPointer
    /// Usable bytes (at least what was asked for).
    package let capacity: Int
    /// The exact value of a weakly typed float literal stored as float32, kept
    /// so that promoting it to float64 does not lose digits (`x64 * 0.3`).
    package internal(set) var exactScalar: Double?
    /// Bumped when the buffer is donated to a jitted function: arrays made
    /// before that (the caller's) are deleted, arrays made after it are not.
    package private(set) var generation: UInt32 = 0

    /// Marks every existing array over this buffer as deleted (donation).
    package func invalidateArrays() { generation &+= 1 }

    init(pointer: UnsafeMutableRawPointer, capacity: Int) {
        self.pointer = pointer
        self.capacity = capacity
    }

    /// A buffer of at least `byteCount` bytes with unspecified contents.
    package static func allocate(byteCount: Int) -> Buffer {
        BufferPool.shared.take(byteCount: byteCount)
    }

    /// A buffer of `byteCount` zero bytes.
    package static func zeroed(byteCount: Int) -> Buffer {
        let b = allocate(byteCount: byteCount)
        if byteCount > 0 { memset(b.pointer, 0, byteCount) }
        return b
    }

    deinit { BufferPool.shared.give(pointer: pointer, capacity: capacity) }
}

/// A small cache of large freed allocations, reused by later allocations of a
/// similar size. Small allocations go straight to malloc, which is fast for them.
final class BufferPool: Sendable {
    static let shared = BufferPool()

    /// Allocations at least this large are pooled (glibc serves them with
    /// mmap, so each fresh one would page-fault), rounded to 64 KiB.
    static let largeThreshold = 64 << 10
    static let granule = 64 << 10
    /// Allocations at least this large are 2 MiB aligned with transparent huge pages.
    static let hugePage = 2 << 20
    /// Bytes kept idle at most.
    static let maxIdleBytes = 1 << 30
    /// Idle buffers kept at most (allocation searches them linearly).
    static let maxIdleCount = 256

    private struct State {
        // Addresses, not pointers: the state must be Sendable.
        var idle: [(address: UInt, capacity: Int)] = []
        var idleBytes = 0
    }
    private let state = Mutex(State())
    /// Bytes of pooled-size buffers in use (handed out, not yet given back),
    /// and the most there have been since ``resetPeak()``: what the memory
    /// tests measure.
    private let live = Atomic<Int>(0)
    private let peak = Atomic<Int>(0)

    /// Bytes of large (pooled-size) buffers currently in use.
    var liveBytes: Int { live.load(ordering: .relaxed) }
    /// The most large-buffer bytes in use at once since the last ``resetPeak()``.
    var peakBytes: Int { peak.load(ordering: .relaxed) }
    /// Starts a new peak measurement from the bytes in use now.
    func resetPeak() { peak.store(live.load(ordering: .relaxed), ordering: .relaxed) }

    func take(byteCount: Int) -> Buffer {
        let n = max(byteCount, 1)
        if n < Self.largeThreshold {
            guard let p = malloc(n) else {
                exitWithError(FlockError("out of memory (RESOURCE_EXHAUSTED): the system refused \(describeBytes(n))"))
            }
            return Buffer(pointer: p, capacity: n)
        }
        let buffer = takeLarge(n)
        let now = live.add(buffer.capacity, ordering: .relaxed).newValue
        peak.max(now, ordering: .relaxed)
        return buffer
    }

    private func takeLarge(_ n: Int) -> Buffer {
        let unit = n >= Self.hugePage ? Self.hugePage : Self.granule
        let rounded = (n + unit - 1) / unit * unit
        let reused: (UInt, Int)? = state.withLock { s in
            // The most recently freed buffer of exactly this size (the common
            // case, and warm in cache), else the best fit no more than 25 %
            // larger than needed.
            var best = -1
            for i in s.idle.indices.reversed()
            where s.idle[i].capacity >= rounded && s.idle[i].capacity <= rounded + rounded / 4 {
                if best < 0 || s.idle[i].capacity < s.idle[best].capacity { best = i }
                if s.idle[i].capacity == rounded { break }
            }
            guard best >= 0 else { return nil }
            let e = s.idle.remove(at: best)
            s.idleBytes -= e.capacity
            return (e.address, e.capacity)
        }
        if let (a, c) = reused { return Buffer(pointer: UnsafeMutableRawPointer(bitPattern: a)!, capacity: c) }
        var raw: UnsafeMutableRawPointer? = nil
        guard posix_memalign(&raw, unit == Self.hugePage ? Self.hugePage : 64, rounded) == 0, let p = raw else {
            // Operations check their outputs' sizes first (`checkAllocation`), so
            // this is the rare refusal of a size that passed the check.
            exitWithError(FlockError("out of memory (RESOURCE_EXHAUSTED): the system refused \(describeBytes(rounded))"))
        }
        #if os(Linux)
        if unit == Self.hugePage { _ = madvise(p, rounded, 14) }  // MADV_HUGEPAGE
        #endif
        return Buffer(pointer: p, capacity: rounded)
    }

    func give(pointer: UnsafeMutableRawPointer, capacity: Int) {
        if capacity < Self.largeThreshold { free(pointer); return }
        live.subtract(capacity, ordering: .relaxed)
        let address = UInt(bitPattern: pointer)
        let evicted: [UInt] = state.withLock { s in
            s.idle.append((address, capacity))
            s.idleBytes += capacity
            var out: [UInt] = []
            while (s.idleBytes > Self.maxIdleBytes || s.idle.count > Self.maxIdleCount), !s.idle.isEmpty {
                let e = s.idle.removeFirst()
                s.idleBytes -= e.capacity
                out.append(e.address)
            }
            return out
        }
        for a in evicted { free(UnsafeMutableRawPointer(bitPattern: a)) }
    }
}
