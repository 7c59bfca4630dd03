// Flock's benchmark executable: runs each case several times and prints one
// JSON line per case with the median, for benchmarks/run to set beside the
// peers (numpy, JAX) measured in the same run. Never used as a timed test.
import Flock

#if canImport(Glibc)
import Glibc
#endif

func now() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}

func median(_ xs: [Double]) -> Double {
    let s = xs.sorted()
    return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
}

/// Times `body` (which performs `inner` operations) `repeats` times; returns the median ns per operation.
func measure(repeats: Int, inner: Int, _ body: () -> Void) -> Double {
    body()  // warm-up: caches, buffer pool, page faults
    var samples: [Double] = []
    for _ in 0..<repeats {
        let t0 = now()
        body()
        samples.append(Double(now() - t0) / Double(inner))
    }
    return median(samples)
}

func report(_ name: String, _ nsPerOp: Double, unit: String, value: Double) {
    print("{\"case\": \"\(name)\", \"impl\": \"flock\", \"ns\": \(nsPerOp), \"unit\": \"\(unit)\", \"value\": \(value)}")
}

var blackhole: Float = 0

/// The first element, read cheaply so the work cannot be optimised away.
func first(_ t: Tensor) -> Float { t.flattened()[0].item(Float.self) }

let cases: [(String, () -> Void)] = [
    ("eager_add_small", {
        let a = Tensor((0..<100).map { Float($0) }), b = Tensor((0..<100).map { Float($0) * 0.5 })
        let n = 20_000
        let ns = measure(repeats: 7, inner: n) {
            var c = a
            for _ in 0..<n { c = a + b }
            blackhole += first(c)
        }
        report("eager_add_small", ns, unit: "us/op", value: ns / 1000)
    }),
    ("sgemm_1024", {
        let a = linspace(-1, 1, count: 1024 * 1024).reshaped([1024, 1024])
        let b = linspace(1, -1, count: 1024 * 1024).reshaped([1024, 1024])
        let ns = measure(repeats: 9, inner: 1) { blackhole += first(matmul(a, b)) }
        report("sgemm_1024", ns, unit: "GFLOP/s", value: 2 * 1024 * 1024 * 1024 / ns)
    }),
    ("tanh_affine_10m", {
        let n = 10_000_000
        let x = linspace(-4, 4, count: n)
        let ns = measure(repeats: 9, inner: n) { blackhole += first(tanh(x) * 0.5 + 0.5) }
        report("tanh_affine_10m", ns, unit: "ns/element", value: ns)
    }),
]

// Diagnostics (not in BENCHMARKS.md): the parts of tanh_affine_10m.
let diagnostics: [(String, () -> Void)] = [
    ("diag_tanh_10m", {
        let x = linspace(-4, 4, count: 10_000_000)
        report("diag_tanh_10m", measure(repeats: 9, inner: 10_000_000) { blackhole += first(tanh(x)) }, unit: "ns/element", value: 0)
    }),
    ("diag_mul_10m", {
        let x = linspace(-4, 4, count: 10_000_000)
        report("diag_mul_10m", measure(repeats: 9, inner: 10_000_000) { blackhole += first(x * 0.5) }, unit: "ns/element", value: 0)
    }),
]

let selected = CommandLine.arguments.dropFirst().first
for (name, run) in cases where selected == nil || selected == name { run() }
for (name, run) in diagnostics where selected == name { run() }
if blackhole.isNaN { print("") }
