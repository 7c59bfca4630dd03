import Testing
import FlockTestSupport
@testable import FlockSharding

extension ShardingTests.ShardedJit {
    /// (what, function of x [2n, 4] and xs [2n, 2n, 4], specs of x and xs,
    /// expected collectives, expected layouts of the results). Control flow
    /// keeps its operands' layouts and partitions its bodies once; the values
    /// equal the unpartitioned program's (checked by `partitioned`).
    static let controlFlow: [(String, @Sendable ([Tensor]) -> [Tensor], PartitionSpec, PartitionSpec, [String], [[[String]]])] = [
        ("cond of rows: the predicate's sum is the only collective", { a in
            [cond(a[0].sum() .> Tensor(0.0), { (v: Tensor) in v * 2 }, { (v: Tensor) in exp(v) - 1 }, a[0])]
        }, PartitionSpec("data", nil), .replicated, ["psum data"], [[["data"], []]]),
        ("cond whose branches reduce over the split rows: a psum in each branch", { a in
            [switchCase(Tensor(Int32(1)), [{ (v: Tensor) in v.sum(axes: [0]) }, { (v: Tensor) in (v * v).sum(axes: [0]) }], a[0])]
        }, PartitionSpec("data", nil), .replicated, ["psum data", "psum data"], [[[]]]),
        ("cond: a branch's whole result cut to the other's rows (locally)", { a in
            [cond(Tensor(true), { (v: Tensor) in v * 3 }, { (v: Tensor) in withShardingConstraint(v, .replicated) * 2 }, a[0]),
             cond(Tensor(false), { (v: Tensor) in withShardingConstraint(v, .replicated) * 2 }, { (v: Tensor) in v * 3 }, a[0])]
        }, PartitionSpec("data", nil), .replicated, ["all_gather data", "all_gather data"], [[["data"], []], [["data"], []]]),
        ("while over a row-split carry: no collective", { a in
            let c = whileLoop(condition: { (c: [Tensor]) in c[0] .< Tensor(Int32(3)) },
                              body: { c in [c[0] + Tensor(Int32(1)), tanh(c[1]) * 0.5 + 1] }, initial: [Tensor(Int32(0)), a[0]])
            return [c[1]]
        }, PartitionSpec("data", nil), .replicated, [], [[["data"], []]]),
        ("while whose condition sums the split carry: a psum per test", { a in
            [whileLoop(condition: { (x: Tensor) in x.sum() .< Tensor(1000.0) }, body: { x in x * 2 + 1 }, initial: a[0])]
        }, PartitionSpec("data", nil), .replicated, ["psum data"], [[["data"], []]]),
        ("scan over time with the batch split: no collective", { a in
            let (h, ys) = scan({ (h: Tensor, x: Tensor) in
                let next = tanh(h * 0.5 + x)
                return (next, next.sum(axes: [1]))
            }, initial: a[0], xs: a[1])
            return [h, ys]
        }, PartitionSpec("data", nil), PartitionSpec(nil, "data", nil), [], [[["data"], []], [[], ["data"]]]),
        ("scan over inputs split along time: gathered first", { a in
            let (h, ys) = scan({ (h: Tensor, x: Tensor) in (h + x, h * x) }, initial: a[0], xs: a[1])
            return [h, ys]
        }, .replicated, PartitionSpec("data", nil, nil), ["all_gather data"], [[[], []], [[], [], []]]),
    ]

    @Test(arguments: controlFlow) func controlFlowKeepsItsOperandsLayouts(
        what: String, f: @escaping @Sendable ([Tensor]) -> [Tensor], xSpec: PartitionSpec, xsSpec: PartitionSpec,
        collectives: [String], layouts: [[[String]]]
    ) throws {
        let n = deviceCount, mesh = dataMesh()
        let x = hostArray([2 * n, 4], seed: 31) * 0.5, xs = hostArray([2 * n, 2 * n, 4], seed: 32) * 0.5
        let l = try partitioned(f, [x, xs], [xSpec, xsSpec], mesh: mesh, what)
        #expect(names(l) == collectives, "\(what): \(l.partitionReport)")
        for (j, expected) in layouts.enumerated() {
            #expect(layout(l, j) == expected, "\(what): result \(j): \(l.partitionReport)")
        }
    }

    /// Data parallelism through a recurrence: the gradient of a scanned RNN
    /// with the batch split and the weights replicated equals the
    /// unpartitioned one, and the weight gradient, accumulated in the
    /// backward scan's carry as partial sums over the split batch, stays
    /// partial across the iterations and is reduced once after the loop (not
    /// once per time step).
    @Test func gradientsThroughAScanOverASplitBatch() throws {
        let n = deviceCount, mesh = dataMesh()
        let w = hostArray([4, 4], seed: 33) * 0.4, x0 = hostArray([2 * n, 4], seed: 34), xs = hostArray([6, 2 * n, 4], seed: 35)
        let step: @Sendable ([Tensor]) -> [Tensor] = { a in
            let (loss, g) = valueAndGrad { (w: Tensor) in
                let (h, _) = scan({ (h: Tensor, x: Tensor) in (tanh(matmul(h, w) + x), Tensor(0.0)) }, initial: a[1], xs: a[2])
                return square(h).mean()
            }(a[0])
            return [loss, g]
        }
        let l = try partitioned(step, [w, x0, xs], [.replicated, PartitionSpec("data", nil), PartitionSpec(nil, "data", nil)],
                                mesh: mesh, "dp rnn step")
        #expect(layout(l, 1) == [[], []], "\(l.partitionReport)")
        #expect(!names(l).contains("all_gather data"), "no activation is gathered: \(l.partitionReport)")
        let weightSums = l.collectives.filter { $0.name == "psum" && $0.operand.shape == [4, 4] }
        #expect(weightSums.count == 1 && weightSums.allSatisfy { !$0.reason.hasPrefix("in the scan body") }, "\(l.partitionReport)")
    }

    /// Random values inside the function (a key passed in, as a training
    /// step's dropout does) do not depend on the layouts: they equal the
    /// unpartitioned program's, whatever the activations' split. Random
    /// values asked split (`outShardings`, as `ShardedArray.random` makes
    /// them) are hashed per block: each device's threefry runs on its rows.
    @Test func randomValuesDoNotDependOnTheLayout() throws {
        let n = deviceCount, mesh = dataMesh()
        let x = hostArray([2 * n, 6], seed: 36), key = Random.split(PRNGKey(5), num: 1).data.reshaped([2])
        let f: @Sendable ([Tensor]) -> [Tensor] = { a in
            let k = Random.split(PRNGKey(data: a[1]))
            let keep = Random.bernoulli(k[0], p: 0.7, shape: a[0].shape)
            return [select(keep, a[0] / 0.7, zerosLike(a[0])), Random.normal(k[1], shape: [2 * n, 3], dtype: .float64) + a[0].sum()]
        }
        for spec in [PartitionSpec.replicated, PartitionSpec("data", nil), PartitionSpec(nil, "data")] where spec != PartitionSpec(nil, "data") || 6 % n == 0 {
            _ = try partitioned(f, [x, key], [spec, .replicated], mesh: mesh, "dropout and normal, x laid out \(spec)")
        }
        let rows = try NamedSharding(mesh: mesh, spec: PartitionSpec("data", nil))
        let sample: @Sendable ([Tensor]) -> [Tensor] = { a in [Random.normal(PRNGKey(data: a[0]), shape: [4 * n, 6], dtype: .float64)] }
        let l = try partitioned(sample, [key], [.replicated], mesh: mesh, outShardings: [rows], "normal asked by rows")
        let hashes = try l.compile().perDevice.jaxpr.equations.filter { $0.primitive == .threefry2x32 }.map(\.outputs[0].aval.shape)
        #expect(hashes == [[4, 6]], "threefry shapes \(hashes)")
    }
}
