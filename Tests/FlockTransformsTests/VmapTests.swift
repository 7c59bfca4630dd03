import Testing
import FlockTransforms

// vmap is checked against its definition: running the function on each slice
// and stacking the results ("loop and stack"), for every batching rule, with
// mapped axes first, last, at random positions and unmapped (nil).

// MARK: - Test support

/// Deterministic pseudo-random numbers (SplitMix64), so failures reproduce.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func int(_ range: ClosedRange<Int>) -> Int {
        range.lowerBound + Int(next() % UInt64(range.count))
    }
    mutating func float() -> Float { Float(next() >> 40) / Float(1 << 24) * 4 - 2 }
}

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
    func make(_ shape: [Int], _ rng: inout SplitMix) -> Tensor {
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
    let want = loopAndStack(f, args, inAxes: inAxes, outAxes: outAxes, size: batchSize)
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
    var rng = SplitMix(seed: seed)
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
            var r = SplitMix(seed: outSeed)
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
func arguments(_ c: Case, _ inAxes: [Int?], _ rng: inout SplitMix) -> [Tensor] {
    zip(c.args, inAxes).map { arg, axis in
        var shape = arg.shape
        if let axis { shape.insert(batchSize, at: axis < 0 ? axis + shape.count + 1 : axis) }
        return arg.make(shape, &rng)
    }
}

func runCase(_ c: Case) {
    for (n, config) in axisConfigurations(c, seed: c.name.utf8.reduce(UInt64(0)) { $0 &* 31 &+ UInt64($1) }).enumerated() {
        var rng = SplitMix(seed: UInt64(n + 1))
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
    Case("dynamic slice uint index", [.float([6]), .uint([])]) {
        bind(.dynamicSlice(sizes: [2]), [$0[0], $0[1] % Tensor(UInt32(8))])
    },
    Case("dynamic update slice", [.float([5, 6]), .float([2, 3]), .int([], -2...7), .int([], 0...4)]) {
        bind(.dynamicUpdateSlice, $0)
    },
    Case("dynamic update slice bool", [.bool([5]), .bool([2]), .int([], -1...6)]) { bind(.dynamicUpdateSlice, $0) },
    Case("take", [.float([5, 4]), .int([3], -5...4)]) { [take($0[0], $0[1], axis: 0), take($0[0], $0[1], axis: 1)] },
    Case("advanced indexing", [.float([5, 4, 6]), .int([2], 0...4), .int([2], 0...5)]) {
        [$0[0][$0[1], .all, $0[2]], $0[0][.all, $0[1] % Tensor(Int32(4)), $0[2]]]
    },
    Case("gather with batching dims", [.float([3, 5]), .int([3, 1], 0...4)]) {
        let dn = GatherDimensionNumbers(offsetDims: [], collapsedSliceDims: [1], startIndexMap: [1],
                                        operandBatchingDims: [0], startIndicesBatchingDims: [0])
        return [bind1(.gather(dn, sliceSizes: [1, 1]), $0[0], $0[1])]
    },
    Case("scatter add", [.float([5, 3]), .int([4, 1], 0...4), .float([4, 3])]) {
        let dn = ScatterDimensionNumbers(updateWindowDims: [1], insertedWindowDims: [0], scatterDimsToOperandDims: [0])
        return [bind1(.scatterAdd(dn), $0[0], $0[1], $0[2])]
    },
    Case("scatter add with batching dims", [.float([3, 5]), .int([3, 2, 1], 0...4), .float([3, 2])]) {
        let dn = ScatterDimensionNumbers(updateWindowDims: [], insertedWindowDims: [1], scatterDimsToOperandDims: [1],
                                         operandBatchingDims: [0], scatterIndicesBatchingDims: [0])
        return [bind1(.scatterAdd(dn), $0[0], $0[1], $0[2])]
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
        staged({ [sin($0[0]) * $0[1].sum(), $0[1].T] }, a) { .call($0, name: "f") }
    },
    Case("call unbatched result", [.float([3]), .float([3])]) { a in
        staged({ [$0[0] * 2, full([2], 4)] }, a) { .call($0, name: "g") }
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

