import Dispatch
import Synchronization
import Testing
import FlockTestSupport
@testable import FlockCore

/// OpenBLAS's thread count is process-wide, and Flock changes it around
/// small products and convolutions' parallel items (`SingleThreadedBLAS`)
/// while other threads may be inside multithreaded gemms. Several threads
/// run small products (one BLAS thread, the count set to 1), large ones
/// (OpenBLAS's threads) and convolutions at once; every result must match
/// the serial reference loops.
@Suite struct BLASThreadsTests {
    /// A deterministic m × n matrix with entries in [-1, 1].
    static func matrix(_ m: Int, _ n: Int, seed: Int) -> [Float] {
        (0..<(m * n)).map { Float(($0 &* 7919 &+ seed &* 104_729) % 2001 - 1000) / 1000 }
    }

    /// a · b by the textbook loop, in Double.
    static func reference(_ a: [Float], _ b: [Float], _ m: Int, _ k: Int, _ n: Int) -> [Double] {
        var c = [Double](repeating: 0, count: m * n)
        for i in 0..<m {
            for p in 0..<k {
                let x = Double(a[i * k + p])
                for j in 0..<n { c[i * n + j] += x * Double(b[p * n + j]) }
            }
        }
        return c
    }

    @Test func concurrentSmallAndLargeProductsAndConvolutionsMatchTheReference() throws {
        // 64³ multiply-adds: under SmallBLAS.macs (one BLAS thread); 192³: above (OpenBLAS's threads).
        let sizes = [64, 192]
        #expect(64 * 64 * 64 < SmallBLAS.macs && 192 * 192 * 192 > SmallBLAS.macs)
        let inputs = sizes.map { s in (Self.matrix(s, s, seed: s), Self.matrix(s, s, seed: 1 + s)) }
        let expected = zip(sizes, inputs).map { s, ab in Self.reference(ab.0, ab.1, s, s, s) }
        let tensors = zip(sizes, inputs).map { s, ab in (Tensor(ab.0, shape: [s, s]), Tensor(ab.1, shape: [s, s])) }
        let worst = Mutex([Double](repeating: 0, count: 3))
        let convolutionFailures = Mutex<[String]>([])
        DispatchQueue.concurrentPerform(iterations: 6) { thread in
            for round in 0..<12 {
                let k = (thread + round) % 3
                if k == 2 {
                    // The convolution that once failed in the parallel suite, and one with parallel items.
                    for c in ConvolutionKernelTests.cases.prefix(10) {
                        do { try Self.checkConvolution(c) } catch { convolutionFailures.withLock { $0.append("\(c.name): \(error)") } }
                    }
                    continue
                }
                let got = matmul(tensors[k].0, tensors[k].1).toArray(Float.self)
                var err = 0.0
                for i in 0..<got.count { err = max(err, abs(Double(got[i]) - expected[k][i]) / (1 + abs(expected[k][i]))) }
                worst.withLock { $0[k] = max($0[k], err) }
            }
        }
        let errors = worst.withLock { $0 }
        #expect(errors[0] <= 1e-4, "small products: worst relative error \(errors[0])")
        #expect(errors[1] <= 1e-4, "large products: worst relative error \(errors[1])")
        #expect(convolutionFailures.withLock { $0 }.isEmpty, "\(convolutionFailures.withLock { $0 })")
    }

    /// ``ConvolutionKernelTests/check(_:_:)``'s comparison, reported by throwing (it runs off the test's task).
    static func checkConvolution(_ c: ConvolutionKernelTests.Case) throws {
        let l = ConvolutionKernelTests.random(c.lhs, .float32, seed: 1), r = ConvolutionKernelTests.random(c.rhs, .float32, seed: 2)
        let p = c.parameters
        let aval = try convolutionShape(
            AbstractValue(shape: c.lhs, dtype: .float32), AbstractValue(shape: c.rhs, dtype: .float32), p) { FlockError($0) }
        let want = convertArray(convolutionReference(l, r, p: p, shape: aval.shape), to: .float64).pointer(Double.self)
        let out = DenseArray(uninitializedShape: aval.shape, dtype: .float32)
        ConvolutionGemm<Float>(l, r, p, out).run()
        let got = convertArray(out, to: .float64).pointer(Double.self)
        for i in 0..<want.count where abs(got[i] - want[i]) / (1 + abs(want[i])) > 1e-4 {
            throw FlockError("element \(i): \(got[i]) against \(want[i])")
        }
    }
}
