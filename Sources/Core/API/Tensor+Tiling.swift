// Repetition and rotation of arrays (jnp.tile, jnp.repeat, jnp.roll,
// jnp.hstack, jnp.vstack), composed from broadcasts, reshapes and slices.

/// `x` repeated `reps[i]` times along each axis (`jnp.tile`); the shorter of
/// `reps` and `x.shape` is padded with leading 1s.
///
/// ```swift
/// tile(Tensor([Float(1), 2]), reps: [2, 2])  // [[1, 2, 1, 2], [1, 2, 1, 2]]
/// ```
public func tile(_ x: Tensor, reps: [Int]) -> Tensor {
    guard reps.allSatisfy({ $0 >= 0 }) else {
        raise(FlockError("tile: repetitions must be non-negative, got \(reps) for shape \(x.shape)"))
        return poison
    }
    let rank = Swift.max(reps.count, x.rank)
    let shape = Array(repeating: 1, count: rank - x.rank) + x.shape
    let r = Array(repeating: 1, count: rank - reps.count) + reps
    // [1, d0, 1, d1, …] broadcast to [r0, d0, r1, d1, …], then merged pairwise.
    let interleaved = x.reshaped(shape.flatMap { [1, $0] })
    let spread = interleaved.broadcast(to: zip(r, shape).flatMap { [$0, $1] })
    return spread.reshaped(zip(r, shape).map { $0 * $1 })
}

/// Each element repeated `repeats` times along `axis` (`jnp.repeat` with an
/// integer count); with `axis: nil` the flattened array.
///
/// ```swift
/// repeated(Tensor([Float(1), 2]), 2)  // [1, 1, 2, 2]
/// ```
public func repeated(_ x: Tensor, _ repeats: Int, axis: Int? = nil) -> Tensor {
    guard repeats >= 0 else {
        raise(FlockError("repeat: repeats must be non-negative, got \(repeats)"))
        return poison
    }
    let x = axis == nil ? x.flattened() : x
    guard let a = normalizeAxis(axis ?? 0, rank: x.rank, "repeat") else { return poison }
    var spread = x.shape
    spread.insert(repeats, at: a + 1)
    var result = x.shape
    result[a] *= repeats
    return x.expandingDims(a + 1).broadcast(to: spread).reshaped(result)
}

/// Elements shifted by `shift` positions along `axis`, those past the end
/// coming back at the start (`jnp.roll`); with `axis: nil` the flattened
/// array, reshaped back.
///
/// ```swift
/// roll(Tensor([Float(1), 2, 3]), shift: 1)  // [3, 1, 2]
/// ```
public func roll(_ x: Tensor, shift: Int, axis: Int? = nil) -> Tensor {
    guard let axis else { return roll(x.flattened(), shift: shift, axis: 0).reshaped(x.shape) }
    guard let a = normalizeAxis(axis, rank: x.rank, "roll") else { return poison }
    let n = x.shape[a]
    guard n > 0 else { return x }
    let s = ((shift % n) + n) % n
    if s == 0 { return x }
    let parts = split(x, indices: [n - s], axis: a)
    return concatenate([parts[1], parts[0]], axis: a)
}

/// Arrays joined along their second axis, 1-D arrays along their only one
/// (`jnp.hstack`).
public func hstack(_ xs: [Tensor]) -> Tensor {
    concatenate(xs, axis: xs.allSatisfy { $0.rank == 1 } ? 0 : 1)
}

/// Arrays joined along their first axis, 1-D arrays as rows (`jnp.vstack`).
public func vstack(_ xs: [Tensor]) -> Tensor {
    concatenate(xs.map { $0.rank == 1 ? $0.reshaped([1, $0.shape[0]]) : ($0.rank == 0 ? $0.reshaped([1, 1]) : $0) }, axis: 0)
}
