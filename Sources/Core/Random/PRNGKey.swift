/// A pseudo-random number generator key: JAX's legacy raw key (`jax.random.PRNGKey`).
///
/// Random functions in Flock are pure: the same key always gives the same
/// numbers, bit for bit the numbers JAX gives for the same key. Derive new keys
/// with ``Random/split(_:num:)`` or ``Random/foldIn(_:_:)``; never use one key
/// for two purposes.
///
/// ```swift
/// let key = PRNGKey(42)
/// let keys = Random.split(key)                 // two independent keys
/// let x = Random.normal(keys[0], shape: [3])
/// let y = Random.uniform(keys[1], shape: [3])
/// ```
///
/// The key data is a uint32 tensor whose last dimension holds the two words of
/// a Threefry-2x32 key: shape `[2]` for one key, `[n, 2]` for an array of `n`
/// keys (as returned by `split`). Being a tensor, it can be traced like any
/// other value.
public struct PRNGKey: Sendable {
    /// The raw key data: uint32, shape `[..., 2]` (`jax.random.key_data`).
    public let data: Tensor

    /// Wraps raw key data (`jax.random.wrap_key_data`): uint32, last dimension 2.
    ///
    /// ```swift
    /// let key = PRNGKey(data: Tensor([0, 42] as [UInt32]))   // == PRNGKey(42)
    /// ```
    public init(data: Tensor) {
        if data.dtype != .uint32 || data.shape.last != 2 {
            raise(FlockError("PRNGKey: key data must be uint32 with last dimension 2, got \(data.dtype) \(data.shape)"))
            self.init(unchecked: poison)
            return
        }
        self.init(unchecked: data)
    }

    init(unchecked data: Tensor) { self.data = data }

    /// A key made from a 64-bit seed, as `jax.random.PRNGKey(seed)`: the key
    /// words are the seed's high and low 32 bits.
    ///
    /// This is JAX's behaviour with `jax_enable_x64`. In JAX's default 32-bit
    /// mode the high word is always 0, so seeds outside `0..<2**32` (negative
    /// seeds included) give different keys there: `PRNGKey(-1)` is
    /// `[0xFFFFFFFF, 0xFFFFFFFF]` here and with x64, `[0, 0xFFFFFFFF]` in JAX's x32 mode.
    ///
    /// ```swift
    /// let key = PRNGKey(0)        // data [0, 0]
    /// ```
    public init(_ seed: Int) {
        let seed = Int64(seed)
        self.init(unchecked: Tensor([UInt32(truncatingIfNeeded: seed >> 32), UInt32(truncatingIfNeeded: seed)]))
    }

    /// A key made from a rank-0 int32 or uint32 seed tensor, which may be traced:
    /// `[0, seed]` with the seed's bits as uint32, as JAX does for 32-bit seeds.
    public init(seed: Tensor) {
        guard seed.rank == 0, seed.dtype.isInteger else {
            raise(FlockError("PRNGKey: the seed must be a rank-0 int32 or uint32 tensor, got \(seed.dtype) \(seed.shape)"))
            self.init(unchecked: poison)
            return
        }
        let low = seed.converted(to: .uint32).reshaped([1])
        self.init(unchecked: concatenate([zeros([1], dtype: .uint32), low]))
    }

    /// The shape of the key array: ``data``'s shape without its last dimension
    /// (`[]` for a single key, `[n]` after `split(key, num: n)`).
    public var shape: [Int] { Array(data.shape.dropLast()) }

    /// The key at `index` along the first axis of a key array.
    ///
    /// ```swift
    /// let keys = Random.split(PRNGKey(0), num: 3)
    /// let second = keys[1]
    /// ```
    public subscript(_ index: Int) -> PRNGKey {
        guard let n = shape.first else {
            raise(FlockError("PRNGKey: cannot index a single key (key data shape \(data.shape))"))
            return PRNGKey(unchecked: poison)
        }
        guard (-n..<n).contains(index) else {
            raise(FlockError("PRNGKey: index \(index) is out of bounds for a key array of shape \(shape)"))
            return PRNGKey(unchecked: poison)
        }
        let i = index < 0 ? index + n : index
        var start = [Int](repeating: 0, count: data.rank), limit = data.shape
        start[0] = i
        limit[0] = i + 1
        let row = bind1(.slice(start: start, limit: limit, strides: [Int](repeating: 1, count: data.rank)), data)
        return PRNGKey(unchecked: row.reshaped(Array(data.shape.dropFirst())))
    }

    /// The keys along the first axis of a key array, as separate keys.
    ///
    /// ```swift
    /// let parts = Random.split(key).unstacked()
    /// let (key, subkey) = (parts[0], parts[1])
    /// ```
    public func unstacked() -> [PRNGKey] {
        guard let n = shape.first else {
            raise(FlockError("PRNGKey: cannot unstack a single key (key data shape \(data.shape))"))
            return []
        }
        return (0..<n).map { self[$0] }
    }

    /// The two key words as rank-0 uint32 tensors, or nil (after reporting an
    /// error naming `operation`) when this is a key array rather than one key.
    func words(_ operation: String) -> (Tensor, Tensor)? {
        guard shape.isEmpty else {
            raise(FlockError(
                "\(operation): expected a single key (key data shape [2]), got a key array of shape \(shape); "
                    + "index it or use vmap for batches"))
            return nil
        }
        let word = { (i: Int) in bind1(.slice(start: [i], limit: [i + 1], strides: [1]), data).reshaped([]) }
        return (word(0), word(1))
    }
}

extension PRNGKey: CustomStringConvertible {
    public var description: String { "PRNGKey(\(data))" }
}
