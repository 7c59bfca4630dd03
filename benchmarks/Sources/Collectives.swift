// psum over MPI ranks: latency at 4 B and bandwidth at 64 KiB, 4 MiB and
// 64 MiB, eager and jitted, timed exactly like benchmarks/c/allreduce.c and
// benchmarks/mpi_peers.py (barrier, then a short loop of calls, a few ms; the
// best over 31 repeats of the mean time per call — on a shared machine, the
// least disturbed).
// Run under `./launch -n 2` with the argument `collectives` by benchmarks/run;
// rank 0 prints the JSON lines.
//
// Each repeat also times `MPI_Allreduce` called directly on preallocated
// buffers (impl "mpi"), interleaved with Flock's loops in the same job: a
// paired baseline that sees the same machine load as Flock, which the
// separate C program cannot.
import CMPI
import Glibc
import Flock

let collectiveCases: [(name: String, bytes: Int, iterations: Int)] = [
    ("psum_4B", 4, 1_000), ("psum_64KiB", 64 << 10, 100), ("psum_4MiB", 4 << 20, 5), ("psum_64MiB", 64 << 20, 2),
]

@MainActor
func runCollectiveBenchmarks(_ selected: String?) {
    let world = Distributed.processes
    let repeats = 31
    withAxis("ranks", communicator: world) {
        for c in collectiveCases where selected == "collectives" || selected == c.name {
            let n = c.bytes / 4
            let x = Tensor((0..<n).map { Float($0 % 13 + world.rank) })
            let jitted = jit { (v: Tensor) in psum(v, axisName: "ranks") }
            // Preallocated buffers aligned like Flock's (64 bytes): the copies
            // inside MPI run at a speed that depends on the buffers' alignment.
            let input = UnsafeMutableRawPointer.allocate(byteCount: c.bytes, alignment: 64)
            let output = UnsafeMutableRawPointer.allocate(byteCount: c.bytes, alignment: 64)
            defer { input.deallocate(); output.deallocate() }
            x.flattened().toArray(Float.self).withUnsafeBytes { input.copyMemory(from: $0.baseAddress!, byteCount: c.bytes) }
            let loops: [(String, () -> Void)] = [
                ("mpi", {
                    for _ in 0..<c.iterations {
                        _ = MPI_Allreduce(input, output, Int32(n), cmpi_float(), cmpi_op_sum(), cmpi_comm_world())
                    }
                }),
                ("flock", {
                    var y = x
                    for _ in 0..<c.iterations { y = psum(x, axisName: "ranks") }
                    blackhole += first(y)
                }),
                ("flock_jit", {
                    var y = x
                    for _ in 0..<c.iterations { y = jitted(x) }
                    blackhole += first(y)
                }),
            ]
            let only = getenv("FLOCK_BENCH_ONLY").map { String(cString: $0) }  // diagnostics: one loop alone
            var best = [Double](repeating: .infinity, count: loops.count)
            for r in -1..<repeats {  // r = -1: warm-up (traces the jit, fills the buffer pool)
                for (k, loop) in loops.enumerated() where only == nil || only == loop.0 {
                    try! world.barrier()
                    let t0 = now()
                    loop.1()
                    if r >= 0 { best[k] = min(best[k], Double(now() - t0) / Double(c.iterations)) }
                }
            }
            blackhole += output.load(as: Float.self)
            guard world.rank == 0 else { continue }
            for (k, loop) in loops.enumerated() where best[k].isFinite {
                let ns = best[k]
                if c.bytes == 4 {
                    report(c.name, ns, unit: "us", value: ns / 1000, impl: loop.0)
                } else {
                    report(c.name, ns, unit: "GB/s", value: Double(c.bytes) / ns, impl: loop.0)
                }
            }
        }
    }
}

/// Diagnostics (not in BENCHMARKS.md): the cost of a 4-byte psum without
/// transport (a one-member group), eager and jitted, and of its pieces.
@MainActor
func runCollectiveDiagnostics() {
    let member: any CollectiveTransport = Distributed.usesMPI ? Distributed.processTransport : InProcessGroup(size: 1).members[0]
    let x = Tensor([Float(1)])
    let a = try! x.concreteArray(for: "diag")
    withAxis("one", communicator: member) {
        // `diag_psum_overhead eager|jit N`: N calls per repeat (small under valgrind).
        let n = CommandLine.arguments.count > 3 ? Int(CommandLine.arguments[3])! : Distributed.usesMPI ? 20_000 : 200_000
        let jitted = jit { (v: Tensor) in psum(v, axisName: "one") }
        if CommandLine.arguments.count > 2 {  // `diag_psum_overhead eager|jit`: one loop alone, for profiling
            let f: (Tensor) -> Tensor = CommandLine.arguments[2] == "jit" ? jitted : { psum($0, axisName: "one") }
            report("diag_psum_overhead_\(CommandLine.arguments[2])", measure(repeats: 7, inner: n) {
                var y = x
                for _ in 0..<n { y = f(x) }
                blackhole += first(y)
            }, unit: "ns", value: 0)
            return
        }
        if Distributed.usesMPI { try! member.barrier() }
        report("diag_psum_overhead_eager", measure(repeats: 7, inner: n) {
            var y = x
            for _ in 0..<n { y = psum(x, axisName: "one") }
            blackhole += first(y)
        }, unit: "ns", value: 0)
        report("diag_psum_overhead_jit", measure(repeats: 7, inner: n) {
            var y = x
            for _ in 0..<n { y = jitted(x) }
            blackhole += first(y)
        }, unit: "ns", value: 0)
        report("diag_psum_overhead_bind", measure(repeats: 7, inner: n) {
            var y = x
            for _ in 0..<n { y = bind1(.psum(axes: ["one"]), x) }
            blackhole += first(y)
        }, unit: "ns", value: 0)
        if Distributed.usesMPI { try! member.barrier() }
        report("diag_psum_overhead_communicator", measure(repeats: 7, inner: n) {
            var y = a
            for _ in 0..<n { y = try! member.allReduce(a, .sum) }
            blackhole += y.pointer(Float.self)[0]
        }, unit: "ns", value: 0)
        report("diag_add_eager", measure(repeats: 7, inner: n) {
            var y = x
            for _ in 0..<n { y = x + x }
            blackhole += first(y)
        }, unit: "ns", value: 0)
    }
}
