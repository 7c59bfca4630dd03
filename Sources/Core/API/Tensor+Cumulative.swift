// Cumulative products, maxima and minima (`jnp.cumprod`, `lax.cummax`,
// `lax.cummin`) composed from slices, pads and elementwise ops in XLA CPU's
// order, so values equal JAX's bit for bit and derivatives come for free.

/// A cumulative reduction along `axis` with the associative `combine` and its
/// `identity`, in the order XLA CPU computes the reduce-window JAX lowers
/// cumulative reductions to: rows of 16 elements scanned in order, plus the
/// scan of the row totals (recursively) combined into the rows after (before,
/// when `reverse`). The error grows with log₁₆(n).
///
/// ```swift
/// cumulativeReduction(x, axis: 0, identity: 1) { $0 * $1 }   // cumprod
/// ```
public func cumulativeReduction(
    _ x: Tensor, axis: Int, reverse: Bool = false, identity: Double, _ combine: (Tensor, Tensor) -> Tensor
) -> Tensor {
    guard let a = normalizeAxis(axis, rank: x.rank, "cumulativeReduction") else { return poison }
    let x = x.dtype == .bool ? x.converted(to: .int32) : x
    return scanAlong(x, axis: a, reverse: reverse, identity: identity, combine)
}

private let scanRowLength = 16

private func scanAlong(_ x: Tensor, axis: Int, reverse: Bool, identity: Double, _ combine: (Tensor, Tensor) -> Tensor) -> Tensor {
    let n = x.shape[axis]
    if n == 0 { return x }
    let unit = Tensor(identity, dtype: x.dtype)
    if n <= scanRowLength {
        // Every output its own window, combined in order from the identity;
        // a reversed window ends in padding (the identity once more).
        let items = (0..<n).map { lax.sliceInDim(x, start: $0, limit: $0 + 1, axis: axis) }
        var outputs: [Tensor] = []
        if !reverse {
            var acc = combine(unit, items[0])
            outputs.append(acc)
            for k in 1..<n {
                acc = combine(acc, items[k])
                outputs.append(acc)
            }
        } else {
            for j in 0..<n {
                var acc = combine(unit, items[j])
                for k in (j + 1)..<n { acc = combine(acc, items[k]) }
                outputs.append(j > 0 ? combine(acc, unit) : acc)
            }
        }
        return n == 1 ? outputs[0] : concatenate(outputs, axis: axis)
    }
    let rows = (n + scanRowLength - 1) / scanRowLength
    var widths = [(Int, Int)](repeating: (0, 0), count: x.rank)
    widths[axis] = (0, rows * scanRowLength - n)
    let padded = pad(x, widths, value: identity)
    var split = x.shape
    split.replaceSubrange(axis...axis, with: [rows, scanRowLength])
    let scanned = scanAlong(padded.reshaped(split), axis: axis + 1, reverse: reverse, identity: identity, combine)
    // Row totals: the last element of a row (the first when reversed).
    let column = reverse ? 0 : scanRowLength - 1
    let totals = scanAlong(lax.sliceInDim(scanned, start: column, limit: column + 1, axis: axis + 1), axis: axis, reverse: reverse,
                           identity: identity, combine)
    // What the rows before (after) contribute: the totals shifted by one row.
    var shift = [(Int, Int)](repeating: (0, 0), count: totals.rank)
    shift[axis] = reverse ? (0, 1) : (1, 0)
    let carried = reverse ? lax.sliceInDim(pad(totals, shift, value: identity), start: 1, limit: rows + 1, axis: axis)
                          : lax.sliceInDim(pad(totals, shift, value: identity), start: 0, limit: rows, axis: axis)
    let out = combine(scanned, carried.broadcast(to: scanned.shape))
    var merged = x.shape
    merged[axis] = rows * scanRowLength
    return lax.sliceInDim(out.reshaped(merged), start: 0, limit: n, axis: axis)
}

extension Tensor {
    /// Cumulative product along `axis` (`jnp.cumprod`; `reverse` as `lax.cumprod`); bools count as int32.
    public func cumprod(axis: Int = 0, reverse: Bool = false) -> Tensor {
        cumulativeReduction(self, axis: axis, reverse: reverse, identity: 1) { $0 * $1 }
    }

    /// Cumulative maximum along `axis` (`lax.cummax`); NaN propagates.
    public func cummax(axis: Int = 0, reverse: Bool = false) -> Tensor {
        let lowest = dtype.isFloatingPoint ? -Double.infinity : (dtype == .uint32 ? 0 : Double(Int32.min))
        return cumulativeReduction(self, axis: axis, reverse: reverse, identity: lowest) { maximum($0, $1) }
    }

    /// Cumulative minimum along `axis` (`lax.cummin`); NaN propagates.
    public func cummin(axis: Int = 0, reverse: Bool = false) -> Tensor {
        let highest = dtype.isFloatingPoint ? Double.infinity : (dtype == .uint32 ? Double(UInt32.max) : Double(Int32.max))
        return cumulativeReduction(self, axis: axis, reverse: reverse, identity: highest) { minimum($0, $1) }
    }
}
