import Testing
import FlockTestSupport
@testable import FlockCore
@testable import FlockTransforms
@testable import FlockCompiler

/// What each pass rewrites, and what the checker rejects.
@Suite struct CompilerPassTests {
    static let v = Tensor((0..<12).map { Float($0) - 5.5 }, shape: [3, 4])

    static func primitives(_ j: Jaxpr) -> [String] { j.equations.map(\.primitive.name) }

    @Test func deadCodeIsRemoved() throws {
        let j = makeJaxpr { x in
            _ = exp(x[0]) * 2
            return [x[0] + x[0]]
        }([Self.v])
        #expect(Self.primitives(eliminateDeadCode(j)) == ["add"])
    }

    @Test func commonSubexpressionsAreShared() throws {
        let j = makeJaxpr { x in [tanh(x[0]) * tanh(x[0]) + tanh(x[0])] }([Self.v])
        let k = eliminateDeadCode(eliminateCommonSubexpressions(j))
        try checkJaxpr(k)
        #expect(Self.primitives(k) == ["tanh", "mul", "add"])
    }

    @Test func constantsFold() throws {
        let c = Tensor([1, 2, 3, 4] as [Float])
        let j = makeJaxpr { x in [x[0] + (c * 2 + exp(Tensor(Float(0)))).sum()] }([Self.v])
        let k = eliminateDeadCode(foldConstants(j))
        try checkJaxpr(k)
        #expect(Self.primitives(k) == ["add"])
        expectClose(evalJaxpr(k, [Self.v])[0], Self.v + 24)
    }

    @Test func algebraicIdentitiesVanish() throws {
        let j = makeJaxpr { x in
            let y = ((x[0] * 1 + 0) - 0) / 1
            return [y.reshaped([12]).reshaped([4, 3]).transposed().transposed().converted(to: .float32)]
        }([Self.v])
        let k = optimize(j, fuse: false)
        #expect(Self.primitives(k) == ["reshape"], "\(k)")
        expectClose(evalJaxpr(k, [Self.v])[0], Self.v.reshaped([4, 3]))
    }

    @Test func scalarBroadcastsBecomeScalarOperands() throws {
        let j = makeJaxpr { x in [x[0] * full([3, 4], Tensor(Float(3))) + full([3, 4], 2, dtype: .float32)] }([Self.v])
        let k = optimize(j, fuse: false)
        #expect(!Self.primitives(k).contains("broadcast_in_dim"), "\(k)")
        expectClose(evalJaxpr(k, [Self.v])[0], Self.v * 3 + 2)
    }

    @Test func transposesAreAbsorbedIntoProducts() throws {
        let w = Tensor((0..<20).map { Float($0) * 0.1 }, shape: [4, 5])
        let j = makeJaxpr { x in [matmul(x[0].T.T, x[1]), matmul(x[1].T, x[0].T).T] }([Self.v, w])
        let k = optimize(j, fuse: false)
        #expect(!Self.primitives(k).contains("transpose"), "\(k)")
        let out = evalJaxpr(k, [Self.v, w])
        expectClose(out[0], matmul(Self.v, w))
        expectClose(out[1], matmul(Self.v, w))
    }

    @Test func elementwiseChainsFuseIntoOneLoop() throws {
        let j = makeJaxpr { x in [gelu(x[0]) * sigmoid(x[1]) + (x[0] .> x[1]).converted(to: .float32), x[0].sum(axes: [1])] }([Self.v, Self.v * 0.5])
        let k = optimize(j)
        try checkJaxpr(k)
        let calls = k.equations.filter { if case .call(_, .fusedElementwise) = $0.primitive { return true }; return false }
        #expect(calls.count == 1, "\(k)")
        let plan = compilePlan(k)
        #expect(plan.fusedLoopCount == 1)
    }

    /// Reductions join the loop that makes their operand (`sum(x * x)`): the
    /// operand is never materialised, and results equal the unfused reduce
    /// kernel's bit for bit — rows of every length mod 8, rows longer than a
    /// block, blocks cut at odd places by a broadcast row, NaNs, float64.
    @Test(arguments: [[7, 3000], [4, 301], [5, 4], [2, 3, 5], [1030], [3, 2050],
                      // Rows of many blocks of 1024 (the pairwise tree over blocks, odd block counts).
                      [3, 5121], [2, 70001], [1 << 17],
                      // Narrow rows (several to a block, broadcasts expanded), around the limit of 256.
                      [1000, 10], [333, 7], [2, 75, 63], [9, 255], [5, 256], [40, 1]])
    func reductionsFuseWithTheirProducers(_ shape: [Int]) throws {
        let n = shape.reduce(1, *)
        var values = (0..<n).map { Float(($0 * 7919) % 1999) / 999.5 - 1 }
        values[n / 2] = n > 100 ? .nan : values[n / 2]
        let x = Tensor(values, shape: shape)
        let last = shape.count - 1
        let bias = Tensor((0..<shape[last]).map { Float($0 % 13) * 0.25 }, shape: [shape[last]])
        for dtype in [DType.float32, .float64] {
            let xs = [x.converted(to: dtype), bias.converted(to: dtype)]
            let f = { (v: [Tensor]) -> [Tensor] in
                let y = tanh(v[0] * 1.5 + v[1]) * v[0]  // a loop with a broadcast row (cuts blocks at row multiples)
                return [(y * y).sum(axes: [last]), (v[0] + 1).max(axes: [last]), (v[0] * -2).min(), exp(v[0] * 0.5).sum(),
                        (v[0] - v[1]).sum(axes: Array(0..<shape.count).suffix(min(2, shape.count)))]
            }
            let k = optimize(makeJaxpr(f)(xs))
            try checkJaxpr(k)
            let reduces = k.equations.filter { if case .reduce = $0.primitive { return true }; return false }
            #expect(reduces.isEmpty, "every reduce joins its producer's loop: \(k)")
            let got = jit(f)(xs), want = f(xs)
            for (i, (g, w)) in zip(got, want).enumerated() { expectIdentical(g, w, "\(shape) \(dtype) output \(i)") }
        }
    }

    /// A softmax cross-entropy over 10 classes: per-row maxima and sums are
    /// broadcast back over rows of 10 (expanded into registers block by block,
    /// many rows to a block); jitted equals eager bit for bit, the row count
    /// not a multiple of the rows per block.
    @Test func narrowRowsKeepWholeBlocks() throws {
        let n = 1037 * 10
        let logitValues: [Float] = (0..<n).map { i in Float((i * 7919) % 1999) / 199.9 - 5 }
        let labelValues: [Float] = (0..<n).map { i in i % 10 == (i / 10) % 10 ? 1 : 0 }
        let logits = Tensor(logitValues, shape: [1037, 10]), labels = Tensor(labelValues, shape: [1037, 10])
        let bias = Tensor((0..<10).map { Float($0) * 0.1 - 0.3 })
        let f = { (v: [Tensor]) -> [Tensor] in
            let z = v[0] + v[2]
            let shifted = z - z.max(axes: [1], keepDims: true)
            let logSum = log(exp(shifted).sum(axes: [1], keepDims: true))
            let logp = shifted - logSum
            return [-(logp * v[1]).sum(axes: [1]), exp(logp) - v[1]]
        }
        let got = jit(f)([logits, labels, bias]), want = f([logits, labels, bias])
        for (i, (g, w)) in zip(got, want).enumerated() { expectIdentical(g, w, "softmax output \(i)") }
    }

    @Test func broadcastRowsAndColumnsAreReadInPlace() throws {
        let x = Tensor((0..<1200).map { Float($0 % 37) * 0.1 - 1 }, shape: [4, 300])
        let row = Tensor((0..<300).map { Float($0) * 0.01 }), column = Tensor([1, -2, 3, 0.5] as [Float])
        let f = { (v: [Tensor]) -> [Tensor] in
            let centred = v[0] - v[0].max(axes: [1], keepDims: true)  // [4, 1] → stretched
            return [relu(centred + v[1]) * v[2].reshaped([4, 1]), (v[0] + v[1]).reshaped([1200])]
        }
        let k = optimize(makeJaxpr(f)([x, row, column]))
        try checkJaxpr(k)
        #expect(!Self.primitives(k).contains("broadcast_in_dim"), "\(k)")
        let jitted = jit(f)([x, row, column]), eager = f([x, row, column])
        for (a, b) in zip(jitted, eager) { expectIdentical(a, b, "row/column broadcasts") }
    }

    @Test func productsAccumulateIntoTheirUpdate() throws {
        let w = Tensor((0..<20).map { Float($0) * 0.1 }, shape: [4, 5])
        let x = Tensor((0..<12).map { Float($0) * 0.3 - 1 }, shape: [3, 4]), g = Tensor((0..<15).map { Float($0) * 0.2 - 1 }, shape: [3, 5])
        let sq = Tensor((0..<16).map { Float($0) * 0.05 }, shape: [4, 4])
        let cases: [(String, ([Tensor]) -> Tensor, [Tensor])] = [
            ("w - c·xᵀg", { v in v[0] - 0.01 * matmul(v[1].T, v[2]) }, [w, x, g]),
            ("w + xᵀg·c", { v in v[0] + matmul(v[1].T, v[2]) * 0.5 }, [w, x, g]),
            ("xᵀg + w", { v in matmul(v[1].T, v[2]) + v[0] }, [w, x, g]),
            ("w - w·w (w read by the product)", { v in v[0] - matmul(v[0], v[0]) }, [sq]),
        ]
        for (name, f, args) in cases {
            let k = optimize(makeJaxpr { [f($0)] }(args))
            try checkJaxpr(k)
            let fused = k.equations.contains { if case .call(_, .dotUpdate) = $0.primitive { return true }; return false }
            #expect(fused, "\(name): \(k)")
            expectClose(jit { [f($0)] }(args)[0], f(args), rtol: 1e-6, atol: 1e-6, name)
        }
        // Donated: the update lands in w's buffer.
        let step = jit(donateArgnums: [0]) { (v: [Tensor]) in [v[0] - 0.01 * matmul(v[1].T, v[2])] }
        let expected = w - 0.01 * matmul(x.T, g)
        let w2 = w * 1
        let w2Buffer = try w2.concreteArray(for: "").buffer
        let out = step([w2, x, g])[0]
        #expect(try out.concreteArray(for: "").buffer === w2Buffer)
        expectClose(out, expected, rtol: 1e-6, atol: 1e-6, "donated update")
    }

    @Test func fusionKeepsGroupsConvex() throws {
        // b depends on a through a reduction; fusing a with c (which reads b) would need b before a.
        let j = makeJaxpr { x in
            let a = exp(x[0])
            let b = a.sum(axes: [1], keepDims: true).broadcast(to: [3, 4])
            return [tanh(a) + b]
        }([Self.v])
        let k = optimize(j)
        try checkJaxpr(k)
        expectClose(evalJaxpr(k, [Self.v])[0], tanh(exp(Self.v)) + exp(Self.v).sum(axes: [1], keepDims: true).broadcast(to: [3, 4]), rtol: 1e-6)
    }

    @Test func checkerRejectsIllTypedJaxprs() {
        let a = Var(id: 1, aval: AbstractValue(shape: [3], dtype: .float32))
        let b = Var(id: 2, aval: AbstractValue(shape: [4], dtype: .float32))
        let c = Var(id: 3, aval: AbstractValue(shape: [3], dtype: .float32))
        let wrongShape = Jaxpr(inputs: [a], constVars: [], consts: [],
                               equations: [Equation(primitive: .unary(.exp), inputs: [.variable(a)], outputs: [b])], outputs: [.variable(b)])
        #expect(throws: FlockError.self) { try checkJaxpr(wrongShape) }
        let useBeforeDefinition = Jaxpr(inputs: [a], constVars: [], consts: [],
                                        equations: [Equation(primitive: .unary(.exp), inputs: [.variable(c)], outputs: [c])], outputs: [.variable(c)])
        #expect(throws: FlockError.self) { try checkJaxpr(useBeforeDefinition) }
        let badOperands = Jaxpr(inputs: [a, b], constVars: [], consts: [],
                                equations: [Equation(primitive: .binary(.add), inputs: [.variable(a), .variable(b)], outputs: [c])], outputs: [.variable(c)])
        #expect(throws: FlockError.self) { try checkJaxpr(badOperands) }
    }

    /// Fusion groups are a typed kind of call: a user's function named like
    /// one is inlined and compiled as ordinary code, never run as a fused loop.
    @Test func userCallNamedLikeAFusionGroupIsAnOrdinaryCall() throws {
        let inner = jit(name: "fused_elementwise") { (x: [Tensor]) in [matmul(x[0], x[0].T).sum(axes: [1])] }
        let outer = jit(name: "outer") { inner($0) }
        let x = Self.v
        expectClose(outer([x])[0], matmul(x, x.T).sum(axes: [1]), rtol: 1e-6, atol: 1e-6)

        let j = makeJaxpr { inner($0) }([x])
        guard case .call(_, let kind) = j.equations.first?.primitive else {
            Issue.record("expected one staged call, got \(j)")
            return
        }
        #expect(kind == .jit("fused_elementwise"))
        #expect(!Self.primitives(optimize(j)).contains("pjit"))
        // Compiled without the passes, the call is a nested plan.
        let plan = compilePlan(j)
        guard case .call = plan.instructions.first?.kind else {
            Issue.record("expected a nested plan, got \(plan)")
            return
        }
        let y = try plan.run([x], donated: [], weakTypes: [false], name: "test")[0]
        expectClose(y, matmul(x, x.T).sum(axes: [1]), rtol: 1e-6, atol: 1e-6)
    }
}
