import CBLAS
import CKernels

// dotGeneral: operands are brought to [batch, M, K] × [batch, K, N] (a copy
// only when no BLAS transpose flag can express the layout), then one gemm per
// batch element: OpenBLAS for floats, a plain loop for integers.

/// How an operand is laid out for gemm: its permuted array and whether the
/// matrix part is stored transposed.
private func gemmOperand(_ x: DenseArray, batch: [Int], rows: [Int], cols: [Int]) -> (DenseArray, transposed: Bool) {
    let identity = Array(0..<x.rank)
    if batch + rows + cols == identity { return (x, false) }
    if batch + cols + rows == identity { return (x, true) }
    return (evalTranspose(x, perm: batch + rows + cols), false)
}

func evalDotGeneral(_ l: DenseArray, _ r: DenseArray, dn: DotDimensionNumbers, shape: [Int]) -> DenseArray {
    let out = DenseArray(uninitializedShape: shape, dtype: l.dtype)
    gemm(l, r, dn: dn, into: out, alpha: 1, accumulate: false)
    return out
}

/// `c += alpha · dotGeneral(l, r)`, in place, for floating-point operands;
/// `c` has the product's shape and its buffer belongs to the caller alone.
/// jit runs a product and the update that consumes it (an SGD step
/// `w - lr · g`) as one gemm with beta = 1, skipping a pass over memory.
package func dotGeneralAccumulate(_ l: DenseArray, _ r: DenseArray, dn: DotDimensionNumbers, alpha: Double, into c: DenseArray) {
    precondition(l.dtype.isFloatingPoint, "dotGeneralAccumulate: floating-point operands only, got \(l.dtype)")
    gemm(l, r, dn: dn, into: c, alpha: alpha, accumulate: true)
}

/// out = alpha · l·r (+ out when accumulating).
private func gemm(_ l: DenseArray, _ r: DenseArray, dn: DotDimensionNumbers, into out: DenseArray, alpha: Double, accumulate: Bool) {
    let lFree = (0..<l.rank).filter { !dn.lhsContracting.contains($0) && !dn.lhsBatch.contains($0) }
    let rFree = (0..<r.rank).filter { !dn.rhsContracting.contains($0) && !dn.rhsBatch.contains($0) }
    let batch = dn.lhsBatch.map { l.shape[$0] }.reduce(1, *)
    let m = lFree.map { l.shape[$0] }.reduce(1, *)
    let k = dn.lhsContracting.map { l.shape[$0] }.reduce(1, *)
    let n = rFree.map { r.shape[$0] }.reduce(1, *)
    // lhs as [batch, M, K]; rhs as [batch, K, N].
    let (a, ta) = gemmOperand(l, batch: dn.lhsBatch, rows: lFree, cols: dn.lhsContracting)
    let (b, tb) = gemmOperand(r, batch: dn.rhsBatch, rows: dn.rhsContracting, cols: rFree)
    if out.count == 0 { return }
    if k == 0 {
        if !accumulate { memsetZero(out) }
        return
    }
    // Many tiny products (e.g. per-example outer products under vmap) cost
    // more in BLAS call overhead than in arithmetic: plain loops instead.
    if m * n * k <= 4096 && l.dtype.isFloatingPoint {
        let product = accumulate ? DenseArray(uninitializedShape: out.shape, dtype: out.dtype) : out
        if l.dtype == .float32 { smallGemm(a, ta, b, tb, product, batch, m, k, n, Float.self) }
        else { smallGemm(a, ta, b, tb, product, batch, m, k, n, Double.self) }
        if accumulate {
            if l.dtype == .float32 { axpy(Float(alpha), product, out, Float.self) } else { axpy(alpha, product, out, Double.self) }
        }
        return
    }
    let beta: Double = accumulate ? 1 : 0
    if l.dtype == .float32, SkinnyGemm.enabled, min(n, k) <= Int(FLOCK_SKINNY_MAX) {
        SkinnyGemm.run(a, ta, b, tb, out, batch: batch, m: m, k: k, n: n, alpha: Float(alpha), beta: Float(beta))
        return
    }
    // Products below `SmallBLAS.macs` run on one BLAS thread (a batch of them
    // split over Flock's threads instead): OpenBLAS would wake its second
    // thread for a 128×64×128 product, which on a shared machine often waits
    // a scheduler slice for it.
    let small = m * n * k < SmallBLAS.macs && FlockThreads.count > 1
    if small { SingleThreadedBLAS.enter() }
    defer { if small { SingleThreadedBLAS.leave() } }
    let items = { (body: @Sendable (Int) -> Void) in
        if small && batch > 1 {
            forEachChunk(batch, threshold: Swift.max(2, SmallBLAS.macs / Swift.max(1, m * n * k))) { lo, hi in
                for i in lo..<hi { body(i) }
            }
        } else if small {
            body(0)
        } else {
            // May use OpenBLAS's threads: alone (see SingleThreadedBLAS).
            SingleThreadedBLAS.threaded { for i in 0..<batch { body(i) } }
        }
    }
    let (transA, transB) = (ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans)
    switch l.dtype {
    case .float32:
        let pa = UncheckedSendable(a.pointer(Float.self).baseAddress!), pb = UncheckedSendable(b.pointer(Float.self).baseAddress!)
        let pc = UncheckedSendable(out.mutablePointer(Float.self).baseAddress!)
        items { i in
            cblas_sgemm(
                CblasRowMajor, transA, transB,
                blasint(m), blasint(n), blasint(k), Float(alpha), pa.value + i * m * k, blasint(ta ? m : k),
                pb.value + i * k * n, blasint(tb ? k : n), Float(beta), pc.value + i * m * n, blasint(n))
        }
    case .float64:
        let pa = UncheckedSendable(a.pointer(Double.self).baseAddress!), pb = UncheckedSendable(b.pointer(Double.self).baseAddress!)
        let pc = UncheckedSendable(out.mutablePointer(Double.self).baseAddress!)
        items { i in
            cblas_dgemm(
                CblasRowMajor, transA, transB,
                blasint(m), blasint(n), blasint(k), alpha, pa.value + i * m * k, blasint(ta ? m : k),
                pb.value + i * k * n, blasint(tb ? k : n), beta, pc.value + i * m * n, blasint(n))
        }
    case .int32: integerGemm(a, ta, b, tb, out, batch, m, k, n, Int32.self)
    case .uint32: integerGemm(a, ta, b, tb, out, batch, m, k, n, UInt32.self)
    case .int64: integerGemm(a, ta, b, tb, out, batch, m, k, n, Int64.self)
    case .uint64: integerGemm(a, ta, b, tb, out, batch, m, k, n, UInt64.self)
    case .bool: fatalError("unreachable: bool dot is rejected by the shape rule")
    case .int8, .uint8, .int16, .uint16, .float16, .bfloat16: unreachableWidened(l.dtype)
    }
}

/// The size below which a product runs on one BLAS thread.
enum SmallBLAS {
    /// Multiply-adds per product (2²¹: ~40 µs of one core at OpenBLAS's speed).
    static let macs = 1 << 21
}

/// y += a · x.
private func axpy<T: KernelFloat>(_ a: T, _ x: DenseArray, _ y: DenseArray, _: T.Type) {
    let px = x.pointer(T.self), py = y.mutablePointer(T.self)
    for i in 0..<py.count { py[i] += a * px[i] }
}

/// Batched gemm by loops, the innermost over contiguous output columns.
private func smallGemm<T: KernelFloat>(
    _ a: DenseArray, _ ta: Bool, _ b: DenseArray, _ tb: Bool, _ out: DenseArray,
    _ batch: Int, _ m: Int, _ k: Int, _ n: Int, _: T.Type
) {
    let pa = a.pointer(T.self).baseAddress!, pb = b.pointer(T.self).baseAddress!
    let pc = out.mutablePointer(T.self).baseAddress!
    for bi in 0..<batch {
        let A = pa + bi * m * k, B = pb + bi * k * n, C = pc + bi * m * n
        for i in 0..<m {
            let row = C + i * n
            for j in 0..<n { row[j] = 0 }
            for p in 0..<k {
                let av = ta ? A[p * m + i] : A[i * k + p]
                if tb {
                    for j in 0..<n { row[j] += av * B[j * k + p] }
                } else {
                    let brow = B + p * n
                    for j in 0..<n { row[j] += av * brow[j] }
                }
            }
        }
    }
}

private func integerGemm<T: FixedWidthInteger>(
    _ a: DenseArray, _ ta: Bool, _ b: DenseArray, _ tb: Bool, _ out: DenseArray,
    _ batch: Int, _ m: Int, _ k: Int, _ n: Int, _: T.Type
) {
    let pa = a.pointer(T.self), pb = b.pointer(T.self), pc = out.mutablePointer(T.self)
    for bi in 0..<batch {
        let ao = bi * m * k, bo = bi * k * n, co = bi * m * n
        for i in 0..<m {
            for j in 0..<n { pc[co + i * n + j] = 0 }
            for p in 0..<k {
                let av = pa[ao + (ta ? p * m + i : i * k + p)]
                for j in 0..<n {
                    pc[co + i * n + j] = pc[co + i * n + j] &+ av &* pb[bo + (tb ? j * k + p : p * n + j)]
                }
            }
        }
    }
}

func memsetZero(_ x: DenseArray) {
    if x.byteCount > 0 { x.buffer.pointer.initializeMemory(as: UInt8.self, repeating: 0, count: x.byteCount) }
}

/// float32 products with a small side (N or K at most `FLOCK_SKINNY_MAX`, e.g.
/// a 10-class output layer) through the AVX2 + FMA loops of the C target,
/// rows split over the threads: OpenBLAS runs them at ~50 GFLOP/s, a quarter
/// of its speed on square products. `FLOCK_DISABLE_AVX2=1` turns them off.
enum SkinnyGemm {
    static var enabled: Bool { hasAVX2FMA && !Configuration.disableAVX2 }
    private static let hasAVX2FMA = flock_has_avx2_fma() != 0

    static func run(
        _ a: DenseArray, _ ta: Bool, _ b: DenseArray, _ tb: Bool, _ out: DenseArray,
        batch: Int, m: Int, k: Int, n: Int, alpha: Float, beta: Float
    ) {
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: k * n)
        defer { scratch.deallocate() }
        let pa = a.pointer(Float.self).baseAddress!, pb = b.pointer(Float.self).baseAddress!
        let pc = out.mutablePointer(Float.self).baseAddress!
        let context = UncheckedPointers(a: pa, c: pc, scratch: scratch)
        let (lda, ldb) = (ta ? m : k, tb ? k : n)
        // Rows per thread worth the hand-off: about 256k multiply-adds.
        let threshold = max(16, (1 << 18) / max(1, n * k))
        for i in 0..<batch {
            flock_sgemm_skinny_pack(ta ? 1 : 0, tb ? 1 : 0, n, k, pb + i * k * n, ldb, scratch)
            forEachChunk(m, threshold: threshold) { lo, hi in
                flock_sgemm_skinny(ta ? 1 : 0, n, k, alpha, context.a + i * m * k, lda, context.scratch,
                                   beta, context.c + i * m * n, n, lo, hi)
            }
        }
    }

    private struct UncheckedPointers: @unchecked Sendable {
        let a: UnsafePointer<Float>
        let c: UnsafeMutablePointer<Float>
        let scratch: UnsafeMutablePointer<Float>
    }
}
