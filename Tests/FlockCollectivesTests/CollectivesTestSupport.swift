import Testing
import FlockTestSupport
@testable import FlockCollectives
@testable import FlockTransforms

/// Every collective test lives in this serialized suite (nested suites inherit
/// `.serialized`), so that under `./launch -n N` all ranks run the same
/// collectives in the same order.
@Suite(.serialized) struct CollectivesTests {}

/// Member `j`'s operand in communicator tests: `[n, 2]` (n = members) with
/// element `(i, k)` = `j·100 + i·10 + k`, so every block is distinct.
func memberOperand(_ j: Int, members n: Int, dtype: DType = .float32) -> DenseArray {
    let values = (0..<(n * 2)).map { Double(j * 100 + ($0 / 2) * 10 + $0 % 2) }
    return Tensor(values, shape: [n, 2]).converted(to: dtype).concreteOrFail()
}

extension Tensor {
    func concreteOrFail() -> DenseArray { try! concreteArray(for: "test") }
}

func doubles(_ a: DenseArray) -> [Double] { (0..<a.count).map { a.double(at: $0) } }

/// Checks every operation of `c` (whose members all run this) against the
/// meaning spelled out with plain arrays.
func expectCommunicatorSemantics(_ c: any CollectiveTransport, sourceLocation: SourceLocation = #_sourceLocation) throws {
    let n = c.size, r = c.rank
    let mine = memberOperand(r, members: n)
    let all = (0..<n).map { doubles(memberOperand($0, members: n)) }
    func block(_ values: [Double], _ i: Int) -> [Double] { Array(values[(2 * i)..<(2 * i + 2)]) }
    func expect(_ got: DenseArray, _ shape: [Int], _ values: [Double], _ what: String) {
        #expect(got.shape == shape && doubles(got) == values, "member \(r) of \(n): \(what): got \(got.shape) \(doubles(got)), expected \(shape) \(values)", sourceLocation: sourceLocation)
    }
    let sum = (0..<(2 * n)).map { k in all.map { $0[k] }.reduce(0, +) }
    expect(try c.allReduce(mine, .sum), [n, 2], sum, "allReduce sum")
    expect(try c.allReduce(mine, .max), [n, 2], all[n - 1], "allReduce max")
    expect(try c.allReduce(mine, .min), [n, 2], all[0], "allReduce min")
    expect(try c.allGather(mine), [n, n, 2], all.flatMap { $0 }, "allGather")
    expect(try c.reduceScatter(mine, .sum), [2], block(sum, r), "reduceScatter")
    expect(try c.allToAll(mine), [n, 2], (0..<n).flatMap { block(all[$0], r) }, "allToAll")
    let ring = (0..<n).map { (source: $0, destination: ($0 + 1) % n) }
    expect(try c.permute(mine, pairs: ring), [n, 2], all[(r + n - 1) % n], "permute ring")
    let partial = n > 1 ? [(source: 0, destination: n - 1)] : []
    expect(try c.permute(mine, pairs: partial), [n, 2], r == n - 1 && n > 1 ? all[0] : Array(repeating: 0, count: 2 * n), "permute partial")
    expect(try c.broadcast(mine, root: n - 1), [n, 2], all[n - 1], "broadcast")
    try c.barrier()
    // Large operands take the payload path of MPI communicators (beyond the inline bytes).
    let big = Tensor((0..<(n * 64)).map { Double($0 + r) }, shape: [n, 64]).concreteOrFail()
    let bigSum = (0..<(n * 64)).map { Double($0 * n + (0..<n).reduce(0, +)) }
    expect(try c.allReduce(big, .sum), [n, 64], bigSum, "allReduce sum (large)")
    let gathered = try c.allGather(big)
    expect(gathered, [n, n, 64], (0..<n).flatMap { j in (0..<(n * 64)).map { Double($0 + j) } }, "allGather (large)")
    let scattered = try c.reduceScatter(big, .sum)
    expect(scattered, [64], Array(bigSum[(64 * r)..<(64 * r + 64)]), "reduceScatter (large)")
    let exchanged = try c.allToAll(big)
    expect(exchanged, [n, 64], (0..<n).flatMap { j in (0..<64).map { Double(64 * r + $0 + j) } }, "allToAll (large)")
    let shifted = try c.permute(big, pairs: ring)
    expect(shifted, [n, 64], (0..<(n * 64)).map { Double($0 + (r + n - 1) % n) }, "permute ring (large)")
    let rooted = try c.broadcast(big, root: 0)
    expect(rooted, [n, 64], (0..<(n * 64)).map { Double($0) }, "broadcast (large)")
}


