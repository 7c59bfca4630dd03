import Testing
import FlockTestSupport
@testable import FlockSharding

extension ShardingTests.ShardedJit {
    /// (what, function of a [8, 4n] (columns split), two [4n, 6] (rows
    /// split) and a replicated [8, 6], expected collectives): the products
    /// are partial sums over "data".
    static let partialSums: [(String, @Sendable ([Tensor]) -> [Tensor], [String])] = [
        ("sum of two partial products: one psum", { a in [matmul(a[0], a[1]) + matmul(a[0], a[2])] }, ["psum data"]),
        ("difference, negated, transposed, reshaped", { a in [(-(matmul(a[0], a[1]) - matmul(a[0], a[2]))).T.reshaped([48])] },
         ["psum data"]),
        ("times and over a replicated value", { a in [matmul(a[0], a[1]) * a[3] / (square(a[3]) + 1) * 0.5] }, ["psum data"]),
        ("plus a replicated value: counted once", { a in [matmul(a[0], a[1]) + a[3]] }, ["psum data"]),
        ("a replicated value minus partial products, then another", { a in [(a[3] - matmul(a[0], a[1])) + matmul(a[0], a[2]) - a[3] * 2] },
         ["psum data"]),
        ("a partial product read twice: reduced once", { a in let p = matmul(a[0], a[1]); return [p * 2, exp(p)] }, ["psum data"]),
        ("a product of two partial products", { a in [matmul(a[0], a[1]) * matmul(a[0], a[2])] }, ["psum data", "psum data"]),
        ("a partial product read twice, one reader linear", { a in
            let p = matmul(a[0], a[1])
            return [p + matmul(a[0], a[2]), p]
        }, ["psum data", "psum data"]),
        ("float32 of a partial product (reduced before it narrows), summed over rows", { a in [(matmul(a[0], a[1]).converted(to: .float32) * 2).sum(axes: [0])] },
         ["psum data"]),
        ("exp of a sum of partial products", { a in [exp(matmul(a[0], a[1]) + matmul(a[0], a[2]))] }, ["psum data"]),
    ]

    /// Partial sums pass through linear operations and are reduced once, at
    /// the first consumer that is not linear; a whole value added to a
    /// partial sum counts once, not once per device (the results match).
    @Test(arguments: partialSums) func partialSumsAreCarriedThroughLinearOperations(
        what: String, f: @escaping @Sendable ([Tensor]) -> [Tensor], collectives: [String]
    ) throws {
        let n = deviceCount, mesh = dataMesh()
        let args = [hostArray([8, 4 * n], seed: 100), hostArray([4 * n, 6], seed: 101), hostArray([4 * n, 6], seed: 102),
                    hostArray([8, 6], seed: 103)]
        let specs = [PartitionSpec(nil, "data"), PartitionSpec("data", nil), PartitionSpec("data", nil), PartitionSpec.replicated]
        let l = try partitioned(f, args, specs, mesh: mesh, what)
        #expect(names(l) == collectives, "\(what): \(l.partitionReport)")
    }

    /// A sum of partial products asked split over rows is reduce-scattered.
    @Test func carriedPartialSumAskedSplitIsReduceScattered() throws {
        let n = deviceCount, mesh = dataMesh()
        let args = [hostArray([8, 4 * n], seed: 104), hostArray([4 * n, 6], seed: 105), hostArray([4 * n, 6], seed: 106)]
        let rows = try NamedSharding(mesh: mesh, spec: PartitionSpec("data", nil))
        let l = try partitioned({ a in [matmul(a[0], a[1]) + matmul(a[0], a[2])] }, args,
                                [PartitionSpec(nil, "data"), PartitionSpec("data", nil), PartitionSpec("data", nil)],
                                mesh: mesh, outShardings: [rows], "sum of partial products asked over rows")
        #expect(names(l) == ["reduce_scatter data"], "\(l.partitionReport)")
        #expect(layout(l) == [["data"], []])
    }

    /// A tensor-parallel block (Megatron's layout by the parameters' specs
    /// alone): query, key and value projections split by columns, the output
    /// projection by rows, a residual connection. Forward and backward each
    /// all-reduce one activation — the input's cotangent sums the three
    /// projections' partial cotangents before its one psum — and the plan
    /// moves exactly those bytes.
    @Test func tensorParallelBlockAllReducesOneActivationEachWay() throws {
        let n = deviceCount, mesh = dataMesh()
        let (batch, width, heads) = (8, 6, 2 * n)
        let x = hostArray([batch, width], seed: 107)
        let w = (0..<3).map { hostArray([width, heads], seed: 108 + $0) * 0.5 } + [hostArray([heads, width], seed: 111) * 0.5]
        let step: @Sendable ([Tensor]) -> [Tensor] = { a in
            grad { (p: [Tensor]) in
                let (q, k, v) = (matmul(p[0], p[1]), matmul(p[0], p[2]), matmul(p[0], p[3]))
                let y = p[0] + matmul(tanh(q) * sigmoid(k) + v, p[4])
                return square(y).sum()
            }([a[0], a[1], a[2], a[3], a[4]])
        }
        let columns = PartitionSpec(nil, "data")
        let l = try partitioned(step, [x] + w, [.replicated, columns, columns, columns, PartitionSpec("data", nil)], mesh: mesh,
                                "tensor-parallel block")
        #expect(names(l) == ["psum data", "psum data"], "\(l.partitionReport)")
        #expect(l.collectiveBytes == 2 * batch * width * 8, "\(l.partitionReport)")
        #expect((1...4).map { layout(l, $0) } == [[[], ["data"]], [[], ["data"]], [[], ["data"]], [["data"], []]], "\(l.partitionReport)")
    }
}

extension ShardingTests.ShardedJit {
    /// A position embedding's gradient: its cotangent is a sum over the split
    /// batch (a partial sum), scattered into zeros — still a partial sum, so
    /// asked over rows it is one reduce-scatter of the table, not a psum of
    /// the updates.
    @Test func partialUpdatesScatteredIntoZerosStayPartial() throws {
        let n = deviceCount, mesh = dataMesh()
        let x = hostArray([4 * n, 3, 6], seed: 112), table = hostArray([2 * n, 6], seed: 113)
        let positions = Tensor([Int32(0), Int32(1), Int32(0)])
        let f: @Sendable ([Tensor]) -> [Tensor] = { a in
            [grad { (t: Tensor) in square(a[0] + take(t, positions, axis: 0).expandingDims(0)).sum() }(a[1])]
        }
        let rows = try NamedSharding(mesh: mesh, spec: PartitionSpec("data", nil))
        let l = try partitioned(f, [x, table], [PartitionSpec("data", nil, nil), .replicated], mesh: mesh, outShardings: [rows],
                                "position embedding gradient asked over rows")
        #expect(names(l) == ["reduce_scatter data"], "\(l.partitionReport)")
        #expect(l.collectiveBytes == 2 * n * 6 * 8, "\(l.partitionReport)")
        let whole = try partitioned(f, [x, table], [PartitionSpec("data", nil, nil), .replicated], mesh: mesh,
                                    "position embedding gradient, replicated")
        #expect(names(whole) == ["psum data"], "\(whole.partitionReport)")
    }
}
