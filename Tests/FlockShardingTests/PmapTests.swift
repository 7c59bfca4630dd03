import Testing
import FlockTestSupport
@testable import FlockSharding

/// This process's rows of a global array whose leading axis has one entry per device.
func localRows(_ global: Tensor) -> Tensor {
    let L = Distributed.localDeviceCount, me = Distributed.processIndex
    return global[(me * L)..<((me + 1) * L)]
}

/// Per-device functions with collectives over "i"; pmap must equal vmap over all devices.
private let perDevice: [(String, @Sendable (Tensor) -> Tensor)] = [
    ("psum", { x in x / psum(x.sum(), axisName: "i") }),
    ("pmean", { x in pmean(x * x, axisName: "i") }),
    ("pmax", { x in pmax(x, axisName: "i") - x }),
    ("allGather", { x in allGather(x, axisName: "i").sum(axes: [1]) }),
    ("ppermute", { x in
        let n = axisSize("i")
        return ppermute(x, axisName: "i", perm: (0..<n).map { ($0, ($0 + 1) % n) })
    }),
    ("axisIndex", { x in x * axisIndex("i").converted(to: .float64) }),
    ("psumScatter", { x in psumScatter(allGather(x, axisName: "i"), axisName: "i") }),
    ("grad", { x in grad { (v: Tensor) in (psum(v * v, axisName: "i") * sin(v)).sum() }(x) }),
    ("vmap inside", { x in vmap({ r in r * psum(r, axisName: "i") }, inAxes: 0)(x) }),
    ("named vmap inside", { x in vmap({ r in psum(r, axisName: "j") + psum(r, axisName: "i") }, axisName: "j")(x) }),
    ("jit inside", { x in jit { (v: Tensor) in exp(v) / psum(exp(v), axisName: "i") }(x) }),
]

extension ShardingTests {
    @Suite struct Pmap {
        @Test func pmapEqualsVmapOverAllDevices() throws {
            let global = hostArray([deviceCount, 3], seed: 20)
            for (name, f) in perDevice {
                let oracle = vmap(f, axisName: "i")(global)
                let p = pmap({ [f($0[0])] }, axisName: "i")
                let out = try p([localRows(global)])[0]
                #expect(out.shape == oracle.shape && out.spec == PartitionSpec("i"), "\(name): \(out)")
                expectClose(try out.processAllgather(), oracle, rtol: 1e-12, atol: 1e-12, "\(name)")
                expectClose(try p.local([localRows(global)])[0], localRows(oracle), rtol: 1e-12, atol: 1e-12, "\(name) local")
                #expect(p.traceCount == 1, "\(name): traced \(p.traceCount) times")
            }
        }

        @Test func axesStaticArgumentsAndPytrees() throws {
            let n = deviceCount, L = Distributed.localDeviceCount
            let xs = hostArray([3, n], seed: 21), w = hostArray([3], seed: 22)
            // Mapped along axis 1, w broadcast, a static scale; results mapped to axis 1 and unmapped.
            let p = pmap({ a in
                let scale = a[1].item(Double.self)
                let y = a[0] * a[2] * scale
                return [y, psum(y, axisName: "i")]
            }, axisName: "i", inAxes: [1, nil], outAxes: [1, nil], staticBroadcastedArgnums: [1])
            let me = Distributed.processIndex
            let mine = xs[0..., (me * L)..<((me + 1) * L)]
            let outs = try p.local([mine, Tensor(2.0), w])
            expectClose(outs[0], mine * w.expandingDims(1) * 2, rtol: 1e-12, atol: 1e-12)
            expectClose(outs[1], (xs * w.expandingDims(1) * 2).sum(axes: [1]), rtol: 1e-12, atol: 1e-12)
            _ = try p.local([mine, Tensor(3.0), w])
            #expect(p.traceCount == 2, "one trace per static value")
            // Pytrees: a dictionary of stacked leaves.
            let q = pmap({ (t: [String: Tensor]) in ["sum": psum(t["a"]! + t["b"]!, axisName: "i")] }, axisName: "i")
            let a = hostArray([n, 2], seed: 23), b = hostArray([n, 2], seed: 24)
            let r = try q(["a": localRows(a), "b": localRows(b)])
            expectClose(r["sum"]!, Tensor(stacking: (a + b).sum(axes: [0]), count: L), rtol: 1e-12, atol: 1e-12)
        }

        @Test func gradAroundPmapEqualsDenseGrad() throws {
            let x = hostArray([deviceCount, 3], seed: 25), w = hostArray([3], seed: 26)
            let p = pmap({ a in [psum(tanh(a[0] * a[1]), axisName: "i") * a[0]] }, axisName: "i", inAxes: [0, nil])
            let (outs, pullback) = try p.vjp([localRows(x), w])
            let dense = { (v: [Tensor]) -> [Tensor] in
                [vmap({ r in psum(tanh(r * v[1]), axisName: "i") * r }, axisName: "i")(v[0])]
            }
            expectClose(try outs[0].processAllgather(), dense([x, w])[0], rtol: 1e-12, atol: 1e-12)
            let ct = hostArray([deviceCount, 3], seed: 27)
            let cts = try pullback([ShardedArray(ct, sharding: outs[0].sharding)])
            let expected = vjp(dense, [x, w]).pullback([ct])
            expectClose(try cts[0].processAllgather(), expected[0], rtol: 1e-12, atol: 1e-12, "mapped argument")
            expectClose(try cts[1].processAllgather(), expected[1], rtol: 1e-12, atol: 1e-12, "broadcast argument")
        }

        @Test func dataParallelStepEqualsFullBatchStep() throws {
            // A two-layer network; the global batch is split over every device.
            let n = deviceCount * 4
            let k = Random.split(PRNGKey(5), num: 4)
            let params = ["w1": Random.normal(k[0], shape: [5, 8], dtype: .float64) * 0.3, "b1": zeros([8], dtype: .float64),
                          "w2": Random.normal(k[1], shape: [8, 2], dtype: .float64) * 0.3]
            let x = Random.normal(k[2], shape: [n, 5], dtype: .float64), y = Random.normal(k[3], shape: [n, 2], dtype: .float64)
            func loss(_ p: [String: Tensor], _ x: Tensor, _ y: Tensor) -> Tensor {
                let h = tanh(matmul(x, p["w1"]!) + p["b1"]!)
                let r = matmul(h, p["w2"]!) - y
                return (r * r).mean()
            }
            func update(_ p: [String: Tensor], _ g: [String: Tensor]) -> [String: Tensor] { treeMap(p, g) { $0 - 0.1 * $1 } }
            let fullBatch = update(params, grad { loss($0, x, y) }(params))

            // pmap: params replicated (in axis nil), batch mapped, new params unmapped (checked replicated).
            let keys = params.keys.sorted()
            let step = pmap({ a in
                let p = Dictionary(uniqueKeysWithValues: zip(keys, a.prefix(keys.count)))
                let g = pmean(grad { loss($0, a[keys.count], a[keys.count + 1]) }(p), axisName: "batch")
                let q = update(p, g)
                return keys.map { q[$0]! }
            }, axisName: "batch", inAxes: keys.map { _ in nil } + [0, 0], outAxes: keys.map { _ in nil })
            // Each device gets 4 rows: [local devices, 4, …] for this process.
            let L = Distributed.localDeviceCount, me = Distributed.processIndex
            let rows = { (t: Tensor) in t[(me * 4 * L)..<((me + 1) * 4 * L)].reshaped([L, 4] + Array(t.shape.dropFirst())) }
            let outs = try step.local(keys.map { params[$0]! } + [rows(x), rows(y)])
            for (key, out) in zip(keys, outs) { expectClose(out, fullBatch[key]!, rtol: 1e-12, atol: 1e-14, key) }
            // Donating the parameters (unmapped) and the inputs (mapped): the step may write
            // the new parameters into their buffers, and the caller's arrays are deleted.
            let donating = pmap(step.f, axisName: "batch", inAxes: step.inAxes, outAxes: step.outAxes,
                                donateArgnums: Set(0...keys.count))
            let copies = keys.map { params[$0]! + 0 }, inputs = rows(x) + 0, targets = rows(y)
            let donated = try donating.local(copies + [inputs, targets])
            for (key, out) in zip(keys, donated) { expectClose(out, fullBatch[key]!, rtol: 1e-12, atol: 1e-14, "donated \(key)") }
            // Donated arguments are deleted whatever the local device count (as in JAX), although
            // with several devices the plans work on copies of their blocks.
            for (key, c) in zip(keys, copies) { #expect(c.isDeleted, "donated \(key) with \(L) local devices") }
            #expect(inputs.isDeleted, "the donated mapped argument")
            #expect(!targets.isDeleted, "an argument that was not donated")
            for (key, out) in zip(keys, donated) { #expect(!out.isDeleted, "the result \(key) is live") }

            // The same step with shardMap on a 2-D mesh: batch over both axes.
            for mesh in meshes2D() {
                let f = shardMap({ a in
                    let p = Dictionary(uniqueKeysWithValues: zip(keys, a.prefix(keys.count)))
                    let g = pmean(grad { loss($0, a[keys.count], a[keys.count + 1]) }(p), axisNames: ["x", "y"])
                    let q = update(p, g)
                    return keys.map { q[$0]! }
                }, mesh: mesh, inSpecs: keys.map { _ in .replicated } + [PartitionSpec(["x", "y"]), PartitionSpec(["x", "y"])],
                   outSpecs: keys.map { _ in .replicated })
                let outs = try f(keys.map { params[$0]! } + [x, y])
                for (key, out) in zip(keys, outs) { expectClose(try out.processAllgather(), fullBatch[key]!, rtol: 1e-12, atol: 1e-14, "\(mesh) \(key)") }
            }
        }
    }
}

extension Tensor {
    /// `count` copies of `x` stacked along a new leading axis.
    init(stacking x: Tensor, count: Int) { self = stack(Array(repeating: x, count: count)) }
}

extension ShardingTests {
    /// A pytree's pmean, the shape of a data-parallel step's gradient average:
    /// the compiler merges the small float leaves into one all-reduce
    /// (`combineAllReduces`); each leaf must still get its own mean.
    @Suite struct CombinedAllReduces {
        @Test func pmeanOfAPyTreeEqualsVmap() throws {
            let shapes: [[Int]] = [[3, 4], [5], [], [2, 2, 2], [70_000]]
            let f: @Sendable ([Tensor]) -> [Tensor] = { xs in
                let means = pmean(xs, axisName: "i")
                let ints = psum(xs[1].converted(to: .int32), axisName: "i")
                let maxes = pmax(xs[0], axisName: "i")
                return means.map { $0 * 2 } + [ints, maxes, psum(means[0] + 1, axisName: "i")]
            }
            let globals = shapes.enumerated().map { i, s in hostArray([deviceCount] + s, seed: 40 + i) }
            let oracle = vmap(f, axisName: "i")(globals)
            let outs = try pmap(f, axisName: "i").local(globals.map(localRows))
            for (k, (got, want)) in zip(outs, oracle).enumerated() {
                expectClose(got, localRows(want), rtol: 1e-12, atol: 1e-12, "output \(k)")
            }
        }
    }
}
