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
/// names the rank that left.
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
    }

    /// At exit, before MPI_Finalize: tells every other rank this one is leaving.
    static func announceAndFinalize() {
        let finalizing = lock.withLock { f -> Bool in
            let was = f
            f = true
            return was
        }
        guard !finalizing, mpiIsActive else { return }
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
        // A rank ending on an error does not wait for the others in
        // MPI_Finalize's fence: its non-zero exit (and the announcement) end the job.
        if ProgramFailure.isFailing { return }
        MPI_Finalize()
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
