import Testing
import FlockTestSupport
@testable import FlockTransforms

/// Every differentiable primitive's JVP against finite differences and its VJP
/// against its JVP (⟨vjp(ct), t⟩ = ⟨ct, jvp(t)⟩), up to second order, in float64.
@Suite struct GradCheckTests {
    static func t(_ values: [Double], _ shape: [Int]) -> Tensor { Tensor(values, shape: shape) }
    static let a = t([0.3, -1.2, 0.7, 1.9, -0.4, 0.25], [2, 3])
    static let b = t([1.1, 0.6, -0.9, 0.45, 1.3, -0.7], [2, 3])
    static let pos = t([0.3, 1.2, 0.7, 1.9, 0.4, 2.5], [2, 3])
    static let unit = t([0.3, -0.6, 0.7, 0.1, -0.4, 0.25], [2, 3])

    static let cases: [(String, @Sendable ([Tensor]) -> Tensor, [Tensor])] = [
        ("neg", { -$0[0] }, [a]), ("exp", { exp($0[0]) }, [a]), ("log", { log($0[0]) }, [pos]),
        ("log1p", { log1p($0[0]) }, [pos]), ("expm1", { expm1($0[0]) }, [a]), ("sin", { sin($0[0]) }, [a]),
        ("cos", { cos($0[0]) }, [a]), ("tan", { tan($0[0]) }, [unit]), ("tanh", { tanh($0[0]) }, [a]),
        ("sigmoid", { sigmoid($0[0]) }, [a]), ("sqrt", { sqrt($0[0]) }, [pos]), ("rsqrt", { rsqrt($0[0]) }, [pos]),
        ("abs", { abs($0[0]) }, [a]), ("erf", { erf($0[0]) }, [a]), ("erfInv", { erfInv($0[0]) }, [unit]),
        ("add", { $0[0] + $0[1] }, [a, b]), ("sub", { $0[0] - $0[1] }, [a, b]), ("mul", { $0[0] * $0[1] }, [a, b]),
        ("div", { $0[0] / $0[1] }, [a, b]), ("pow", { pow($0[0], $0[1]) }, [pos, b]), ("max", { maximum($0[0], $0[1]) }, [a, b]),
        ("min", { minimum($0[0], $0[1]) }, [a, b]), ("atan2", { atan2($0[0], $0[1]) }, [a, b]),
        // Operands whose quotients stay away from integers (rem jumps there).
        ("rem", { bind1(.binary(.rem), $0[0], $0[1] + 0.37) }, [a, b]),
        ("scalar operand", { $0[0] * $0[1].sum() + $0[1].sum() }, [a, b]),
        ("where", { `where`($0[0] .> $0[1], $0[0] * 2, $0[1] * $0[1]) }, [a, b]),
        ("clip", { clip($0[0], min: Tensor(-0.5), max: Tensor(1.0)) }, [a]),
        ("sum axes", { $0[0].sum(axes: [1]) }, [a]), ("max reduce", { $0[0].max(axes: [0]) }, [a]),
        ("min reduce", { $0[0].min() }, [a]), ("prod", { $0[0].prod(axes: [1]) }, [a]),
        ("mean/var", { $0[0].variance(axes: [1]) + $0[0].mean() }, [a]),
        ("broadcast", { $0[0].sum(axes: [0]).broadcast(to: [4, 3]) * $0[0][0] }, [a]),
        ("reshape/transpose", { $0[0].reshaped([3, 2]).T * $0[1] }, [a, b]),
        ("flip", { $0[0].flipped([1]) * $0[1] }, [a, b]), ("slice step", { $0[0][.all, .stride(0, 3, by: 2)] }, [a]),
        ("negative step", { $0[0][.stride(by: -1), 1...] }, [a]),
        ("integer index", { $0[0][Tensor([1, 0, 1] as [Int32]), .all] }, [a]),
        ("take", { take($0[0], Tensor([2, 0, 2] as [Int32]), axis: 1) * 3 }, [a]),
        ("concat", { concatenate([$0[0], $0[1] * 2], axis: 1) }, [a, b]), ("stack", { stack([$0[0], $0[1]], axis: 1) }, [a, b]),
        ("pad", { pad($0[0], [(1, 2), (0, 1)], value: 0.5) }, [a]),
        ("pad interior/negative", { bind1(.pad(low: [-1, 2], high: [1, -1], interior: [1, 2]), $0[0], $0[1].sum()) }, [a, b]),
        ("dynamic slice", { bind1(.dynamicSlice(sizes: [1, 2]), $0[0], Tensor(Int32(1)), Tensor(Int32(1))) }, [a]),
        ("dynamic update slice", { bind1(.dynamicUpdateSlice, $0[0], $0[1][0..<1, 0..<2], Tensor(Int32(1)), Tensor(Int32(2))) }, [a, b]),
        ("scatter add", { x in
            let dn = ScatterDimensionNumbers(updateWindowDims: [1], insertedWindowDims: [0], scatterDimsToOperandDims: [0])
            return bind1(.scatter(.add, dn, mode: .fillOrDrop), x[0], Tensor([[1], [0], [1]] as [[Int32]]), x[1].reshaped([3, 2]) * x[1].reshaped([3, 2]))
        }, [a, b]),
        ("at set/add", { x in x[0].at(1, 1...).set(x[1][0, 0..<2] * 3).at(Tensor([0, 0] as [Int32])).add(x[1][1]) }, [a, b]),
        ("cumsum", { $0[0].cumsum(axis: 1) }, [a]), ("cumsum reverse", { $0[0].cumsum(axis: 0, reverse: true) }, [a]),
        // Cumulative reductions: rows of 16 and the scan of row totals (a 20-long axis).
        ("cumprod", { x in concatenate([x[0], x[1], x[0] * 0.5, x[1] + 1], axis: 1).reshaped([1, 24]).cumprod(axis: 1) }, [pos, b]),
        ("cumprod reverse", { $0[0].cumprod(axis: 1, reverse: true) }, [a]),
        ("cummax/cummin", { x in
            let long = concatenate([x[0], x[1] * 1.01 + 0.013, x[0] * 0.97 - 0.011], axis: 1).reshaped([18])
            return long.cummax() + long.cummin(reverse: true)
        }, [a, b]),
        ("cumLogSumExp", { x in cumLogSumExp(concatenate([x[0], x[1], x[0] * x[1]], axis: 1).reshaped([18])) }, [a, b]),
        ("logAddExp", { logAddExp($0[0], $0[1]) }, [a, b]), ("softplus", { softplus($0[0]) }, [a]),
        ("relu6/leakyRelu/elu", { relu6($0[0] * 4) + leakyRelu($0[0]) + elu($0[0]) }, [a]),
        ("tril/triu/diag", { tril($0[0], k: 1) + triu($0[1]) + diag(diag($0[0].reshaped([3, 2]))).sum() }, [a, b]),
        ("diag of vector", { diag($0[0][0], k: -1) }, [a]), ("integer power", { pow($0[0], 3) + pow($0[1], -2) }, [a, b]),
        ("sort", { sort($0[0] * $0[1], axis: 1) }, [a, b]),
        ("matmul", { matmul($0[0], $0[1].T) }, [a, b]), ("matvec", { matmul($0[0], $0[1][0]) }, [a, b]),
        ("dot general batch", { dotGeneral($0[0].reshaped([2, 3, 1]), $0[1].reshaped([2, 1, 3]),
                                             DotDimensionNumbers(lhsContracting: [2], rhsContracting: [1], lhsBatch: [0], rhsBatch: [0])) }, [a, b]),
        ("dot general transposed", { dotGeneral($0[0], $0[1], DotDimensionNumbers(lhsContracting: [0], rhsContracting: [0])) }, [a, b]),
        ("conv1d", { convolution($0[0].reshaped([1, 2, 3]), $0[1].reshaped([3, 2, 1])[0..<2, .all, 0..<1], padding: .same) }, [a, b]),
        ("conv1d strided dilated", { x in
            let lhs = concatenate([x[0], x[1], x[0] * x[1]], axis: 1).reshaped([1, 2, 9])
            return convolution(lhs, x[1].reshaped([1, 2, 3]), strides: [2], padding: .explicit([[1, 2]]), lhsDilation: [2], rhsDilation: [2])
        }, [a, b]),
        ("conv2d grouped", { x in
            let lhs = concatenate([x[0], x[1], x[0] * 2, x[1] - 1], axis: 0).reshaped([1, 2, 4, 3])
            return convolution(lhs, x[1].reshaped([2, 1, 3, 1]), strides: [1, 2], padding: .same, featureGroupCount: 2)
        }, [a, b]),
        ("logsumexp", { logSumExp($0[0], axes: [1]) }, [a]), ("softmax", { softmax($0[0]) }, [a]),
        ("log softmax", { logSoftmax($0[0], axis: 0) }, [a]), ("gelu", { gelu($0[0]) }, [a]), ("softplus", { softplus($0[0]) }, [a]),
        ("cond", { x in cond(x[0].sum() .> 0, { (v: [Tensor]) in v[0] * v[1] }, { (v: [Tensor]) in v[0] - v[1] }, x) }, [a, b]),
        ("cond false", { x in cond(x[0].sum() .< 0, { (v: [Tensor]) in v[0] * v[1] }, { (v: [Tensor]) in sin(v[0]) - v[1] }, x) }, [a, b]),
        ("switch", { x in switchCase(Tensor(Int32(5)), [{ (v: Tensor) in v * 2 }, { (v: Tensor) in exp(v) }], x[0]) }, [a]),
        ("scan", { x in
            scan({ (c: Tensor, v: Tensor) in (c * v + sin(c), c * 2) }, initial: x[1][0], xs: x[0]).1
        }, [a, b]),
        ("scan reverse", { x in
            scan({ (c: Tensor, v: Tensor) in (tanh(c + v), c * v) }, initial: x[1][1], xs: x[0], reverse: true).0
        }, [a, b]),
        ("forLoop", { x in forLoop(0, 3, body: { _, c in c * x[1] + x[0] }, initial: x[0]) }, [a, b]),
        ("checkpoint", { x in checkpoint { (v: Tensor) in sin(v) * exp(v) }(x[0]) * x[1] }, [a, b]),
        ("jit", { x in jit { (v: [Tensor]) in [tanh(v[0]) * v[1]] }(x)[0] }, [a, b]),
    ]

    @Test(arguments: cases.indices)
    func derivativesMatchFiniteDifferences(_ i: Int) throws {
        let (name, f, args) = Self.cases[i]
        do {
            try checkGrads({ [f($0)] }, args, order: 2)
        } catch {
            Issue.record("\(name): \(error)")
        }
    }

    @Test func whileLoopForwardModeOnly() throws {
        let f: ([Tensor]) -> [Tensor] = { x in
            [whileLoop(condition: { (c: Tensor) in c.sum() .< 100 }, body: { $0 * 1.5 + 1 }, initial: x[0] * x[0])]
        }
        try checkGrads(f, [Self.pos], order: 2, modes: [.forward])
        let m = errorMessage { _ = grad { (v: Tensor) in f([v])[0].sum() }(Self.pos) }
        #expect(m?.contains("Reverse-mode differentiation does not work for whileLoop") == true, "got \(m ?? "nil")")
    }

    @Test func convertThroughFloat32() throws {
        // Finite differences through float32 are only float32-accurate.
        try checkGrads({ [$0[0].converted(to: .float32).converted(to: .float64) * 3] }, [Self.a], order: 1, eps: 1e-2, atol: 1e-3, rtol: 1e-3)
    }

    @Test func stopGradientBlocksOnlyItsOperand() {
        let (ga, gb) = grad({ (x: Tensor, y: Tensor) in (x * stopGradient(y) + y).sum() }, argnums: .both)(Self.a, Self.b)
        expectClose(ga, Self.b, "d/dx")
        expectClose(gb, onesLike(Self.b), "d/dy")
    }

    @Test func customJVPRuleIsUsed() {
        // A deliberately different derivative proves the rule, not autodiff, is used.
        let f = customJVP({ x in sin(x) }) { x, t in (sin(x), t * 10) }
        let g = grad { (v: Tensor) in f(v).sum() }(Self.a)
        expectClose(g, full(Self.a.shape, 10, dtype: .float64), "custom jvp")
        let g2 = jvp(f, primals: Self.a, tangents: onesLike(Self.a)).tangent
        expectClose(g2, full(Self.a.shape, 10, dtype: .float64), "custom jvp forward")
    }

    @Test func customVJPRuleIsUsed() {
        let f = customVJP({ $0 * 3 }, forward: { ($0 * 3, [$0]) }, backward: { res, g in g * res[0] })
        let g = grad { (v: Tensor) in f(v).sum() }(Self.a)
        expectClose(g, Self.a, "custom vjp")
        let m = errorMessage { _ = jvp(f, primals: Self.a, tangents: Self.a) }
        #expect(m?.contains("can't apply forward-mode") == true, "got \(m ?? "nil")")
    }

    @Test func customRulesOfFunctionsThatCaptureValues() {
        // A captured constant array (not scalar: it becomes a closure constant)
        // must not switch the rule off.
        let w = Tensor([0.5, -1.5, 2, 1, 0.25, 3], shape: [2, 3]).converted(to: .float64)
        let fj = customJVP({ x in sin(x) * w }) { x, t in (sin(x) * w, t * 10) }
        let fv = customVJP({ x in x * w }, forward: { x in (x * w, []) }, backward: { _, g in g * 7 })
        for (name, f, want, value) in [("jvp", fj, 10.0, sin(Self.a) * w), ("vjp", fv, 7.0, Self.a * w)] {
            let expected = full(Self.a.shape, want, dtype: .float64)
            expectClose(grad { (v: Tensor) in f(v).sum() }(Self.a), expected, "grad of custom \(name) with a capture")
            expectClose(jit { (v: Tensor) in grad { (u: Tensor) in f(u).sum() }(v) }(Self.a), expected, "jit(grad) \(name)")
            let perExample = vmap { (v: Tensor) in grad { (u: Tensor) in (f(u) * 1).sum() }(v) }(Self.a.reshaped([1, 2, 3]))
            expectClose(perExample, expected.reshaped([1, 2, 3]), "vmap(grad) \(name)")
            expectClose(f(Self.a), value, "value \(name)")
        }
        expectClose(jvp(fj, primals: Self.a, tangents: onesLike(Self.a)).tangent, full(Self.a.shape, 10, dtype: .float64), "jvp")
        // Differentiating with respect to a captured value is an error (as in JAX), not a silent wrong derivative.
        for (name, make) in [
            ("customJVP", { (c: Tensor) in customJVP({ x in x * c }) { x, t in (x * c, t * c) } }),
            ("customVJP", { (c: Tensor) in customVJP({ x in x * c }, forward: { x in (x * c, []) }, backward: { _, g in g * c }) }),
        ] as [(String, (Tensor) -> (Tensor) -> Tensor)] {
            let m = errorMessage { _ = grad { (c: Tensor) in make(c)(Self.a).sum() }(Self.b) }
            #expect(m?.contains("\(name): differentiating with respect to a value the function captures") == true, "\(name): \(m ?? "nil")")
        }
    }

    @Test func perturbationsOfNestedDerivativesStayApart() {
        // d/dx [x · d/dy (x + y)] = 1 (a classic perturbation-confusion test).
        let f = grad { (x: Tensor) in x * grad { (y: Tensor) in x + y }(Tensor(1.0)) }
        expectClose(f(Tensor(2.0)), Tensor(1.0), "nested")
    }
}
