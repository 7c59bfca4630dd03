import CKernels
import CMPI

#if canImport(Glibc)
import Glibc
#endif

/// Collectives among ranks of one host through a shared-memory window,
/// instead of MPI's messages.
///
/// Each member owns a region of an `MPI_Win_allocate_shared` window: two
/// counters on cache lines of their own, a signature, and a payload of up to
/// ``payloadBytes`` bytes. Collective `k` on a member:
///
/// 1. waits until every member is `done` with collective `k - 1` (its region
///    may be overwritten);
/// 2. writes its ``CollectiveSignature`` and operand, then sets `arrived = k`
///    (release);
/// 3. waits until every member has `arrived >= k` (acquire) and compares the
///    signatures: each member sees all of them, so an inconsistent call is
///    reported identically everywhere — and since every member reads only
///    what the others wrote, differing sizes cannot overrun anything;
/// 4. computes its result from the members' payloads (in rank order, so every
///    member gets the same bits), or hands a larger operand to MPI, then sets
///    `done = k`.
///
/// A 64 KiB `psum` between two ranks costs one copy in and one pass over both
/// payloads — several times faster than `MPI_Allreduce` over Open MPI's
/// shared-memory transport, whose messages are copied through bounded
/// fragments — and the consistency check comes free with the exchange.
/// Waiting spins, then yields the core (ranks may outnumber cores), then
/// sleeps; each member's heartbeat lets the watchdog name a rank that stopped,
/// and the collective watchdog covers waits that never end, as for MPI calls.
final class SharedMemoryExchange: @unchecked Sendable {
    /// Payload bytes per member between two members (`FLOCK_SHARED_COLLECTIVE_BYTES`,
    /// default 1 MiB; 0 turns the shared-memory path off); see ``payloadBytes``.
    /// Larger operands use MPI.
    static var capacity: Int { Configuration.sharedCollectiveBytes }

    /// Region layout: counters on cache lines of their own; the heartbeat (the
    /// monotonic time of the member's last sign of life) beside `done`; the
    /// 64-byte signature on a cache line of its own.
    private static let arrivedOffset = 0, doneOffset = 64, heartbeatOffset = 72, signatureOffset = 128, payloadOffset = 192

    let size: Int
    let rank: Int
    /// Payload bytes per member: ``capacity`` for two members, less for more
    /// (each member reads every payload, so the total read stays at 2 × capacity).
    let payloadBytes: Int
    /// Spins before yielding the core while waiting: none when the members
    /// outnumber the cores (the one awaited may need this core).
    private let spins: Int
    /// Each member's region, in rank order.
    private let regions: [UnsafeMutableRawPointer]
    /// Each member's payload, in rank order (made once: a 4-byte collective
    /// is latency-bound, and an array per call costs a malloc and a free).
    let payloads: [UnsafeRawPointer]
    /// The number of the collective in progress or last finished (one at a time per communicator).
    private var sequence: UInt64 = 0

    /// The exchange for `comm` (collective over `comm`), or nil when the
    /// path is off or the members do not all share this host's memory.
    static func make(_ comm: MPI_Comm, size: Int, rank: Int) throws -> SharedMemoryExchange? {
        guard capacity > 0, size > 1 else { return nil }
        var node: MPI_Comm? = nil
        try mpiCheck(MPI_Comm_split_type(comm, cmpi_comm_type_shared(), 0, cmpi_info_null(), &node), "MPI_Comm_split_type")
        var nodeSize: Int32 = 0
        try mpiCheck(MPI_Comm_size(node, &nodeSize), "MPI_Comm_size")
        MPI_Comm_free(&node)
        guard nodeSize == size else { return nil }  // the same verdict on every member
        return try SharedMemoryExchange(comm, size: size, rank: rank)
    }

    private init(_ comm: MPI_Comm, size: Int, rank: Int) throws {
        self.size = size
        self.rank = rank
        payloadBytes = (Self.capacity * 2 / size + 63) / 64 * 64
        spins = size > sysconf(Int32(_SC_NPROCESSORS_ONLN)) ? 0 : 4096
        let bytes = Self.payloadOffset + payloadBytes
        var base: UnsafeMutableRawPointer? = nil
        var win: MPI_Win? = nil
        try mpiCheck(MPI_Win_allocate_shared(MPI_Aint(bytes), 1, cmpi_info_null(), comm, &base, &win), "MPI_Win_allocate_shared")
        var regions: [UnsafeMutableRawPointer] = []
        for r in 0..<size {
            var length: MPI_Aint = 0
            var unit: Int32 = 0
            var p: UnsafeMutableRawPointer? = nil
            try mpiCheck(MPI_Win_shared_query(win, Int32(r), &length, &unit, &p), "MPI_Win_shared_query")
            guard let p else { throw FlockError("MPI_Win_shared_query: no address for rank \(r)") }
            regions.append(p)
        }
        self.regions = regions
        payloads = regions.map { UnsafeRawPointer($0 + Self.payloadOffset) }
        // Counters start at 0; everyone must see that before the first collective.
        memset(regions[rank], 0, Self.payloadOffset)
        beat()
        try mpiCheck(MPI_Barrier(comm), "MPI_Barrier")
    }

    // The window is never freed: freeing is collective, and ranks leave at
    // different times; the memory goes with the process.

    /// Member `r`'s payload of the current collective.
    func payload(_ r: Int) -> UnsafeRawPointer { payloads[r] }

    /// Steps 1-3: publishes `signature` and `bytes` bytes of `operand`, waits
    /// for every member and checks that all signatures agree. On a mismatch,
    /// finishes the collective, exchanges the members' `call` texts (to name
    /// what differs) and throws the error every member throws.
    func arrive(_ signature: CollectiveSignature, call: CollectiveCall, operand: UnsafeRawPointer?, bytes: Int) throws {
        let k = sequence + 1
        let mine = regions[rank]
        for r in 0..<size where r != rank { wait(regions[r] + Self.doneOffset, atLeast: k - 1) }
        signature.encode(to: mine + Self.signatureOffset)
        if let operand, bytes > 0 { (mine + Self.payloadOffset).copyMemory(from: operand, byteCount: bytes) }
        flock_store_release_u64(mine + Self.arrivedOffset, k)
        for r in 0..<size where r != rank { wait(regions[r] + Self.arrivedOffset, atLeast: k) }
        sequence = k
        for r in 0..<size where memcmp(regions[r] + Self.signatureOffset, mine + Self.signatureOffset, CollectiveSignature.byteCount) != 0 {
            let all = regions.map { CollectiveSignature.decode($0 + Self.signatureOffset) }
            finish()
            // Every member saw the same signatures, so every member takes this extra round.
            throw CollectiveSignature.mismatch(all, calls: exchangeTexts(call), transport: "MPI ranks")
        }
    }

    /// One more round after a mismatch: every member's ``CollectiveCall/encodedFields``
    /// through the payloads (cut to the payload size).
    private func exchangeTexts(_ call: CollectiveCall) -> [String?] {
        let k = sequence + 1
        let mine = regions[rank]
        let capacity = min(payloadBytes, CollectiveCall.wireTextBytes)
        for r in 0..<size where r != rank { wait(regions[r] + Self.doneOffset, atLeast: k - 1) }
        call.encodeText(to: mine + Self.payloadOffset, capacity: capacity)
        flock_store_release_u64(mine + Self.arrivedOffset, k)
        for r in 0..<size where r != rank { wait(regions[r] + Self.arrivedOffset, atLeast: k) }
        sequence = k
        defer { finish() }
        return (0..<size).map { CollectiveCall.decodeText(payload($0), capacity: capacity) }
    }

    /// Step 4's end: this member no longer reads the others' regions.
    func finish() {
        flock_store_release_u64(regions[rank] + Self.doneOffset, sequence)
    }

    /// Waits for a counter: spins (a collective's members usually arrive
    /// within microseconds), then yields the core, and once the wait has
    /// lasted ``yieldingNanoseconds`` sleeps in growing steps up to 1 ms — a
    /// long wait (a slow rank, a stopped one) burns no core, and adds at most
    /// 1 ms to a wait already over 20 ms.
    @inline(__always)
    private func wait(_ counter: UnsafeRawPointer, atLeast k: UInt64) {
        var spun = 0
        var yieldingSince: UInt64 = 0
        var sleep = timespec(tv_sec: 0, tv_nsec: 20_000)
        while flock_load_acquire_u64(counter) < k {
            if spun < spins {
                spun += 1
                flock_cpu_relax()
                continue
            }
            if yieldingSince == 0 { yieldingSince = monotonicNanoseconds() }
            if monotonicNanoseconds() - yieldingSince < Self.yieldingNanoseconds {
                sched_yield()  // another rank may need this core
            } else {
                nanosleep(&sleep, nil)
                sleep.tv_nsec = min(sleep.tv_nsec * 2, 1_000_000)
            }
        }
    }

    /// How long a wait yields the core before it starts to sleep.
    static let yieldingNanoseconds: UInt64 = 20_000_000

    // MARK: - Liveness (read and written by the watchdog thread)

    /// Records that this member is alive (the watchdog thread calls it every
    /// 200 ms, whatever the rank's main thread is doing: a long computation
    /// is not a hang; a stopped process stops beating).
    func beat() {
        flock_store_release_u64(regions[rank] + Self.heartbeatOffset, monotonicNanoseconds())
    }

    /// Members (indices in this communicator) whose last heartbeat is older
    /// than `limit` nanoseconds at `now` (CLOCK_MONOTONIC is shared by the
    /// processes of one host).
    func silentMembers(now: UInt64, limit: UInt64) -> [Int] {
        (0..<size).filter { r in
            guard r != rank else { return false }
            let last = flock_load_acquire_u64(regions[r] + Self.heartbeatOffset)
            return now > last && now - last > limit
        }
    }

    /// Members that have not yet arrived at the collective this member has
    /// published (its own `arrived` counter), for the watchdog's message.
    func membersNotArrived() -> [Int] {
        let mine = flock_load_acquire_u64(regions[rank] + Self.arrivedOffset)
        return (0..<size).filter { r in r != rank && flock_load_acquire_u64(regions[r] + Self.arrivedOffset) < mine }
    }
}
