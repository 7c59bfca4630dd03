import Testing
import FlockTestSupport
@testable import FlockSharding

extension ShardingTests.ShardedJit {
    /// Each step of the per-device program: "reshard" or the primitive's name.
    func stepNames(_ l: ShardedLoweredFunction) -> [String] {
        l.program.steps.map {
            switch $0 {
            case .apply(let p, _, _): p.name
            case .reshard: "reshard"
            case .control(let c, _, _): c.name
            }
        }
    }

    /// (function, argument shapes, output sharding, expected steps): the
    /// arguments are replicated and the result is asked split over "data", so
    /// backward propagation cuts the arguments first and every operation runs
    /// on local blocks (forward only, the whole result is computed and cut last).
    static let backward: [(String, @Sendable ([Tensor]) -> [Tensor], [[Int]], PartitionSpec, [String])] = [
        ("elementwise chain", { a in [exp(a[0]) * a[1]] }, [[4, 6], [4, 6]], PartitionSpec("data", nil),
         ["reshard", "exp", "reshard", "mul"]),
        ("transpose", { a in [exp(a[0]).transposed()] }, [[4, 6]], PartitionSpec("data", nil), ["reshard", "exp", "transpose"]),
        ("matmul rows", { a in [matmul(a[0], a[1])] }, [[4, 6], [6, 2]], PartitionSpec("data", nil), ["reshard", "dot_general"]),
        ("matmul columns", { a in [matmul(a[0], a[1])] }, [[4, 6], [6, 4]], PartitionSpec(nil, "data"), ["reshard", "dot_general"]),
        ("reduction", { a in [exp(a[0]).sum(axes: [1])] }, [[4, 6]], PartitionSpec("data"), ["reshard", "exp", "reduce_sum"]),
    ]

    @Test(arguments: backward) func layoutsFlowBackFromTheOutputsToReplicatedArguments(
        what: String, f: @escaping @Sendable ([Tensor]) -> [Tensor], shapes: [[Int]], out: PartitionSpec, steps: [String]
    ) throws {
        let n = deviceCount, mesh = dataMesh()
        let args = shapes.enumerated().map { i, s in hostArray([s[0] * n] + s.dropFirst().map { $0 * n }, seed: 60 + i) }
        let wanted = try NamedSharding(mesh: mesh, spec: out)
        let l = try partitioned(f, args, args.map { _ in .replicated }, mesh: mesh, outShardings: [wanted], what)
        #expect(l.collectives.isEmpty, "\(what): \(l.partitionReport)")
        #expect(stepNames(l) == steps, "\(what)")
        #expect(layout(l) == out.padded(l.jaxpr.outputAvals[0].rank), "\(what)")
    }

    @Test func constraintsFlowBackAndArgumentsKeepTheirLayouts() throws {
        let n = deviceCount, mesh = dataMesh(), x = hostArray([2 * n, 2 * n], seed: 70)
        // A constraint in the middle: the producer chain before it runs on blocks.
        let f: ([Tensor]) -> [Tensor] = { a in [withShardingConstraint(tanh(a[0]) * 3, PartitionSpec(nil, "data")).sum()] }
        let l = try partitioned(f, [x], [.replicated], mesh: mesh, "constraint in the middle")
        #expect(Array(stepNames(l).prefix(3)) == ["reshard", "tanh", "mul"], "\(l.partitionReport)")
        #expect(names(l) == ["psum data"], "\(l.partitionReport)")
        // An argument's own split outranks a layout propagated back: it is
        // moved once, at the constraint (no extra work before it).
        let g = try partitioned({ a in [withShardingConstraint(tanh(a[0]), PartitionSpec(nil, "data"))] }, [x],
                                [PartitionSpec("data", nil)], mesh: mesh, "argument split otherwise")
        #expect(names(g) == ["all_to_all data"] && stepNames(g) == ["tanh", "reshard"], "\(g.partitionReport)")
        // A constraint on an already-constrained value reshards it (no conflict).
        let h = try partitioned({ a in [withShardingConstraint(withShardingConstraint(a[0] * 2, PartitionSpec("data", nil)), PartitionSpec(nil, "data"))] },
                                [x], [.replicated], mesh: mesh, "chained constraints")
        #expect(layout(h) == [[], ["data"]], "\(h.partitionReport)")
        // The same constraint twice on one value is no conflict either.
        let same = try partitioned({ a in [withShardingConstraint(a[0], PartitionSpec("data", nil)) + withShardingConstraint(a[0], PartitionSpec("data", nil))] },
                                   [x], [.replicated], mesh: mesh, "one constraint twice")
        #expect(layout(same) == [["data"], []], "\(same.partitionReport)")
    }

    /// FSDP's pattern: a gradient asked split along a dimension that the
    /// backward pass maps onto the activations' features. The activations
    /// take their layout forward from the batch-split argument, so the
    /// asked layout stops there and does not cut the replicated bias that
    /// meets them (which then needed an all-to-all to match the activations).
    @Test func layoutsAskedByGradientsDoNotReshapeArgumentDerivedActivations() throws {
        let n = deviceCount, mesh = dataMesh()
        let x = hostArray([2 * n, 4], seed: 80), w = hostArray([4, 2 * n], seed: 81), b = hostArray([2 * n], seed: 82)
        let f: ([Tensor]) -> [Tensor] = { a in
            [grad { (w: Tensor) in tanh(matmul(a[0], w) + a[2]).sum() }(a[1])]
        }
        let asked = try NamedSharding(mesh: mesh, spec: PartitionSpec(nil, "data"))
        let l = try partitioned(f, [x, w, b], [PartitionSpec("data", nil), .replicated, .replicated], mesh: mesh,
                                outShardings: [asked], "gradient asked split over its columns")
        #expect(!names(l).contains { $0.hasPrefix("all_to_all") }, "\(l.partitionReport)")
        #expect(layout(l) == [[], ["data"]], "\(l.partitionReport)")
    }

    @Test func conflictingAndMisfitConstraintsAreErrorsOnEveryProcess() throws {
        let n = deviceCount, mesh = dataMesh()
        let x = try ShardedArray(hostArray([2 * n, 2 * n]), sharding: NamedSharding(mesh: mesh, spec: PartitionSpec("data", nil)))
        expectError(["withShardingConstraint: conflicting constraints on one value of shape [\(2 * n), \(2 * n)]",
                     "withShardingConstraint(PartitionSpec('data', None))", "withShardingConstraint(PartitionSpec(None, 'data'))",
                     "make them agree or drop one"]) {
            _ = try jit(inShardings: nil) { a in
                [withShardingConstraint(a[0], PartitionSpec("data", nil)) + withShardingConstraint(a[0], PartitionSpec(nil, "data"))]
            }([x])
        }
        // Conflicting constraints on an intermediate value, the one read first being replicated.
        expectError(["conflicting constraints on one value of shape [\(2 * n), \(2 * n)]"]) {
            _ = try jit(inShardings: nil) { a in
                let h = exp(a[0])
                return [withShardingConstraint(h, .replicated) * withShardingConstraint(h, PartitionSpec(nil, "data"))]
            }([x])
        }
        expectError(["withShardingConstraint on a value of shape [\(2 * n), \(2 * n)]: PartitionSpec(None, None, 'data') has 3 entries but the array has rank 2"]) {
            _ = try jit(inShardings: nil) { [withShardingConstraint($0[0], PartitionSpec(nil, nil, "data"))] }([x])
        }
        expectError(["withShardingConstraint: NamedSharding: PartitionSpec('model') names axis 'model' which is not in Mesh('data': \(n))"]) {
            _ = try jit(inShardings: nil) { [withShardingConstraint(exp($0[0]), PartitionSpec("model"))] }([x])
        }
    }
}
