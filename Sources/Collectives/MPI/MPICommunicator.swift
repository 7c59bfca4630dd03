import CMPI
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A communicator over MPI ranks: the world, or a sub-communicator made with
/// ``split(color:key:)`` (one per mesh axis).
///
/// When every member runs on this host, collectives meet in a shared-memory
/// window instead (``SharedMemoryExchange``): signatures always, operands up
/// to its capacity (1 MiB by default) too; larger operands then use MPI.
/// Otherwise (ranks on several hosts, or `launch --tcp`):
///
/// Every collective starts with one `MPI_Allgather` of a fixed 128-byte block
/// per rank: the caller's ``CollectiveSignature`` (64 bytes, with the digest
/// of the ``CollectiveCall``: every parameter and the call site) and, when
/// the operand is at most 64 bytes, the operand itself. Fixed-size blocks cannot
/// mismatch, so every rank sees every rank's signature and all of them report
/// an inconsistent call identically; they then exchange their calls' text to
/// name what differs. Small operands are then finished locally
/// (a 4-byte `psum` costs one allgather, about one `MPI_Allreduce`); larger ones
/// follow with the matching MPI collective, for which the signature exchange is
/// a small fixed cost (≈ 0.3 µs on one host). ``checksSignatures`` switches the
/// exchange off for large operands where that cost matters and the program is
/// trusted.
///
/// ```swift
/// try Distributed.initialize()
/// let world = Distributed.processes            // MPICommunicator under mpirun
/// let sum = try world.allReduce(DenseArray([Float(world.rank)], shape: [1]), .sum)
/// ```
package final class MPICommunicator: CollectiveTransport, @unchecked Sendable {
    /// Ranks in the communicator.
    package let size: Int
    /// This process's rank in the communicator.
    package let rank: Int
    let comm: MPIComm
    /// Whether this object owns the handle (frees it on deinit).
    private let owned: Bool
    private let sequence = Atomic<UInt32>(0)
    /// Errors caught inside `catchingErrors` while this communicator's axis was active (carried by its collectives).
    package let caughtErrors = CaughtErrors()
    private let watch: CollectiveWatchdog.Slot
    /// The shared-memory path when every member is on this host.
    private let shared: SharedMemoryExchange?

    /// Whether collectives meet in shared memory (every member on this host,
    /// and `FLOCK_SHARED_COLLECTIVE_BYTES` is not 0); see ``SharedMemoryExchange``.
    package var usesSharedMemory: Bool { shared != nil }
    /// Operand bytes that travel through shared memory (0 without it).
    var sharedPayloadBytes: Int { shared?.payloadBytes ?? 0 }

    /// Whether operands larger than the inline limit also exchange signatures
    /// first (default true; `FLOCK_COLLECTIVE_CHECKS=0` turns it off). Without
    /// the check, ranks that pass different shapes to a large collective are
    /// undefined behaviour in MPI (a hang, a truncation error or wrong data).
    package static var checksSignatures: Bool { Configuration.collectiveChecks }

    /// Bytes per rank in the signature allgather, and operand bytes that fit in it.
    static let blockBytes = 128
    static let inlineBytes = blockBytes - CollectiveSignature.byteCount

    init(_ comm: MPI_Comm, owned: Bool) throws {
        try mpiCheck(MPI_Comm_set_errhandler(comm, cmpi_errors_return()), "MPI_Comm_set_errhandler")
        var size: Int32 = 0, rank: Int32 = 0
        try mpiCheck(MPI_Comm_size(comm, &size), "MPI_Comm_size")
        try mpiCheck(MPI_Comm_rank(comm, &rank), "MPI_Comm_rank")
        self.comm = MPIComm(raw: comm)
        self.owned = owned
        self.size = Int(size)
        self.rank = Int(rank)
        shared = try SharedMemoryExchange.make(comm, size: Int(size), rank: Int(rank))
        watch = CollectiveWatchdog.shared.register(
            size: Int(size), worldRanks: try Self.worldRanks(of: comm, size: size), exchange: shared)
    }

    /// The world ranks of `comm`'s members in member order (for the watchdog:
    /// which departures concern it, and whom to name).
    private static func worldRanks(of comm: MPI_Comm, size: Int32) throws -> [Int] {
        var group: MPI_Group? = nil, world: MPI_Group? = nil
        try mpiCheck(MPI_Comm_group(comm, &group), "MPI_Comm_group")
        try mpiCheck(MPI_Comm_group(cmpi_comm_world(), &world), "MPI_Comm_group")
        defer {
            MPI_Group_free(&group)
            MPI_Group_free(&world)
        }
        var local = (0..<size).map { $0 }
        var global = [Int32](repeating: 0, count: Int(size))
        try mpiCheck(MPI_Group_translate_ranks(group, size, &local, world, &global), "MPI_Group_translate_ranks")
        return global.map(Int.init)
    }

    deinit {
        if owned && mpiIsActive {
            var c: MPI_Comm? = comm.raw
            MPI_Comm_free(&c)
        }
    }

    /// Splits this communicator (`MPI_Comm_split`, collective): ranks passing
    /// the same `color` form one new communicator, ordered by `key` then by
    /// rank. A nil color leaves this rank out (the result is nil).
    ///
    /// ```swift
    /// // A 2 × 2 mesh of four ranks: one communicator per row.
    /// let row = try world.split(color: world.rank / 2, key: world.rank % 2)!
    /// ```
    package func split(color: Int?, key: Int) throws -> MPICommunicator? {
        if let color, color < 0 { throw FlockError("MPICommunicator.split: color must be non-negative, got \(color)") }
        try barrier()  // a checked collective, so a rank that skips the split is reported
        var out: MPI_Comm? = nil
        let c = color.map { Int32(truncatingIfNeeded: $0) } ?? cmpi_undefined()
        try mpiCheck(MPI_Comm_split(comm.raw, c, Int32(truncatingIfNeeded: key), &out), "MPI_Comm_split")
        guard color != nil, let out else { return nil }
        return try MPICommunicator(out, owned: true)
    }

    /// Runs `operation` on `x` over the ranks; `call` is checked against every rank's before data is combined.
    package func perform(_ operation: CollectiveOperation, _ x: DenseArray, call: CollectiveCall) throws -> DenseArray {
        try perform(operation, x, call: call, inPlace: false)
    }

    /// Runs `operation` on `x` as a direct call (no collective call recorded for the checks).
    package func perform(_ operation: CollectiveOperation, _ x: DenseArray) throws -> DenseArray {
        try perform(operation, x, call: .unspecified, inPlace: false)
    }

    /// An all-reduce that may write its result into `x`'s buffer (which the caller gives up).
    package func allReduceInPlace(_ x: DenseArray, _ op: ReduceOp) throws -> DenseArray {
        try perform(.allReduce(op), x, call: .unspecified, inPlace: true)
    }

    /// The all-reduce into `x`'s buffer (`MPI_IN_PLACE`) for operands beyond
    /// the signature block; small ones take the inline path as usual.
    package func allReduceInPlace(_ x: DenseArray, _ op: ReduceOp, call: CollectiveCall) throws -> DenseArray {
        try perform(.allReduce(op), x, call: call, inPlace: true)
    }

    /// `inPlace` (all-reduces only): a large operand's buffer takes the result.
    private func perform(_ operation: CollectiveOperation, _ x: DenseArray, call: CollectiveCall, inPlace: Bool) throws -> DenseArray {
        let signature = operation.signature(x, sequence: sequence.add(1, ordering: .relaxed).oldValue, call: call)
        if let shared { return try perform(operation, x, signature, call: call, through: shared, inPlace: inPlace) }
        if x.byteCount > Self.inlineBytes {
            if Self.checksSignatures { try exchangingSignatures(signature, call: call, inline: nil) { _ in } }
            try operation.validate(x, size: size)
            return try transfer(operation, x, signature, inPlace: inPlace)
        }
        // Small operands travel in the signature block: one MPI call in all.
        let block = Self.blockBytes
        return try exchangingSignatures(signature, call: call, inline: x) { received in
            // Signatures agree, so every rank reaches the same verdict here.
            try operation.validate(x, size: size)
            if case .allReduce(let op) = operation {
                // The latency-critical case, folded straight from the received blocks.
                let out = DenseArray(uninitializedShape: x.shape, dtype: x.dtype)
                let payload = CollectiveSignature.byteCount
                out.buffer.pointer.copyMemory(from: received + payload, byteCount: x.byteCount)
                for r in 1..<size { accumulate(out.buffer.pointer, received + r * block + payload, count: x.count, dtype: x.dtype, op) }
                return out
            }
            let payloads = (0..<size).map { UnsafeRawPointer(received + $0 * block + CollectiveSignature.byteCount) }
            return operation.localResult(payloads, shape: x.shape, dtype: x.dtype, rank: rank)
        }
    }

    /// A collective whose signatures (and operands up to the exchange's
    /// capacity) meet in shared memory; larger operands then go through MPI.
    private func perform(
        _ operation: CollectiveOperation, _ x: DenseArray, _ signature: CollectiveSignature, call: CollectiveCall,
        through shared: SharedMemoryExchange, inPlace: Bool
    ) throws -> DenseArray {
        let carried = x.byteCount <= shared.payloadBytes
        if !carried && !Self.checksSignatures { return try transfer(operation, x, signature, inPlace: inPlace) }
        watch.begin(signature)
        let arrival = Result {
            try shared.arrive(signature, call: call, operand: carried ? UnsafeRawPointer(x.buffer.pointer) : nil, bytes: x.byteCount)
        }
        watch.end()
        try arrival.get()
        guard carried else {
            shared.finish()
            try operation.validate(x, size: size)
            return try transfer(operation, x, signature, inPlace: inPlace)
        }
        defer { shared.finish() }
        // Signatures agree, so every rank reaches the same verdict here.
        try operation.validate(x, size: size)
        if case .allReduce(let op) = operation {
            // In rank order on every rank: the same bits everywhere.
            let out = inPlace ? x : DenseArray(uninitializedShape: x.shape, dtype: x.dtype)
            combine(shared.payloads, into: out.buffer.pointer, count: x.count, dtype: x.dtype, op)
            return out
        }
        return operation.localResult(shared.payloads, shape: x.shape, dtype: x.dtype, rank: rank)
    }

    /// Exchanges this rank's signature (followed by `inline`'s bytes, an
    /// operand small enough to travel with it) with every rank, throws on a
    /// mismatch (after exchanging every rank's `call` text, to name what
    /// differs), then runs `body` on the received blocks (one per rank).
    private func exchangingSignatures<R>(
        _ signature: CollectiveSignature, call: CollectiveCall, inline x: DenseArray?, _ body: (UnsafeMutableRawPointer) throws -> R
    ) throws -> R {
        let block = Self.blockBytes
        return try withUnsafeTemporaryAllocation(byteCount: block * (size + 1), alignment: 16) { scratch in
            let send = scratch.baseAddress!, received = send + block
            signature.encode(to: send)
            if let x, x.byteCount > 0 {
                (send + CollectiveSignature.byteCount).copyMemory(from: x.buffer.pointer, byteCount: x.byteCount)
            }
            watch.begin(signature)
            let rc = MPI_Allgather(send, Int32(block), cmpi_byte(), received, Int32(block), cmpi_byte(), comm.raw)
            watch.end()
            try mpiCheck(rc, "\(signature): MPI_Allgather of signatures")
            for r in 0..<size where memcmp(received + r * block, send, CollectiveSignature.byteCount) != 0 {
                // Every rank sees the same blocks, so every rank is here: one more allgather is safe.
                let calls = try exchangeCallTexts(call, signature)
                throw CollectiveSignature.mismatch(
                    (0..<size).map { CollectiveSignature.decode(received + $0 * block) }, calls: calls, transport: "MPI ranks")
            }
            return try body(received)
        }
    }

    /// Every rank's ``CollectiveCall/encodedFields`` (one allgather of fixed
    /// blocks), after signatures that differ: all ranks call it together.
    private func exchangeCallTexts(_ call: CollectiveCall, _ signature: CollectiveSignature) throws -> [String?] {
        let n = CollectiveCall.wireTextBytes
        return try withUnsafeTemporaryAllocation(byteCount: n * (size + 1), alignment: 16) { scratch in
            let send = scratch.baseAddress!, received = send + n
            call.encodeText(to: send, capacity: n)
            watch.begin(signature)
            let rc = MPI_Allgather(send, Int32(n), cmpi_byte(), received, Int32(n), cmpi_byte(), comm.raw)
            watch.end()
            try mpiCheck(rc, "\(signature): MPI_Allgather of the calls' parameters")
            return (0..<size).map { CollectiveCall.decodeText(received + $0 * n, capacity: n) }
        }
    }

    /// The payload collective for operands that do not fit in the signature block.
    private func transfer(
        _ operation: CollectiveOperation, _ x: DenseArray, _ signature: CollectiveSignature, inPlace: Bool = false
    ) throws -> DenseArray {
        var what: String { "\(signature)" }
        let dt = mpiDatatype(x.dtype)
        let count = try mpiCount(x.count, what)
        // In place (all-reduces only): the result goes into x's buffer.
        let out = inPlace ? x : DenseArray(uninitializedShape: operation.resultShape(x.shape, size: size), dtype: x.dtype)
        let src = inPlace ? UnsafeRawPointer(cmpi_in_place()!) : UnsafeRawPointer(x.buffer.pointer), dst = out.buffer.pointer
        watch.begin(signature)
        defer { watch.end() }
        switch operation {
        case .allReduce(let op):
            try mpiCheck(MPI_Allreduce(src, dst, count, dt, mpiOp(op), comm.raw), "\(what): MPI_Allreduce")
        case .allGather:
            try mpiCheck(MPI_Allgather(src, count, dt, dst, count, dt, comm.raw), "\(what): MPI_Allgather")
        case .reduceScatter(let op):
            try mpiCheck(MPI_Reduce_scatter_block(src, dst, count / Int32(size), dt, mpiOp(op), comm.raw),
                         "\(what): MPI_Reduce_scatter_block")
        case .allToAll:
            let block = count / Int32(size)
            try mpiCheck(MPI_Alltoall(src, block, dt, dst, block, dt, comm.raw), "\(what): MPI_Alltoall")
        case .permute(let pairs):
            try permute(pairs, src, dst, count, dt, what)
            if !pairs.contains(where: { $0.destination == rank }) && out.byteCount > 0 { memset(dst, 0, out.byteCount) }
        case .broadcast(let root):
            if rank == root && out.byteCount > 0 { dst.copyMemory(from: src, byteCount: x.byteCount) }
            try mpiCheck(MPI_Bcast(dst, count, dt, Int32(root), comm.raw), "\(what): MPI_Bcast")
        case .barrier, .inconsistent:
            try mpiCheck(MPI_Barrier(comm.raw), "\(what): MPI_Barrier")
        }
        return out
    }

    private func permute(
        _ pairs: [PermutationPair], _ src: UnsafeRawPointer, _ dst: UnsafeMutableRawPointer,
        _ count: Int32, _ dt: MPI_Datatype, _ what: String
    ) throws {
        var requests: [MPI_Request?] = []
        let tag: Int32 = 0x466C  // any fixed tag: messages between two ranks of one communicator stay in order
        if let p = pairs.first(where: { $0.destination == rank }) {
            var r: MPI_Request? = nil
            try mpiCheck(MPI_Irecv(dst, count, dt, Int32(p.source), tag, comm.raw, &r), "\(what): MPI_Irecv")
            requests.append(r)
        }
        if let p = pairs.first(where: { $0.source == rank }) {
            var r: MPI_Request? = nil
            try mpiCheck(MPI_Isend(src, count, dt, Int32(p.destination), tag, comm.raw, &r), "\(what): MPI_Isend")
            requests.append(r)
        }
        if !requests.isEmpty {
            try mpiCheck(MPI_Waitall(Int32(requests.count), &requests, cmpi_statuses_ignore()), "\(what): MPI_Waitall")
        }
    }
}
