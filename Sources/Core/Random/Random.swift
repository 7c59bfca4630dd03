// Keys and raw random bits, as jax/_src/random/threefry2x32.py.
//
// Everything is the Threefry-2x32 hash of counters under a key. The counters
// depend on RandomConfig.threefryPartitionable, as JAX's flag:
//
// - partitionable (default): output element i (row-major) hashes the 64-bit
//   counter i given as (high, low) words; 32-bit bits are the xor of the two
//   hash outputs, 64-bit bits their concatenation. `split` hashes the counters
//   of the key array's shape and keeps both outputs as the new keys' words.
// - original: n values hash the flat counters 0..<n, split in two halves that
//   form the hash's input pairs (first half → x0, second → x1), and the two
//   outputs are concatenated back; 64-bit values take 2n counters, the first n
//   outputs as high words.

/// Random number generation compatible with `jax.random`, bit for bit.
///
/// All functions take a ``PRNGKey`` and are pure: the same key gives the same
/// values. They are composed from primitives (`threefry2x32`, `iota`,
/// bitwise and float operations), so they work under `jit`, `vmap` and `grad`.
///
/// ```swift
/// let keys = Random.split(PRNGKey(0), num: 3)
/// let w = Random.normal(keys[0], shape: [784, 10]) * 0.01
/// let dropout = Random.bernoulli(keys[1], p: 0.9, shape: [32, 10])
/// let order = Random.permutation(keys[2], 60000)
/// ```
public enum Random {
    /// A key made from a seed (`jax.random.PRNGKey(seed)`); see ``PRNGKey/init(_:)``.
    public static func key(_ seed: Int) -> PRNGKey { PRNGKey(seed) }

    /// `num` new keys derived from `key`, as a key array of shape `[num]`
    /// (`jax.random.split(key, num)`).
    ///
    /// ```swift
    /// let keys = Random.split(PRNGKey(0))
    /// let (key, subkey) = (keys[0], keys[1])
    /// ```
    public static func split(_ key: PRNGKey, num: Int = 2) -> PRNGKey { split(key, shape: [num]) }

    /// New keys derived from `key`, as a key array of `shape` (`jax.random.split(key, shape)`).
    public static func split(_ key: PRNGKey, shape: [Int]) -> PRNGKey {
        guard let (k0, k1) = key.words("split"), checkShape(shape, "split") else { return PRNGKey(unchecked: poison) }
        if RandomConfig.threefryPartitionable {
            let (high, low) = iota2x32(shape)
            let out = bind(.threefry2x32, [k0, k1, high, low])
            return PRNGKey(unchecked: stack(out, axis: shape.count))
        }
        let n = shape.reduce(1, *)
        return PRNGKey(unchecked: hashCounters(k0, k1, uint32Iota(2 * n)).reshaped(shape + [2]))
    }

    /// A new key that is a deterministic function of `key` and `data`
    /// (`jax.random.fold_in`): e.g. one key per training step.
    ///
    /// - Parameter data: a rank-0 integer tensor (may be traced); its bits are
    ///   used as uint32.
    ///
    /// ```swift
    /// let stepKey = Random.foldIn(key, Tensor(Int32(step)))
    /// ```
    public static func foldIn(_ key: PRNGKey, _ data: Tensor) -> PRNGKey {
        guard let (k0, k1) = key.words("foldIn") else { return PRNGKey(unchecked: poison) }
        guard data.rank == 0, data.dtype.isInteger else {
            raise(FlockError("foldIn: data must be a rank-0 int32 or uint32 tensor, got \(data.dtype) \(data.shape)"))
            return PRNGKey(unchecked: poison)
        }
        // The data becomes the 64-bit seed [0, data], hashed as two counters.
        let counters = concatenate([zeros([1], dtype: .uint32), data.converted(to: .uint32).reshaped([1])])
        return PRNGKey(unchecked: hashCounters(k0, k1, counters))
    }

    /// `foldIn` with a Swift integer, of which the low 32 bits are used.
    ///
    /// ```swift
    /// let stepKey = Random.foldIn(key, 7)
    /// ```
    public static func foldIn(_ key: PRNGKey, _ data: Int) -> PRNGKey {
        foldIn(key, Tensor(UInt32(truncatingIfNeeded: data)))
    }

    /// Uniformly random uint32 values of `shape` (`jax.random.bits(key, shape, jnp.uint32)`).
    ///
    /// ```swift
    /// let b = Random.bits(PRNGKey(0), shape: [4])   // uint32
    /// ```
    public static func bits(_ key: PRNGKey, shape: [Int] = []) -> Tensor {
        guard let (k0, k1) = key.words("bits"), checkShape(shape, "bits") else { return poison }
        return bits32(k0, k1, shape)
    }
}

// MARK: - Counters and hashing

extension Random {
    static func checkShape(_ shape: [Int], _ operation: String) -> Bool {
        guard shape.allSatisfy({ $0 >= 0 }) else {
            raise(FlockError("\(operation): shape must have non-negative dimensions, got \(shape)"))
            return false
        }
        // Counters are uint32 here (the high word of a 64-bit counter is always 0).
        guard let count = checkedElementCount(shape, itemSize: 4), count < 1 << 31 else {
            raise(FlockError("\(operation): at most 2^31 - 1 random values per call, got shape \(shape)"))
            return false
        }
        return true
    }

    static func uint32Iota(_ n: Int) -> Tensor { bind1(.iota(.uint32, shape: [n], dimension: 0)) }

    /// JAX's `iota_2x32_shape`: the (high, low) words of the row-major 64-bit
    /// index of each element of `shape`.
    static func iota2x32(_ shape: [Int]) -> (Tensor, Tensor) {
        let n = shape.reduce(1, *)
        return (zeros(shape, dtype: .uint32), uint32Iota(n).reshaped(shape))
    }

    /// JAX's `threefry_2x32(key, count)`: hashes the flattened counters as
    /// pairs (first half, second half), padding an odd count with one zero.
    static func hashCounters(_ k0: Tensor, _ k1: Tensor, _ counters: Tensor) -> Tensor {
        let n = counters.count
        var flat = counters.flattened()
        if n % 2 == 1 { flat = concatenate([flat, zeros([1], dtype: .uint32)]) }
        let halves = FlockCore.split(flat, sections: 2)
        var out = concatenate(bind(.threefry2x32, [k0, k1, halves[0], halves[1]]))
        if n % 2 == 1 { out = bind1(.slice(start: [0], limit: [n], strides: [1]), out) }
        return out.reshaped(counters.shape)
    }

    /// 32 random bits per element of `shape`.
    static func bits32(_ k0: Tensor, _ k1: Tensor, _ shape: [Int]) -> Tensor {
        if RandomConfig.threefryPartitionable {
            guard let (high, low) = elementCounters(shape, "bits") else { return poison }
            let out = bind(.threefry2x32, [k0, k1, high, low])
            return out[0] .^ out[1]
        }
        if let b = block {
            guard checkBlockShape(shape, b, "bits") else { return poison }
            return $block.withValue(nil) { cutBlock(bits32(k0, k1, b.globalShape), b) }
        }
        return hashCounters(k0, k1, uint32Iota(shape.reduce(1, *))).reshaped(shape)
    }

    /// 64 random bits per element of `shape`, as (high, low) uint32 words.
    static func bits64(_ k0: Tensor, _ k1: Tensor, _ shape: [Int]) -> (high: Tensor, low: Tensor) {
        if RandomConfig.threefryPartitionable {
            guard let (high, low) = elementCounters(shape, "bits") else { return (poison, poison) }
            let out = bind(.threefry2x32, [k0, k1, high, low])
            return (out[0], out[1])
        }
        if let b = block {
            guard checkBlockShape(shape, b, "bits") else { return (poison, poison) }
            let (high, low) = $block.withValue(nil) { bits64(k0, k1, b.globalShape) }
            return (cutBlock(high, b), cutBlock(low, b))
        }
        let n = shape.reduce(1, *)
        let halves = FlockCore.split(hashCounters(k0, k1, uint32Iota(2 * n)), sections: 2)
        return (halves[0].reshaped(shape), halves[1].reshaped(shape))
    }
}
