import Testing
@testable import FlockSharding

/// Layout arithmetic of meshes and named shardings (no communication).
@Suite struct MeshTests {
    @Test func blocksTileTheArrayExactlyOnce() throws {
        let mesh = try Mesh(shape: [2, 3], axisNames: ["x", "y"])
        let shape = [6, 6, 5]
        for spec in [PartitionSpec("x", "y"), PartitionSpec("y", nil, nil), PartitionSpec(["x", "y"]), PartitionSpec(nil, ["y", "x"]),
                     PartitionSpec.replicated] {
            let s = try NamedSharding(mesh: mesh, spec: spec)
            try s.validate(shape: shape, for: "test")
            var covered = [Int](repeating: 0, count: shape.reduce(1, *))
            let replicas = mesh.size / s.shardCounts(rank: shape.count).reduce(1, *)
            for p in 0..<mesh.size {
                let b = s.block(ofPosition: p, shape: shape)
                #expect(b.map(\.count) == s.shardShape(shape))
                for i in b[0] { for j in b[1] { for k in b[2] { covered[(i * 6 + j) * 5 + k] += 1 } } }
            }
            #expect(covered.allSatisfy { $0 == replicas }, "\(spec)")
        }
    }

    @Test func multiAxisDimensionIsRowMajorOverListedAxes() throws {
        let mesh = try Mesh(shape: [2, 2], axisNames: ["a", "b"])
        let s = try NamedSharding(mesh: mesh, spec: PartitionSpec(["b", "a"]))
        // Position 1 has coordinates (a 0, b 1): index over (b, a) = 1·2 + 0 = 2.
        #expect(s.block(ofPosition: 1, shape: [8]) == [4..<6])
        #expect(s.block(ofPosition: 2, shape: [8]) == [2..<4])
    }

    @Test func badSpecsAndShapesAreReported() throws {
        let mesh = try Mesh(shape: [2, 2], axisNames: ["a", "b"])
        func message(_ body: () throws -> Void) -> String? {
            do { try body(); return nil } catch { return "\(error)" }
        }
        #expect(message { _ = try NamedSharding(mesh: mesh, spec: PartitionSpec("c")) }?.contains("'c'") == true)
        #expect(message { _ = try NamedSharding(mesh: mesh, spec: PartitionSpec("a", "a")) }?.contains("more than once") == true)
        let s = try NamedSharding(mesh: mesh, spec: PartitionSpec("a", "b", nil))
        #expect(message { try s.validate(shape: [4, 4], for: "put") }?.contains("rank 2") == true)
        let t = try NamedSharding(mesh: mesh, spec: PartitionSpec("a"))
        #expect(message { try t.validate(shape: [3], for: "put") }?.contains("not divisible by 2") == true)
        #expect(message { _ = try Mesh(shape: [2, 2], axisNames: ["a", "a"]) }?.contains("repeated") == true)
        #expect(message { _ = try Mesh(shape: [2], axisNames: ["a"], devices: [0, 1, 2]) }?.contains("needs 2 devices") == true)
    }

    @Test func printing() throws {
        let mesh = try Mesh(shape: [2, 2], axisNames: ["data", "model"])
        #expect("\(mesh)" == "Mesh('data': 2, 'model': 2)")
        #expect("\(PartitionSpec("data", nil))" == "PartitionSpec('data', None)")
        #expect("\(PartitionSpec(["data", "model"]))" == "PartitionSpec(('data', 'model'))")
    }
}
