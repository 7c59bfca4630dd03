// Float reductions over many elements: blocked, pairwise accumulation keeps
// the error near log2(n) roundings (a running total stops growing at 2^24 in
// float32). Sizes stay below 2^28 to keep debug-build tests fast. References are float64 sums of the same float32 values.

import FlockTestSupport
import Testing
@testable import FlockCore

/// `count` uniform values in [0, 1): all positive, so every rounding of a
/// running total errs the same way and a sequential sum fails the bound.
private func uniformValues(_ count: Int, seed: UInt64) -> [Float] {
    var rng = SplitMix64(seed: seed)
    return (0..<count).map { _ in Float(rng.next() >> 40) / Float(1 << 24) }
}

@Test(arguments: [1 << 20, (1 << 22) + 3])
func largeRandomSumsAreAccurate(count: Int) {
    let values = uniformValues(count, seed: UInt64(count))
    let reference = values.reduce(0.0) { $0 + Double($1) }
    let x = Tensor(values)
    let sum = Double(x.sum().item(Float.self))
    // Pairwise summation: the error is a few ulp of the total whatever n; a
    // running float32 total is off by ~1e-3 relative at 2^22.
    #expect(abs(sum - reference) <= 8 * Double(Float.ulpOfOne) * reference, "n = \(count): \(sum) vs \(reference)")
    let mean = Double(x.mean().item(Float.self))
    #expect(abs(mean - reference / Double(count)) <= 8 * Double(Float.ulpOfOne) * reference / Double(count))
    // Rows of a 2-D array and columns (the strided path) agree with the float64 sums too.
    let rows = 4, columns = count / rows
    let matrix = Tensor(Array(values[..<(rows * columns)]), shape: [rows, columns])
    let rowSums = matrix.sum(axis: 1).toArray(Float.self)
    let columnSums = matrix.reshaped([columns, rows]).sum(axis: 0).toArray(Float.self)
    for r in 0..<rows {
        let ref = values[(r * columns)..<((r + 1) * columns)].reduce(0.0) { $0 + Double($1) }
        #expect(abs(Double(rowSums[r]) - ref) <= 8 * Double(Float.ulpOfOne) * ref)
        let colRef = stride(from: r, to: rows * columns, by: rows).reduce(0.0) { $0 + Double(values[$1]) }
        #expect(abs(Double(columnSums[r]) - colRef) <= 8 * Double(Float.ulpOfOne) * colRef)
    }
}

@Test func onesSumExactlyPast2To24() {
    // 2^27 ones: JAX and numpy give a mean of 1.0 (a running total gives 0.5).
    let x = ones([1 << 27])
    #expect(x.mean().item(Float.self) == 1)
    // Columns (the strided path): a running total would stop at 2^24.
    let rows = (1 << 24) + 2
    #expect(ones([rows, 2]).sum(axis: 0).toArray(Float.self) == [Float(rows), Float(rows)])
}

@Test func cumsumOfOnesIsExactPast2To24() {
    // JAX (XLA CPU) gives every prefix correctly rounded: i + 1 as a float32.
    let n = (1 << 24) + 5
    let c = ones([n]).cumsum().toArray(Float.self)
    for i in [0, 1, 15, 16, 17, (1 << 24) - 1, 1 << 24, (1 << 24) + 1, (1 << 24) + 2, n - 2, n - 1] {
        #expect(c[i] == Float(i + 1), "index \(i)")
    }
}

@Test func longDotProductsAreAccurate() {
    // A [1, K]·[K, 2] product (the skinny AVX2 path when available): blocked lanes.
    let k = (1 << 22) + 5
    let a = uniformValues(k, seed: 1), b = uniformValues(2 * k, seed: 2)
    let product = matmul(Tensor(a, shape: [1, k]), Tensor(b, shape: [k, 2])).toArray(Float.self)
    for j in 0..<2 {
        let reference = (0..<k).reduce(0.0) { $0 + Double(a[$1]) * Double(b[$1 * 2 + j]) }
        #expect(abs(Double(product[j]) - reference) <= 8 * Double(Float.ulpOfOne) * reference, "column \(j)")
    }
}
