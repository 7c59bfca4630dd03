import CMPI
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The processes and devices of an SPMD job (`jax.distributed`).
///
/// A *process* is an MPI rank; each process has one or more *local devices*
/// (CPU threads). Started by `mpirun` (or `./launch`), Flock initialises MPI
/// with `MPI_THREAD_MULTIPLE` and finalises it at exit. Started directly, it is
/// a one-process job and never touches MPI, so plain programs start fast —
/// and every program written for N processes runs unchanged with one.
///
/// ```swift
/// try Distributed.initialize()
/// print("process \(Distributed.processIndex) of \(Distributed.processCount)")
/// let total = withAxis("processes", communicator: Distributed.processes) {
///     psum(Tensor([Float(1)]), axisName: "processes")      // [processCount]
/// }
/// ```
public enum Distributed {
    struct State: Sendable {
        let processes: any CollectiveTransport
        let localDeviceCount: Int
        let usesMPI: Bool
        let devices: [any CollectiveTransport]
    }

    private static let state = Mutex<State?>(nil)

    /// Sets up the job once; later calls return at once (and must not ask for a
    /// different local device count).
    ///
    /// - Parameter localDeviceCount: local devices (threads) per process. When
    ///   nil: `FLOCK_LOCAL_DEVICES` (set by `launch --local-devices K`), else 1.
    /// - Throws: ``FlockError`` when MPI fails to start or the count is invalid.
    public static func initialize(localDeviceCount: Int? = nil) throws {
        try state.withLock { (s: inout State?) throws -> Void in
            if let existing = s {
                if let localDeviceCount, localDeviceCount != existing.localDeviceCount {
                    throw FlockError(
                        "Distributed.initialize: already initialised with \(existing.localDeviceCount) local devices, "
                            + "asked for \(localDeviceCount)")
                }
                return
            }
            s = try makeState(localDeviceCount: localDeviceCount ?? environmentLocalDeviceCount())
        }
    }

    private static func makeState(localDeviceCount local: Int) throws -> State {
        guard local >= 1 else {
            throw FlockError("Distributed.initialize: localDeviceCount must be at least 1, got \(local)")
        }
        let usesMPI = launchedByMPI
        let processes: any CollectiveTransport = usesMPI ? try startMPI() : InProcessGroup(size: 1).members[0]
        let devices: [any CollectiveTransport]
        if local == 1 {
            devices = [processes]
        } else if processes.size == 1 {
            devices = InProcessGroup(size: local).members
        } else {
            devices = HierarchicalGroup(localSize: local, processes: processes).members
        }
        return State(processes: processes, localDeviceCount: local, usesMPI: usesMPI, devices: devices)
    }

    private static var current: State {
        if let s = state.withLock({ $0 }) { return s }
        do { try initialize() } catch { exitWithError(error) }
        return state.withLock { $0! }
    }

    /// Whether this process was started by an MPI launcher: Open MPI 4 and 5
    /// (`OMPI_COMM_WORLD_SIZE`), any PMIx launcher (`PMIX_RANK`), or a PMI one
    /// such as MPICH's Hydra (`PMI_SIZE`).
    public static var launchedByMPI: Bool {
        ["OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_SIZE"].contains { getenvString($0) != nil }
    }

    /// This process's index among the processes, in `0..<processCount`.
    public static var processIndex: Int { current.processes.rank }
    /// Number of processes (MPI ranks); 1 without mpirun.
    public static var processCount: Int { current.processes.size }
    /// Devices (threads) per process.
    public static var localDeviceCount: Int { current.localDeviceCount }
    /// Devices in the job: `processCount × localDeviceCount`.
    public static var deviceCount: Int { processCount * localDeviceCount }
    /// Whether collectives between processes go through MPI.
    public static var usesMPI: Bool { current.usesMPI }

    /// The communicator connecting the processes (MPI's world under mpirun).
    public static var processes: any Communicator { current.processes }

    /// One communicator per local device, spanning every device of the job
    /// (global device `processIndex × localDeviceCount + i` for entry `i`).
    public static var localDevices: [any Communicator] { current.devices }

    /// ``processes``'s transport, for the collectives Flock's own code calls
    /// directly (agreement between processes, sub-communicators).
    package static var processTransport: any CollectiveTransport { current.processes }

    /// ``localDevices``' transports.
    package static var localDeviceTransports: [any CollectiveTransport] { current.devices }

    /// Runs `body` once per local device, each on its own thread with
    /// `axisName` bound to a communicator over every device of the job, and
    /// returns the results in local device order (SPMD over devices).
    ///
    /// ```swift
    /// let sums = Distributed.onEachLocalDevice(axisName: "d") { i in
    ///     psum(Tensor([Float(i)]), axisName: "d")
    /// }
    /// ```
    public static func onEachLocalDevice<R: Sendable>(axisName: String, _ body: @Sendable (Int) throws -> R) rethrows -> [R] {
        let devices = localDevices
        return try CollectiveSection.run {
            try onThreadsWithContext(devices.count) { i in try withAxis(axisName, communicator: devices[i]) { try body(i) } }
        }
    }

    // MARK: - MPI lifetime

    private static func environmentLocalDeviceCount() throws -> Int {
        if let s = Configuration.invalidLocalDevicesText {
            throw FlockError("FLOCK_LOCAL_DEVICES must be a positive integer, got '\(s)'")
        }
        return Configuration.localDevices
    }

    private static func startMPI() throws -> MPICommunicator {
        var provided: Int32 = 0
        if !mpiIsActive {
            try mpiCheck(MPI_Init_thread(nil, nil, Int32(MPI_THREAD_MULTIPLE), &provided), "MPI_Init_thread")
            // Every rank announces its exit (so ranks waiting for it end the job), then
            // finalises. The watchdog thread listens while collectives run: that
            // needs MPI_THREAD_MULTIPLE.
            if provided >= Int32(MPI_THREAD_MULTIPLE) { try Departures.start() }
            // on_exit (not atexit) hands over the exit status: a failing rank
            // leaves without waiting for the others in MPI_Finalize.
            #if canImport(Glibc)
            on_exit({ status, _ in Departures.announceAndFinalize(status: status) }, nil)
            #else
            atexit { Departures.announceAndFinalize(status: 0) }
            #endif
            // A failing rank names itself in its one-line error.
            ProgramFailure.processLabel.withLock {
                $0 = {
                    var rank: Int32 = 0, size: Int32 = 0
                    MPI_Comm_rank(cmpi_comm_world(), &rank)
                    MPI_Comm_size(cmpi_comm_world(), &size)
                    return size > 1 ? "rank \(rank): " : nil
                }
            }
        } else {
            MPI_Query_thread(&provided)
        }
        if provided < Int32(MPI_THREAD_MULTIPLE) {
            printToStandardError("Flock: warning: the MPI library provides thread level \(provided), not "
                + "MPI_THREAD_MULTIPLE; use collectives from one thread at a time")
        }
        return try MPICommunicator(cmpi_comm_world(), owned: false)
    }
}


/// Writes `line` and a newline to standard error, unbuffered.
func printToStandardError(_ line: String) {
    var bytes = Array((line + "\n").utf8)
    _ = bytes.withUnsafeMutableBytes { write(2, $0.baseAddress, $0.count) }
}

/// Carries a value the caller has made safe across threads.
struct UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
