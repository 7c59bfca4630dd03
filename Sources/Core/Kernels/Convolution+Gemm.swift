import CBLAS
import Dispatch
import Synchronization

// Convolution as packed gemm (NC… lhs, OI… rhs, NC… output). Notation: lhs
// X [B, C, in…], kernel W [O, C/G, k…], output [B, O, out…]; per group g,
// out[b, o, t] = Σ_{c,u} W[o, c, u] · X̃[b, c, t·S + u·R − P], where X̃ is X
// dilated by D (lhs dilation) and zero outside. Three shapes of problem, each
// one gemm family without arithmetic on padding or dilation zeros:
//
// - forward (D = 1, many outputs): per image, im2col rows (c, u) × output
//   positions t, then out_b = W_g · col — the output is written in place.
// - kernel-gradient form (D = 1, fewer outputs than kernel positions, as in
//   the conv that transposes a convolution w.r.t. its kernel: "kernel" = the
//   cotangent, batch and features swapped): the contraction runs over
//   (c, u) = (batch × output positions of the original conv), so it is one
//   gemm out[o, (b, t)] = W · colᵀ over all b at once, chunked over c.
// - lhs-dilated (transposed convolution, the input gradient of a strided
//   conv): Z[(o, u), q] = Wᵀ · X_b, then each Z entry is added to the output
//   position it reaches (col2im): the dilation zeros are never multiplied.
//
// Scratch is bounded (`scratchElements` per thread, tiles over output
// positions or contracted channels); threads take batch × tile work items,
// each calling a single-threaded BLAS.

/// The float types convolution runs through BLAS.
protocol GemmFloat: KernelFloat {
    /// Row-major C = alpha · op(A) · op(B) + beta · C.
    static func gemm(
        _ ta: Bool, _ tb: Bool, _ m: Int, _ n: Int, _ k: Int, _ alpha: Self, _ a: UnsafePointer<Self>, _ lda: Int,
        _ b: UnsafePointer<Self>, _ ldb: Int, _ beta: Self, _ c: UnsafeMutablePointer<Self>, _ ldc: Int)
}

extension Float: GemmFloat {
    @inline(__always)
    static func gemm(
        _ ta: Bool, _ tb: Bool, _ m: Int, _ n: Int, _ k: Int, _ alpha: Float, _ a: UnsafePointer<Float>, _ lda: Int,
        _ b: UnsafePointer<Float>, _ ldb: Int, _ beta: Float, _ c: UnsafeMutablePointer<Float>, _ ldc: Int
    ) {
        cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
                    blasint(m), blasint(n), blasint(k), alpha, a, blasint(lda), b, blasint(ldb), beta, c, blasint(ldc))
    }
}

extension Double: GemmFloat {
    @inline(__always)
    static func gemm(
        _ ta: Bool, _ tb: Bool, _ m: Int, _ n: Int, _ k: Int, _ alpha: Double, _ a: UnsafePointer<Double>, _ lda: Int,
        _ b: UnsafePointer<Double>, _ ldb: Int, _ beta: Double, _ c: UnsafeMutablePointer<Double>, _ ldc: Int
    ) {
        cblas_dgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
                    blasint(m), blasint(n), blasint(k), alpha, a, blasint(lda), b, blasint(ldb), beta, c, blasint(ldc))
    }
}

/// Which of the three gemm formulations a convolution takes.
enum ConvolutionPath: Equatable {
    case forward, kernelGradient, lhsDilated
}

/// Bytes of im2col scratch per thread: large enough for full-speed gemms
/// (hundreds of columns), small enough to stay in L2/L3 and far under the
/// 64 MiB bound for any thread count here.
let convolutionScratchBytes = 2 << 20

struct ConvolutionGemm<T: GemmFloat>: @unchecked Sendable {
    let x: UnsafePointer<T>, w: UnsafePointer<T>, out: UnsafeMutablePointer<T>
    let batch, cin, cout, groups, cinG, coutG: Int
    let inSp, kSp, outSp, strides, lowPad, lhsDil, rhsDil: [Int]
    let inCount, kCount, outCount, rank: Int
    /// Where the [spatial…] planes are, in planes: lhs (b, c) at b·lb + c·lc,
    /// kernel (o, c) at o·ro + c·ri, output (b, o) at b·ob + o·oc. Channels-first
    /// operands have (cin, 1), (cinG, 1), (cout, 1); an operand whose first two
    /// dimensions are swapped (the kernel-gradient conv of an NCHW convolution:
    /// its lhs is the input, its kernel the cotangent, both with batch and
    /// features exchanged) is read in place with the strides exchanged.
    let lb, lc, ro, ri, ob, oc: Int
    /// Tests force a formulation and a small scratch to reach every path and tiling.
    let plan: ConvolutionPlan
    var scratchElements: Int { plan.scratchElements }

    init(
        _ l: DenseArray, _ r: DenseArray, _ p: ConvolutionParameters, _ o: DenseArray,
        path: ConvolutionPath? = nil, scratchBytes: Int = convolutionScratchBytes
    ) {
        self.init(l, r, p, o, swapped: (false, false, false), path: path, scratchBytes: scratchBytes)
    }

    /// Operands and output whose first two dimensions may be swapped
    /// (`swapped`: lhs, kernel, output); the parameters' dimension numbers are
    /// not read. Only the kernel-gradient formulation reads swapped operands
    /// (`swappedOperandsSupported`).
    init(
        _ l: DenseArray, _ r: DenseArray, _ p: ConvolutionParameters, _ o: DenseArray,
        swapped: (lhs: Bool, rhs: Bool, out: Bool), path: ConvolutionPath? = nil, scratchBytes: Int = convolutionScratchBytes
    ) {
        func logical(_ shape: [Int], _ swap: Bool) -> [Int] { swap ? [shape[1], shape[0]] + shape[2...] : shape }
        let lhs = logical(l.shape, swapped.lhs), rhs = logical(r.shape, swapped.rhs), outShape = logical(o.shape, swapped.out)
        plan = ConvolutionPlan(
            lhs: lhs, rhs: rhs, out: outShape, p,
            scratchElements: max(1, scratchBytes / MemoryLayout<T>.stride), path: path, kernelChannelsAdjacent: !swapped.rhs)
        x = l.pointer(T.self).baseAddress!
        w = r.pointer(T.self).baseAddress!
        out = o.mutablePointer(T.self).baseAddress!
        batch = lhs[0]; cin = lhs[1]; cout = rhs[0]; cinG = rhs[1]
        groups = p.featureGroupCount; coutG = cout / groups
        inSp = Array(lhs[2...]); kSp = Array(rhs[2...]); outSp = Array(outShape[2...])
        strides = p.windowStrides; lowPad = p.padding.map { $0[0] }
        lhsDil = p.lhsDilation; rhsDil = p.rhsDilation
        inCount = inSp.reduce(1, *); kCount = kSp.reduce(1, *); outCount = outSp.reduce(1, *)
        rank = inSp.count
        (lb, lc) = swapped.lhs ? (1, batch) : (cin, 1)
        (ro, ri) = swapped.rhs ? (1, cout) : (cinG, 1)
        (ob, oc) = swapped.out ? (1, batch) : (cout, 1)
    }

    /// Whether this problem may read swapped operands in place: the
    /// kernel-gradient formulation gathers lhs planes one at a time, reads the
    /// kernel one channel chunk at a time and sums into the output at the end.
    var swappedOperandsSupported: Bool { path == .kernelGradient }

    /// The formulation this problem takes (see the file comment).
    var path: ConvolutionPath { plan.path }

    func run() {
        let total = batch * cout * outCount
        if total == 0 { return }
        if cinG == 0 || kCount == 0 || inCount == 0 {
            out.initialize(repeating: 0, count: total)
            return
        }
        switch path {
        case .forward: runForward()
        case .kernelGradient: runKernelGradient()
        case .lhsDilated: runLHSDilated()
        }
    }

    // MARK: Threads

    /// Threads that `parallel` uses for `items` work items.
    func workers(_ items: Int) -> Int { convolutionWorkers(items) }

    /// Runs `items` work items (see `convolutionParallel`).
    func parallel(_ items: Int, scratch: Int, threads given: Int? = nil,
                  _ body: @Sendable (Int, UnsafeMutablePointer<T>, Int) -> Void) {
        convolutionParallel(items, scratch: scratch, threads: given, body)
    }

    // MARK: Gather (one im2col row)

    /// Writes X̃[q] (0 outside the input) for the flattened range `lo..<hi` of
    /// an index space `shape`, where q_d = i_d · step_d + offset_d (no lhs
    /// dilation), from one [in…] plane `src` into `dst`.
    @inline(__always)
    func gather(
        _ src: UnsafePointer<T>, inShape: UnsafePointer<Int>, inStrides: UnsafePointer<Int>,
        shape: UnsafePointer<Int>, step: UnsafePointer<Int>, offset: UnsafePointer<Int>,
        _ lo: Int, _ hi: Int, _ dst: UnsafeMutablePointer<T>
    ) {
        let last = rank - 1
        let width = shape[last], s = step[last], off = offset[last], inLast = inShape[last]
        // Valid j in the last dimension: 0 ≤ j·s + off < inLast.
        let jlo = min(width, off >= 0 ? 0 : (-off + s - 1) / s)
        let jhi = max(jlo, min(width, inLast - 1 - off < 0 ? 0 : (inLast - 1 - off) / s + 1))
        var row = lo / width, col = lo % width
        var d = dst
        var remaining = hi - lo
        while remaining > 0 {
            let c1 = min(width, col + remaining)
            // Base offset of this row from the outer dimensions.
            var base = off, r = row, valid = true
            var dim = last - 1
            while dim >= 0 {
                let i = r % shape[dim]
                r /= shape[dim]
                let q = i * step[dim] + offset[dim]
                if q < 0 || q >= inShape[dim] { valid = false; break }
                base += q * inStrides[dim]
                dim -= 1
            }
            let n = c1 - col
            if !valid || jlo >= jhi {
                d.initialize(repeating: 0, count: n)
            } else {
                let a = max(col, jlo), b = min(c1, jhi)
                if a >= b {
                    d.initialize(repeating: 0, count: n)
                } else {
                    if a > col { d.initialize(repeating: 0, count: a - col) }
                    let o = d + (a - col)
                    if s == 1 {
                        o.update(from: src + base + a, count: b - a)
                    } else {
                        for j in a..<b { o[j - a] = src[base + j * s] }
                    }
                    if c1 > b { (d + (b - col)).initialize(repeating: 0, count: c1 - b) }
                }
            }
            d += n
            remaining -= n
            col = 0
            row += 1
        }
    }

    /// Per-index offsets u·R − P (or t·S − P) of every point of `shape`, flattened.
    func offsets(_ shape: [Int], _ step: [Int]) -> [Int] {
        let count = shape.reduce(1, *)
        var table = [Int](repeating: 0, count: count * rank)
        for f in 0..<count {
            var r = f
            for d in stride(from: rank - 1, through: 0, by: -1) {
                table[f * rank + d] = (r % shape[d]) * step[d] - lowPad[d]
                r /= shape[d]
            }
        }
        return table
    }
}

/// Threads a convolution kernel uses for `items` work items.
func convolutionWorkers(_ items: Int) -> Int { max(1, min(FlockThreads.count, items)) }

/// Runs `items` work items over `convolutionWorkers(items)` threads, each
/// thread owning a scratch buffer of `scratch` elements; `body` gets the item,
/// the buffer and the worker's index. BLAS runs single-threaded inside: the
/// items, not the gemms, carry the parallelism. `threads` (at most
/// `convolutionWorkers(items)`), when given, is the count the caller sized
/// per-worker state for: the thread setting may change meanwhile (another
/// thread's `FlockThreads.count = …`), so it is read once.
func convolutionParallel<T>(
    _ items: Int, scratch: Int, threads given: Int? = nil, _ body: @Sendable (Int, UnsafeMutablePointer<T>, Int) -> Void
) {
    let threads = given ?? convolutionWorkers(items)
    if threads == 1 {
        let buffer = UnsafeMutablePointer<T>.allocate(capacity: max(1, scratch))
        defer { buffer.deallocate() }
        // One item at a time: the gemms may use OpenBLAS's threads.
        SingleThreadedBLAS.threaded { for i in 0..<items { body(i, buffer, 0) } }
        return
    }
    SingleThreadedBLAS.enter()
    defer { SingleThreadedBLAS.leave() }
    // Items are taken dynamically: a descheduled thread delays one item.
    let next = AtomicCounter()
    let flushing = SubnormalMode.isFlushing
    DispatchQueue.concurrentPerform(iterations: threads) { worker in SubnormalMode.asCaller(flushing) {
        let buffer = UnsafeMutablePointer<T>.allocate(capacity: max(1, scratch))
        defer { buffer.deallocate() }
        while true {
            let i = next.increment()
            if i >= items { break }
            body(i, buffer, worker)
        }
    } }
}

/// Integer tables (shapes, strides, offsets) in one allocation the kernel's
/// closures can share; freed with the last reference.
final class IntTables: @unchecked Sendable {
    private var storage: [UnsafeMutablePointer<Int>] = []
    /// A stable copy of `values`.
    func put(_ values: [Int]) -> UnsafePointer<Int> {
        let p = UnsafeMutablePointer<Int>.allocate(capacity: max(1, values.count))
        if !values.isEmpty { p.initialize(from: values, count: values.count) }
        storage.append(p)
        return UnsafePointer(p)
    }
    deinit { for p in storage { p.deallocate() } }
}

/// A shared counter handing out work items.
final class AtomicCounter: Sendable {
    private let value = Atomic<Int>(0)
    func increment() -> Int { value.wrappingAdd(1, ordering: .relaxed).oldValue }
}
