// Results do not depend on the thread count (docs: Flock.docc/Performance.md,
// "Determinism"): kernels split large arrays into chunks by thread count, but
// every reduction sums in an order fixed by element positions, and each
// output element of a product is accumulated by one thread. The oracle is
// invariance: the bits at 1 thread equal the bits at 2, 3 and 4.

import FlockTestSupport
import Testing
@testable import FlockCore

private let x = Random.normal(Random.key(7), shape: [640, 1031])  // > 2^17 elements: the threaded paths
private let w = Random.normal(Random.key(8), shape: [1031, 300])

/// Operations whose kernels run on several threads for arrays this large.
private let operations: [(String, @Sendable () -> Tensor)] = [
    ("sum", { x.sum() }),
    ("sum over rows", { x.sum(axis: 1) }),
    ("sum over columns", { x.sum(axis: 0) }),
    ("max over rows", { x.max(axis: 1) }),
    ("mean", { x.mean() }),
    ("cumsum", { x.cumsum(axis: 1) }),
    ("exp, tanh", { tanh(exp(x * 0.1)) }),
    ("matmul", { matmul(x, w) }),
    ("softmax", { softmax(x, axis: 1) }),
    ("random normal", { Random.normal(Random.key(3), shape: [640, 1031]) }),
]

/// The bit patterns of `t`'s float32 values.
private func bits(_ t: Tensor) -> [UInt32] { t.toArray(Float.self).map(\.bitPattern) }

@Suite(.serialized) struct ThreadDeterminism {
    @Test(arguments: operations.map(\.0))
    func sameBitsAtEveryThreadCount(_ name: String) {
        let f = operations.first { $0.0 == name }!.1
        let saved = FlockThreads.count
        defer { FlockThreads.count = saved }
        FlockThreads.count = 1
        let reference = bits(f())
        for threads in [2, 3, 4] {
            FlockThreads.count = threads
            let got = bits(f())
            #expect(got == reference, "\(name): \(threads) threads differ from 1 thread")
        }
    }
}
