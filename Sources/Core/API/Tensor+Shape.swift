// Shape manipulation: reshape, transpose, squeeze/expand, concatenate/stack/split, pad, flip.

/// Normalises a possibly negative `axis` for an array of `rank`, reporting
/// out-of-range axes as errors of `op`. Returns nil after reporting.
func normalizeAxis(_ axis: Int, rank: Int, _ op: String) -> Int? {
    let a = axis < 0 ? axis + rank : axis
    if a < 0 || a >= rank {
        raise(FlockError("\(op): axis \(axis) is out of bounds for array of dimension \(rank)"))
        return nil
    }
    return a
}

func normalizeAxes(_ axes: [Int], rank: Int, _ op: String) -> [Int]? {
    var out: [Int] = []
    for a in axes {
        guard let n = normalizeAxis(a, rank: rank, op) else { return nil }
        if out.contains(n) {
            raise(FlockError("\(op): repeated axis \(a) in \(axes)"))
            return nil
        }
        out.append(n)
    }
    return out
}

let poison = Tensor.poisoned

extension Tensor {
    /// The placeholder an operation returns after reporting an error inside
    /// ``catchingErrors(_:)``; later operations on it are skipped.
    public static let poisoned = Tensor(poisoned: FlockError("poisoned by an earlier error"))
}

extension Tensor {
    /// The same elements with a new shape; one dimension may be -1 (inferred).
    public func reshaped(_ newShape: [Int]) -> Tensor {
        var shape = newShape
        if let i = shape.firstIndex(of: -1) {
            let known = checkedElementCount(shape.enumerated().filter { $0.offset != i }.map(\.element)) ?? 0
            if known == 0 || count % known != 0 || shape.filter({ $0 == -1 }).count > 1 {
                raise(FlockError("reshape: cannot reshape array of shape \(self.shape) (size \(count)) into shape \(newShape)"))
                return poison
            }
            shape[i] = count / known
        }
        if shape == self.shape { return self }
        return bind1(.reshape(shape), self)
    }

    /// All elements in one dimension.
    public func flattened() -> Tensor { reshaped([-1]) }

    /// Axes permuted by `axes` (default: reversed), as `jnp.transpose`.
    public func transposed(_ axes: [Int]? = nil) -> Tensor {
        let perm = axes ?? Array((0..<rank).reversed())
        guard let p = normalizeAxes(perm, rank: rank, "transpose") else { return poison }
        if p.count != rank {
            raise(FlockError("transpose: axes \(perm) don't match array of shape \(shape)"))
            return poison
        }
        if p == Array(0..<rank) { return self }
        return bind1(.transpose(p), self)
    }

    /// The transpose (reversed axes), as numpy's `.T`.
    public var T: Tensor { transposed() }

    /// Swaps two axes (`jnp.swapaxes`).
    public func swappedAxes(_ a: Int, _ b: Int) -> Tensor {
        guard let x = normalizeAxis(a, rank: rank, "swapaxes"), let y = normalizeAxis(b, rank: rank, "swapaxes") else { return poison }
        var perm = Array(0..<rank)
        perm.swapAt(x, y)
        return transposed(perm)
    }

    /// Moves axis `source` to position `destination` (`jnp.moveaxis`).
    public func movedAxis(from source: Int, to destination: Int) -> Tensor {
        guard let s = normalizeAxis(source, rank: rank, "moveaxis"), let d = normalizeAxis(destination, rank: rank, "moveaxis") else { return poison }
        var perm = Array(0..<rank)
        perm.remove(at: s)
        perm.insert(s, at: d)
        return transposed(perm)
    }

    /// A new size-1 axis at `axis` (`jnp.expand_dims`); negative counts from the end of the result.
    public func expandingDims(_ axis: Int) -> Tensor {
        guard let a = normalizeAxis(axis, rank: rank + 1, "expand_dims") else { return poison }
        var s = shape
        s.insert(1, at: a)
        return reshaped(s)
    }

    /// Removes size-1 axes: the given ones, or all (`jnp.squeeze`).
    public func squeezed(_ axes: [Int]? = nil) -> Tensor {
        let list: [Int]
        if let axes {
            guard let n = normalizeAxes(axes, rank: rank, "squeeze") else { return poison }
            for a in n where shape[a] != 1 {
                raise(FlockError("squeeze: cannot select an axis to squeeze out which has size not equal to one: axis \(a) of shape \(shape)"))
                return poison
            }
            list = n
        } else {
            list = shape.indices.filter { shape[$0] == 1 }
        }
        return reshaped(shape.enumerated().filter { !list.contains($0.offset) }.map(\.element))
    }

    /// Reverses the order of elements along `axes` (default: all), as `jnp.flip`.
    public func flipped(_ axes: [Int]? = nil) -> Tensor {
        guard let a = normalizeAxes(axes ?? Array(0..<rank), rank: rank, "flip") else { return poison }
        return a.isEmpty ? self : bind1(.reverse(axes: a), self)
    }
}

/// Joins tensors along an existing axis (`jnp.concatenate`), promoting dtypes.
public func concatenate(_ xs: [Tensor], axis: Int = 0) -> Tensor {
    guard let first = xs.first else {
        raise(FlockError("concatenate: need at least one array to concatenate"))
        return poison
    }
    guard xs.allSatisfy({ $0.rank == first.rank }), first.rank > 0 else {
        raise(FlockError("concatenate: all input arrays must have the same, nonzero rank, got shapes \(xs.map(\.shape))"))
        return poison
    }
    guard let a = normalizeAxis(axis, rank: first.rank, "concatenate") else { return poison }
    var dtype = first.dtype, weak = first.weakType
    for x in xs.dropFirst() { (dtype, weak) = promoteTypes(dtype, weak: weak, x.dtype, weak: x.weakType) }
    return bind(.concatenate(axis: a), xs.map { $0.converted(to: dtype, weak: weak) })[0]
}

/// Joins tensors of equal shape along a new axis (`jnp.stack`).
public func stack(_ xs: [Tensor], axis: Int = 0) -> Tensor {
    guard let first = xs.first else {
        raise(FlockError("stack: need at least one array to stack"))
        return poison
    }
    guard xs.allSatisfy({ $0.shape == first.shape }) else {
        raise(FlockError("stack: all input arrays must have the same shape, got \(xs.map(\.shape))"))
        return poison
    }
    guard let a = normalizeAxis(axis, rank: first.rank + 1, "stack") else { return poison }
    return concatenate(xs.map { $0.expandingDims(a) }, axis: a)
}

/// Splits into `sections` equal parts along `axis` (`jnp.split`).
public func split(_ x: Tensor, sections: Int, axis: Int = 0) -> [Tensor] {
    guard let a = normalizeAxis(axis, rank: x.rank, "split") else { return [] }
    guard sections > 0, x.shape[a] % sections == 0 else {
        raise(FlockError("split: array split does not result in an equal division: axis \(a) of shape \(x.shape) into \(sections) sections"))
        return []
    }
    let size = x.shape[a] / sections
    return split(x, indices: (1..<sections).map { $0 * size }, axis: a)
}

/// Splits before each of `indices` along `axis` (`jnp.split` with indices).
public func split(_ x: Tensor, indices: [Int], axis: Int = 0) -> [Tensor] {
    guard let a = normalizeAxis(axis, rank: x.rank, "split") else { return [] }
    let n = x.shape[a]
    let bounds = [0] + indices.map { Swift.min(Swift.max($0 < 0 ? $0 + n : $0, 0), n) } + [n]
    return (0..<(bounds.count - 1)).map { i in
        var start = [Int](repeating: 0, count: x.rank), limit = x.shape
        start[a] = bounds[i]
        limit[a] = Swift.max(bounds[i], bounds[i + 1])
        return bind1(.slice(start: start, limit: limit, strides: [Int](repeating: 1, count: x.rank)), x)
    }
}

/// Pads with a constant (`jnp.pad(mode="constant")`); `widths` gives (before, after) per axis.
public func pad(_ x: Tensor, _ widths: [(Int, Int)], value: Double = 0) -> Tensor {
    guard widths.count == x.rank, widths.allSatisfy({ $0.0 >= 0 && $0.1 >= 0 }) else {
        raise(FlockError("pad: expected \(x.rank) non-negative (before, after) pairs for shape \(x.shape), got \(widths)"))
        return poison
    }
    return bind1(
        .pad(low: widths.map(\.0), high: widths.map(\.1), interior: [Int](repeating: 0, count: x.rank)),
        x, Tensor(value, dtype: x.dtype))
}
