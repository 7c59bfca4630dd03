// Channels-last convolution as packed gemm, reading the operands in place.
// Physical notation: images X [B, in…, C], output Y [B, out…, O]. An im2col
// row is one position t, its columns (u, c): for channels-last images each
// (t, u) pair is one contiguous run of C/G channels, and a kernel laid out
// [k…, C/G, O] (HWIO) is already the gemm's [(u, c), o] matrix. Two
// formulations, chosen from the dimension numbers:
//
// - forward (lhs N…C, output N…C, any kernel layout, no lhs dilation): per
//   image, group and tile of output positions, Y[b, tile, group's columns] =
//   col · W_g, written in place (ldc = O). A kernel in another layout is
//   first copied to [G, (u, c), O/G] (it is small).
// - lhs-dilated (lhs and output N…C, the input gradient of a strided
//   conv): Z[q, (u, o)] = X_b[q, c] · W_g[c, (u, o)] on the undilated input,
//   then col2im adds each contiguous run Z[q, u, :] at the output position
//   it reaches: no product with a dilation zero.
// - kernel gradient (the conv `convTransposeRHS` emits for an N…C
//   convolution: lhs X and "kernel" ct [B, t…, O] with batch and features
//   swapped, output [k…, C, O]): dW[(u, c), o] = Σ_rows colᵀ · ct, where the
//   rows are every (image, cotangent position) and col is the original
//   convolution's im2col: one long-K gemm per row tile into a per-thread
//   accumulator, summed at the end.
//
// A depthwise forward convolution (one input and one output channel per
// group) skips im2col: a loop over contiguous channels per (position, tap).
// Scratch per work item is bounded by `convolutionScratchBytes` (tiles of rows).

/// Which channels-last gemm formulation a convolution takes.
enum ChannelsLastForm: Equatable {
    case forward, kernelGradient, lhsDilated
}

extension ConvolutionParameters {
    /// The channels-last formulation for these dimension numbers, or nil (the
    /// operands are then transposed to channels-first).
    var channelsLastForm: ChannelsLastForm? {
        let dn = dimensionNumbers, n = windowStrides.count
        let dilated = lhsDilation.contains(where: { $0 != 1 })
        let last = [0, n + 1] + Array(1..<(n + 1))
        if dn.lhsSpec == last && dn.outSpec == last { return dilated ? .lhsDilated : .forward }
        if dilated { return nil }
        let swapped = [n + 1, 0] + Array(1..<(n + 1))
        if featureGroupCount == 1 && dn.lhsSpec == swapped && dn.rhsSpec == swapped
            && dn.outSpec == [n, n + 1] + Array(0..<n) {
            return .kernelGradient
        }
        return nil
    }
}

/// Shapes and tiling of a channels-last convolution, from shapes alone.
struct ChannelsLastPlan {
    let form: ChannelsLastForm
    /// Images, channels of the images and of the output, groups.
    let batch, cin, cout, groups, cinG, coutG: Int
    /// Input spatial sizes; the row index space t (output positions, or the
    /// cotangent's positions); the column index space u (kernel positions, or
    /// the kernel gradient's positions).
    let inSp, tSp, uSp: [Int]
    /// Input position of (t, u): t·tStep + u·uStep − lowPad per dimension.
    let tStep, uStep, lowPad: [Int]
    let inCount, tCount, uCount: Int
    let scratchElements: Int

    init(_ form: ChannelsLastForm, lhs: [Int], rhs: [Int], out: [Int], _ p: ConvolutionParameters, scratchElements: Int) {
        self.form = form
        let n = lhs.count - 2
        self.scratchElements = scratchElements
        let dn = p.dimensionNumbers
        inSp = Array(lhs[1...n])
        lowPad = p.padding.map { $0[0] }
        batch = lhs[0]
        cin = lhs[n + 1]
        switch form {
        case .forward, .lhsDilated:
            cout = out[n + 1]
            groups = p.featureGroupCount
            tSp = Array(out[1...n])
            uSp = dn.rhsSpec.dropFirst(2).map { rhs[$0] }
            (tStep, uStep) = (p.windowStrides, p.rhsDilation)
        case .kernelGradient:
            // lhs [B, in…, C] (logical batch C), rhs = ct [B, t…, O], out [u…, C, O].
            cout = rhs[n + 1]
            groups = 1
            tSp = Array(rhs[1...n])
            uSp = Array(out[0..<n])
            (tStep, uStep) = (p.rhsDilation, p.windowStrides)
        }
        cinG = cin / groups
        coutG = cout / groups
        inCount = inSp.reduce(1, *)
        tCount = tSp.reduce(1, *)
        uCount = uSp.reduce(1, *)
    }

    /// Columns of a row of col: (u, c) for the channels of one group.
    var width: Int { uCount * cinG }
    /// Rows of col (positions t, across images for the kernel gradient).
    var rows: Int { form == .forward ? tCount : batch * tCount }
    /// Rows per tile, the tile count and the work items.
    var tiling: (tile: Int, tiles: Int, items: Int) {
        let tile = max(1, min(rows, scratchElements / max(1, width)))
        let tiles = (rows + tile - 1) / tile
        return (tile, tiles, form == .forward ? batch * groups * tiles : tiles)
    }
    /// Whether there is any arithmetic (otherwise the output is zeros or empty).
    var isTrivial: Bool { batch * inCount * cin == 0 || width == 0 || cout * tCount == 0 }

    /// Elements of temporary memory with `threads` threads: per-thread scratch,
    /// the rearranged kernel (forward) or the per-thread accumulators.
    func temporaryElements(threads: Int) -> Int {
        if isTrivial { return 0 }
        let t = tiling
        let workers = max(1, min(threads, t.items))
        let scratch = workers * t.tile * width
        switch form {
        case .forward: return scratch + groups * width * coutG
        case .kernelGradient: return scratch + workers * width * cout
        case .lhsDilated:
            let zWidth = uCount * coutG
            let tile = max(1, min(inCount, scratchElements / max(1, zWidth)))
            return max(1, min(threads, batch)) * tile * zWidth + groups * width * coutG
        }
    }
}

struct ChannelsLastConvolution<T: GemmFloat>: @unchecked Sendable {
    let plan: ChannelsLastPlan
    let x: UnsafePointer<T>
    let tables: IntTables
    /// Per u, the offsets u·uStep (rank entries each); the shapes and steps.
    let uOffsets, inShape, tShape, tStep, lowPad: UnsafePointer<Int>
    let rank: Int

    init(_ l: DenseArray, plan: ChannelsLastPlan) {
        self.plan = plan
        x = l.pointer(T.self).baseAddress!
        rank = plan.inSp.count
        var table: [Int] = []
        for u in 0..<plan.uCount {
            var r = u
            var idx = [Int](repeating: 0, count: rank)
            for d in stride(from: rank - 1, through: 0, by: -1) { idx[d] = (r % plan.uSp[d]) * plan.uStep[d]; r /= plan.uSp[d] }
            table += idx
        }
        tables = IntTables()
        uOffsets = tables.put(table)
        inShape = tables.put(plan.inSp)
        tShape = tables.put(plan.tSp)
        tStep = tables.put(plan.tStep)
        lowPad = tables.put(plan.lowPad)
    }

    /// The spatial position (flat, row-major over `inShape`) that tap `u` of
    /// the window at `base` (its first input position per dimension) reads,
    /// or -1 when it falls in the padding.
    @inline(__always)
    func inputPosition(_ base: UnsafeMutablePointer<Int>, tap u: Int) -> Int {
        let off = uOffsets + u * rank
        var flat = 0
        for d in 0..<rank {
            let q = base[d] + off[d]
            if q < 0 || q >= inShape[d] { return -1 }
            flat = flat * inShape[d] + q
        }
        return flat
    }

    /// col[r, (u, c)] = X[b, t·tStep + u·uStep − lowPad, g·C/G + c] (0 outside)
    /// for the rows t = t0..<t0+n of image b.
    func gather(_ b: Int, _ g: Int, _ t0: Int, _ n: Int, _ col: UnsafeMutablePointer<T>) {
        let cinG = plan.cinG, cin = plan.cin, uCount = plan.uCount, width = plan.width
        let image = x + b * plan.inCount * cin + g * cinG
        forEachWindow(from: t0, count: n) { row, base in
            let dst = col + row * width
            for u in 0..<uCount {
                let flat = inputPosition(base, tap: u)
                let run = dst + u * cinG
                if flat >= 0 {
                    if cinG == 1 { run[0] = image[flat * cin] } else { run.update(from: image + flat * cin, count: cinG) }
                } else {
                    run.initialize(repeating: 0, count: cinG)
                }
            }
        }
    }

    /// Calls `body(row, base)` for the output positions t0..<t0+n in order,
    /// `base` holding each window's first input position per spatial
    /// dimension (before padding is taken off: it may be negative).
    @inline(__always)
    func forEachWindow(from t0: Int, count n: Int, _ body: (Int, UnsafeMutablePointer<Int>) -> Void) {
        withUnsafeTemporaryAllocation(of: Int.self, capacity: 2 * rank) { buffer in
            let ti = buffer.baseAddress!, base = ti + rank
            var r = t0
            for d in stride(from: rank - 1, through: 0, by: -1) { ti[d] = r % tShape[d]; r /= tShape[d] }
            for row in 0..<n {
                for d in 0..<rank { base[d] = ti[d] * tStep[d] - lowPad[d] }
                body(row, base)
                // Next position (row-major odometer).
                var d = rank - 1
                while d >= 0 {
                    ti[d] += 1
                    if ti[d] < tShape[d] { break }
                    ti[d] = 0
                    d -= 1
                }
            }
        }
    }

    /// Y[b, t, g·O/G + o] = Σ_(u, c) col[t, (u, c)] · W_g[(u, c), o]; `w` is [G, (u, c), O/G].
    func runForward(_ w: UnsafePointer<T>, _ out: UnsafeMutablePointer<T>) {
        let p = plan, width = p.width, (tile, tiles, items) = p.tiling
        let wBox = UncheckedSendable(w), outBox = UncheckedSendable(out)
        convolutionParallel(items, scratch: tile * width) { (item, col: UnsafeMutablePointer<T>, _) in
            let ti = item % tiles, g = (item / tiles) % p.groups, b = item / (tiles * p.groups)
            let t0 = ti * tile, n = min(p.tCount, t0 + tile) - t0
            gather(b, g, t0, n, col)
            T.gemm(false, false, n, p.coutG, width, 1, col, width, wBox.value + g * width * p.coutG, p.coutG, 0,
                   outBox.value + (b * p.tCount + t0) * p.cout + g * p.coutG, p.cout)
        }
    }

    /// out[(u, c), o] = Σ over rows (b, t) of col[(b, t), (u, c)] · ct[b, t, o].
    func runKernelGradient(_ ct: UnsafePointer<T>, _ out: UnsafeMutablePointer<T>) {
        let p = plan, width = p.width, (tile, _, items) = p.tiling
        let accCount = width * p.cout
        let threads = convolutionWorkers(items)
        let acc = UnsafeMutablePointer<T>.allocate(capacity: threads * accCount)
        defer { acc.deallocate() }
        acc.initialize(repeating: 0, count: threads * accCount)
        let accBox = UncheckedSendable(acc), ctBox = UncheckedSendable(ct)
        convolutionParallel(items, scratch: tile * width, threads: threads) { (item, col: UnsafeMutablePointer<T>, worker) in
            let r0 = item * tile, n = min(p.rows, r0 + tile) - r0
            // A tile may span images: gather each image's run of rows.
            var r = r0
            while r < r0 + n {
                let b = r / p.tCount, t = r % p.tCount, m = min(r0 + n, (b + 1) * p.tCount) - r
                gather(b, 0, t, m, col + (r - r0) * width)
                r += m
            }
            T.gemm(true, false, width, p.cout, n, 1, col, width, ctBox.value + r0 * p.cout, p.cout, 1,
                   accBox.value + worker * accCount, p.cout)
        }
        out.update(from: acc, count: accCount)
        for k in 1..<max(1, threads) {
            let a = acc + k * accCount
            for i in 0..<accCount { out[i] += a[i] }
        }
    }
}

/// The channels-last convolution of `l` and `r` into `out` (see the file comment).
func runChannelsLastConvolution<T: GemmFloat>(
    _: T.Type, _ form: ChannelsLastForm, _ l: DenseArray, _ r: DenseArray, _ p: ConvolutionParameters,
    _ out: DenseArray, scratchBytes: Int = convolutionScratchBytes
) {
    let plan = ChannelsLastPlan(
        form, lhs: l.shape, rhs: r.shape, out: out.shape, p,
        scratchElements: max(1, scratchBytes / MemoryLayout<T>.stride))
    let total = out.shape.reduce(1, *)
    if total == 0 { return }
    let o = out.mutablePointer(T.self).baseAddress!
    if plan.isTrivial {
        o.initialize(repeating: 0, count: total)
        return
    }
    let kernel = ChannelsLastConvolution<T>(l, plan: plan)
    let w = r.pointer(T.self).baseAddress!
    let n = plan.inSp.count, dn = p.dimensionNumbers
    let strides = rowMajorStrides(r.shape)
    let so = strides[dn.rhsSpec[0]], sc = strides[dn.rhsSpec[1]]
    let su = dn.rhsSpec.dropFirst(2).map { strides[$0] }
    switch form {
    case .kernelGradient:
        kernel.runKernelGradient(w, o)
    case .lhsDilated:
        // The kernel as [G, C/G, (u, O/G)].
        let zWidth = plan.uCount * plan.coutG
        let packed = UnsafeMutablePointer<T>.allocate(capacity: plan.groups * plan.cinG * zWidth)
        defer { packed.deallocate() }
        for g in 0..<plan.groups {
            for c in 0..<plan.cinG {
                for u in 0..<plan.uCount {
                    var rest = u, uOff = 0
                    for d in stride(from: n - 1, through: 0, by: -1) { uOff += (rest % plan.uSp[d]) * su[d]; rest /= plan.uSp[d] }
                    let dst = packed + (g * plan.cinG + c) * zWidth + u * plan.coutG
                    for oo in 0..<plan.coutG { dst[oo] = w[(g * plan.coutG + oo) * so + c * sc + uOff] }
                }
            }
        }
        kernel.runLHSDilated(packed, o, lhsDilation: p.lhsDilation)
    case .forward:
        if plan.groups > 1 && plan.cinG == 1 && plan.coutG == 1 {
            // Depthwise: the kernel as [u, C]; an HWIO kernel [k…, 1, C] is that already.
            if dn.rhsSpec == [n + 1, n] + Array(0..<n) {
                kernel.runDepthwise(w, o)
                return
            }
            let packed = UnsafeMutablePointer<T>.allocate(capacity: plan.uCount * plan.cin)
            defer { packed.deallocate() }
            for u in 0..<plan.uCount {
                var rest = u, uOff = 0
                for d in stride(from: n - 1, through: 0, by: -1) { uOff += (rest % plan.uSp[d]) * su[d]; rest /= plan.uSp[d] }
                for c in 0..<plan.cin { packed[u * plan.cin + c] = w[c * so + uOff] }
            }
            kernel.runDepthwise(packed, o)
            return
        }
        // The kernel as [G, (u, c), O/G]: HWIO with one group is that already.
        if plan.groups == 1 && dn.rhsSpec == [n + 1, n] + Array(0..<n) {
            kernel.runForward(w, o)
            return
        }
        let packed = UnsafeMutablePointer<T>.allocate(capacity: plan.groups * plan.width * plan.coutG)
        defer { packed.deallocate() }
        var i = 0
        for g in 0..<plan.groups {
            for u in 0..<plan.uCount {
                var rest = u, uOff = 0
                for d in stride(from: n - 1, through: 0, by: -1) { uOff += (rest % plan.uSp[d]) * su[d]; rest /= plan.uSp[d] }
                for c in 0..<plan.cinG {
                    for oo in 0..<plan.coutG {
                        packed[i] = w[(g * plan.coutG + oo) * so + c * sc + uOff]
                        i += 1
                    }
                }
            }
        }
        kernel.runForward(packed, o)
    }
}

extension ChannelsLastConvolution {
    /// Depthwise (one input and one output channel per group, `w` as [u, C]):
    /// Y[b, t, c] = Σ_u X[b, t·S + u·R − P, c] · W[u, c], a loop over
    /// contiguous channels per (position, tap): no im2col and no one-column gemms.
    func runDepthwise(_ w: UnsafePointer<T>, _ out: UnsafeMutablePointer<T>) {
        let p = plan, channels = p.cin, uCount = p.uCount
        // Rows per item: enough work to amortise taking it, enough items to balance.
        let tile = max(1, min(p.tCount, 16_384 / max(1, channels * uCount)))
        let tiles = (p.tCount + tile - 1) / tile
        let wBox = UncheckedSendable(w), outBox = UncheckedSendable(out)
        convolutionParallel(p.batch * tiles, scratch: 1) { (item, _: UnsafeMutablePointer<T>, _) in
            let b = item / tiles, t0 = (item % tiles) * tile, n = min(p.tCount, t0 + tile) - t0
            let image = x + b * p.inCount * channels
            forEachWindow(from: t0, count: n) { row, base in
                let dst = outBox.value + (b * p.tCount + t0 + row) * channels
                dst.initialize(repeating: 0, count: channels)
                for u in 0..<uCount {
                    let flat = inputPosition(base, tap: u)
                    if flat < 0 { continue }
                    let src = image + flat * channels, wu = wBox.value + u * channels
                    for c in 0..<channels { dst[c] += src[c] * wu[c] }
                }
            }
        }
    }
}

extension ChannelsLastConvolution {
    /// lhs dilation D > 1 (the input gradient of a strided channels-last
    /// conv): per image and tile of input positions q, Z[q, (u, o)] =
    /// Σ_c X[b, q, c] · W_g[c, (u, o)] over the undilated input, then each
    /// run Z[q, u, :] is added at Y[b, t, group's channels] where
    /// t·S = q·D − u·R + P (col2im over contiguous channels): no product with
    /// a dilation zero. `w` is [G, C/G, (u, O/G)].
    func runLHSDilated(_ w: UnsafePointer<T>, _ out: UnsafeMutablePointer<T>, lhsDilation: [Int]) {
        let p = plan, zWidth = p.uCount * p.coutG
        // Per dimension, the output index each (u_d, q_d) reaches, or −1.
        var reach: [Int] = [], reachStart: [Int] = []
        for d in 0..<rank {
            reachStart.append(reach.count)
            for u in 0..<p.uSp[d] {
                for q in 0..<p.inSp[d] {
                    let z = q * lhsDilation[d] - u * p.uStep[d] + p.lowPad[d]
                    let ok = z >= 0 && z % p.tStep[d] == 0 && z / p.tStep[d] < p.tSp[d]
                    reach.append(ok ? z / p.tStep[d] : -1)
                }
            }
        }
        var uIndex = [Int](repeating: 0, count: p.uCount * rank)
        for u in 0..<p.uCount {
            var r = u
            for d in stride(from: rank - 1, through: 0, by: -1) { uIndex[u * rank + d] = r % p.uSp[d]; r /= p.uSp[d] }
        }
        let owner = IntTables()
        let tables = UncheckedSendable((owner.put(reach), owner.put(reachStart), owner.put(uIndex)))
        let tile = max(1, min(p.inCount, p.scratchElements / max(1, zWidth)))
        let wBox = UncheckedSendable(w), outBox = UncheckedSendable(out)
        convolutionParallel(p.batch, scratch: tile * zWidth) { (b, z: UnsafeMutablePointer<T>, _) in
            withExtendedLifetime(owner) {
                let (reachP, startP, uIndexP) = tables.value
                let image = outBox.value + b * p.tCount * p.cout
                image.initialize(repeating: 0, count: p.tCount * p.cout)
                for g in 0..<p.groups {
                    var q0 = 0
                    while q0 < p.inCount {
                        let n = min(p.inCount, q0 + tile) - q0
                        T.gemm(false, false, n, zWidth, p.cinG, 1, x + (b * p.inCount + q0) * p.cin + g * p.cinG, p.cin,
                               wBox.value + g * p.cinG * zWidth, zWidth, 0, z, zWidth)
                        for i in 0..<n {
                            // q's multi-index, then each tap's output position.
                            var rest = q0 + i
                            withUnsafeTemporaryAllocation(of: Int.self, capacity: rank) { qi in
                                for d in stride(from: rank - 1, through: 0, by: -1) { qi[d] = rest % p.inSp[d]; rest /= p.inSp[d] }
                                for u in 0..<p.uCount {
                                    var t = 0, valid = true
                                    for d in 0..<rank {
                                        let td = reachP[startP[d] + uIndexP[u * rank + d] * p.inSp[d] + qi[d]]
                                        if td < 0 { valid = false; break }
                                        t = t * p.tSp[d] + td
                                    }
                                    if !valid { continue }
                                    let dst = image + t * p.cout + g * p.coutG, src = z + i * zWidth + u * p.coutG
                                    for o in 0..<p.coutG { dst[o] += src[o] }
                                }
                            }
                        }
                        q0 += n
                    }
                }
            }
        }
    }
}
