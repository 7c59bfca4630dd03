import Testing
import FlockTestSupport
@testable import FlockSharding

extension ShardingTests.ShardedJit {
    /// (what, function of a table [4n, 6n] and row indices [2n], specs,
    /// expected collectives, expected layout of result 0).
    static let indexing: [(String, @Sendable ([Tensor]) -> [Tensor], PartitionSpec, PartitionSpec, [String], [[String]])] = [
        ("embedding: table over columns", { a in [take(a[0], a[1], axis: 0)] }, PartitionSpec(nil, "data"), .replicated,
         [], [[], ["data"]]),
        ("embedding: indices over the batch", { a in [take(a[0], a[1], axis: 0)] }, .replicated, PartitionSpec("data"),
         [], [["data"], []]),
        ("embedding: table over rows (gathered)", { a in [take(a[0], a[1], axis: 0)] }, PartitionSpec("data", nil), .replicated,
         ["all_gather data"], [[], []]),
        ("dynamic_slice of rows, columns split", { a in [lax.dynamicSlice(a[0], [Tensor(Int32(1)), Tensor(Int32(0))], sizes: [2, a[0].shape[1]])] },
         PartitionSpec(nil, "data"), .replicated, [], [[], ["data"]]),
        ("dynamic_slice of rows split (gathered)", { a in [lax.dynamicSlice(a[0], [Tensor(Int32(1)), Tensor(Int32(0))], sizes: [2, a[0].shape[1]])] },
         PartitionSpec("data", nil), .replicated, ["all_gather data"], [[], []]),
        ("dynamic_update_slice of rows, columns split", { a in
            let update = exp(lax.dynamicSlice(a[0], [Tensor(Int32(0)), Tensor(Int32(0))], sizes: [2, a[0].shape[1]]))
            return [lax.dynamicUpdateSlice(a[0], update, [Tensor(Int32(3)), Tensor(Int32(0))])]
        }, PartitionSpec(nil, "data"), .replicated, [], [[], ["data"]]),
    ]

    @Test(arguments: indexing) func indexingKeepsTheDimensionsItReadsWhole(
        what: String, f: @escaping @Sendable ([Tensor]) -> [Tensor], table: PartitionSpec, indices: PartitionSpec,
        collectives: [String], out: [[String]]
    ) throws {
        let n = deviceCount
        let t = hostArray([4 * n, 6 * n], seed: 90), idx = Tensor((0..<(2 * n)).map { Int32(($0 * 5 + 3) % (4 * n)) })
        let l = try partitioned(f, [t, idx], [table, indices], mesh: dataMesh(), what)
        #expect(names(l) == collectives, "\(what): \(l.partitionReport)")
        #expect(layout(l) == out, "\(what): \(l.partitionReport)")
    }
}
