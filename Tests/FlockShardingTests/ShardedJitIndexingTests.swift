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

extension ShardingTests.ShardedJit {
    /// An embedding's gradient: the scatter-add of the lookup's cotangent.
    @Sendable static func embeddingGradient(_ a: [Tensor]) -> [Tensor] {
        [grad { (t: Tensor) in square(take(t, a[1], axis: 0)).sum() }(a[0])]
    }

    /// (what, function of a table [4n, 6n] and row indices [2n], specs, the
    /// result's requested spec (nil: propagated), expected collectives,
    /// expected layout of the result).
    static let scatters: [(String, @Sendable ([Tensor]) -> [Tensor], PartitionSpec, PartitionSpec, PartitionSpec?, [String], [[String]])] = [
        ("embedding gradient, indices over the batch: one psum of the table", embeddingGradient, .replicated, PartitionSpec("data"), nil,
         ["psum data"], [[], []]),
        ("embedding gradient asked over rows: a reduce-scatter", embeddingGradient, .replicated, PartitionSpec("data"),
         PartitionSpec("data", nil), ["reduce_scatter data"], [["data"], []]),
        ("embedding gradient, table over columns", embeddingGradient, PartitionSpec(nil, "data"), .replicated, nil, [], [[], ["data"]]),
        ("embedding gradient, table over rows: gathered for the lookup", embeddingGradient, PartitionSpec("data", nil), PartitionSpec("data"),
         PartitionSpec("data", nil), ["all_gather data", "reduce_scatter data"], [["data"], []]),
        ("scatter-add into a table, updates over the batch", { a in [a[0].at(a[1]).add(exp(take(a[0], a[1], axis: 0)))] },
         .replicated, PartitionSpec("data"), nil, ["psum data"], [[], []]),
        ("scatter-add into a table over columns, updates over the batch", { a in [a[0].at(a[1]).add(exp(take(a[0], a[1], axis: 0)))] },
         PartitionSpec(nil, "data"), PartitionSpec("data"), nil, ["all_gather data", "all_gather data"], [[], ["data"]]),
        ("scatter (replace), updates over the batch: gathered", { a in [a[0].at(a[1]).set(exp(take(a[0], a[1], axis: 0)))] },
         .replicated, PartitionSpec("data"), nil, ["all_gather data", "all_gather data"], [[], []]),
        ("scatter-add into a table over rows: gathered", { a in [a[0].at(a[1]).add(exp(take(a[0], a[1], axis: 0)))] },
         PartitionSpec("data", nil), .replicated, nil, ["all_gather data"], [[], []]),
    ]

    /// Scatter-add keeps its updates' batch split and yields partial sums
    /// (psum, or a reduce-scatter when the result is asked split); the
    /// result equals the unpartitioned program's (repeated indices included).
    @Test(arguments: scatters) func scatterAddOfUpdatesSplitOverTheBatchIsAPartialSum(
        what: String, f: @escaping @Sendable ([Tensor]) -> [Tensor], table: PartitionSpec, indices: PartitionSpec,
        out: PartitionSpec?, collectives: [String], layout expected: [[String]]
    ) throws {
        let n = deviceCount, mesh = dataMesh()
        let t = hostArray([4 * n, 6 * n], seed: 91), idx = Tensor((0..<(2 * n)).map { Int32(($0 * 3 + 1) % (2 * n)) })
        let outShardings = try out.map { [try NamedSharding(mesh: mesh, spec: $0)] }
        let l = try partitioned(f, [t, idx], [table, indices], mesh: mesh, outShardings: outShardings, what)
        #expect(names(l) == collectives, "\(what): \(l.partitionReport)")
        #expect(layout(l) == expected, "\(what): \(l.partitionReport)")
    }

    /// A data-parallel and a fully sharded step of an embedding and a dense
    /// layer: the inserted collectives move exactly the analytical minimum
    /// (dp: one all-reduce of the gradients; fsdp: an all-gather of the
    /// parameters and a reduce-scatter of the gradients), no activation.
    @Test func embeddingStepMovesTheAnalyticalMinimum() throws {
        let n = deviceCount, mesh = dataMesh()
        let (vocab, width, out) = (4 * n, 2 * n, 2)
        let table = hostArray([vocab, width], seed: 92) * 0.5, w = hostArray([width, out], seed: 93) * 0.5
        let ids = Tensor((0..<(4 * n * 3)).map { Int32(($0 * 7 + 2) % vocab) }).reshaped([4 * n, 3])
        let step: @Sendable ([Tensor]) -> [Tensor] = { a in
            grad { (p: [Tensor]) in square(tanh(matmul(take(p[0], a[2], axis: 0), p[1]))).mean() }([a[0], a[1]])
        }
        let parameterBytes = (vocab * width + width * out) * 8
        let dp = try partitioned(step, [table, w, ids], [.replicated, .replicated, PartitionSpec("data", nil)], mesh: mesh, "dp step")
        #expect(names(dp) == ["psum data", "psum data"], "\(dp.partitionReport)")
        #expect(dp.collectiveBytes == parameterBytes, "\(dp.partitionReport)")
        let rows = try NamedSharding(mesh: mesh, spec: PartitionSpec("data", nil))
        let fsdp = try partitioned(step, [table, w, ids], [PartitionSpec("data", nil), PartitionSpec("data", nil), PartitionSpec("data", nil)],
                                   mesh: mesh, outShardings: [rows, rows], "fsdp step")
        #expect(names(fsdp).sorted() == ["all_gather data", "all_gather data", "reduce_scatter data", "reduce_scatter data"],
                "\(fsdp.partitionReport)")
        #expect(fsdp.collectiveBytes == parameterBytes / n + parameterBytes, "\(fsdp.partitionReport)")
    }

    /// FSDP of an 8-layer MLP whose parameters outweigh its activations:
    /// each layer's weight is gathered for its forward use and again for its
    /// backward use (not the last layer's, whose backward follows its
    /// forward, nor the first's, whose input has no gradient), and each
    /// gradient is reduce-scattered as soon as it is complete, so one
    /// device's peak holds its 1/N of the parameters and of the gradients
    /// plus one whole layer (a gathered weight, or a gradient before its
    /// reduce-scatter), never the whole model. The same whether the products
    /// gather the weights or a sharding constraint does (as train-lm's FSDP
    /// layout writes it).
    @Test(arguments: [false, true]) func fsdpHoldsOneNthOfTheModelPlusALayer(constrained: Bool) throws {
        let n = deviceCount, mesh = dataMesh()
        let (layers, width, batch) = (8, 32 * n, 2 * n)
        let weights = (0..<layers).map { hostArray([width, width], seed: 100 + $0) * (1 / Double(width).squareRoot()) }
        let x = hostArray([batch, width], seed: 99)
        let step: @Sendable ([Tensor]) -> [Tensor] = { a in
            grad { (w: [Tensor]) in
                square(w.reduce(a[layers]) { h, wi in
                    tanh(matmul(h, constrained ? withShardingConstraint(wi, .replicated) : wi))
                }).mean()
            }(Array(a[..<layers]))
        }
        let rows = PartitionSpec("data", nil), rowSharding = try NamedSharding(mesh: mesh, spec: rows)
        let fsdp = try partitioned(step, weights + [x], Array(repeating: rows, count: layers + 1), mesh: mesh,
                                   outShardings: Array(repeating: rowSharding, count: layers), "fsdp mlp, constrained: \(constrained)")
        let layer = width * width * 8, parameters = layers * layer
        #expect(names(fsdp).filter { $0 == "all_gather data" }.count == 2 * layers - 2, "\(fsdp.partitionReport)")
        #expect(names(fsdp).filter { $0 == "reduce_scatter data" }.count == layers, "\(fsdp.partitionReport)")
        #expect(fsdp.collectiveBytes == parameters / n + (parameters - 2 * layer) / n + parameters, "\(fsdp.partitionReport)")
        // Activations: the input and, per layer, its product and tanh (saved
        // for the backward pass) and their cotangents, on a device's rows.
        let activations = (1 + 4 * layers) * (batch / n) * width * 8
        let peak = try fsdp.perDevicePeakBytes()
        #expect(peak <= 2 * parameters / n + layer + activations,
                "peak \(peak) B: parameters \(parameters) B, layer \(layer) B, activations \(activations) B")
        if n > 1 {
            // Keeping the forward copies would hold the whole model at the turn.
            #expect(peak < parameters / n + parameters, "peak \(peak) B, parameters \(parameters) B")
        }
    }
}
