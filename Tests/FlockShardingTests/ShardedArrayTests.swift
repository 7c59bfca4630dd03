import Testing
import FlockTestSupport
@testable import FlockSharding

extension ShardingTests {
    /// Creating sharded arrays, reading them back, moving them between layouts.
    @Suite struct ShardedArrays {
        @Test func hostArrayRoundTripsOnEveryMesh() throws {
            let x = hostArray([8, 12])
            for mesh in meshes2D() {
                for spec in specs2D {
                    let s = try ShardedArray(x, sharding: NamedSharding(mesh: mesh, spec: spec))
                    #expect(s.shape == [8, 12] && s.dtype == .float64)
                    #expect(s.addressableShards.count == Distributed.localDeviceCount)
                    for shard in s.addressableShards {
                        let cut = x[shard.index[0], shard.index[1]]
                        expectClose(shard.data, cut, rtol: 1e-12, atol: 1e-12, "\(mesh) \(spec) device \(shard.device)")
                    }
                    expectClose(try s.processAllgather(), x, rtol: 1e-12, atol: 1e-12, "processAllgather \(mesh) \(spec)")
                    let root = Distributed.processCount - 1
                    let atRoot = try s.gathered(toProcess: root)
                    #expect((atRoot != nil) == (Distributed.processIndex == root))
                    if let atRoot { expectClose(atRoot, x, rtol: 1e-12, atol: 1e-12, "gathered(toProcess:)") }
                }
            }
        }

        @Test func processLocalDataRoundTrips() throws {
            let p = Distributed.processCount, me = Distributed.processIndex
            for mesh in meshes2D() {
                // Rows over every mesh axis: each process holds a contiguous band of rows.
                let sharding = try NamedSharding(mesh: mesh, spec: PartitionSpec(["x", "y"], nil))
                let rowsPerProcess = 4 * Distributed.localDeviceCount
                let global = hostArray([rowsPerProcess * p, 3], seed: 1)
                let mine = global[(me * rowsPerProcess)..<((me + 1) * rowsPerProcess)]
                let s = try makeArrayFromProcessLocalData(sharding, mine)
                #expect(s.shape == global.shape)
                expectClose(try s.processAllgather(), global, rtol: 1e-12, atol: 1e-12, "\(mesh)")
                expectClose(try s.processLocalData, mine, rtol: 1e-12, atol: 1e-12, "processLocalData \(mesh)")
                let explicit = try ShardedArray(processLocalData: mine, sharding: sharding, globalShape: global.shape)
                expectClose(try explicit.processAllgather(), global, rtol: 1e-12, atol: 1e-12)
            }
            // Replicated data: every process passes the whole array.
            let r = try makeArrayFromProcessLocalData(NamedSharding(mesh: dataMesh(), spec: .replicated), hostArray([3]))
            expectClose(try r.processAllgather(), hostArray([3]), rtol: 1e-12, atol: 1e-12)
        }

        @Test func everyReshardRoundTrips() throws {
            let x = hostArray([8, 12], seed: 2)
            for mesh in meshes2D() {
                for from in specs2D {
                    let a = try ShardedArray(x, sharding: NamedSharding(mesh: mesh, spec: from))
                    for to in specs2D {
                        let b = try a.resharded(to: to)
                        #expect(b.spec == to)
                        for shard in b.addressableShards {
                            expectClose(shard.data, x[shard.index[0], shard.index[1]], rtol: 1e-12, atol: 1e-12, "\(mesh): \(from) → \(to), device \(shard.device)")
                        }
                        let back = try b.resharded(to: from)
                        for (s, t) in zip(back.addressableShards, a.addressableShards) {
                            #expect(s.data.toArray(Double.self) == t.data.toArray(Double.self), "\(mesh): \(from) → \(to) → \(from)")
                        }
                    }
                }
            }
        }

        @Test func elementwiseOperationsWorkBlockByBlock() throws {
            let x = hostArray([8, 4], seed: 3), y = hostArray([8, 4], seed: 4)
            let mesh = meshes2D().last!
            let a = try ShardedArray(x, sharding: NamedSharding(mesh: mesh, spec: PartitionSpec("x", "y")))
            let b = try ShardedArray(y, sharding: NamedSharding(mesh: mesh, spec: PartitionSpec(nil, "x")))  // resharded by +
            expectClose(try (a + b).processAllgather(), x + y, rtol: 1e-12, atol: 1e-12)
            expectClose(try (a * b - a / Tensor(2.0)).processAllgather(), x * y - x / 2, rtol: 1e-12, atol: 1e-12)
            expectClose(try (Tensor(1.0) - a).processAllgather(), 1 - x, rtol: 1e-12, atol: 1e-12)
            expectClose(try (-a).map { exp($0) }.processAllgather(), exp(-x), rtol: 1e-12, atol: 1e-12)
        }

        @Test func reductionsInsertTheCollective() throws {
            let x = hostArray([8, 6], seed: 5)
            for mesh in meshes2D() {
                for spec in specs2D where (try? NamedSharding(mesh: mesh, spec: spec).validate(shape: [8, 6], for: "")) != nil {
                    let a = try ShardedArray(x, sharding: NamedSharding(mesh: mesh, spec: spec))
                    for axes in [nil, [0], [1], [-1]] as [[Int]?] {
                        let what = "\(mesh) \(spec) axes \(axes.map { "\($0)" } ?? "all")"
                        expectClose(try a.sum(axes: axes).processAllgather(), x.sum(axes: axes), rtol: 1e-12, atol: 1e-12, "sum \(what)")
                        expectClose(try a.mean(axes: axes).processAllgather(), x.mean(axes: axes), rtol: 1e-12, atol: 1e-12, "mean \(what)")
                        expectClose(try a.max(axes: axes).processAllgather(), x.max(axes: axes), rtol: 1e-12, atol: 1e-12, "max \(what)")
                        expectClose(try a.min(axes: axes).processAllgather(), x.min(axes: axes), rtol: 1e-12, atol: 1e-12, "min \(what)")
                    }
                }
            }
        }

        @Test func randomValuesDoNotDependOnTheLayout() throws {
            let key = PRNGKey(42)
            let whole = Random.normal(key, shape: [8, 6])
            let uniform = Random.uniform(key, shape: [8, 6], minval: -1, maxval: 1)
            for mesh in meshes2D() {
                for spec in specs2D where (try? NamedSharding(mesh: mesh, spec: spec).validate(shape: [8, 6], for: "")) != nil {
                    let sharding = try NamedSharding(mesh: mesh, spec: spec)
                    let z = try ShardedArray.random(shape: [8, 6], sharding: sharding) { Random.normal(key, shape: $0) }
                    #expect(try z.processAllgather().toArray(Float.self) == whole.toArray(Float.self), "normal \(mesh) \(spec)")
                    let u = try ShardedArray.random(shape: [8, 6], sharding: sharding) {
                        Random.uniform(key, shape: $0, minval: -1, maxval: 1)
                    }
                    #expect(try u.processAllgather().toArray(Float.self) == uniform.toArray(Float.self), "uniform \(mesh) \(spec)")
                }
            }
        }

        @Test func printingShowsTheLayout() throws {
            let mesh = dataMesh()
            let n = deviceCount
            let s = try ShardedArray(hostArray([2 * n, 3]), sharding: NamedSharding(mesh: mesh, spec: PartitionSpec("data")))
            let text = "\(s)"
            #expect(text.hasPrefix("ShardedArray(f64[\(2 * n),3], mesh=Mesh('data': \(n)), spec=PartitionSpec('data'))"), "\(text)")
            #expect(text.contains("[0:2, 0:3] on device 0 (process 0)"), "\(text)")
            #expect(text.contains("[\(2 * n - 2):\(2 * n), 0:3] on device \(n - 1) (process \(Distributed.processCount - 1))"), "\(text)")
            let diagram = s.layoutDiagram
            #expect(diagram.split(separator: "\n").count == 2 * n + 1, "\(diagram)")
            let r = try ShardedArray(hostArray([4]), sharding: NamedSharding(mesh: mesh, spec: .replicated))
            #expect("\(r)".contains("[0:4] on device\(n == 1 ? "" : "s") \((0..<n).map(String.init).joined(separator: ", "))"), "\(r)")
        }
    }
}
