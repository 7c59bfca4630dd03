// Stable multi-operand sort along one dimension. Floats sort NaN after +inf;
// -0.0 and +0.0 compare equal (keeping their order), as jnp.sort does.

/// Compares element `i` and `j` of `x` (flat indices); -1, 0 or 1.
@inline(__always)
private func compareElements(_ x: DenseArray, _ i: Int, _ j: Int) -> Int {
    switch x.dtype {
    case .float32, .float64:
        let a = x.double(at: i), b = x.double(at: j)
        if a.isNaN || b.isNaN { return a.isNaN == b.isNaN ? 0 : (a.isNaN ? 1 : -1) }
        if a < b { return -1 }
        if a > b { return 1 }
        return 0
    case .int32, .uint32, .bool:
        let a = x.double(at: i), b = x.double(at: j)
        return a < b ? -1 : (a > b ? 1 : 0)
    case .int64:
        let p = x.pointer(Int64.self)
        return p[i] < p[j] ? -1 : (p[i] > p[j] ? 1 : 0)
    case .uint64:
        let p = x.pointer(UInt64.self)
        return p[i] < p[j] ? -1 : (p[i] > p[j] ? 1 : 0)
    case .int8, .uint8, .int16, .uint16, .float16, .bfloat16: unreachableWidened(x.dtype)
    }
}

func evalSort(_ xs: [DenseArray], dimension: Int, numKeys: Int) -> [DenseArray] {
    let shape = xs[0].shape
    let outer = shape[..<dimension].reduce(1, *), n = shape[dimension], inner = shape[(dimension + 1)...].reduce(1, *)
    let outs = xs.map { DenseArray(uninitializedShape: $0.shape, dtype: $0.dtype) }
    var order = [Int](repeating: 0, count: n)
    for o in 0..<outer {
        for i in 0..<inner {
            let base = o * n * inner + i
            order = Array(0..<n)
            // Merge-based sort is stable; ties keep their original order.
            order = mergeSorted(order) { p, q in
                for k in 0..<numKeys {
                    let c = compareElements(xs[k], base + p * inner, base + q * inner)
                    if c != 0 { return c < 0 }
                }
                return false
            }
            for (x, out) in zip(xs, outs) {
                let es = x.dtype.byteSize
                for (dst, src) in order.enumerated() {
                    (out.buffer.pointer + (base + dst * inner) * es)
                        .copyMemory(from: x.buffer.pointer + (base + src * inner) * es, byteCount: es)
                }
            }
        }
    }
    return outs
}

/// A stable merge sort of `items` by `less`.
func mergeSorted(_ items: [Int], by less: (Int, Int) -> Bool) -> [Int] {
    if items.count < 2 { return items }
    var a = items, b = items
    var width = 1
    let n = items.count
    while width < n {
        var lo = 0
        while lo < n {
            let mid = min(lo + width, n), hi = min(lo + 2 * width, n)
            var i = lo, j = mid, k = lo
            while i < mid && j < hi {
                if less(a[j], a[i]) { b[k] = a[j]; j += 1 } else { b[k] = a[i]; i += 1 }
                k += 1
            }
            while i < mid { b[k] = a[i]; i += 1; k += 1 }
            while j < hi { b[k] = a[j]; j += 1; k += 1 }
            lo = hi
        }
        swap(&a, &b)
        width *= 2
    }
    return a
}
