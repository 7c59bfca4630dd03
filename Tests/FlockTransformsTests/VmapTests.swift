import Testing
import FlockTestSupport
import FlockTransforms

// vmap is checked against its definition: running the function on each slice
// and stacking the results ("loop and stack"), for every batching rule, with
// mapped axes first, last, at random positions and unmapped (nil).

// MARK: - Test support


/// How to make one argument: dtype, per-example shape and value range.
enum Arg: Sendable {
    case float([Int])
    /// Floats in [0.5, 2.5), for log/sqrt.
    case positive([Int])
    case int([Int], ClosedRange<Int>)
    case uint([Int])
    case bool([Int])

    var shape: [Int] {
        switch self {
        case .float(let s), .positive(let s), .int(let s, _), .uint(let s), .bool(let s): s
        }
    }

    /// A value of `shape` (the per-example shape with the batch axis inserted).
    func make(_ shape: [Int], _ rng: inout SplitMix64) -> Tensor {
        let n = shape.reduce(1, *)
        switch self {
        case .float: return Tensor((0..<n).map { _ in rng.float() }, shape: shape)
        case .positive: return Tensor((0..<n).map { _ in Swift.abs(rng.float()) + 0.5 }, shape: shape)
        case .int(_, let r): return Tensor((0..<n).map { _ in Int32(rng.int(r)) }, shape: shape)
        case .uint: return Tensor((0..<n).map { _ in UInt32(truncatingIfNeeded: rng.next()) }, shape: shape)
        case .bool: return Tensor((0..<n).map { _ in rng.next() % 2 == 0 }, shape: shape)
        }
    }
}

/// A function to vmap and the arguments it takes.
struct Case: Sendable, CustomTestStringConvertible {
    let name: String
    let args: [Arg]
    let f: @Sendable ([Tensor]) -> [Tensor]
    init(_ name: String, _ args: [Arg], _ f: @escaping @Sendable ([Tensor]) -> [Tensor]) {
        self.name = name
        self.args = args
        self.f = f
    }
    var testDescription: String { name }
}

let batchSize = 7

/// Example `i` of `x` along `axis` (or `x` itself when unmapped).
func example(_ x: Tensor, _ axis: Int?, _ i: Int) -> Tensor {
    guard let axis else { return x }
    let a = axis < 0 ? axis + x.rank : axis
    return x.index([TensorIndex](repeating: .all, count: a) + [.index(i)])
}

/// The oracle: `f` on every example, results stacked along `outAxes`.
func loopAndStack(_ f: ([Tensor]) -> [Tensor], _ args: [Tensor], inAxes: [Int?], outAxes: [Int?], size: Int) -> [Tensor] {
    let results = (0..<size).map { i in f(zip(args, inAxes).map { example($0, $1, i) }) }
    return outAxes.enumerated().map { (j, axis) in
        guard let axis else { return results[0][j] }
        return stack(results.map { $0[j] }, axis: axis)
    }
}

/// Checks `vmapFlat(f)` against loop-and-stack, eagerly and staged into a jaxpr.
func checkVmap(_ f: @escaping ([Tensor]) -> [Tensor], _ args: [Tensor], inAxes: [Int?], outAxes: [Int?],
               _ label: String, staged: Bool = false, sourceLocation: SourceLocation = #_sourceLocation) {
    let size = zip(args, inAxes).compactMap { x, a in a.map { x.shape[$0 < 0 ? $0 + x.rank : $0] } }.first!
    let want = loopAndStack(f, args, inAxes: inAxes, outAxes: outAxes, size: size)
    let batched = vmapFlat(f, inAxes: inAxes, outAxes: outAxes)
    do {
        let got = try catchingErrors { batched(args) }
        #expect(got.count == want.count, sourceLocation: sourceLocation)
        for (j, (g, w)) in zip(got, want).enumerated() {
            #expect(g.dtype == w.dtype, "\(label) result \(j): dtype", sourceLocation: sourceLocation)
            expectClose(g, w, rtol: 1e-4, atol: 1e-5, "\(label) result \(j)", sourceLocation: sourceLocation)
        }
        if staged {
            let jaxpr = traceToJaxpr(args.map(\.aval)) { batched($0) }
            let again = try catchingErrors { evalJaxpr(jaxpr, args) }
            for (j, (g, w)) in zip(again, want).enumerated() {
                expectClose(g, w, rtol: 1e-4, atol: 1e-5, "\(label) staged result \(j)", sourceLocation: sourceLocation)
            }
        }
    } catch {
        Issue.record("\(label): \(error)", sourceLocation: sourceLocation)
    }
}

/// Axes configurations: all first, all last, random (some unmapped), and each argument unmapped in turn.
func axisConfigurations(_ c: Case, seed: UInt64) -> [(label: String, inAxes: [Int?], outAxes: (_ ranks: [Int]) -> [Int?])] {
    var rng = SplitMix64(seed: seed)
    let ranks = c.args.map { $0.shape.count }
    var configs: [(String, [Int?], ([Int]) -> [Int?])] = [
        ("inAxes 0", ranks.map { _ in 0 }, { $0.map { _ in 0 } }),
        ("inAxes -1", ranks.map { _ in -1 }, { $0.map { _ in -1 } }),
    ]
    for k in 0..<3 {
        var axes: [Int?] = ranks.map { r in rng.int(-(r + 1)...r) }
        if ranks.count > 1 { for i in axes.indices where rng.next() % 3 == 0 { axes[i] = nil } }
        if axes.allSatisfy({ $0 == nil }) { axes[0] = 0 }
        let outSeed = rng.next()
        configs.append(("random \(k) \(axes)", axes, { outRanks in
            var r = SplitMix64(seed: outSeed)
            return outRanks.map { rank in r.int(-(rank + 1)...rank) }
        }))
    }
    if ranks.count > 1 {
        for i in ranks.indices {
            var axes: [Int?] = ranks.map { _ in 0 }
            axes[i] = nil
            configs.append(("argument \(i) unmapped", axes, { $0.map { _ in 0 } }))
        }
    }
    return configs
}

/// Arguments for `c` with the batch axes at `inAxes`.
func arguments(_ c: Case, _ inAxes: [Int?], _ rng: inout SplitMix64) -> [Tensor] {
    zip(c.args, inAxes).map { arg, axis in
        var shape = arg.shape
        if let axis { shape.insert(batchSize, at: axis < 0 ? axis + shape.count + 1 : axis) }
        return arg.make(shape, &rng)
    }
}

func runCase(_ c: Case) {
    for (n, config) in axisConfigurations(c, seed: c.name.utf8.reduce(UInt64(0)) { $0 &* 31 &+ UInt64($1) }).enumerated() {
        var rng = SplitMix64(seed: UInt64(n + 1))
        let args = arguments(c, config.inAxes, &rng)
        let ranks = c.f(zip(args, config.inAxes).map { example($0, $1, 0) }).map(\.rank)
        checkVmap(c.f, args, inAxes: config.inAxes, outAxes: config.outAxes(ranks), "\(c.name), \(config.label)",
                  staged: n == 0)
    }
}

// MARK: - Primitive cases

let elementwiseCases: [Case] = [
    Case("exp", [.float([3, 4])]) { [exp($0[0])] },
    Case("log sqrt", [.positive([4, 2])]) { [log($0[0]) + sqrt($0[0])] },
    Case("neg not isFinite", [.float([5]), .int([5], -9...9)]) { [-$0[0], bitwiseNot($0[1]), isFinite($0[0] / $0[0])] },
    Case("add broadcast", [.float([3, 4]), .float([4])]) { [$0[0] + $0[1]] },
    Case("literal", [.float([2, 3])]) { [$0[0] * 2 + 1] },
    Case("scalar beside vector", [.float([]), .float([4])]) { [$0[0] * $0[1], $0[1] - $0[0]] },
    Case("scalar beside scalar", [.float([]), .float([])]) { [atan2($0[0], $0[1]), pow(abs($0[0]) + 1, $0[1])] },
    Case("primitive scalar operand", [.float([]), .float([2, 3])]) { [bind1(.binary(.max), $0[1], $0[0])] },
    Case("compare where", [.float([6]), .float([6])]) { [`where`($0[0] .> $0[1], $0[0], $0[1] * 3)] },
    Case("select scalar predicate", [.bool([]), .float([4]), .float([4])]) { [select($0[0], $0[1], $0[2])] },
    Case("select scalar branches", [.bool([]), .float([]), .float([])]) { [select($0[0], $0[1], $0[2])] },
    Case("clamp scalar bounds", [.float([]), .float([5]), .float([])]) { [bind1(.clamp, $0[0], $0[1], $0[0] + 1)] },
    Case("clamp full bounds", [.float([5]), .float([5])]) { [bind1(.clamp, $0[0], $0[1], $0[0] + 1)] },
    Case("convert bitcast", [.float([4])]) { [$0[0].converted(to: .int32), $0[0].bitcast(to: .uint32)] },
    Case("integer ops", [.int([6], -20...20), .int([6], 1...5)]) { [remainder($0[0], $0[1]), floorDivide($0[0], $0[1])] },
    Case("threefry", [.uint([]), .uint([]), .uint([4]), .uint([4])]) { bind(.threefry2x32, $0) },
    Case("threefry scalar counts", [.uint([]), .uint([]), .uint([]), .uint([])]) { bind(.threefry2x32, $0) },
    Case("stop gradient", [.float([3])]) { bind(.stopGradient, $0) },
]

let reductionCases: [Case] = [
    Case("sum", [.float([3, 4, 5])]) { [$0[0].sum(axes: [0, 2]), $0[0].sum()] },
    Case("max min prod", [.float([4, 5])]) { [$0[0].max(axis: 1), $0[0].min(axis: 0), $0[0].prod(axes: [1])] },
    Case("all any", [.bool([3, 4])]) { [$0[0].all(axes: [1]), $0[0].any()] },
    Case("argmax argmin", [.float([4, 6, 2])]) { [$0[0].argmax(axis: 1), $0[0].argmin(axis: 2)] },
    Case("cumsum", [.float([4, 5])]) { [$0[0].cumsum(axis: 1), $0[0].cumsum(axis: 0, reverse: true)] },
    Case("sort", [.float([4, 5]), .float([4, 5])]) { sort([$0[0], $0[1]], axis: 1) },
    Case("argsort", [.float([6])]) { [argsort($0[0]), argsort($0[0], descending: true)] },
    Case("mean variance softmax", [.float([3, 4])]) { [$0[0].variance(axes: [1]), softmax($0[0]), logSumExp($0[0])] },
]

let structuralCases: [Case] = [
    Case("broadcast", [.float([3]), .float([3, 1])]) { [$0[0].broadcast(to: [2, 3]), $0[1].broadcast(to: [2, 3, 4])] },
    Case("reshape", [.float([2, 6])]) { [$0[0].reshaped([3, 4]), $0[0].flattened()] },
    Case("transpose", [.float([2, 3, 4])]) { [$0[0].transposed([2, 0, 1]), $0[0].T] },
    Case("reverse", [.float([2, 3, 4])]) { [$0[0].flipped([0, 2])] },
    Case("slice", [.float([6, 5])]) { [$0[0][1..<5, .stride(0, 5, by: 2)], $0[0][.stride(by: -2)]] },
    Case("pad", [.float([3, 4])]) { [pad($0[0], [(1, 2), (0, 1)], value: 3)] },
    Case("pad batched value", [.float([3, 4]), .float([])]) {
        [bind1(.pad(low: [1, -1], high: [2, 0], interior: [1, 0]), $0[0], $0[1])]
    },
    Case("concatenate", [.float([2, 3]), .float([4, 3])]) { [concatenate([$0[0], $0[1], $0[0]], axis: 0)] },
    Case("stack split", [.float([4]), .float([4])]) { [stack([$0[0], $0[1]], axis: 1)] + split($0[0], sections: 2) },
    Case("iota", [.float([4])]) { [$0[0] + arange(4).converted(to: .float32)] },
]

let indexingCases: [Case] = [
    Case("dynamic slice", [.float([5, 6]), .int([], -2...7), .int([], 0...4)]) {
        bind(.dynamicSlice(sizes: [2, 3]), $0)
    },
    Case("dynamic slice constant indices", [.float([5, 6])]) {
        bind(.dynamicSlice(sizes: [2, 3]), [$0[0], Tensor(Int32(4)), Tensor(Int32(1))])
    },
    Case("dynamic slice uint index", [.float([6]), .uint([])]) {
        // Large uint32 starts clamp to the end, small ones stay.
        bind(.dynamicSlice(sizes: [2]), [$0[0], `where`($0[1] % 2 .== 0, $0[1] % Tensor(UInt32(8)), $0[1])])
    },
    Case("dynamic update slice", [.float([5, 6]), .float([2, 3]), .int([], -2...7), .int([], 0...4)]) {
        bind(.dynamicUpdateSlice, $0)
    },
    Case("dynamic update slice constant indices", [.float([5, 6]), .float([2, 3])]) {
        bind(.dynamicUpdateSlice, $0 + [Tensor(Int32(1)), Tensor(Int32(9))])
    },
    Case("dynamic update slice bool", [.bool([5]), .bool([2]), .int([], -1...6)]) { bind(.dynamicUpdateSlice, $0) },
    Case("take", [.float([5, 4]), .int([3], -5...4)]) { [take($0[0], $0[1], axis: 0), take($0[0], $0[1], axis: 1)] },
    Case("advanced indexing", [.float([5, 4, 6]), .int([2], 0...4), .int([2], 0...5)]) {
        [$0[0][$0[1], .all, $0[2]], $0[0][.all, $0[1] % Tensor(Int32(4)), $0[2]]]
    },
    Case("gather with batching dims", [.float([3, 5]), .int([3, 1], 0...4)]) {
        let dn = GatherDimensionNumbers(offsetDims: [], collapsedSliceDims: [1], startIndexMap: [1],
                                        operandBatchingDims: [0], startIndicesBatchingDims: [0])
        return [bind1(.gather(dn, sliceSizes: [1, 1], mode: .promiseInBounds, fillValue: nil), $0[0], $0[1])]
    },
    Case("scatter add", [.float([5, 3]), .int([4, 1], 0...4), .float([4, 3])]) {
        let dn = ScatterDimensionNumbers(updateWindowDims: [1], insertedWindowDims: [0], scatterDimsToOperandDims: [0])
        return [bind1(.scatter(.add, dn, mode: .fillOrDrop), $0[0], $0[1], $0[2])]
    },
    Case("scatter add with batching dims", [.float([3, 5]), .int([3, 2, 1], 0...4), .float([3, 2])]) {
        let dn = ScatterDimensionNumbers(updateWindowDims: [], insertedWindowDims: [1], scatterDimsToOperandDims: [1],
                                         operandBatchingDims: [0], scatterIndicesBatchingDims: [0])
        return [bind1(.scatter(.add, dn, mode: .fillOrDrop), $0[0], $0[1], $0[2])]
    },
]

let contractionCases: [Case] = [
    Case("matmul", [.float([3, 4]), .float([4, 5])]) { [matmul($0[0], $0[1])] },
    Case("batched matmul", [.float([2, 3, 4]), .float([2, 4, 5])]) { [matmul($0[0], $0[1])] },
    Case("dot vectors", [.float([4]), .float([4])]) { [dot($0[0], $0[1]), outer($0[0], $0[1])] },
    Case("matrix vector", [.float([3, 4]), .float([4])]) { [matmul($0[0], $0[1])] },
    Case("conv 1-d", [.float([2, 3, 9]), .float([4, 3, 3])]) {
        [convolution($0[0], $0[1], strides: [2], padding: .same, rhsDilation: [2])]
    },
    Case("conv grouped", [.float([2, 4, 8]), .float([6, 2, 3])]) {
        [convolution($0[0], $0[1], padding: .explicit([[1, 0]]), lhsDilation: [2], featureGroupCount: 2)]
    },
    Case("conv 2-d", [.float([1, 2, 5, 4]), .float([3, 2, 2, 3])]) { [convolution($0[0], $0[1], padding: .same)] },
    Case("conv NHWC grouped", [.float([2, 5, 4, 4]), .float([2, 3, 2, 6])]) {
        [convolution($0[0], $0[1], strides: [2, 1], padding: .same, featureGroupCount: 2,
                     dimensionNumbers: ConvolutionDimensionNumbers("NHWC", "HWIO", "NHWC"))]
    },
    Case("conv mixed layouts", [.float([3, 7, 2]), .float([4, 2, 3])]) {
        [convolution($0[0], $0[1], padding: .explicit([[1, 0]]), lhsDilation: [2],
                     dimensionNumbers: ConvolutionDimensionNumbers("CWN", "OWI", "WNC"))]
    },
]

// MARK: - Control flow (jaxprs built directly; the user-facing API lives elsewhere)

/// `bind(.call)` of `f` traced on the avals of `args`.
func staged(_ f: ([Tensor]) -> [Tensor], _ args: [Tensor], _ make: (Jaxpr) -> Primitive) -> [Tensor] {
    let (j, consts) = traceClosed(args.map(\.aval), f)
    return bind(make(j), consts + args)
}

/// `cond` with the three branches x + y, x * y, sin(x) − 2 (an unbatched result in one branch).
func threeWayCond(_ a: [Tensor]) -> [Tensor] {
    let index = a[0], operands = Array(a.dropFirst())
    let branches: [([Tensor]) -> [Tensor]] = [
        { [$0[0] + $0[1], $0[0]] },
        { [$0[0] * $0[1], full([3], 1.5)] },
        { [sin($0[0]) - 2, $0[1] * 0] },
    ]
    let traced = branches.map { traceClosed(operands.map(\.aval), $0) }
    precondition(traced.allSatisfy(\.constArgs.isEmpty))
    return bind(.cond(branches: traced.map(\.jaxpr)), [index] + operands)
}

/// `while count < n: x = x * 1.5 + y; acc = acc + x; count += 1`, returning (count, x, acc).
/// `acc` starts as a constant, so it becomes batched only through the body.
func whileCounting(_ a: [Tensor]) -> [Tensor] {
    let n = a[0], x = a[1], y = a[2]
    let carry = [Tensor(Int32(0)), x, zerosLike(x)]
    let (c, cc) = traceClosed([n.aval] + carry.map(\.aval)) { [$0[1] .< $0[0]] }
    let (b, bc) = traceClosed([y.aval] + carry.map(\.aval)) { s in
        let next = s[2] * 1.5 + s[0]
        return [s[1] + 1, next, s[3] + next]
    }
    let outs = bind(.whileLoop(cond: c, body: b, condConstCount: cc.count + 1, bodyConstCount: bc.count + 1),
                    cc + [n] + bc + [y] + carry)
    return outs
}

/// A scan: carry c, consts w, xs rows: c ← c · w + x, y = c · 2 + x.
func scanRows(_ a: [Tensor], reverse: Bool) -> [Tensor] {
    let w = a[0], c0 = a[1], xs = a[2]
    let slice = AbstractValue(shape: Array(xs.shape.dropFirst()), dtype: xs.dtype)
    let (body, consts) = traceClosed([w.aval, c0.aval, slice]) { s in
        let c = s[1] * s[0] + s[2]
        return [c, c * 2 + s[2], s[2].sum()]
    }
    return bind(.scan(body: body, length: xs.shape[0], reverse: reverse, constCount: consts.count + 1, carryCount: 1),
                consts + [w, c0, xs])
}

let controlFlowCases: [Case] = [
    Case("call", [.float([3]), .float([2, 3])]) { a in
        staged({ [sin($0[0]) * $0[1].sum(), $0[1].T] }, a) { .call($0, kind: .jit("f")) }
    },
    Case("call unbatched result", [.float([3]), .float([3])]) { a in
        staged({ [$0[0] * 2, full([2], 4)] }, a) { .call($0, kind: .jit("g")) }
    },
    Case("cond", [.int([], -1...3), .float([3]), .float([3])], threeWayCond),
    Case("while", [.int([], 0...4), .float([2]), .float([2])], whileCounting),
    Case("scan", [.float([3]), .float([3]), .float([5, 3])]) { scanRows($0, reverse: false) },
    Case("scan reverse", [.float([3]), .float([3]), .float([4, 3])]) { scanRows($0, reverse: true) },
    Case("checkpoint", [.float([4]), .float([4])]) { a in staged({ [exp($0[0]) * $0[1]] }, a) { .checkpoint($0) } },
    Case("custom jvp", [.float([4]), .float([4])]) { a in
        staged({ [sin($0[0]) * $0[1]] }, a) { .customJVP($0, rule: sinTimesJVP) }
    },
    Case("custom vjp", [.float([4]), .float([4])]) { a in
        staged({ [sin($0[0]) * $0[1]] }, a) { .customVJP($0, rule: sinTimesVJP) }
    },
]

/// d(sin(x) · y) = cos(x) · y · ẋ + sin(x) · ẏ.
let sinTimesJVP = CustomRule(jvp: { p, t in
    ([sin(p[0]) * p[1]], [cos(p[0]) * p[1] * t[0] + sin(p[0]) * t[1]])
})
let sinTimesVJP = CustomRule(
    forward: { p in ([sin(p[0]) * p[1]], [cos(p[0]), sin(p[0]), p[1]]) },
    backward: { r, ct in [ct[0] * r[0] * r[2], ct[0] * r[1]] })

@Suite struct VmapTests {
    @Test(arguments: elementwiseCases) func elementwise(_ c: Case) { runCase(c) }
    @Test(arguments: reductionCases) func reductions(_ c: Case) { runCase(c) }
    @Test(arguments: structuralCases) func structural(_ c: Case) { runCase(c) }
    @Test(arguments: indexingCases) func indexing(_ c: Case) { runCase(c) }
    @Test(arguments: contractionCases) func contractions(_ c: Case) { runCase(c) }
    @Test(arguments: controlFlowCases) func controlFlow(_ c: Case) { runCase(c) }
}


// MARK: - Nesting, tutorials, composition with other transforms

func randomTensor(_ shape: [Int], seed: UInt64) -> Tensor {
    var rng = SplitMix64(seed: seed)
    return Arg.float(shape).make(shape, &rng)
}

@Suite struct VmapCompositionTests {
    @Test func nestedVmapMatchesDoubleLoop() throws {
        let x = randomTensor([4, 3, 5], seed: 1), b = randomTensor([3, 5], seed: 2)
        let f: ([Tensor]) -> [Tensor] = { a in [dot(a[0], a[1]) * sin(a[0]).sum(), a[0] * a[1]] }
        // Outer over axis 1 of x and axis 0 of b; inner over axis 0 of x's example, b shared.
        let inner = vmapFlat(f, inAxes: [0, nil], outAxes: [0, 1])
        let outer = vmapFlat(inner, inAxes: [1, 0], outAxes: [1, 0])
        let got = try catchingErrors { outer([x, b]) }
        var scalars: [[Tensor]] = [], rows: [[Tensor]] = []
        for i in 0..<3 {
            let r = (0..<4).map { j in f([x[j, i], b[i]]) }
            scalars.append(r.map { $0[0] })
            rows.append(r.map { $0[1] })
        }
        // Inner outAxes 0 then outer outAxes 1: [4, 3]; inner 1 then outer 0: [3, 5, 4].
        expectClose(got[0], stack(scalars.map { stack($0) }, axis: 1), rtol: 1e-5, "scalars")
        expectClose(got[1], stack(rows.map { stack($0, axis: 1) }, axis: 0), rtol: 1e-5, "rows")
    }

    @Test func innerVmapCapturesOuterTracer() throws {
        let xs = randomTensor([3], seed: 3), ys = randomTensor([4], seed: 4)
        let got = try catchingErrors { vmap { x in vmap { y in x * y + exp(y) }(ys) }(xs) }
        expectClose(got, outer(xs, ys) + exp(ys).expandingDims(0), "outer product")
        // The inner function maps over a value the outer one batches.
        let m = randomTensor([3, 4], seed: 5)
        let rowSums = try catchingErrors { vmap { row in vmap({ v in v * row.sum() }, inAxes: 0)(row) }(m) }
        expectClose(rowSums, m * m.sum(axes: [1], keepDims: true), "row sums")
    }

    /// The convolution example of JAX's "Automatic vectorization" tutorial.
    static func convolve(_ x: Tensor, _ w: Tensor) -> Tensor {
        stack((1..<(x.shape[0] - 1)).map { i in dot(x[(i - 1)..<(i + 2)], w) })
    }

    /// The same with the convolution primitive (cross-correlation, as XLA's).
    static func convolvePrimitive(_ x: Tensor, _ w: Tensor) -> Tensor {
        convolution(x.converted(to: .float32).reshaped([1, 1, -1]), w.reshaped([1, 1, -1])).reshaped([-1])
    }

    @Test(arguments: [("slices and dot", convolve), ("convolution primitive", convolvePrimitive)] as [(String, @Sendable (Tensor, Tensor) -> Tensor)])
    func convolutionTutorial(_ name: String, _ convolve: @escaping @Sendable (Tensor, Tensor) -> Tensor) throws {
        let x = arange(5), w = Tensor([2, 3, 4] as [Float])
        #expect(convolve(x, w).toArray(Float.self) == [11, 20, 29])
        let xs = stack([x, x]), ws = stack([w, w])
        let batched = try catchingErrors { vmap(convolve)(xs, ws) }
        #expect(batched.shape == [2, 3])
        #expect(batched.toArray(Float.self) == [11, 20, 29, 11, 20, 29], "\(name)")
        let v2 = try catchingErrors { vmap(convolve, inAxes: (1, 1), outAxes: 1)(xs.T, ws.T) }
        #expect(v2.shape == [3, 2])
        #expect(v2.toArray(Float.self) == [11, 11, 20, 20, 29, 29], "\(name)")
        let v3 = try catchingErrors { vmap(convolve, inAxes: (0, nil))(xs, w) }
        #expect(v3.toArray(Float.self) == [11, 20, 29, 11, 20, 29], "\(name)")
        // And against loop-and-stack on random data with a negative axis.
        let rx = randomTensor([9, 7], seed: 6), rw = randomTensor([3, 7], seed: 7)
        checkVmap({ [convolve($0[0], $0[1])] }, [rx, rw], inAxes: [-1, 1], outAxes: [-1], name)
    }

    @Test func perExampleGradients() throws {
        let w = randomTensor([4, 2], seed: 8), xs = randomTensor([7, 3, 4], seed: 9)
        let loss: (Tensor, Tensor) -> Tensor = { w, x in tanh(matmul(x, w)).sum() }
        let perExample = vmap({ w, x in grad { (w: Tensor) in loss(w, x) }(w) }, inAxes: (nil, 0))
        let got = try catchingErrors { perExample(w, xs) }
        let want = stack((0..<7).map { i in grad { (w: Tensor) in loss(w, xs[i]) }(w) })
        expectClose(got, want, rtol: 1e-5, "vmap(grad)")
        // grad of a vmapped loss is the sum of the per-example gradients.
        let total = try catchingErrors { grad { (w: Tensor) in vmap({ x in loss(w, x) })(xs).sum() }(w) }
        expectClose(total, want.sum(axes: [0]), rtol: 1e-4, "grad(vmap)")
    }

    @Test func jitAndVmapCommute() throws {
        let xs = randomTensor([5, 3], seed: 10)
        let f: (Tensor) -> Tensor = { x in softmax(x) * x.max() + cumsumLike(x) }
        let want = loopAndStack({ [f($0[0])] }, [xs], inAxes: [0], outAxes: [0], size: 5)[0]
        expectClose(try catchingErrors { jit(vmap(f))(xs) }, want, "jit(vmap)")
        expectClose(try catchingErrors { vmap(jit(f))(xs) }, want, "vmap(jit)")
        expectClose(try catchingErrors { vmap(jit(f), inAxes: 1, outAxes: 1)(xs.T) }, want.T, "vmap(jit) axis 1")
    }

    @Test func controlFlowAPIUnderVmap() throws {
        // The user-facing cond/whileLoop/scan/forLoop, with per-example predicates.
        let xs = randomTensor([7, 3], seed: 11)
        let fs: [(String, ([Tensor]) -> [Tensor])] = [
            ("cond", { a in [cond(a[0].sum() .> 0, { (v: Tensor) in v * 2 }, { (v: Tensor) in -v }, a[0])] }),
            ("whileLoop", { a in
                [whileLoop(condition: { (c: [Tensor]) in c[1].sum() .< 10 }, body: { c in [c[0] + 1, c[1] * 2 + 1] },
                           initial: [Tensor(Int32(0)), abs(a[0])])[0]]
            }),
            ("scan", { a in
                let (c, ys) = scan({ (c: Tensor, x: Tensor) in (c * 0.5 + x, c * x) }, initial: Tensor(Float(1)), xs: a[0])
                return [c, ys]
            }),
            ("forLoop", { a in [forLoop(0, 3, body: { i, c in c * a[0] + i.converted(to: .float32) }, initial: a[0])] }),
        ]
        for (name, f) in fs {
            let count = f([xs[0]]).count
            checkVmap(f, [xs], inAxes: [0], outAxes: Array(repeating: 0, count: count), name, staged: true)
            checkVmap(f, [xs.T], inAxes: [1], outAxes: Array(repeating: -1, count: count), name + " axis 1")
        }
    }

    @Test func predicateBatchednessChoosesTheLowering() throws {
        let n = Tensor([1, 3, 0, 2] as [Int32]), x = randomTensor([4, 3], seed: 12), y = randomTensor([3], seed: 13)
        func primitives(_ j: Jaxpr) -> [String] {
            j.equations.flatMap { e -> [String] in
                switch e.primitive {
                case .whileLoop(let c, let b, _, _): [e.primitive.name] + primitives(c) + primitives(b)
                case .cond(let bs): [e.primitive.name] + bs.flatMap(primitives)
                default: [e.primitive.name]
                }
            }
        }
        // cond: an unbatched index keeps the cond; a batched one selects.
        let condUnbatched = traceToJaxpr([Tensor(Int32(1)).aval, x.aval, x.aval]) {
            vmapFlat(threeWayCond, inAxes: [nil, 0, 0], outAxes: [0, 0])($0)
        }
        #expect(primitives(condUnbatched).contains("cond"))
        let condBatched = traceToJaxpr([n.aval, x.aval, x.aval]) { vmapFlat(threeWayCond, inAxes: [0, 0, 0], outAxes: [0, 0])($0) }
        #expect(!primitives(condBatched).contains("cond") && primitives(condBatched).contains("select_n"))
        // while: a batched predicate runs while any example's holds.
        let whileBatched = traceToJaxpr([n.aval, x.aval, y.aval]) { vmapFlat(whileCounting, inAxes: [0, 0, nil], outAxes: [0, 0, 0])($0) }
        #expect(primitives(whileBatched).contains("reduce_or"))
        let whileUnbatched = traceToJaxpr([Tensor(Int32(2)).aval, x.aval, y.aval]) {
            vmapFlat(whileCounting, inAxes: [nil, 0, nil], outAxes: [nil, 0, 0])($0)
        }
        #expect(!primitives(whileUnbatched).contains("reduce_or") && primitives(whileUnbatched).contains("while"))
        // Results: the count stays unbatched with an unbatched bound.
        let outs = try catchingErrors { vmapFlat(whileCounting, inAxes: [nil, 0, nil], outAxes: [nil, 0, 0])([Tensor(Int32(2)), x, y]) }
        #expect(outs[0].shape == [] && outs[0].item(Int32.self) == 2)
        checkVmap(whileCounting, [n, x, y], inAxes: [0, 0, nil], outAxes: [0, 0, 0], "while batched bound")
    }
}

/// A helper composite: x minus its running sum, to give jit a few primitives.
func cumsumLike(_ x: Tensor) -> Tensor { x - x.cumsum(axis: 0) }

// MARK: - Custom derivative rules under vmap

@Suite struct VmapCustomRuleTests {
    // Rules that differ from the true derivative, so their use is visible.
    static var tripled: (Tensor) -> Tensor { customJVP({ x in sin(x) }) { x, t in (sin(x), t * 3) } }
    static var scaled: ([Tensor]) -> [Tensor] {
        customVJPFlat({ a in [a[0] * a[1]] }, forward: { a in ([a[0] * a[1]], [a[0]]) },
                      backward: { r, ct in [ct[0] * 5, ct[0] * r[0]] })
    }

    @Test func jvpOfVmapUsesTheBatchedRule() throws {
        let xs = randomTensor([4, 3], seed: 14), ts = randomTensor([4, 3], seed: 15)
        let (y, ty) = try catchingErrors { jvp(vmap(Self.tripled), primals: xs, tangents: ts) }
        expectClose(y, sin(xs), "primal")
        expectClose(ty, ts * 3, "tangent from the user's rule")
        let (y1, ty1) = try catchingErrors { jvp(vmap(Self.tripled, inAxes: 1, outAxes: 1), primals: xs, tangents: ts) }
        expectClose(y1, sin(xs), "primal, axis 1")
        expectClose(ty1, ts * 3, "tangent, axis 1")
    }

    @Test func gradOfVmapUsesTheBatchedBackwardRule() throws {
        let xs = randomTensor([4, 3], seed: 16), w = randomTensor([3], seed: 17)
        // w is shared by every example: its cotangent sums over the batch.
        let f = vmapFlat(Self.scaled, inAxes: [0, nil], outAxes: [0])
        let g = try catchingErrors { grad { (p: [Tensor]) in f(p)[0].sum() }([xs, w]) }
        expectClose(g[0], full([4, 3], 5), "batched input: 5 · ct")
        expectClose(g[1], xs.sum(axes: [0]), "shared input: Σ ct · x")
    }

    @Test func vmapOfGradUsesTheRule() throws {
        let xs = randomTensor([4, 3], seed: 18), w = randomTensor([3], seed: 19)
        let perExample = vmap({ x, w in grad { (p: [Tensor]) in Self.scaled(p)[0].sum() }([x, w])[1] }, inAxes: (0, nil))
        expectClose(try catchingErrors { perExample(xs, w) }, xs, "per-example cotangent of w")
    }

    @Test func forwardModeOfCustomVJPIsRefusedUnderVmap() {
        let xs = randomTensor([4, 3], seed: 20), w = randomTensor([3], seed: 21)
        let m = errorMessage {
            _ = vmap({ x, w in jvp({ (v: Tensor) in Self.scaled([v, w])[0] }, primals: x, tangents: x).tangent }, inAxes: (0, nil))(xs, w)
        }
        #expect(m?.contains("forward-mode") == true, "\(m ?? "no error")")
    }
}

// MARK: - Named axes and errors

@Suite struct VmapAxisAndErrorTests {
    final class Record: @unchecked Sendable { var sizes: [String: Int?] = [:] }

    @Test func namedAxesAreVisibleInsideAndShadowed() throws {
        let r = Record()
        let xs = randomTensor([3, 4, 2], seed: 22)
        #expect(activeAxisSize("i") == nil)
        _ = try catchingErrors {
            vmap({ x in
                r.sizes["outer i"] = activeAxisSize("i")
                let y = vmap({ v in
                    r.sizes["inner i"] = activeAxisSize("i")
                    r.sizes["inner j"] = activeAxisSize("j")
                    r.sizes["owner"] = activeAxis(named: "i")?.interpreter?.axisSize
                    // Also while a control-flow body is traced and batched.
                    _ = cond(v.sum() .> 0, { (u: Tensor) in
                        r.sizes["in cond"] = activeAxisSize("i")
                        return u
                    }, { $0 }, v)
                    return v * 2
                }, axisName: "i")(x)
                r.sizes["after inner"] = activeAxisSize("i")
                return y
            }, axisName: "i")(xs)
        }
        #expect(r.sizes["outer i"] == 3)
        #expect(r.sizes["inner i"] == 4)
        #expect(r.sizes["inner j"] == .some(nil))
        #expect(r.sizes["owner"] == 4)
        #expect(r.sizes["in cond"] == 4)
        #expect(r.sizes["after inner"] == 3)
        #expect(activeAxisSize("i") == nil)
    }

    @Test func axisSizeWithoutMappedArguments() throws {
        let x = Tensor([1, 2] as [Float])
        let y = try catchingErrors { vmap({ v in v * 2 }, inAxes: nil, axisSize: 3)(x) }
        #expect(y.shape == [3, 2])
        #expect(y.toArray(Float.self) == [2, 4, 2, 4, 2, 4])
        let z = try catchingErrors { vmap({ v in v * 2 }, inAxes: nil, outAxes: nil, axisSize: 3)(x) }
        #expect(z.toArray(Float.self) == [2, 4])
        // An unmapped result of a mapped function is broadcast along outAxes, or returned whole with nil.
        let c = try catchingErrors { vmapFlat({ _ in [Tensor(Float(7))] }, inAxes: [0], outAxes: [0])([x]) }
        #expect(c[0].toArray(Float.self) == [7, 7])
        let d = try catchingErrors { vmapFlat({ _ in [Tensor(Float(7))] }, inAxes: [0], outAxes: [nil])([x]) }
        #expect(d[0].shape == [] && d[0].item(Float.self) == 7)
    }

    static let x34 = Tensor([Float](repeating: 1, count: 12), shape: [3, 4])
    static let x5 = Tensor([Float](repeating: 1, count: 5))

    static let cases: [(String, @Sendable () -> Void, [String])] = [
        ("inconsistent sizes", { _ = vmap({ a, b in a.sum() + b.sum() })(x34, x5) },
         ["vmap got inconsistent sizes for array axes to be mapped: argument 0 of shape [3, 4] has size 3 along axis 0, "
            + "argument 1 of shape [5] has size 5 along axis 0"]),
        ("axisSize disagrees", { _ = vmap({ a in a }, axisSize: 4)(x34) }, ["inconsistent sizes", "axisSize is 4", "size 3"]),
        ("in axis out of range", { _ = vmap({ a, b in a.sum() + b }, inAxes: (0, 2))(x5, x34) },
         ["argument 1", "axis 2", "[3, 4]", "rank"]),
        ("negative in axis out of range", { _ = vmap({ a in a }, inAxes: -3)(x34) }, ["argument 0", "axis -3", "[3, 4]"]),
        ("all in axes nil", { _ = vmap({ a, b in a + b }, inAxes: (nil, nil))(x5, x5) }, ["at least one non-nil", "axisSize"]),
        ("mapped output with nil out axis", { _ = vmap({ a in a * 2 }, outAxes: nil)(x34) },
         ["mapped output", "outAxes is nil", "[4]"]),
        ("out axis out of range", { _ = vmap({ a in a * 2 }, outAxes: 2)(x34) }, ["outAxes 2", "out of bounds", "[4]"]),
        ("in axes count", { _ = vmapFlat({ $0 }, inAxes: [0], outAxes: [0, 0])([x5, x5]) }, ["inAxes has 1 entries", "2 arguments"]),
        ("out axes count", { _ = vmapFlat({ $0 }, inAxes: [0, 0], outAxes: [0])([x5, x5]) }, ["outAxes has 1 entries", "2 results"]),
        ("per-example shapes in errors", { _ = vmap({ a in a + Tensor([1, 2, 3] as [Float]) })(x34) }, ["[4]", "[3]"]),
        ("per-example shapes in primitive errors", { _ = vmap({ a in bind1(.binary(.add), a, Tensor([1, 2, 3] as [Float])) })(x34) },
         ["[4]", "[3]"]),
    ]

    @Test(arguments: cases.indices)
    func errorsNameWhatIsWrong(_ i: Int) {
        let (name, body, fragments) = Self.cases[i]
        expectErrorMentions(fragments, name, body)
    }
}
