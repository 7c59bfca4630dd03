import Testing
@testable import FlockCore

/// Products through OpenBLAS (or the small-product loops) with every transpose
/// flag, batches, sides that are not multiples of the kernels' blocks, skinny
/// products, and the accumulating form jit uses, against a triple loop in Double.
@Suite struct GemmTests {
    /// Values that make every element of the product different.
    static func values(_ count: Int, seed: Int) -> [Double] {
        (0..<count).map { i in Double((i * 7919 + seed * 104729) % 2003) / 1001.5 - 1 }
    }

    /// C[b, i, j] = Σ_p A[b, i, p] B[b, p, j], A given as stored (transposed or not).
    static func reference(_ a: [Double], _ b: [Double], batch: Int, m: Int, k: Int, n: Int, ta: Bool, tb: Bool) -> [Double] {
        var c = [Double](repeating: 0, count: batch * m * n)
        for q in 0..<batch {
            for i in 0..<m {
                for j in 0..<n {
                    var s = 0.0
                    for p in 0..<k {
                        let x = a[q * m * k + (ta ? p * m + i : i * k + p)]
                        let y = b[q * k * n + (tb ? j * k + p : p * n + j)]
                        s += x * y
                    }
                    c[q * m * n + i * n + j] = s
                }
            }
        }
        return c
    }

    // (batch, m, k, n): tall, wide, batched, a single row, skinny.
    static let shapes = [(1, 300, 70, 45), (1, 37, 130, 260), (2, 161, 64, 97), (1, 1, 2048, 300),
                         // Skinny: N or K at most 16.
                         (1, 517, 300, 10), (1, 300, 10, 200), (2, 33, 7, 300), (1, 2000, 3, 1),
                         // The AVX2 loops' limits (a small side of 1 ... 12; 13 goes to BLAS) and row, column and
                         // depth tails (not multiples of 8), batched; both sides small.
                         (1, 1029, 515, 12), (1, 263, 1024, 1), (1, 95, 12, 517), (1, 64, 9, 11), (3, 41, 1000, 7),
                         (1, 100, 13, 400)]

    @Test(arguments: shapes.indices, [DType.float32, .float64])
    func productsEqualTheTripleLoop(_ s: Int, _ dtype: DType) {
        let (batch, m, k, n) = Self.shapes[s]
        do {
            for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
                let av = Self.values(batch * m * k, seed: 1), bv = Self.values(batch * k * n, seed: 2)
                let lhsShape = batch > 1 ? [batch] + (ta ? [k, m] : [m, k]) : (ta ? [k, m] : [m, k])
                let rhsShape = batch > 1 ? [batch] + (tb ? [n, k] : [k, n]) : (tb ? [n, k] : [k, n])
                let a = Tensor(av, shape: lhsShape).converted(to: dtype), b = Tensor(bv, shape: rhsShape).converted(to: dtype)
                let o = batch > 1 ? 1 : 0
                let dn = DotDimensionNumbers(
                    lhsContracting: [o + (ta ? 0 : 1)], rhsContracting: [o + (tb ? 1 : 0)],
                    lhsBatch: batch > 1 ? [0] : [], rhsBatch: batch > 1 ? [0] : [])
                let got = dotGeneral(a, b, dn).toArray(Double.self)
                let want = Self.reference(av.map { dtype == .float32 ? Double(Float($0)) : $0 },
                                          bv.map { dtype == .float32 ? Double(Float($0)) : $0 },
                                          batch: batch, m: m, k: k, n: n, ta: ta, tb: tb)
                let tol = dtype == .float32 ? 2e-4 * Double(k).squareRoot() : 1e-11 * Double(k)
                let worst = zip(got, want).map { abs($0 - $1) }.max() ?? 0
                #expect(got.count == want.count && worst <= tol,
                        "\(dtype) \(Self.shapes[s]) ta=\(ta) tb=\(tb) max error \(worst)")

                // The accumulating form jit uses: c += alpha · a·b.
                if batch == 1 {
                    let c0 = Self.values(m * n, seed: 3)
                    // A buffer of its own: the update writes in place.
                    let c = dtype == .float32 ? DenseArray(c0.map { Float($0) }, shape: [m, n]) : DenseArray(c0, shape: [m, n])
                    dotGeneralAccumulate(try! a.concreteArray(for: "test"), try! b.concreteArray(for: "test"),
                                         dn: dn, alpha: -0.5, into: c)
                    let acc = Tensor(concrete: c).toArray(Double.self)
                    let wantAcc = zip(c0, want).map { (dtype == .float32 ? Double(Float($0)) : $0) - 0.5 * $1 }
                    let worstAcc = zip(acc, wantAcc).map { abs($0 - $1) }.max() ?? 0
                    #expect(worstAcc <= tol, "accumulate \(dtype) \(Self.shapes[s]) ta=\(ta) tb=\(tb): \(worstAcc)")
                }
            }
        }
    }
}
