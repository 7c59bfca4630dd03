// Sorting: stable, NaN last, as jnp.sort / jnp.argsort.

/// `x` sorted along `axis` (`jnp.sort`).
public func sort(_ x: Tensor, axis: Int = -1) -> Tensor {
    if x.rank == 0 { return x }
    guard let a = normalizeAxis(axis, rank: x.rank, "sort") else { return poison }
    return bind(.sort(dimension: a, numKeys: 1), [x])[0]
}

/// Indices that sort `x` along `axis`, stable (`jnp.argsort`), as int32.
public func argsort(_ x: Tensor, axis: Int = -1, descending: Bool = false) -> Tensor {
    guard let a = normalizeAxis(axis, rank: x.rank, "argsort") else { return poison }
    let iota = bind1(.iota(.int32, shape: x.shape, dimension: a))
    if descending {
        // Stable descending order: sort the reversed array ascending, map indices back, reverse.
        let n = x.shape[a]
        let r = bind(.sort(dimension: a, numKeys: 1), [x.flipped([a]), iota])[1]
        return (Tensor(Int32(n - 1)) - r).flipped([a])
    }
    return bind(.sort(dimension: a, numKeys: 1), [x, iota])[1]
}

/// Sorts `operands` together along `axis` by the first `numKeys` of them (`lax.sort`).
public func sort(_ operands: [Tensor], axis: Int = -1, numKeys: Int = 1) -> [Tensor] {
    guard let first = operands.first, let a = normalizeAxis(axis, rank: first.rank, "sort") else { return [] }
    return bind(.sort(dimension: a, numKeys: numKeys), operands)
}
