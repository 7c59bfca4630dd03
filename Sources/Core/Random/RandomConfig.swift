import Synchronization

/// Settings of Flock's pseudo-random number generation.
///
/// JAX builds the counters that Threefry hashes in one of two ways, chosen by
/// its `jax_threefry_partitionable` flag; the same key gives different numbers
/// in each. Flock follows JAX's default (partitionable) and can reproduce the
/// older scheme:
///
/// ```swift
/// RandomConfig.threefryPartitionable = false           // process-wide
/// let x = RandomConfig.withThreefryPartitionable(false) {  // this task only
///     Random.normal(PRNGKey(0), shape: [3])
/// }
/// ```
///
/// The environment variable `FLOCK_THREEFRY_PARTITIONABLE=0` (or `false`)
/// sets the process-wide default at start-up.
public enum RandomConfig {
    @TaskLocal private static var scopedPartitionable: Bool?

    /// Whether random bits and `split` use JAX's partitionable counters (the
    /// default, as `jax_threefry_partitionable=True`): one 64-bit counter per
    /// output element, split into high and low words. When false, they use
    /// JAX's original scheme: one flat run of 32-bit counters hashed in two halves.
    ///
    /// Reading gives the innermost ``withThreefryPartitionable(_:_:)`` value
    /// if any, else the process-wide setting; writing sets the process-wide
    /// setting (thread-safe).
    public static var threefryPartitionable: Bool {
        get { scopedPartitionable ?? Configuration.threefryPartitionable }
        set { Configuration.threefryPartitionable = newValue }
    }

    /// Runs `body` with ``threefryPartitionable`` set to `value` for the current
    /// task and its child tasks only, leaving other threads unaffected.
    public static func withThreefryPartitionable<R>(_ value: Bool, _ body: () throws -> R) rethrows -> R {
        try $scopedPartitionable.withValue(value, operation: body)
    }
}
