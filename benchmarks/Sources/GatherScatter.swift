// Gather and scatter (issue 19): an embedding train step, the lookup alone, a
// scatter-add alone, and the memory-copy floor of the lookup's bytes, all in
// the same run as benchmarks/peers.py's JAX peer.
import Flock
#if canImport(Glibc)
import Glibc
#endif

/// The table [10000, 128], 4096 row indices and regression targets.
func embeddingSetup() -> (table: Tensor, ids: Tensor, targets: Tensor) {
    let k = Random.split(Random.key(7), num: 3)
    let table = Random.normal(k[0], shape: [10_000, 128]) * 0.1
    let ids = Random.randint(k[1], shape: [4096], minval: 0, maxval: 10_000)
    let targets = Random.normal(k[2], shape: [4096, 128])
    return (table, ids, targets)
}

/// One SGD step on the table: mean-square loss of the looked-up rows.
func embeddingStep(_ a: [Tensor]) -> [Tensor] {
    let g = grad { (w: Tensor) in
        let d = take(w, a[1], axis: 0) - a[2]
        return (d * d).mean()
    }(a[0])
    return [a[0] - 0.1 * g]
}

/// A copy the optimiser cannot merge with the next one.
@inline(never) func copyBytes(_ dst: UnsafeMutableRawPointer, _ src: UnsafeMutableRawPointer, _ n: Int) { memcpy(dst, src, n) }

@MainActor func runGatherScatterBenchmarks(_ selected: String?) {
    let threads = FlockThreads.count
    let (table, ids, targets) = embeddingSetup()
    let n = 20
    if selected == nil || selected == "gather_scatter" || selected == "embedding_step" {
        let step = jit(name: "embedding_step", donateArgnums: [0], embeddingStep)
        var w = table + 0  // a private copy: donated from here on
        let ns = measure(repeats: 9, inner: n) {
            for _ in 0..<n { w = step([w, ids, targets])[0] }
            blackhole += first(w)
        }
        report("embedding_step_t\(threads)", ns, unit: "ms", value: ns / 1e6)
        let c = step.lower([w, ids, targets]).compile()
        report("embedding_step_peak_bytes_t\(threads)", 0, unit: "MB", value: Double(c.peakBytes) / 1e6)
    }
    if selected == nil || selected == "gather_scatter" || selected == "embedding_lookup" {
        let lookup = jit { (a: [Tensor]) in [take(a[0], a[1], axis: 0)] }
        let ns = measure(repeats: 9, inner: n) { for _ in 0..<n { blackhole += first(lookup([table, ids])[0]) } }
        report("embedding_lookup_t\(threads)", ns, unit: "us", value: ns / 1e3)
        // The floor: copying the lookup's 2 MB result (same bytes, same destination size).
        let bytes = 4096 * 128 * 4
        let src = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
        let dst = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
        memset(src, 1, bytes)
        memset(dst, 0, bytes)
        let copy = measure(repeats: 9, inner: n) {
            for i in 0..<n {
                src.storeBytes(of: UInt8(truncatingIfNeeded: i), toByteOffset: i * 4096, as: UInt8.self)
                copyBytes(dst, src, bytes)
                blackhole += Float(dst.load(fromByteOffset: i * 4096, as: UInt8.self))
            }
        }
        src.deallocate()
        dst.deallocate()
        report("embedding_memcpy_floor_t\(threads)", copy, unit: "us", value: copy / 1e3)
        report("embedding_lookup_over_memcpy_t\(threads)", ns, unit: "ratio", value: ns / copy)
    }
    if selected == "diag_gather" {
        let lookup = jit { (a: [Tensor]) in [take(a[0], a[1], axis: 0)] }
        let clip = jit { (a: [Tensor]) in [take(a[0], a[1], axis: 0, mode: .clip)] }
        for (name, f) in [("fill", lookup), ("clip", clip)] {
            let ns = measure(repeats: 9, inner: n) { for _ in 0..<n { blackhole += first(f([table, ids])[0]) } }
            print(name, ns / 1e3, "us")
        }
        let eager = measure(repeats: 9, inner: n) { for _ in 0..<n { blackhole += first(take(table, ids, axis: 0, mode: .clip)) } }
        print("eager clip", eager / 1e3, "us")
        let c = lookup.lower([table, ids]).compile()
        print(c.optimizedJaxpr)
        let direct = measure(repeats: 9, inner: n) { for _ in 0..<n { blackhole += first(c([table, ids])[0]) } }
        print("compiled call", direct / 1e3, "us")
        let emb = jit(name: "embedding_step", donateArgnums: [0], embeddingStep).lower([table, ids, targets]).compile()
        print(emb.optimizedJaxpr)
    }
    if selected == nil || selected == "gather_scatter" || selected == "scatter_add" {
        let updates = targets * 0.01
        let add = jit(name: "scatter_add", donateArgnums: [0]) { (a: [Tensor]) in [a[0].at(a[1]).add(a[2])] }
        var w = table + 0
        let ns = measure(repeats: 9, inner: n) {
            for _ in 0..<n { w = add([w, ids, updates])[0] }
            blackhole += first(w)
        }
        report("scatter_add_t\(threads)", ns, unit: "us", value: ns / 1e3)
    }
}
