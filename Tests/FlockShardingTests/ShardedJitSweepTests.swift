import Testing
import FlockTestSupport
@testable import FlockSharding

extension ShardingTests.ShardedJit {
    /// Small programs of two rank-2 arguments (8 × 12 and 12 × 8) through the
    /// transforms: the product, its gradients, a vmap over rows, a jit inside,
    /// a constraint on the product, control flow.
    static let programs: [(String, @Sendable ([Tensor]) -> [Tensor])] = [
        ("matmul", { a in [matmul(a[0], a[1])] }),
        ("grad of tanh(matmul) against both", { a in
            let g = grad { (p: [Tensor]) in square(tanh(matmul(p[0], p[1]))).mean() }([a[0], a[1]])
            return g
        }),
        ("vmap over rows", { a in [vmap({ (row: Tensor) in exp(matmul(row, a[1])).sum() })(a[0])] }),
        ("jit inside, reductions and transposes", { a in
            let h = jit({ (x: Tensor) in sin(x) * 2 })(matmul(a[0], a[1]))
            return [h.sum(axes: [0]), (h.T + 1).max(axes: [1]), matmul(a[1].T, a[0].T)]
        }),
        ("constraint on the product", { a in [withShardingConstraint(matmul(a[0], a[1]), PartitionSpec("x", "y")) * 3] }),
        ("cond, scan, and grad through a scan", { a in
            let h = cond(a[0].sum() .> Tensor(0.0), { (x: Tensor) in tanh(x) }, { (x: Tensor) in x * 0.5 }, a[0])
            let (c, ys) = scan({ (c: Tensor, x: Tensor) in (tanh(c + x), (c * x).sum()) }, initial: a[1].sum(axes: [0]), xs: a[1])
            let g = grad { (w: Tensor) in
                square(scan({ (c: Tensor, _: Tensor) in (tanh(matmul(c, w)), Tensor(0.0)) }, initial: h, xs: a[1]).0).mean()
            }(matmul(a[1], a[0]) * 0.1)
            return [h, c, ys, g]
        }),
    ]

    /// The partitioned program equals the unpartitioned one over every 2-D
    /// mesh of the job (and so the 1-D meshes a × 1, 1 × b): for the product,
    /// every combination of the two arguments' shardings on the squarest mesh;
    /// otherwise (to keep the 4-process job short) eight pairs in which every
    /// spec appears on each side.
    @Test(arguments: programs) func everyCombinationOfInputShardingsMatchesTheUnpartitionedProgram(
        what: String, f: @escaping @Sendable ([Tensor]) -> [Tensor]
    ) throws {
        let a = hostArray([8, 12], seed: 80), b = hostArray([12, 8], seed: 81)
        let meshes = meshes2D(), squarest = meshes[meshes.count / 2]
        let every = specs2D.flatMap { l in specs2D.map { (l, $0) } }
        let eight = specs2D.indices.map { (specs2D[$0], specs2D[($0 * 3 + 1) % specs2D.count]) }
        for mesh in meshes {
            for (lhs, rhs) in what == "matmul" && mesh == squarest ? every : eight {
                _ = try partitioned(f, [a, b], [lhs, rhs], mesh: mesh, "\(what): \(lhs) × \(rhs) on \(mesh)")
            }
        }
    }

    /// Over a 1-D mesh: every layout of each argument (replicated, rows,
    /// columns), the same programs with the mesh axis named x.
    @Test(arguments: programs) func everyCombinationOverOneDimensionalMeshes(
        what: String, f: @escaping @Sendable ([Tensor]) -> [Tensor]
    ) throws {
        let a = hostArray([8, 12], seed: 82), b = hostArray([12, 8], seed: 83)
        let mesh = dataMesh("x"), specs: [PartitionSpec] = [.replicated, PartitionSpec("x", nil), PartitionSpec(nil, "x")]
        // The constraint names y, not on this mesh: that program is the 2-D sweep's.
        guard !what.hasPrefix("constraint") else { return }
        for lhs in specs {
            for rhs in specs {
                _ = try partitioned(f, [a, b], [lhs, rhs], mesh: mesh, "\(what): \(lhs) × \(rhs) on \(mesh)")
            }
        }
    }
}
