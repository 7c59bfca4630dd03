import Testing
import FlockTestSupport
@testable import FlockSharding

extension ShardingTests.ShardedJit {
    /// A data-parallel gradient of a dictionary of parameters: the trees'
    /// leaves are partitioned as the flat function's, the result is a tree of
    /// the same structure, equal to the unpartitioned gradient.
    @Test func pytreesOfShardedArraysAndOfShardings() throws {
        let n = deviceCount, mesh = dataMesh()
        let params = ["w": hostArray([3, 4], seed: 120) * 0.5, "b": hostArray([4], seed: 121) * 0.1]
        let xs = hostArray([2 * n, 3], seed: 122)
        let replicated = try NamedSharding(mesh: mesh, spec: .replicated), rows = try NamedSharding(mesh: mesh, spec: PartitionSpec("data", nil))
        let loss = { (p: [String: Tensor], x: Tensor) in square(tanh(matmul(x, p["w"]!) + p["b"]!)).mean() }
        let expected = jit({ (p: [String: Tensor], x: Tensor) in grad { loss($0, x) }(p) })(params, xs)
        // Shardings from the arguments; then asked as pytree prefixes (the
        // batch given replicated and laid out over rows by inShardings).
        let cases: [(String, [TreeSharding?]?, ShardedTree<Tensor>)] = [
            ("the arguments' own", nil, try ShardedTree(xs, sharding: rows)),
            ("asked per tree", [.leaves([nil, nil]), .all(rows)], try ShardedTree(xs, sharding: replicated)),
        ]
        for (what, inShardings, batch) in cases {
            let step = jit(inShardings: inShardings, outShardings: .all(replicated)) { (p: [String: Tensor], x: Tensor) in
                grad { loss($0, x) }(p)
            }
            let g = try step(try ShardedTree(params, sharding: replicated), batch)
            let whole = try g.processAllgather()
            #expect(Set(whole.keys) == ["w", "b"], "\(what)")
            for k in ["w", "b"] { expectClose(whole[k]!, expected[k]!, rtol: 1e-12, atol: 1e-12, "\(what): \(k)") }
            #expect(g.shardings == [replicated, replicated], "\(what)")
            let lowered = try step.lower(try ShardedTree(params, sharding: replicated), batch)
            #expect(lowered.inShardings.last == rows, "\(what): \(lowered.partitionReport)")
            #expect(Set(lowered.collectives.map(\.name)) == ["psum"], "\(what): \(lowered.partitionReport)")
        }
    }

    @Test func treeShardingsThatDoNotMatchTheTreesAreErrors() throws {
        let mesh = dataMesh(), replicated = try NamedSharding(mesh: mesh, spec: .replicated)
        let params = ["w": hostArray([3, 4], seed: 123), "b": hostArray([4], seed: 124)]
        let tree = try ShardedTree(params, sharding: replicated)
        let id = { (p: [String: Tensor]) in p }
        expectError(["ShardedTree", "3 shardings for a tree of 2 leaves"]) {
            _ = try ShardedTree(params, shardings: [replicated, replicated, replicated])
        }
        expectError(["inShardings[0] for argument 0", "1 shardings for a tree of 2 leaves"]) {
            _ = try jit(inShardings: [.leaves([replicated])], id)(tree)
        }
        expectError(["inShardings has 2 entries", "takes 1 arguments"]) {
            _ = try jit(inShardings: [nil, nil], id)(tree)
        }
        expectError(["outShardings for the result", "3 shardings for a tree of 2 leaves"]) {
            _ = try jit(inShardings: nil, outShardings: .leaves([nil, nil, nil]), id)(tree)
        }
    }

    /// A function returning a Swift tuple of pytrees gives one ShardedTree per
    /// element, each equal to the unpartitioned element: (loss, grads) of a
    /// data-parallel step, then a three-element tuple with asked layouts.
    @Test func tuplesOfPytreesAsResults() throws {
        let n = deviceCount, mesh = dataMesh()
        let params = ["w": hostArray([3, 4], seed: 125) * 0.5, "b": hostArray([4], seed: 126) * 0.1]
        let xs = hostArray([2 * n, 3], seed: 127)
        let replicated = try NamedSharding(mesh: mesh, spec: .replicated), rows = try NamedSharding(mesh: mesh, spec: PartitionSpec("data", nil))
        let loss = { (p: [String: Tensor], x: Tensor) in square(tanh(matmul(x, p["w"]!) + p["b"]!)).mean() }
        let (expectedLoss, expectedGrads) = jit({ (p: [String: Tensor], x: Tensor) in valueAndGrad { loss($0, x) }(p) })(params, xs)

        let step = jit(inShardings: nil, outShardings: .all(replicated)) { (p: [String: Tensor], x: Tensor) in
            let (l, g) = valueAndGrad { loss($0, x) }(p)  // a labelled tuple: unlabelled to return
            return (l, g)
        }
        let (l, g) = try step(try ShardedTree(params, sharding: replicated), try ShardedTree(xs, sharding: rows))
        expectClose(try l.processAllgather(), expectedLoss, rtol: 1e-12, atol: 1e-12, "loss")
        let grads = try g.processAllgather()
        for k in ["w", "b"] { expectClose(grads[k]!, expectedGrads[k]!, rtol: 1e-12, atol: 1e-12, "grad \(k)") }
        #expect(l.shardings == [replicated] && g.shardings == [replicated, replicated])

        // Three elements, the last left split over the batch (asked per leaf, in the elements' order).
        let three = jit(inShardings: nil, outShardings: .leaves([replicated, replicated, replicated, rows])) {
            (p: [String: Tensor], x: Tensor) in (loss(p, x), treeMap(p) { $0 * 2 }, tanh(x))
        }
        let (a, b, c) = try three(try ShardedTree(params, sharding: replicated), try ShardedTree(xs, sharding: rows))
        expectClose(try a.processAllgather(), expectedLoss, rtol: 1e-12, atol: 1e-12, "three: loss")
        let doubled = try b.processAllgather()
        for k in ["w", "b"] { expectClose(doubled[k]!, params[k]! * 2, rtol: 0, atol: 0, "three: doubled \(k)") }
        expectClose(try c.processAllgather(), tanh(xs), rtol: 1e-12, atol: 1e-12, "three: tanh")
        #expect(c.shardings == [try NamedSharding(mesh: mesh, spec: PartitionSpec("data"))], "rows (trailing nil dropped)")
        let lowered = try three.lower(try ShardedTree(params, sharding: replicated), try ShardedTree(xs, sharding: rows))
        #expect(lowered.outShardings.count == 4, "\(lowered.partitionReport)")
    }
}
