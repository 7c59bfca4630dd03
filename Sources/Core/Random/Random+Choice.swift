// jax.random.choice, drawn exactly as JAX draws it so the same key gives the
// same sample: randint (with replacement), a permutation's head (without),
// inverse-CDF on the cumulative sum of `p` (with), Gumbel top-k (without).

extension Random {
    /// Samples from `a` along `axis` (`jax.random.choice`): `shape` draws,
    /// with or without replacement, uniformly or with probabilities `p` (one
    /// per element along `axis`; need not sum to 1). The result has `a`'s
    /// shape with `axis` replaced by `shape`.
    ///
    /// ```swift
    /// let k = Random.key(0)
    /// Random.choice(k, Tensor([Float(1), 2, 3, 4]), shape: [2], replace: false)
    /// Random.choice(k, 5, shape: [3], p: Tensor([Float(0.1), 0.2, 0.3, 0.2, 0.2]))
    /// ```
    public static func choice(
        _ key: PRNGKey, _ a: Tensor, shape: [Int] = [], replace: Bool = true, p: Tensor? = nil, axis: Int = 0
    ) -> Tensor {
        guard checkShape(shape, "choice") else { return poison }
        guard a.rank > 0 else {
            raise(FlockError("choice: a must be an array with at least one dimension (or an Int count), got a scalar"))
            return poison
        }
        guard let axis = normalizeAxis(axis, rank: a.rank, "choice") else { return poison }
        let draws = sample(key, count: a.shape[axis], shape: shape, replace: replace, p: p)
        guard let (indices, isPermutation) = draws else { return poison }
        var out = a.shape
        out.replaceSubrange(axis...axis, with: shape)
        if isPermutation {
            // A permutation of `a` itself (as JAX permutes the array), cut to the draws.
            let permuted = permutation(key, a, axis: axis)
            var limit = a.shape
            limit[axis] = shape.reduce(1, *)
            let head = bind1(.slice(start: [Int](repeating: 0, count: a.rank), limit: limit,
                                    strides: [Int](repeating: 1, count: a.rank)), permuted)
            return head.reshaped(out)
        }
        return take(a, indices.flattened(), axis: axis).reshaped(out)
    }

    /// Samples indices in `0..<n` (`jax.random.choice` with an integer `a`), as int32.
    public static func choice(_ key: PRNGKey, _ n: Int, shape: [Int] = [], replace: Bool = true, p: Tensor? = nil) -> Tensor {
        guard checkShape(shape, "choice") else { return poison }
        guard let (indices, isPermutation) = sample(key, count: n, shape: shape, replace: replace, p: p) else { return poison }
        if isPermutation {
            let head = bind1(.slice(start: [0], limit: [shape.reduce(1, *)], strides: [1]), permutation(key, n))
            return head.reshaped(shape)
        }
        return indices.reshaped(shape)
    }

    /// The drawn indices (shape `shape`), or a flag that the draws are the
    /// head of a permutation (uniform, without replacement).
    private static func sample(
        _ key: PRNGKey, count n: Int, shape: [Int], replace: Bool, p: Tensor?
    ) -> (Tensor, Bool)? {
        let draws = shape.reduce(1, *)
        guard n > 0 || draws == 0 else {
            raise(FlockError("choice: a must be greater than 0 unless no samples are taken, got \(n)"))
            return nil
        }
        guard replace || draws <= n else {
            raise(FlockError("choice: cannot take a larger sample (size \(draws)) than population (size \(n)) when replace is false"))
            return nil
        }
        guard let p else {
            if !replace { return (poison, true) }
            return (randint(key, shape: shape, minval: Tensor(Int32(0)), maxval: Tensor(Int32(n))), false)
        }
        guard p.shape == [n] else {
            raise(FlockError("choice: p must be a 1-D vector of the population's size \(n), got shape \(p.shape)"))
            return nil
        }
        let probabilities = floatingOperand(p)
        if replace {
            // Inverse CDF: the first cumulative sum ≥ total·(1 − u) (searchsorted, side left).
            let cumulative = probabilities.cumsum()
            let total = bind1(.slice(start: [n - 1], limit: [n], strides: [1]), cumulative).reshaped([])
            let r = total * (1 - uniform(key, shape: shape, dtype: probabilities.dtype))
            let below = cumulative.broadcast(to: shape + [n]) .< r.expandingDims(shape.count)
            return (below.converted(to: .int32).sum(axes: [shape.count]), false)
        }
        // Gumbel top-k: the `draws` largest of g + log p (ties to the lower index, as lax.top_k).
        let g = gumbel(key, shape: [n], dtype: probabilities.dtype) + log(probabilities)
        let order = argsort(g, descending: true)
        return (bind1(.slice(start: [0], limit: [draws], strides: [1]), order), false)
    }
}
