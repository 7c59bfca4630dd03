import Synchronization

/// Every setting of Flock in one place: its name, its `FLOCK_*` environment
/// variable, its default and what it does (JAX's `jax.config` is the model).
///
/// Each setting starts from its environment variable (read once, on first
/// use) or its default, and can be changed from code, either through its
/// typed property or by name, as `jax.config.update` does:
///
/// ```swift
/// Configuration.collectiveTimeout = 30                 // typed
/// try Configuration.update("collectiveTimeout", "30")  // by name (or by variable)
/// for option in Configuration.options { print(option) } // the whole table
/// ```
///
/// A setting changed from code applies to work started afterwards; settings
/// that shape a communicator or the job (``localDevices``,
/// ``sharedCollectiveBytes``) must be set before ``Distributed`` starts it.
/// docs/CONFIGURATION.md lists the same table.
public enum Configuration {
    /// Threads of the eager kernels for large arrays (`FLOCK_NUM_THREADS`;
    /// default: the processors this process may run on). Under MPI `launch`
    /// sets 1 per rank. Values below 1 count as 1.
    public static var numThreads: Int {
        get { Int(truncatingIfNeeded: numThreadsSetting.bits) }
        set { numThreadsSetting.bits = UInt64(truncatingIfNeeded: max(1, newValue)) }
    }

    /// Arrays with more elements than this print summarised: `edgeItems` at
    /// each end of every long axis and `...` between (`FLOCK_PRINT_THRESHOLD`,
    /// default 1000, numpy's `threshold`).
    public static var printThreshold: Int {
        get { Int(truncatingIfNeeded: printThresholdSetting.bits) }
        set { printThresholdSetting.bits = UInt64(truncatingIfNeeded: max(0, newValue)) }
    }

    /// Items shown at each end of a summarised axis (`FLOCK_PRINT_EDGEITEMS`,
    /// default 3, numpy's `edgeitems`).
    public static var printEdgeItems: Int {
        get { Int(truncatingIfNeeded: printEdgeItemsSetting.bits) }
        set { printEdgeItemsSetting.bits = UInt64(truncatingIfNeeded: max(1, newValue)) }
    }

    /// Seconds a member waits in a collective for the others before the job is
    /// declared hung (`FLOCK_COLLECTIVE_TIMEOUT`, default 600; must be positive).
    public static var collectiveTimeout: Double {
        get { collectiveTimeoutSetting.double }
        set { collectiveTimeoutSetting.double = newValue > 0 ? newValue : 600 }
    }

    /// Seconds without a heartbeat after which a rank that others wait for
    /// counts as stopped (`FLOCK_HEARTBEAT_TIMEOUT`, default 30; must be positive).
    public static var heartbeatTimeout: Double {
        get { heartbeatTimeoutSetting.double }
        set { heartbeatTimeoutSetting.double = newValue > 0 ? newValue : 30 }
    }

    /// Whether large collectives exchange their signatures first, so ranks that
    /// disagree get an error instead of MPI's undefined behaviour
    /// (`FLOCK_COLLECTIVE_CHECKS`, default true; `0` turns it off).
    public static var collectiveChecks: Bool {
        get { collectiveChecksSetting.bool }
        set { collectiveChecksSetting.bool = newValue }
    }

    /// Payload bytes per member of the shared-memory collectives between ranks
    /// on one host (`FLOCK_SHARED_COLLECTIVE_BYTES`, default 1 MiB; 0 turns the
    /// shared-memory path off). Read when the world communicator is made.
    public static var sharedCollectiveBytes: Int {
        get { Int(truncatingIfNeeded: sharedCollectiveBytesSetting.bits) }
        set { sharedCollectiveBytesSetting.bits = UInt64(truncatingIfNeeded: max(0, newValue)) }
    }

    /// Local devices (threads) per process when `Distributed.initialize` is not
    /// given a count (`FLOCK_LOCAL_DEVICES`, set by `launch --local-devices K`;
    /// default 1). A value that is not a positive integer makes `initialize` throw.
    public static var localDevices: Int {
        get { Int(truncatingIfNeeded: localDevicesSetting.bits) }
        set { localDevicesSetting.bits = UInt64(truncatingIfNeeded: max(1, newValue)) }
    }

    /// Whether random bits and `split` use JAX's partitionable Threefry counters
    /// (`FLOCK_THREEFRY_PARTITIONABLE`, default true; `0`, `false`, `no` or `off`
    /// select JAX's original scheme). See ``RandomConfig``.
    public static var threefryPartitionable: Bool {
        get { threefryPartitionableSetting.bool }
        set { threefryPartitionableSetting.bool = newValue }
    }

    /// Turns off the AVX2 kernels, skinny products and native loops
    /// (`FLOCK_DISABLE_AVX2`: set to any value; default false). The portable
    /// kernels compute the same values.
    public static var disableAVX2: Bool {
        get { disableAVX2Setting.bool }
        set { disableAVX2Setting.bool = newValue }
    }

    /// Whether jit compiles float32 fused loops to native AVX2 code
    /// (`FLOCK_NATIVE_LOOPS`, default true; `0` keeps every loop on its
    /// block-kernel interpreter). Read when a plan is compiled.
    public static var nativeLoops: Bool {
        get { nativeLoopsSetting.bool }
        set { nativeLoopsSetting.bool = newValue }
    }

    /// Whether jit logs why each trace happened (`FLOCK_EXPLAIN_CACHE_MISSES`:
    /// `1` or `true`; default false).
    public static var explainCacheMisses: Bool {
        get { explainCacheMissesSetting.bool }
        set { explainCacheMissesSetting.bool = newValue }
    }

    /// What jit prints to standard error while compiling (`FLOCK_DUMP_IR`:
    /// unset, empty, `0` or `false` for nothing; `passes` or `all` for the
    /// jaxpr after every pass that changed it; any other value for the jaxpr
    /// before and after the passes and the plan).
    public static var dumpIR: IRDumpMode {
        get { IRDumpMode(rawValue: Int(dumpIRSetting.bits)) ?? .off }
        set { dumpIRSetting.bits = UInt64(newValue.rawValue) }
    }

    /// Whether every compiler pass's result is type checked in release builds
    /// (`FLOCK_CHECK_IR`: `1` or `true`; default false). Debug builds always check.
    public static var checkIR: Bool {
        get { checkIRSetting.bool }
        set { checkIRSetting.bool = newValue }
    }

    /// Whether the first operation that produces a NaN is reported as a
    /// ``FlockError`` (`FLOCK_DEBUG_NANS`: `1` or `true`; default false), as
    /// `jax_debug_nans` does. Eagerly every primitive's outputs are checked;
    /// under `jit` the compiled function's outputs are, and on a NaN the
    /// function runs again op by op to name the primitive that produced it.
    /// The message names the primitive, its input and output shapes, the
    /// source line (where debug information has it) and the enclosing
    /// transforms. A NaN that was already in an input is not reported where it
    /// passes through. Off, it costs one relaxed load per operation.
    ///
    /// ```swift
    /// Configuration.debugNans = true
    /// let y = try catchingErrors { log(Tensor([1, -1] as [Float])) }
    /// // throws "log: produced NaN in output 0 f32[2] at index [1] from inputs [f32[2]]; ..."
    /// ```
    public static var debugNans: Bool {
        get { debugNansSetting.bool }
        set { debugNansSetting.bool = newValue }
    }

    /// Whether the first operation that produces an infinity is reported, as
    /// ``debugNans`` does for NaN (`FLOCK_DEBUG_INFS`: `1` or `true`; default
    /// false; `jax_debug_infs`). Independent of ``debugNans``.
    public static var debugInfs: Bool {
        get { debugInfsSetting.bool }
        set { debugInfsSetting.bool = newValue }
    }

    /// Whether a Flock error outside `catchingErrors` stops the program through
    /// `fatalError`, which prints a backtrace, instead of exiting with status 1
    /// (`FLOCK_BACKTRACE`: any value but empty or `0`; default false).
    public static var backtrace: Bool {
        get { backtraceSetting.bool }
        set { backtraceSetting.bool = newValue }
    }

    /// The most bytes one array may take (`FLOCK_MAX_ALLOCATION_BYTES`;
    /// default 0: this machine's memory plus swap). A larger array is a
    /// catchable out-of-memory error naming its size instead of an allocation;
    /// values below 0 count as 0.
    public static var maxAllocationBytes: Int {
        get { Int(truncatingIfNeeded: maxAllocationBytesSetting.bits) }
        set { maxAllocationBytesSetting.bits = UInt64(truncatingIfNeeded: max(0, newValue)) }
    }

    /// Whether 64-bit integers are real (`FLOCK_ENABLE_X64`: `1` or `true`;
    /// default false), as `jax_enable_x64` does. Off, a request for `int64`
    /// or `uint64` gives `int32`/`uint32` with JAX's warning, promotion never
    /// forms a 64-bit integer and the default float of weak promotion is
    /// float32; on, `int64`/`uint64` arrays are real and weak floats meeting
    /// integers become float64. (`float64` is real in either mode: see ``DType``.)
    ///
    /// ```swift
    /// Configuration.enableX64 = true
    /// let n = zeros([3], dtype: .int64)   // a real int64 array
    /// ```
    public static var enableX64: Bool {
        get { enableX64Setting.bool }
        set { enableX64Setting.bool = newValue }
    }

    /// Compiled signatures each jitted function keeps (`FLOCK_JIT_CACHE_SIZE`,
    /// default 1024; values below 1 count as 1): beyond it the least recently
    /// used signature is evicted (and traced again if called again).
    public static var jitCacheSize: Int {
        get { Int(truncatingIfNeeded: jitCacheSizeSetting.bits) }
        set { jitCacheSizeSetting.bits = UInt64(truncatingIfNeeded: max(1, newValue)) }
    }
}

/// What jit prints while compiling (``Configuration/dumpIR``).
public enum IRDumpMode: Int, Sendable, CaseIterable {
    /// Nothing.
    case off
    /// The jaxpr before and after the passes, and the plan.
    case endpoints
    /// The jaxpr after every pass that changed it as well.
    case passes
}

// MARK: - The table

extension Configuration {
    /// One setting as the table lists it.
    public struct Option: Sendable, CustomStringConvertible {
        /// The name used by ``Configuration/update(_:_:)`` (the property's name).
        public let name: String
        /// The environment variable read at start-up.
        public let environmentVariable: String
        /// The default, as text.
        public let defaultValue: String
        /// What the setting does and the values it takes.
        public let help: String
        let read: @Sendable () -> String
        let write: @Sendable (String) -> Bool

        /// The current value, as text.
        public var value: String { read() }

        /// The description, one line per element.
        public var description: String { "\(name) (\(environmentVariable)) = \(value) [default \(defaultValue)]: \(help)" }
    }

    /// Every setting, in the order of docs/CONFIGURATION.md.
    public static let options: [Option] = [
        Option(
            name: "numThreads", environmentVariable: "FLOCK_NUM_THREADS", defaultValue: "active processors",
            help: "threads of the eager kernels for large arrays; launch sets 1 per rank",
            read: { "\(numThreads)" }, write: { s in Int(s).map { numThreads = $0 } != nil }),
        Option(
            name: "collectiveTimeout", environmentVariable: "FLOCK_COLLECTIVE_TIMEOUT", defaultValue: "600",
            help: "seconds a collective waits for the other members before the job is declared hung",
            read: { "\(collectiveTimeout)" }, write: { s in positive(s).map { collectiveTimeout = $0 } != nil }),
        Option(
            name: "heartbeatTimeout", environmentVariable: "FLOCK_HEARTBEAT_TIMEOUT", defaultValue: "30",
            help: "seconds without a heartbeat after which a waited-for rank counts as stopped",
            read: { "\(heartbeatTimeout)" }, write: { s in positive(s).map { heartbeatTimeout = $0 } != nil }),
        Option(
            name: "collectiveChecks", environmentVariable: "FLOCK_COLLECTIVE_CHECKS", defaultValue: "1",
            help: "0 skips the signature exchange before large collectives",
            read: { collectiveChecks ? "1" : "0" }, write: { s in collectiveChecks = s != "0"; return true }),
        Option(
            name: "sharedCollectiveBytes", environmentVariable: "FLOCK_SHARED_COLLECTIVE_BYTES", defaultValue: "1048576",
            help: "payload bytes per member of the shared-memory collectives on one host; 0 turns them off",
            read: { "\(sharedCollectiveBytes)" }, write: { s in Int(s).map { sharedCollectiveBytes = $0 } != nil }),
        Option(
            name: "localDevices", environmentVariable: "FLOCK_LOCAL_DEVICES", defaultValue: "1",
            help: "local devices (threads) per process for Distributed.initialize; set by launch --local-devices",
            read: { "\(localDevices)" }, write: { s in Int(s).flatMap { $0 >= 1 ? $0 : nil }.map { localDevices = $0 } != nil }),
        Option(
            name: "threefryPartitionable", environmentVariable: "FLOCK_THREEFRY_PARTITIONABLE", defaultValue: "true",
            help: "0, false, no or off select JAX's original (non-partitionable) Threefry counters",
            read: { "\(threefryPartitionable)" }, write: { s in threefryPartitionable = partitionable(s); return true }),
        Option(
            name: "disableAVX2", environmentVariable: "FLOCK_DISABLE_AVX2", defaultValue: "unset",
            help: "set (to any value) to turn off the AVX2 kernels, skinny products and native loops",
            read: { "\(disableAVX2)" }, write: { s in disableAVX2 = flag(s); return true }),
        Option(
            name: "printThreshold", environmentVariable: "FLOCK_PRINT_THRESHOLD", defaultValue: "1000",
            help: "arrays with more elements print summarised (numpy's threshold)",
            read: { "\(printThreshold)" }, write: { s in Int(s).map { printThreshold = $0 } != nil }),
        Option(
            name: "printEdgeItems", environmentVariable: "FLOCK_PRINT_EDGEITEMS", defaultValue: "3",
            help: "items shown at each end of a summarised axis (numpy's edgeitems)",
            read: { "\(printEdgeItems)" }, write: { s in Int(s).map { printEdgeItems = $0 } != nil }),
        Option(
            name: "nativeLoops", environmentVariable: "FLOCK_NATIVE_LOOPS", defaultValue: "1",
            help: "0 keeps jit's fused loops on their block-kernel interpreter instead of native AVX2 code",
            read: { nativeLoops ? "1" : "0" }, write: { s in nativeLoops = s != "0"; return true }),
        Option(
            name: "explainCacheMisses", environmentVariable: "FLOCK_EXPLAIN_CACHE_MISSES", defaultValue: "0",
            help: "1 or true logs why each jit trace happened",
            read: { explainCacheMisses ? "1" : "0" }, write: { s in explainCacheMisses = flag(s); return true }),
        Option(
            name: "dumpIR", environmentVariable: "FLOCK_DUMP_IR", defaultValue: "0",
            help: "1 prints the jaxpr before and after jit's passes and the plan; passes (or all) after every pass",
            read: { "\(dumpIR)" }, write: { s in dumpIR = dumpMode(s); return true }),
        Option(
            name: "checkIR", environmentVariable: "FLOCK_CHECK_IR", defaultValue: "0",
            help: "1 or true type-checks every compiler pass's result in release builds (debug builds always do)",
            read: { checkIR ? "1" : "0" }, write: { s in checkIR = flag(s); return true }),
        Option(
            name: "debugNans", environmentVariable: "FLOCK_DEBUG_NANS", defaultValue: "0",
            help: "1 or true reports the first operation that produces a NaN (eager, and jit by an op-by-op re-run)",
            read: { debugNans ? "1" : "0" }, write: { s in debugNans = flag(s); return true }),
        Option(
            name: "debugInfs", environmentVariable: "FLOCK_DEBUG_INFS", defaultValue: "0",
            help: "1 or true reports the first operation that produces an infinity, as debugNans does for NaN",
            read: { debugInfs ? "1" : "0" }, write: { s in debugInfs = flag(s); return true }),
        Option(
            name: "backtrace", environmentVariable: "FLOCK_BACKTRACE", defaultValue: "0",
            help: "any value but empty or 0: an uncaught Flock error stops through fatalError with a backtrace",
            read: { backtrace ? "1" : "0" }, write: { s in backtrace = !s.isEmpty && s != "0"; return true }),
        Option(
            name: "maxAllocationBytes", environmentVariable: "FLOCK_MAX_ALLOCATION_BYTES", defaultValue: "0",
            help: "the most bytes one array may take (a larger one is an out-of-memory error); 0: memory plus swap",
            read: { "\(maxAllocationBytes)" },
            write: { s in Int(s).flatMap { $0 >= 0 ? $0 : nil }.map { maxAllocationBytes = $0 } != nil }),
        Option(
            name: "jitCacheSize", environmentVariable: "FLOCK_JIT_CACHE_SIZE", defaultValue: "1024",
            help: "compiled signatures each jitted function keeps; the least recently used is evicted beyond it",
            read: { "\(jitCacheSize)" },
            write: { s in Int(s).flatMap { $0 >= 1 ? $0 : nil }.map { jitCacheSize = $0 } != nil }),
        Option(
            name: "enableX64", environmentVariable: "FLOCK_ENABLE_X64", defaultValue: "0",
            help: "1 or true makes int64/uint64 real (jax_enable_x64); off they are canonicalised to 32 bits",
            read: { enableX64 ? "1" : "0" }, write: { s in enableX64 = flag(s); return true }),
    ]

    /// Sets a setting from text, by its name or its environment variable, as
    /// the environment variable would (`jax.config.update`).
    ///
    /// ```swift
    /// try Configuration.update("collectiveTimeout", "30")
    /// try Configuration.update("FLOCK_DUMP_IR", "passes")
    /// ```
    ///
    /// - Throws: ``FlockError`` for an unknown name or a value the setting does not take.
    public static func update(_ name: String, _ value: String) throws {
        guard let option = options.first(where: { $0.name == name || $0.environmentVariable == name }) else {
            throw FlockError(
                "Configuration.update: no setting named '\(name)'; the settings are \(options.map(\.name).joined(separator: ", "))")
        }
        guard option.write(value) else {
            throw FlockError("Configuration.update: '\(value)' is not a valid value for \(option.name): \(option.help)")
        }
    }
}

// MARK: - Parsing (the environment variables' rules)

extension Configuration {
    /// `1` or `true` (any case).
    static func flag(_ s: String) -> Bool { s == "1" || s.lowercased() == "true" }
    static func positive(_ s: String) -> Double? { Double(s).flatMap { $0 > 0 ? $0 : nil } }
    static func partitionable(_ s: String) -> Bool { !["0", "false", "no", "off"].contains(s.lowercased()) }
    static func dumpMode(_ s: String) -> IRDumpMode {
        switch s.lowercased() {
        case "", "0", "false": .off
        case "passes", "all": .passes
        default: .endpoints
        }
    }

    /// The text of `FLOCK_LOCAL_DEVICES` when it is not a positive integer
    /// (`Distributed.initialize` reports it), else nil.
    package static var invalidLocalDevicesText: String? {
        localDevicesSetting.environmentText.flatMap { s in Int(s).map { $0 >= 1 } == true ? nil : s }
    }
}

// MARK: - Storage

/// One setting's current value (as 64 bits, so reads are one relaxed atomic
/// load: some are read per kernel call) and the text of its environment variable.
package final class ConfigurationSetting: Sendable {
    private let storage: Atomic<UInt64>
    /// The environment variable's text at start-up, or nil when unset.
    package let environmentText: String?

    init(_ variable: String, _ initial: (String?) -> UInt64) {
        let text = getenvString(variable)
        environmentText = text
        storage = Atomic(initial(text))
    }

    package var bits: UInt64 {
        get { storage.load(ordering: .relaxed) }
        set { storage.store(newValue, ordering: .relaxed) }
    }
    var bool: Bool {
        get { bits != 0 }
        set { bits = newValue ? 1 : 0 }
    }
    var double: Double {
        get { Double(bitPattern: bits) }
        set { bits = newValue.bitPattern }
    }
}

extension Configuration {
    static let numThreadsSetting = ConfigurationSetting("FLOCK_NUM_THREADS") { s in
        UInt64(s.flatMap(Int.init).flatMap { $0 >= 1 ? $0 : nil } ?? max(1, ProcessInfoLite.activeProcessorCount))
    }
    static let collectiveTimeoutSetting = ConfigurationSetting("FLOCK_COLLECTIVE_TIMEOUT") { s in
        (s.flatMap(positive) ?? 600).bitPattern
    }
    static let heartbeatTimeoutSetting = ConfigurationSetting("FLOCK_HEARTBEAT_TIMEOUT") { s in
        (s.flatMap(positive) ?? 30).bitPattern
    }
    static let collectiveChecksSetting = ConfigurationSetting("FLOCK_COLLECTIVE_CHECKS") { s in s != "0" ? 1 : 0 }
    static let sharedCollectiveBytesSetting = ConfigurationSetting("FLOCK_SHARED_COLLECTIVE_BYTES") { s in
        guard let s else { return 1 << 20 }
        return UInt64(max(0, Int(s) ?? 1 << 20))
    }
    static let localDevicesSetting = ConfigurationSetting("FLOCK_LOCAL_DEVICES") { s in
        UInt64(truncatingIfNeeded: s.flatMap(Int.init).flatMap { $0 >= 1 ? $0 : nil } ?? 1)
    }
    static let threefryPartitionableSetting = ConfigurationSetting("FLOCK_THREEFRY_PARTITIONABLE") { s in
        s.map(partitionable) ?? true ? 1 : 0
    }
    static let printThresholdSetting = ConfigurationSetting("FLOCK_PRINT_THRESHOLD") { s in
        UInt64(s.flatMap(Int.init).flatMap { $0 >= 0 ? $0 : nil } ?? 1000)
    }
    static let printEdgeItemsSetting = ConfigurationSetting("FLOCK_PRINT_EDGEITEMS") { s in
        UInt64(s.flatMap(Int.init).flatMap { $0 >= 1 ? $0 : nil } ?? 3)
    }
    static let disableAVX2Setting = ConfigurationSetting("FLOCK_DISABLE_AVX2") { s in s != nil ? 1 : 0 }
    static let slowWritesSetting = ConfigurationSetting("FLOCK_TEST_SLOW_WRITES") { s in
        UInt64(s.map(slowWritePause(parsing:)) ?? 0)
    }

    /// Microseconds checkpoint writes pause after each MiB; 0 (the default) does not slow them.
    ///
    /// A test hook, `FLOCK_TEST_SLOW_WRITES` (milliseconds per MiB):
    /// scripts/test-checkpoint-kills slows writes so that its kills land while
    /// the temporary file is being written.
    package static var slowWritePause: UInt32 {
        get { UInt32(truncatingIfNeeded: slowWritesSetting.bits) }
        set { slowWritesSetting.bits = UInt64(newValue) }
    }

    /// The pause in microseconds for a `FLOCK_TEST_SLOW_WRITES` value (0 unless it is in (0, 10 000] ms).
    package static func slowWritePause(parsing text: String) -> UInt32 {
        guard let ms = Double(text), ms > 0, ms <= 10_000 else { return 0 }
        return UInt32(ms * 1000)
    }
    static let nativeLoopsSetting = ConfigurationSetting("FLOCK_NATIVE_LOOPS") { s in s != "0" ? 1 : 0 }
    static let explainCacheMissesSetting = ConfigurationSetting("FLOCK_EXPLAIN_CACHE_MISSES") { s in
        s.map(flag) == true ? 1 : 0
    }
    static let dumpIRSetting = ConfigurationSetting("FLOCK_DUMP_IR") { s in UInt64(s.map(dumpMode)?.rawValue ?? 0) }
    static let checkIRSetting = ConfigurationSetting("FLOCK_CHECK_IR") { s in s.map(flag) == true ? 1 : 0 }
    static let debugNansSetting = ConfigurationSetting("FLOCK_DEBUG_NANS") { s in s.map(flag) == true ? 1 : 0 }
    static let debugInfsSetting = ConfigurationSetting("FLOCK_DEBUG_INFS") { s in s.map(flag) == true ? 1 : 0 }
    static let backtraceSetting = ConfigurationSetting("FLOCK_BACKTRACE") { s in
        s.map { !$0.isEmpty && $0 != "0" } == true ? 1 : 0
    }
    static let maxAllocationBytesSetting = ConfigurationSetting("FLOCK_MAX_ALLOCATION_BYTES") { s in
        UInt64(s.flatMap(Int.init).flatMap { $0 >= 0 ? $0 : nil } ?? 0)
    }
    static let enableX64Setting = ConfigurationSetting("FLOCK_ENABLE_X64") { s in s.map(flag) == true ? 1 : 0 }
    static let jitCacheSizeSetting = ConfigurationSetting("FLOCK_JIT_CACHE_SIZE") { s in
        UInt64(s.flatMap(Int.init).flatMap { $0 >= 1 ? $0 : nil } ?? 1024)
    }
}
