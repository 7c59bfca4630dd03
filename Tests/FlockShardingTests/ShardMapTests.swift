import Testing
import FlockTestSupport
@testable import FlockSharding

extension ShardingTests {
    /// shardMap: per-device programs with collectives over mesh axes, against dense computations.
    @Suite struct ShardMaps {
        @Test func shardedMatmulEqualsDense() throws {
            let a = hostArray([8, 12], seed: 10), b = hostArray([12, 8], seed: 11)
            let dense = matmul(a, b)
            for mesh in meshes2D() {
                // Rows of a over x: local products.
                let rows = shardMap({ x, w in matmul(x, w) }, mesh: mesh,
                                    inSpecs: (PartitionSpec("x", nil), .replicated), outSpec: PartitionSpec("x", nil))
                // Columns of b over y.
                let cols = shardMap({ x, w in matmul(x, w) }, mesh: mesh,
                                    inSpecs: (.replicated, PartitionSpec(nil, "y")), outSpec: PartitionSpec(nil, "y"))
                // Both: a block of rows times a block of columns, on a 2-D mesh.
                let both = shardMap({ x, w in matmul(x, w) }, mesh: mesh,
                                    inSpecs: (PartitionSpec("x", nil), PartitionSpec(nil, "y")), outSpec: PartitionSpec("x", "y"))
                // Contraction split over y: partial products summed with a psum.
                let contracted = shardMap({ x, w in psum(matmul(x, w), axisName: "y") }, mesh: mesh,
                                          inSpecs: (PartitionSpec("x", "y"), PartitionSpec("y", nil)), outSpec: PartitionSpec("x", nil))
                // The same with the sum scattered over y (a reduce-scatter): columns over y.
                let scattered = shardMap({ x, w in psumScatter(matmul(x, w), axisName: "y", scatterDimension: 1, tiled: true) },
                                         mesh: mesh, inSpecs: (PartitionSpec("x", "y"), PartitionSpec("y", nil)),
                                         outSpec: PartitionSpec("x", "y"))
                for (name, f) in [("rows", rows), ("columns", cols), ("both", both), ("contracted", contracted), ("scattered", scattered)] {
                    let inA = try ShardedArray(a, sharding: NamedSharding(mesh: mesh, spec: .replicated))
                    let inB = try ShardedArray(b, sharding: NamedSharding(mesh: mesh, spec: .replicated))
                    let c = try f(inA, inB)  // resharded to the in specs
                    expectClose(try c.processAllgather(), dense, rtol: 1e-12, atol: 1e-12, "\(name) on \(mesh)")
                }
            }
        }

        @Test func collectivesOverSeveralMeshAxes() throws {
            let x = hostArray([deviceCount * 2, 3], seed: 12)
            for mesh in meshes2D() {
                let f = shardMap({ a in
                    [psum(a[0], axisNames: ["x", "y"]), allGather(a[0], axisNames: ["x", "y"], axis: 0, tiled: true),
                     axisIndex(axisNames: ["x", "y"]).reshaped([1])]
                }, mesh: mesh, inSpecs: [PartitionSpec(["x", "y"], nil)],
                   outSpecs: [.replicated, .replicated, PartitionSpec(["x", "y"])])
                let outs = try f([x])
                let blocks = (0..<deviceCount).map { x[(2 * $0)..<(2 * $0 + 2)] }
                expectClose(try outs[0].processAllgather(), blocks.dropFirst().reduce(blocks[0], +), rtol: 1e-12, atol: 1e-12, "psum over x, y on \(mesh)")
                expectClose(try outs[1].processAllgather(), x, rtol: 1e-12, atol: 1e-12, "allGather over x, y on \(mesh)")
                #expect(try outs[2].processAllgather().toArray(Int32.self) == (0..<Int32(deviceCount)).map { $0 }, "axisIndex on \(mesh)")
            }
        }

        @Test func meshesOverReorderedDevices() throws {
            // Devices listed last process first: groups still hold each process's devices together.
            let n = deviceCount, L = Distributed.localDeviceCount
            let reversed = (0..<Distributed.processCount).reversed().flatMap { p in (p * L)..<((p + 1) * L) }
            let mesh = try Mesh(shape: [n], axisNames: ["r"], devices: reversed)
            let x = hostArray([n, 2], seed: 19)
            let f = shardMap({ a in [a[0] * axisIndex("r").converted(to: .float64), psum(a[0], axisName: "r")] }, mesh: mesh,
                             inSpecs: [PartitionSpec("r")], outSpecs: [PartitionSpec("r"), .replicated])
            let outs = try f([x])
            expectClose(try outs[0].processAllgather(), x * arange(n, dtype: .float64).reshaped([n, 1]), rtol: 1e-12, atol: 1e-12)
            expectClose(try outs[1].processAllgather(), x.sum(axes: [0], keepDims: true), rtol: 1e-12, atol: 1e-12)
            // Devices of different processes interleaved within a group: reported.
            guard Distributed.processCount > 1, L > 1 else { return }
            let interleaved = (0..<L).flatMap { l in (0..<Distributed.processCount).map { $0 * L + l } }
            let bad = try Mesh(shape: [n], axisNames: ["r"], devices: interleaved)
            let message = errorMessage { _ = try shardMap({ $0 }, mesh: bad, inSpecs: [.replicated], outSpecs: [.replicated])([x]) }
            #expect(message?.contains("each group of an axis must hold the same number of devices of each of its processes") == true,
                    "\(message ?? "no error")")
        }

        @Test func perDeviceFunctionIsTracedOncePerSignature() throws {
            let mesh = dataMesh()
            let f = shardMap({ a in [tanh(a[0]) * 2] }, mesh: mesh, inSpecs: [PartitionSpec("data")], outSpecs: [PartitionSpec("data")])
            let x = hostArray([deviceCount * 3])
            _ = try f([x])
            let y = try f([x * 2])
            #expect(f.traceCount == 1)
            expectClose(try y[0].processAllgather(), tanh(x * 2) * 2, rtol: 1e-12, atol: 1e-12)
            _ = try f([hostArray([deviceCount * 5])])
            #expect(f.traceCount == 2)
        }

        @Test func replicationIsChecked() throws {
            let mesh = dataMesh()
            let x = hostArray([deviceCount * 2])
            // The sum of a sharded value differs between devices: it must be psummed to be replicated.
            let unreduced = shardMap({ a in [a[0].sum()] }, mesh: mesh, inSpecs: [PartitionSpec("data")], outSpecs: [.replicated])
            let message = errorMessage { _ = try unreduced([x]) }
            #expect(message?.contains("result 0 (per-device f64[]) varies along mesh axes [\"data\"]") == true, "\(message ?? "no error")")
            let reduced = shardMap({ a in [psum(a[0].sum(), axisName: "data")] }, mesh: mesh,
                                   inSpecs: [PartitionSpec("data")], outSpecs: [.replicated])
            expectClose(try reduced([x])[0].processAllgather(), x.sum(), rtol: 1e-12, atol: 1e-12)
            // Through control flow and a nested jit: the analysis follows the jaxprs.
            let inner = jit { (v: Tensor) in pmax(v, axisName: "data") }
            let nested = shardMap({ a in [cond(a[1].sum() .> 0, { inner($0) }, { $0 * 0 }, a[0])] }, mesh: mesh,
                                  inSpecs: [PartitionSpec("data"), .replicated], outSpecs: [.replicated])
            let nestedMessage = errorMessage { _ = try nested([x, Tensor([1.0])]) }
            #expect(nestedMessage?.contains("varies along") == true, "a replicated predicate with a varying false branch: \(nestedMessage ?? "no error")")
            let unchecked = shardMap({ a in [a[0].sum()] }, mesh: mesh, inSpecs: [PartitionSpec("data")], outSpecs: [.replicated], checkRep: false)
            #expect(try unchecked([x])[0].shape == [])
        }

        @Test func gradInsideEqualsDenseGrad() throws {
            // Loss of a linear model over a batch split across devices; gradient of the
            // replicated weights averaged with pmean = full-batch gradient.
            let n = deviceCount * 4
            let xs = hostArray([n, 3], seed: 13), ys = hostArray([n], seed: 14), w = hostArray([3], seed: 15)
            let loss = { (w: Tensor, x: Tensor, y: Tensor) -> Tensor in
                let r = matmul(x, w) - y
                return (r * r).mean()
            }
            let f = shardMap({ a in
                [pmean(grad { (w: Tensor) in loss(w, a[1], a[2]) }(a[0]), axisName: "data")]
            }, mesh: dataMesh(), inSpecs: [.replicated, PartitionSpec("data", nil), PartitionSpec("data")], outSpecs: [.replicated])
            let g = try f([w, xs, ys])[0]
            expectClose(try g.processAllgather(), grad { (w: Tensor) in loss(w, xs, ys) }(w), rtol: 1e-12, atol: 1e-13)
        }

        @Test func gradAroundEqualsDenseGrad() throws {
            let n = deviceCount * 2
            let x = hostArray([n, 4], seed: 16), w = hostArray([4, 3], seed: 17)
            for mesh in meshes2D() {
                // Sum of tanh(x w): rows over x, columns of w over y; the scalar is replicated.
                let f = shardMap({ a in [psum(tanh(matmul(a[0], a[1])).sum(), axisNames: ["x", "y"])] }, mesh: mesh,
                                 inSpecs: [PartitionSpec("x", nil), PartitionSpec(nil, "y")], outSpecs: [.replicated])
                guard n % mesh.shape[0] == 0, 3 % mesh.shape[1] == 0 else { continue }
                let args = [try ShardedArray(x, sharding: NamedSharding(mesh: mesh, spec: PartitionSpec("x", nil))),
                            try ShardedArray(w, sharding: NamedSharding(mesh: mesh, spec: PartitionSpec(nil, "y")))]
                let (value, grads) = try f.valueAndGrad(args)
                let dense = { (p: [Tensor]) in tanh(matmul(p[0], p[1])).sum() }
                let (expectedValue, expectedGrads) = valueAndGrad(dense)([x, w])
                expectClose(try value.processAllgather(), expectedValue, rtol: 1e-12, atol: 1e-12, "value on \(mesh)")
                expectClose(try grads[0].processAllgather(), expectedGrads[0], rtol: 1e-12, atol: 1e-12, "dx on \(mesh)")
                expectClose(try grads[1].processAllgather(), expectedGrads[1], rtol: 1e-12, atol: 1e-12, "dw on \(mesh)")
                // vjp with a non-trivial cotangent of a sharded result.
                let g = shardMap({ a in [tanh(matmul(a[0], a[1]))] }, mesh: mesh,
                                 inSpecs: [PartitionSpec("x", nil), .replicated], outSpecs: [PartitionSpec("x", nil)])
                let wArg = try ShardedArray(w, sharding: NamedSharding(mesh: mesh, spec: .replicated))
                let (outs, pullback) = try g.vjp([args[0], wArg])
                let ct = hostArray([n, 3], seed: 18)
                let cts = try pullback([ShardedArray(ct, sharding: outs[0].sharding)])
                let (_, densePullback) = vjp({ (p: [Tensor]) in [tanh(matmul(p[0], p[1]))] }, [x, w])
                let expected = densePullback([ct])
                expectClose(try cts[0].processAllgather(), expected[0], rtol: 1e-12, atol: 1e-12, "vjp dx on \(mesh)")
                expectClose(try cts[1].processAllgather(), expected[1], rtol: 1e-12, atol: 1e-12, "vjp dw on \(mesh)")
            }
        }
    }
}
