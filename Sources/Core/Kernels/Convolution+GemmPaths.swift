// The three gemm formulations of a convolution (see Convolution+Gemm.swift).

/// Pointers into an `IntTables` the work items share.
private struct Tables: @unchecked Sendable {
    let inShape, inStrides, shape, step, offsets: UnsafePointer<Int>
    let owner: IntTables
}

extension ConvolutionGemm {
    /// Per image and tile of output positions: col[(c, u), t] = X̃[b, c, t·S + u·R − P],
    /// then out[b, group rows, tile] = W_g · col, written in place.
    func runForward() {
        let kRows = cinG * kCount
        let (tile, tiles, items, scratch) = plan.forwardTiling
        let owner = IntTables()
        let t = Tables(
            inShape: owner.put(inSp), inStrides: owner.put(rowMajorStrides(inSp)), shape: owner.put(outSp),
            step: owner.put(strides), offsets: owner.put(offsets(kSp, rhsDil)), owner: owner)
        parallel(items, scratch: scratch) { item, col, _ in
            let ti = item % tiles, g = (item / tiles) % groups, b = item / (tiles * groups)
            let t0 = ti * tile, n = min(outCount, t0 + tile) - t0
            for c in 0..<cinG {
                let plane = x + (b * cin + g * cinG + c) * inCount
                for u in 0..<kCount {
                    gather(plane, inShape: t.inShape, inStrides: t.inStrides, shape: t.shape, step: t.step,
                           offset: t.offsets + u * rank, t0, t0 + n, col + (c * kCount + u) * n)
                }
            }
            T.gemm(false, false, coutG, n, kRows, 1, w + g * coutG * kRows, kRows, col, n,
                   0, out + (b * cout + g * coutG) * outCount + t0, outCount)
        }
    }

    /// Few output positions, many kernel positions (the kernel-gradient conv):
    /// acc[o, (b, t)] = Σ over chunks of c of W_g[o, (c, u)] · colᵀ[(b, t), (c, u)],
    /// colᵀ[(b, t), (c, u)] = X[b, c, t·S + u·R − P]. One gemm per chunk over
    /// every (b, t) at once; each thread accumulates its own acc, summed at the end.
    func runKernelGradient() {
        let rows = batch * outCount
        let (cc, rowTile, chunks, rowTiles, items, scratch) = plan.kernelGradientTiling
        let accCount = cout * rows
        let threads = workers(items)
        let acc = UnsafeMutablePointer<T>.allocate(capacity: threads * accCount)
        defer { acc.deallocate() }
        acc.initialize(repeating: 0, count: threads * accCount)
        let owner = IntTables()
        let t = Tables(
            inShape: owner.put(inSp), inStrides: owner.put(rowMajorStrides(inSp)), shape: owner.put(kSp),
            step: owner.put(rhsDil), offsets: owner.put(offsets(outSp, strides)), owner: owner)
        let accBox = UncheckedSendable(acc)
        parallel(items, scratch: scratch, threads: threads) { item, col, worker in
            let rt = item % rowTiles, ci = (item / rowTiles) % chunks, g = item / (rowTiles * chunks)
            let r0 = rt * rowTile, nr = min(rows, r0 + rowTile) - r0
            let c0 = ci * cc, nc = min(cinG, c0 + cc) - c0
            let width = nc * kCount
            for r in 0..<nr {
                let b = (r0 + r) / outCount, tt = (r0 + r) % outCount
                for c in 0..<nc {
                    let plane = x + (b * lb + (g * cinG + c0 + c) * lc) * inCount
                    gather(plane, inShape: t.inShape, inStrides: t.inStrides, shape: t.shape, step: t.step,
                           offset: t.offsets + tt * rank, 0, kCount, col + r * width + c * kCount)
                }
            }
            let a = accBox.value + worker * accCount + g * coutG * rows + r0
            // Kernel rows (o, chunk of c): adjacent channels (ri = 1) or one channel (cc = 1).
            T.gemm(false, true, coutG, nr, width, 1, w + (g * coutG * ro + c0 * ri) * kCount, ro * kCount, col, width, 1, a, rows)
        }
        // out[b, o, t] = Σ_workers acc[o, b·T + t].
        for b in 0..<batch {
            for o in 0..<cout {
                let dst = out + (b * ob + o * oc) * outCount
                for tt in 0..<outCount {
                    var sum: T = 0
                    for k in 0..<threads { sum += acc[k * accCount + o * rows + b * outCount + tt] }
                    dst[tt] = sum
                }
            }
        }
    }

    /// lhs dilation D > 1 (transposed convolution): per image and group,
    /// Z[(o, u), q] = Σ_c W[o, c, u] · X[b, c, q] over the undilated input,
    /// then Z[(o, u), q] is added at the output t with t·S = q·D − u·R + P
    /// (col2im): no product with a dilation zero.
    func runLHSDilated() {
        let zRows = coutG * kCount
        // W as [G, (o, u), c].
        let wt = UnsafeMutablePointer<T>.allocate(capacity: cout * kCount * cinG)
        defer { wt.deallocate() }
        for o in 0..<cout {
            for c in 0..<cinG {
                for u in 0..<kCount { wt[(o * kCount + u) * cinG + c] = w[(o * cinG + c) * kCount + u] }
            }
        }
        // Per dimension, the output index each (u_d, q_d) reaches, or −1.
        var reach: [Int] = [], reachStart: [Int] = []
        for d in 0..<rank {
            reachStart.append(reach.count)
            for u in 0..<kSp[d] {
                for q in 0..<inSp[d] {
                    let z = q * lhsDil[d] - u * rhsDil[d] + lowPad[d]
                    let ok = z >= 0 && z % strides[d] == 0 && z / strides[d] < outSp[d]
                    reach.append(ok ? z / strides[d] : -1)
                }
            }
        }
        var uIndex = [Int](repeating: 0, count: kCount * rank)
        for u in 0..<kCount {
            var r = u
            for d in stride(from: rank - 1, through: 0, by: -1) { uIndex[u * rank + d] = r % kSp[d]; r /= kSp[d] }
        }
        let owner = IntTables()
        let tab = Tables(
            inShape: owner.put(inSp), inStrides: owner.put(rowMajorStrides(outSp)), shape: owner.put(reachStart),
            step: owner.put(uIndex), offsets: owner.put(reach), owner: owner)
        let (tile, items, scratch) = plan.lhsDilatedTiling
        let wtBox = UncheckedSendable(UnsafePointer(wt))
        parallel(items, scratch: scratch) { item, z, _ in
            let g = item % groups, b = item / groups
            let dst = out + (b * cout + g * coutG) * outCount
            dst.initialize(repeating: 0, count: coutG * outCount)
            var q0 = 0
            while q0 < inCount {
                let n = min(inCount, q0 + tile) - q0
                T.gemm(false, false, zRows, n, cinG, 1, wtBox.value + g * zRows * cinG, cinG,
                       x + (b * cin + g * cinG) * inCount + q0, inCount, 0, z, n)
                scatter(z, n, q0, dst, tab)
                q0 += n
            }
        }
    }

    /// Adds Z[(o, u), q − q0] at out[o, reach(u, q)] for q in q0..<q0+n.
    private func scatter(_ z: UnsafeMutablePointer<T>, _ n: Int, _ q0: Int, _ dst: UnsafeMutablePointer<T>, _ tab: Tables) {
        let last = rank - 1, width = inSp[last]
        let outStrides = tab.inStrides, reach = tab.offsets, start = tab.shape, uIndex = tab.step
        for u in 0..<kCount {
            let ui = uIndex + u * rank
            let lastReach = reach + start[last] + ui[last] * width
            var q = q0
            while q < q0 + n {
                let j0 = q % width, j1 = min(width, j0 + (q0 + n - q))
                // Output offset of this row from the outer dimensions, or none.
                var base = 0, r = q / width, valid = true
                var d = last - 1
                while d >= 0 {
                    let qd = r % inSp[d]
                    r /= inSp[d]
                    let t = reach[start[d] + ui[d] * inSp[d] + qd]
                    if t < 0 { valid = false; break }
                    base += t * outStrides[d]
                    d -= 1
                }
                if valid {
                    for o in 0..<coutG {
                        let zr = z + (o * kCount + u) * n + (q - q0) - j0
                        let orow = dst + o * outCount + base
                        for j in j0..<j1 {
                            let t = lastReach[j]
                            if t >= 0 { orow[t] += zr[j] }
                        }
                    }
                }
                q += j1 - j0
            }
        }
    }
}
