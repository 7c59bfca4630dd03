import CMPI
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Ends a job whose collective waits forever.
///
/// Signatures turn *inconsistent* calls into errors, but a rank that never
/// arrives (it skipped the collective, or waits in another one) leaves the
/// others blocked inside MPI, where no error can reach them. Each MPI
/// communicator records when its current collective started (two relaxed
/// atomic stores, a few nanoseconds); a background thread checks every 200 ms
/// and, past ``CollectiveTimeout/seconds``, prints what the rank was waiting
/// for and aborts the job with MPI_Abort, so mpirun ends every rank.
final class CollectiveWatchdog: Sendable {
    static let shared = CollectiveWatchdog()

    /// The in-flight state of one communicator.
    final class Slot: Sendable {
        /// Monotonic start time in ns of the collective in flight; 0 when idle.
        let since = Atomic<UInt64>(0)
        /// Sequence number (high 32 bits), kind and dtype code of the collective in flight.
        let what = Atomic<UInt64>(0)
        let size: Int
        /// The members' ranks in the world communicator, in member order.
        let memberWorldRanks: [Int]
        let worldRanks: Set<Int>
        /// The members' shared-memory window, when they share this host: it
        /// carries their heartbeats and arrival counters.
        let exchange: SharedMemoryExchange?

        init(size: Int, worldRanks: [Int], exchange: SharedMemoryExchange?) {
            self.size = size
            self.memberWorldRanks = worldRanks
            self.worldRanks = Set(worldRanks)
            self.exchange = exchange
        }

        @inline(__always)
        func begin(_ signature: CollectiveSignature) {
            what.store(UInt64(signature.sequence) << 32 | UInt64(signature.kind.rawValue) << 8 | UInt64(signature.dtype.code),
                       ordering: .relaxed)
            since.store(monotonicNanoseconds(), ordering: .relaxed)
        }

        @inline(__always)
        func end() { since.store(0, ordering: .relaxed) }
    }

    private struct Weak: @unchecked Sendable { weak var slot: Slot? }
    private let slots = Mutex<[Weak]>([])
    private let started = Atomic<Bool>(false)

    /// A slot for a new communicator of `size` members (`worldRanks`, in
    /// member order), watched from now on.
    func register(size: Int, worldRanks: [Int], exchange: SharedMemoryExchange?) -> Slot {
        let slot = Slot(size: size, worldRanks: worldRanks, exchange: exchange)
        slots.withLock { list in
            list.removeAll { $0.slot == nil }
            list.append(Weak(slot: slot))
        }
        if started.compareExchange(expected: false, desired: true, ordering: .relaxed).exchanged {
            var thread = pthread_t()
            pthread_create(&thread, nil, { _ in CollectiveWatchdog.shared.run(); return nil }, nil)
            pthread_detach(thread)
        }
        return slot
    }

    /// Seconds without a heartbeat after which a rank that others wait for
    /// counts as stopped (`FLOCK_HEARTBEAT_TIMEOUT`, default 30).
    static var heartbeatSeconds: Double { Configuration.heartbeatTimeout }

    /// World ranks (other than this one) whose heartbeat, on any watched
    /// communicator within this host, is older than `limit` nanoseconds.
    func silentRanks(limit: UInt64) -> [Int] {
        let now = monotonicNanoseconds()
        let live = slots.withLock { $0.compactMap(\.slot) }
        var silent = Set<Int>()
        Departures.whileActive {
            for s in live {
                guard let exchange = s.exchange else { continue }
                for m in exchange.silentMembers(now: now, limit: limit) { silent.insert(s.memberWorldRanks[m]) }
            }
        }
        silent.formUnion(Departures.silentPeers(limit: limit))
        return silent.sorted()
    }

    private func run() {
        let limit = UInt64(CollectiveTimeout.seconds * 1e9)
        let silence = UInt64(Self.heartbeatSeconds * 1e9)
        while true {
            usleep(200_000)
            let now = monotonicNanoseconds()
            let live = slots.withLock { $0.compactMap(\.slot) }
            Departures.whileActive { for s in live { s.exchange?.beat() } }
            Departures.exchangeBeats()
            if let stuck = live.first(where: { s in
                let t = s.since.load(ordering: .relaxed)
                return t != 0 && now > t && now - t > limit
            }) { abortJob(stuck) }
            // A member that others wait for and whose heartbeat stopped (a
            // stopped process, a machine in a swap storm) never arrives.
            // Across hosts (or without shared memory) the heartbeats come by message.
            let silentPeers = Departures.silentPeers(limit: silence)
            for s in live {
                let t = s.since.load(ordering: .relaxed)
                guard t != 0, now > t, now - t > silence else { continue }
                var silent: [Int] = []
                if let exchange = s.exchange {
                    Departures.whileActive { silent = exchange.silentMembers(now: now, limit: silence).map { s.memberWorldRanks[$0] } }
                }
                silent += silentPeers.filter { s.worldRanks.contains($0) && !silent.contains($0) }
                if !silent.isEmpty { abortJob(s, silent: silent.sorted()) }
            }
            // A rank that left can never join a collective of its communicators.
            if let (gone, seconds) = Departures.poll(), seconds >= Departures.patience {
                let waiting = slots.withLock { list in
                    list.compactMap(\.slot).first { s in
                        let t = s.since.load(ordering: .relaxed)
                        return t != 0 && now > t && Double(now - t) * 1e-9 >= Departures.patience && s.worldRanks.contains(gone)
                    }
                }
                if let waiting { abortJob(waiting, departed: gone) }
            }
        }
    }

    private func abortJob(_ slot: Slot, departed: Int? = nil, silent: [Int] = []) -> Never {
        let w = slot.what.load(ordering: .relaxed)
        let kind = CollectiveKind(rawValue: UInt8(truncatingIfNeeded: w >> 8))
        let dtype = kind == .barrier ? "" : DType(code: UInt8(truncatingIfNeeded: w)).map { " of \($0)" } ?? ""
        var rank: Int32 = 0
        MPI_Comm_rank(cmpi_comm_world(), &rank)
        let what = "\(kind?.description ?? "collective")\(dtype) (collective #\((w >> 32) + 1) on a communicator of \(slot.size) ranks)"
        var absent: [Int] = []
        Departures.whileActive { absent = slot.exchange?.membersNotArrived().map { slot.memberWorldRanks[$0] } ?? [] }
        let who = absent.isEmpty ? "some rank did" : (absent.count == 1 ? "rank \(absent[0]) did" : "ranks \(absent.map(String.init).joined(separator: ", ")) did")
        let message: String
        if let gone = departed {
            message = "Flock: rank \(rank): rank \(gone) has exited while this rank waits for it in \(what); the collective cannot "
                + "complete. Aborting the job."
        } else if !silent.isEmpty {
            let names = silent.count == 1 ? "rank \(silent[0]) has" : "ranks \(silent.map(String.init).joined(separator: ", ")) have"
            message = "Flock: rank \(rank): \(names) shown no sign of life for \(Int(Self.heartbeatSeconds)) s (stopped, or its "
                + "machine stalled) while this rank waits for it in \(what). Aborting the job (FLOCK_HEARTBEAT_TIMEOUT sets the wait)."
        } else {
            message = "Flock: rank \(rank): \(what) has waited \(Int(CollectiveTimeout.seconds)) s for the other ranks: \(who) "
                + "not reach this collective. Every rank must call the same collectives in the same order. "
                + "Aborting the job (FLOCK_COLLECTIVE_TIMEOUT sets the wait)."
        }
        printToStandardError(message)
        MPI_Abort(cmpi_comm_world(), 3)
        exit(3)
    }
}

/// CLOCK_MONOTONIC in nanoseconds.
@inline(__always)
func monotonicNanoseconds() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}
