import Testing
import FlockTestSupport
@testable import FlockSharding

/// A seeded random program over two [8, 8] arguments: a chain of operations
/// from every family the partitioner has a rule for (elementwise, products,
/// transposes, reductions broadcast back, reshapes, slices and
/// concatenation, cumulative sums, gathers, constraints, control flow), each
/// reading earlier values; two results (the last value and a scalar sum).
struct RandomShardedProgram: Sendable {
    enum Op: Sendable {
        case unary(Int, Int)
        case binary(Int, Int, Int)
        case product(Int, Int, transposed: Bool)
        case transpose(Int)
        case reduceBack(Int, axis: Int)
        case reshapeRoundTrip(Int)
        case sliceAndJoin(Int, Int, axis: Int)
        case cumsum(Int, axis: Int)
        case takeRows(Int)
        case constrain(Int, spec: Int)
        case cond(Int)
        case scanRows(Int)
    }
    let ops: [Op]

    init(seed: UInt64) {
        var rng = SplitMix64(seed: seed &* 0x2545_F491_4F6C_DD1D &+ 17)
        var ops: [Op] = [], count = 2
        for _ in 0..<(4 + Int(rng.next() % 6)) {
            func pick() -> Int { Int(rng.next() % UInt64(count)) }
            let axis = Int(rng.next() % 2)
            switch rng.next() % 12 {
            case 0: ops.append(.unary(Int(rng.next() % 3), pick()))
            case 1: ops.append(.binary(Int(rng.next() % 4), pick(), pick()))
            case 2: ops.append(.product(pick(), pick(), transposed: rng.next() % 2 == 0))
            case 3: ops.append(.transpose(pick()))
            case 4: ops.append(.reduceBack(pick(), axis: axis))
            case 5: ops.append(.reshapeRoundTrip(pick()))
            case 6: ops.append(.sliceAndJoin(pick(), pick(), axis: axis))
            case 7: ops.append(.cumsum(pick(), axis: axis))
            case 8: ops.append(.takeRows(pick()))
            case 9: ops.append(.constrain(pick(), spec: Int(rng.next() % UInt64(specs2D.count))))
            case 10: ops.append(.cond(pick()))
            default: ops.append(.scanRows(pick()))
            }
            count += 1
        }
        self.ops = ops
    }

    func callAsFunction(_ args: [Tensor]) -> [Tensor] {
        var v = args
        for op in ops {
            let y: Tensor
            switch op {
            case .unary(let k, let a): y = [tanh(v[a]), sin(v[a]) * 0.5, abs(v[a]) - 0.5][k]
            case .binary(let k, let a, let b): y = [v[a] + v[b], v[a] * v[b] * 0.5, v[a] - v[b], maximum(v[a], v[b])][k]
            case .product(let a, let b, let t): y = matmul(t ? v[a].T : v[a], v[b]) * 0.25
            case .transpose(let a): y = v[a].T
            case .reduceBack(let a, let axis): y = v[a] - v[a].mean(axes: [axis]).expandingDims(axis).broadcast(to: [8, 8])
            case .reshapeRoundTrip(let a): y = (v[a].reshaped([4, 16]) * 0.5).reshaped([8, 8])
            case .sliceAndJoin(let a, let b, let axis):
                let start = [0, 0], mid = axis == 0 ? [4, 8] : [8, 4], end = [8, 8], midStart = axis == 0 ? [4, 0] : [0, 4]
                y = concatenate([bind1(.slice(start: start, limit: mid, strides: [1, 1]), v[a]),
                                 bind1(.slice(start: midStart, limit: end, strides: [1, 1]), v[b])], axis: axis)
            case .cumsum(let a, let axis): y = v[a].cumsum(axis: axis) * 0.25
            case .takeRows(let a): y = take(v[a], Tensor((0..<8).map { Int32((3 * $0 + 1) % 8) }), axis: 0)
            case .constrain(let a, let spec):
                // On a fresh value: two constraints asking one value for
                // different layouts are an error (tested elsewhere).
                y = withShardingConstraint(v[a] * 1.5, specs2D[spec]) + 1
            case .cond(let a):
                // A predicate far from its threshold (a centred value's sum is
                // 0 up to rounding, and rounding differs between layouts).
                y = cond(square(v[a]).sum() .> Tensor(1e-3), { (x: Tensor) in tanh(x) }, { (x: Tensor) in x * 0.5 }, v[a])
            case .scanRows(let a):
                y = scan({ (c: Tensor, row: Tensor) in (tanh(c + row), c * row) }, initial: zeros([8], dtype: .float64), xs: v[a]).1
            }
            v.append(y)
        }
        return [v.last!, v[v.count - 2].sum()]
    }
}

extension ShardingTests.ShardedJit {
    /// Random programs and their gradients, partitioned for random layouts of
    /// both arguments over every 2-D mesh of the job (and so the 1-D ones):
    /// the results equal the unpartitioned program's.
    @Test(arguments: 0..<16) func randomProgramsMatchTheUnpartitionedProgram(seed: Int) throws {
        let program = RandomShardedProgram(seed: UInt64(seed))
        var rng = SplitMix64(seed: UInt64(seed) &+ 1000)
        let a = hostArray([8, 8], seed: 200 + seed), b = hostArray([8, 8], seed: 300 + seed)
        let gradient: @Sendable ([Tensor]) -> [Tensor] = { args in
            grad { (p: [Tensor]) in square(program(p)[0]).mean() + program(p)[1] * 0.01 }(args)
        }
        for mesh in meshes2D() {
            let specs = [specs2D[Int(rng.next() % UInt64(specs2D.count))], specs2D[Int(rng.next() % UInt64(specs2D.count))]]
            let what = "seed \(seed) \(program.ops) on \(mesh), \(specs)"
            _ = try partitioned({ program($0) }, [a, b], specs, mesh: mesh, what)
            _ = try partitioned(gradient, [a, b], specs, mesh: mesh, "gradient of " + what)
        }
    }
}
