import Foundation
import Testing
@testable import FlockCollectives

/// The collectives exercised by the tests, as per-example functions over the
/// axis "i" of size S. tools/make_collective_fixtures.py defines the same cases
/// in JAX (at S = 4).
struct CollectiveCase: Sendable, CustomTestStringConvertible {
    let name: String
    /// Per-example operand shape for an axis of size S.
    let exampleShape: @Sendable (Int) -> [Int]
    var dtype: DType = .float64
    /// The per-example function for an axis of size S.
    let f: @Sendable (Int) -> (Tensor) -> Tensor

    var testDescription: String { name }

    /// The stacked operands `[S] + exampleShape`: `sin(k + 1)` over the flat index
    /// (int32 cases: `k mod 7 − 3`).
    func input(_ size: Int) -> Tensor { referenceInput([size] + exampleShape(size), dtype: dtype) }

    /// The per-example gradient of a scalar-valued case.
    var grad: CollectiveCase {
        let f = self.f
        return CollectiveCase(name: "grad." + name, exampleShape: exampleShape, dtype: dtype, f: { s in FlockTransforms.grad(f(s)) })
    }

    /// The case under `jit` (traced once per axis size, collectives staged).
    var jitted: CollectiveCase {
        let f = self.f
        return CollectiveCase(name: "jit(\(name))", exampleShape: exampleShape, dtype: dtype, f: { s in
            let j = jit(f(s))
            return { j($0) }
        })
    }
}

func referenceInput(_ shape: [Int], dtype: DType = .float64) -> Tensor {
    let n = shape.reduce(1, *)
    if dtype == .int32 { return Tensor((0..<n).map { Int32($0 % 7 - 3) }, shape: shape) }
    return Tensor((0..<n).map { sin(Double($0 + 1)) }, shape: shape).converted(to: dtype)
}

/// A scalar of `x`'s dtype.
private func c(_ v: Double, _ x: Tensor) -> Tensor { Tensor(v, dtype: x.dtype) }

private func ring(_ s: Int) -> [(source: Int, destination: Int)] { (0..<s).map { ($0, ($0 + 1) % s) } }

/// The weights of the gather/all-to-all gradient cases: `inp([S, 3]) · 0.5 + 0.25`.
private func weights(_ s: Int) -> Tensor { referenceInput([s, 3]) * 0.5 + 0.25 }

enum CollectiveCases {
    static let values: [CollectiveCase] = [
        .init(name: "psum", exampleShape: { _ in [3] }, f: { _ in { psum($0, axisName: "i") } }),
        .init(name: "pmean", exampleShape: { _ in [3] }, f: { _ in { pmean($0, axisName: "i") } }),
        .init(name: "pmax", exampleShape: { _ in [3] }, f: { _ in { pmax($0, axisName: "i") } }),
        .init(name: "pmin", exampleShape: { _ in [3] }, f: { _ in { pmin($0, axisName: "i") } }),
        .init(name: "psum.int32", exampleShape: { _ in [3] }, dtype: .int32, f: { _ in { psum($0, axisName: "i") } }),
        .init(name: "psum.unbatched", exampleShape: { _ in [3] }, f: { _ in { psum(referenceInput([3]), axisName: "i") + 0 * $0 } }),
        .init(name: "allGather.axis0", exampleShape: { _ in [3] }, f: { _ in { allGather($0, axisName: "i") } }),
        .init(name: "allGather.axis1", exampleShape: { _ in [2, 3] }, f: { _ in { allGather($0, axisName: "i", axis: 1) } }),
        .init(name: "allGather.tiled1", exampleShape: { _ in [2, 3] },
              f: { _ in { allGather($0, axisName: "i", axis: 1, tiled: true) } }),
        .init(name: "psumScatter", exampleShape: { [$0, 3] }, f: { _ in { psumScatter($0, axisName: "i") } }),
        .init(name: "psumScatter.tiled1", exampleShape: { [3, 2 * $0] },
              f: { _ in { psumScatter($0, axisName: "i", scatterDimension: 1, tiled: true) } }),
        .init(name: "ppermute.ring", exampleShape: { _ in [3] }, f: { s in { ppermute($0, axisName: "i", perm: ring(s)) } }),
        .init(name: "allToAll.split0concat1", exampleShape: { [$0, 3] },
              f: { _ in { allToAll($0, axisName: "i", splitAxis: 0, concatAxis: 1) } }),
        .init(name: "allToAll.tiled.split1concat0", exampleShape: { [3, 2 * $0] },
              f: { _ in { allToAll($0, axisName: "i", splitAxis: 1, concatAxis: 0, tiled: true) } }),
        .init(name: "allToAll.tiled.split1concat1", exampleShape: { [3, 2 * $0] },
              f: { _ in { allToAll($0, axisName: "i", splitAxis: 1, concatAxis: 1, tiled: true) } }),
        .init(name: "axisIndex", exampleShape: { _ in [3] },
              f: { _ in { $0 * axisIndex("i").converted(to: .float64) } }),
        .init(name: "pbroadcast", exampleShape: { _ in [3] }, f: { s in { pbroadcast($0, axisName: "i", source: min(2, s - 1)) } }),
        // Gradients (per example): the transposes.
        .init(name: "grad.psum", exampleShape: { _ in [3] },
              f: { _ in grad { x in (psum(x * x, axisName: "i") * x).sum() } }),
        .init(name: "grad.pmean", exampleShape: { _ in [3] }, f: { _ in grad { x in pmean(sin(x).sum(), axisName: "i") } }),
        .init(name: "grad.allGather", exampleShape: { _ in [3] },
              f: { s in grad { x in (allGather(x, axisName: "i") * weights(s)).sum() } }),
        .init(name: "grad.psumScatter", exampleShape: { [$0, 3] },
              f: { _ in grad { x in (psumScatter(x, axisName: "i") * psumScatter(x, axisName: "i")).sum() } }),
        .init(name: "grad.ppermute", exampleShape: { _ in [3] },
              f: { s in grad { x in (ppermute(x, axisName: "i", perm: ring(s)) * sin(x)).sum() } }),
        .init(name: "grad.allToAll", exampleShape: { [$0, 3] },
              f: { s in grad { x in (allToAll(x, axisName: "i", splitAxis: 0, concatAxis: 1) * weights(s).transposed()).sum() } }),
        .init(name: "grad.pbroadcast", exampleShape: { _ in [3] },
              f: { s in grad { x in (pbroadcast(x, axisName: "i", source: min(1, s - 1)) * (axisIndex("i").converted(to: .float64) + 1) * x).sum() } }),
    ]

    /// Cases without a JAX fixture (JAX's vmap needs a full permutation; pmax has no JAX derivative).
    static let flockOnly: [CollectiveCase] = [
        .init(name: "ppermute.partial", exampleShape: { _ in [3] },
              f: { s in { ppermute($0, axisName: "i", perm: s == 1 ? [] : s == 2 ? [(0, 1)] : [(0, s - 1), (s - 1, 1)]) } }),
        .init(name: "pmax.float32", exampleShape: { _ in [3] }, dtype: .float32, f: { _ in { pmax($0, axisName: "i") } }),
        .init(name: "allGather.int32", exampleShape: { _ in [2] }, dtype: .int32, f: { _ in { allGather($0, axisName: "i", axis: 1) } }),
        .init(name: "jit.composition", exampleShape: { [$0, 2] }, f: { s in
            let j = jit { (x: Tensor) in
                let y = psumScatter(allGather(x, axisName: "i", axis: 0, tiled: true), axisName: "i", tiled: true)
                return allToAll(ppermute(y, axisName: "i", perm: ring(s)), axisName: "i", splitAxis: 0, concatAxis: 0)
                    + pmean(x, axisName: "i") * axisIndex("i").converted(to: .float64)
            }
            return { j($0) }
        }),
        .init(name: "jit.grad", exampleShape: { _ in [3] }, f: { s in
            let j = jit(grad { (x: Tensor) in (psum(sin(x), axisName: "i") * ppermute(x, axisName: "i", perm: ring(s))).sum() })
            return { j($0) }
        }),
        .init(name: "grad.jit", exampleShape: { _ in [3] }, f: { _ in
            let j = jit { (x: Tensor) in pmean(x * x, axisName: "i") }
            return grad { x in (j(x) * x).sum() }
        }),
        .init(name: "vmap.ordinary", exampleShape: { [$0, 2] }, f: { s in { x in
            // An inner, unnamed vmap over the rows: its batch dimension rides along.
            vmap({ row in psum(row, axisName: "i") + allGather(row, axisName: "i").sum(axes: [0])
                    + psumScatter(allGather(row, axisName: "i"), axisName: "i") }, inAxes: 0)(x)
        } }),
        .init(name: "vmap.ordinary.allToAll", exampleShape: { [2, $0, 3] }, f: { _ in { x in
            vmap({ m in allToAll(m, axisName: "i", splitAxis: 0, concatAxis: 1) }, inAxes: 0, outAxes: 2)(x)
        } }),
        .init(name: "jvp.psum", exampleShape: { _ in [3] }, f: { _ in { x in
            jvp({ (v: Tensor) in psum(sin(v), axisName: "i") }, primals: x, tangents: cos(x)).tangent
        } }),
        // The collectives of the ordinary vmap case that need a full axis, and jit of every case.
        .init(name: "vmap.ordinary.more", exampleShape: { [$0, 2] }, f: { s in { x in
            vmap({ row in pmax(row, axisName: "i") - pmin(row, axisName: "i") + ppermute(row, axisName: "i", perm: ring(s))
                    + pbroadcast(row, axisName: "i", source: s - 1) }, inAxes: 0)(x)
        } }),
    ] + gradLosses.map(\.grad) + (values + gradLosses.map(\.grad)).map(\.jitted)

    /// Per-example scalar losses through collectives whose gradients (the
    /// "grad." cases) have no JAX fixture: checked against finite differences
    /// of the sum of the losses over the axis (values without ties for pmax/pmin).
    static let gradLosses: [CollectiveCase] = [
        .init(name: "pmax", exampleShape: { _ in [3] }, f: { _ in { x in (pmax(x * x, axisName: "i") * sin(x)).sum() } }),
        .init(name: "pmin", exampleShape: { _ in [3] }, f: { _ in { x in (pmin(x * x, axisName: "i") * sin(x)).sum() } }),
        .init(name: "allGather.tiled1", exampleShape: { _ in [2, 3] }, f: { s in { x in
            (sin(allGather(x, axisName: "i", axis: 1, tiled: true)) * (referenceInput([2, 3 * s]) + 0.5)).sum()
        } }),
        .init(name: "psumScatter.tiled1", exampleShape: { [3, 2 * $0] }, f: { _ in { x in
            let y = psumScatter(x, axisName: "i", scatterDimension: 1, tiled: true)
            return (y * y * cos(x[0..., 0..<2])).sum()
        } }),
        .init(name: "allToAll.tiled.split1concat0", exampleShape: { [3, 2 * $0] }, f: { s in { x in
            (sin(allToAll(x, axisName: "i", splitAxis: 1, concatAxis: 0, tiled: true)) * (referenceInput([3 * s, 2]) + 0.5)).sum()
        } }),
        .init(name: "allToAll.tiled.split1concat1", exampleShape: { [3, 2 * $0] }, f: { s in { x in
            (allToAll(x, axisName: "i", splitAxis: 1, concatAxis: 1, tiled: true) * x * (referenceInput([3, 2 * s]) + 0.5)).sum()
        } }),
    ]
}

/// JAX's values from Fixtures/collectives.json.
enum JAXCollectiveReference {
    struct Entry: Decodable {
        let shape: [Int]
        let values: [Double]
    }

    static let entries: [String: Entry] = {
        let url = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.appendingPathComponent("collectives.json")
        return try! JSONDecoder().decode([String: Entry].self, from: Data(contentsOf: url))
    }()
}
