import CMPI
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Ends the job quickly when a rank leaves while others wait for it.
///
/// A rank that exits (for any reason, with any status) while another rank
/// waits for it in a collective would leave that rank blocked until the
/// collective timeout, and itself blocked in `MPI_Finalize`'s fence: the job
/// would end only after ``CollectiveTimeout/seconds``. So every rank announces
/// its departure at exit: one small message to every other rank on a
/// communicator of its own. The watchdog thread looks for announcements; once
/// a rank has left, a collective that has waited ``patience`` seconds since
/// the departure cannot complete, and the job is aborted with a message that
/// names the rank that left. A rank that fails (non-zero exit status) leaves
/// without finalising; one that succeeds waits for every rank under the
/// heartbeat check before MPI_Finalize (see ``announceAndFinalize(status:)``).
enum Departures {
    /// A duplicate of the world communicator that carries only announcements.
    nonisolated(unsafe) private static var comm: MPI_Comm? = nil
    private static let tag: Int32 = 0x466C  // "Fl"
    /// Serialises the watchdog's probes with `MPI_Finalize`.
    private static let lock = Mutex<Bool>(false)  // true once finalising
    /// The first rank seen leaving, and when (monotonic ns); -1 when none.
    private static let departed = Atomic<Int>(-1)
    private static let departedAt = Atomic<UInt64>(0)

    /// Seconds a collective may still wait after a rank left (it may be the
    /// last collective, finishing while the other rank already exits).
    static var patience: Double { min(5, CollectiveTimeout.seconds) }

    /// Called once, after MPI_Init (collective: every rank duplicates the world).
    static func start() throws {
        var dup: MPI_Comm? = nil
        try mpiCheck(MPI_Comm_dup(cmpi_comm_world(), &dup), "MPI_Comm_dup")
        try mpiCheck(MPI_Comm_set_errhandler(dup, cmpi_errors_return()), "MPI_Comm_set_errhandler")
        comm = dup
        // Heartbeats by message where no shared-memory window carries them:
        // ranks on several hosts, or shared-memory collectives turned off.
        var node: MPI_Comm? = nil, size: Int32 = 0, rank: Int32 = 0, nodeSize: Int32 = 0
        try mpiCheck(MPI_Comm_size(dup, &size), "MPI_Comm_size")
        try mpiCheck(MPI_Comm_rank(dup, &rank), "MPI_Comm_rank")
        try mpiCheck(MPI_Comm_split_type(dup, cmpi_comm_type_shared(), 0, cmpi_info_null(), &node), "MPI_Comm_split_type")
        try mpiCheck(MPI_Comm_size(node, &nodeSize), "MPI_Comm_size")
        MPI_Comm_free(&node)
        var spans = nodeSize < size ? Int32(1) : 0, anySpans: Int32 = 0
        try mpiCheck(MPI_Allreduce(&spans, &anySpans, 1, cmpi_int(), cmpi_op_max(), dup), "MPI_Allreduce")
        if size > 1 && (anySpans != 0 || Configuration.sharedCollectiveBytes == 0) {
            beats.withLock { $0 = PeerBeats(size: Int(size), rank: Int(rank), start: monotonicNanoseconds()) }
        }
    }

    // MARK: - Heartbeats by message (across hosts)

    /// The last time each peer was heard from, when ranks beat by message.
    private struct PeerBeats {
        var lastHeard: [UInt64]
        var lastSent: UInt64 = 0
        /// This rank and the peers that announced their departure: not waited for.
        var gone: Set<Int>
        init(size: Int, rank: Int, start: UInt64) {
            lastHeard = Array(repeating: start, count: size)
            gone = [rank]
        }
    }
    private static let beats = Mutex<PeerBeats?>(nil)
    private static let beatTag: Int32 = 0x4668  // "Fh"

    /// From the watchdog thread, every 200 ms: receives peers' heartbeats and,
    /// once a second, sends this rank's (one int, fire and forget, to every
    /// peer that has not left). The shared-memory heartbeat only reaches ranks
    /// of one host; this one crosses hosts, so a rank stopped on another host
    /// is named too (``silentPeers(limit:)``).
    static func exchangeBeats() {
        lock.withLock { finalizing in
            guard !finalizing, let comm else { return }
            beats.withLock { state in
                guard var b = state else { return }
                let now = monotonicNanoseconds()
                var flag: Int32 = 0
                var status = MPI_Status()
                while MPI_Iprobe(cmpi_any_source(), beatTag, comm, &flag, &status) == 0 && flag != 0 {
                    var n: Int32 = 0
                    MPI_Recv(&n, 1, cmpi_int(), status.MPI_SOURCE, beatTag, comm, cmpi_status_ignore())
                    let r = Int(status.MPI_SOURCE)
                    if r >= 0 && r < b.lastHeard.count { b.lastHeard[r] = now }
                }
                if now - b.lastSent >= 1_000_000_000 {
                    b.lastSent = now
                    var rank: Int32 = 0
                    MPI_Comm_rank(comm, &rank)
                    var me = rank
                    for r in 0..<Int32(b.lastHeard.count) where !b.gone.contains(Int(r)) {
                        var request: MPI_Request? = cmpi_request_null()
                        if MPI_Isend(&me, 1, cmpi_int(), r, beatTag, comm, &request) == MPI_SUCCESS { MPI_Request_free(&request) }
                    }
                }
                state = b
            }
        }
    }

    /// Peers (world ranks) not heard from for `limit` nanoseconds that have
    /// not announced their departure; empty when ranks beat in shared memory.
    static func silentPeers(limit: UInt64) -> [Int] {
        let now = monotonicNanoseconds()
        return beats.withLock { state in
            guard let b = state else { return [] }
            return b.lastHeard.indices.filter { !b.gone.contains($0) && now > b.lastHeard[$0] && now - b.lastHeard[$0] > limit }
        }
    }

    /// Set by the first call of ``announceAndFinalize(status:)``.
    private static let ending = Atomic<Bool>(false)

    /// At exit, before MPI_Finalize: tells every other rank this one is
    /// leaving, then (on a successful exit) waits for every rank to end and
    /// finalises.
    ///
    /// - Parameter status: the process's exit status. A rank that fails
    ///   (non-zero status, or a Flock error) does not finalise: MPI_Finalize
    ///   would wait for the ranks still working, and the job must end with
    ///   this rank's status (mpirun ends it when a rank exits non-zero
    ///   without finalising), so `launch` names this rank as the first failure.
    static func announceAndFinalize(status: Int32) {
        guard !ending.exchange(true, ordering: .acquiringAndReleasing), mpiIsActive else { return }
        if let comm {
            var size: Int32 = 0, rank: Int32 = 0
            MPI_Comm_size(comm, &size)
            MPI_Comm_rank(comm, &rank)
            var me = rank
            // Small messages go eagerly: each send returns without its receiver.
            var requests = [MPI_Request?](repeating: cmpi_request_null(), count: Int(size))
            for r in 0..<size where r != rank {
                MPI_Isend(&me, 1, cmpi_int(), r, tag, comm, &requests[Int(r)])
            }
            MPI_Waitall(size, &requests, cmpi_statuses_ignore())
        }
        if ProgramFailure.isFailing || status != 0 {
            lock.withLock { $0 = true }
            return
        }
        waitForEveryRank()
        lock.withLock { $0 = true }
        MPI_Finalize()
    }

    /// Waits until every rank has reached its exit, before MPI_Finalize, whose
    /// own wait no watchdog can bound: a rank stopped (SIGSTOP) after the last
    /// collective would hang the others there forever. This wait is a
    /// non-blocking barrier on the announcements' communicator, polled while
    /// the watchdog thread still beats this rank's heartbeat; a peer on this
    /// host whose heartbeat falls silent for ``CollectiveWatchdog/heartbeatSeconds``
    /// is named and the job aborted. A peer that is merely slow (a long
    /// evaluation after the last step) keeps beating and is waited for.
    private static func waitForEveryRank() {
        guard let comm else { return }
        var request: MPI_Request? = cmpi_request_null()
        guard MPI_Ibarrier(comm, &request) == MPI_SUCCESS else { return }
        let limit = UInt64(CollectiveWatchdog.heartbeatSeconds * 1e9)
        var done: Int32 = 0
        var pause = timespec(tv_sec: 0, tv_nsec: 100_000)
        while MPI_Test(&request, &done, cmpi_status_ignore()) == MPI_SUCCESS && done == 0 {
            nanosleep(&pause, nil)
            pause.tv_nsec = min(pause.tv_nsec * 2, 20_000_000)
            let silent = CollectiveWatchdog.shared.silentRanks(limit: limit)
            if !silent.isEmpty {
                var rank: Int32 = 0
                MPI_Comm_rank(cmpi_comm_world(), &rank)
                let names = silent.count == 1 ? "rank \(silent[0]) has" : "ranks \(silent.map(String.init).joined(separator: ", ")) have"
                printToStandardError("Flock: rank \(rank): \(names) shown no sign of life for "
                    + "\(Int(CollectiveWatchdog.heartbeatSeconds)) s (stopped, or its machine stalled) while this rank "
                    + "waits for every rank to end the job. Aborting the job (FLOCK_HEARTBEAT_TIMEOUT sets the wait).")
                MPI_Abort(cmpi_comm_world(), 3)
                _exit(3)
            }
        }
    }

    /// Runs `body` unless MPI is finalising (or finalised), holding off
    /// `MPI_Finalize` meanwhile: the watchdog reads and writes the shared
    /// windows, which finalising unmaps.
    static func whileActive(_ body: () -> Void) {
        lock.withLock { finalizing in
            if !finalizing { body() }
        }
    }

    /// From the watchdog thread: receives announcements; returns the rank that
    /// left and the seconds since, once one has.
    static func poll() -> (rank: Int, seconds: Double)? {
        lock.withLock { finalizing in
            guard !finalizing, let comm else { return }
            var flag: Int32 = 0
            var status = MPI_Status()
            while MPI_Iprobe(cmpi_any_source(), tag, comm, &flag, &status) == 0 && flag != 0 {
                var who: Int32 = 0
                MPI_Recv(&who, 1, cmpi_int(), status.MPI_SOURCE, tag, comm, cmpi_status_ignore())
                beats.withLock { _ = $0?.gone.insert(Int(who)) }
                if departed.load(ordering: .relaxed) < 0 {
                    departedAt.store(monotonicNanoseconds(), ordering: .relaxed)
                    departed.store(Int(who), ordering: .relaxed)
                }
            }
        }
        let r = departed.load(ordering: .relaxed)
        guard r >= 0 else { return nil }
        return (r, Double(monotonicNanoseconds() - departedAt.load(ordering: .relaxed)) * 1e-9)
    }
}
