#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension Random {
    /// A random permutation of `0..<n` as int32 (`jax.random.permutation(key, n)`).
    ///
    /// ```swift
    /// let order = Random.permutation(PRNGKey(0), 10)
    /// ```
    public static func permutation(_ key: PRNGKey, _ n: Int) -> Tensor {
        guard n >= 0 else {
            raise(FlockError("permutation: n must be non-negative, got \(n)"))
            return poison
        }
        return shuffle(key, arange(n), axis: 0)
    }

    /// `x` with its slices along `axis` in random order (`jax.random.permutation(key, x, axis, independent)`).
    ///
    /// - Parameter independent: shuffle each vector along `axis` independently
    ///   instead of permuting whole slices.
    ///
    /// ```swift
    /// let shuffledRows = Random.permutation(PRNGKey(0), data)            // rows in random order
    /// let eachRow = Random.permutation(PRNGKey(0), data, axis: 1, independent: true)
    /// ```
    public static func permutation(_ key: PRNGKey, _ x: Tensor, axis: Int = 0, independent: Bool = false) -> Tensor {
        guard x.rank > 0 else {
            raise(FlockError("permutation: x must be at least 1-dimensional, got shape \(x.shape); use permutation(key, n) for a range"))
            return poison
        }
        guard let axis = normalizeAxis(axis, rank: x.rank, "permutation") else { return poison }
        if independent || x.rank == 1 { return shuffle(key, x, axis: axis) }
        return take(x, shuffle(key, arange(x.shape[axis]), axis: 0), axis: axis)
    }

    /// JAX's `_shuffle`: sorts by fresh random 32-bit keys, repeated often
    /// enough (3·ln n / ln(2³² − 1) rounds, a static bound) that ties between
    /// keys are unlikely to survive; the sort is stable.
    static func shuffle(_ key: PRNGKey, _ x: Tensor, axis: Int) -> Tensor {
        guard checkShape(x.shape, "permutation") else { return poison }
        let rounds = Int((3 * log(Double(Swift.max(1, x.count))) / log(Double(UInt32.max))).rounded(.up))
        var key = key, x = x
        for _ in 0..<rounds {
            let keys = split(key)
            key = keys[0]
            guard let (k0, k1) = keys[1].words("permutation") else { return poison }
            x = sort([bits32(k0, k1, x.shape), x], axis: axis, numKeys: 1)[1]
        }
        return x
    }
}
