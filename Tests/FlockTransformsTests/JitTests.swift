import Testing
import FlockTestSupport
@testable import FlockCore
@testable import FlockTransforms
@testable import FlockCompiler

/// jit = eager on every primitive family, optimised = unoptimised on random
/// programs, the passes' rewrites, the plan's memory, the cache, and jit
/// composed with the other transforms.
@Suite struct JitTests {
    static func f32(_ values: [Float], _ shape: [Int]) -> Tensor { Tensor(values, shape: shape) }
    static let x = f32([0.3, -1.2, 0.7, 1.9, -0.4, 0.25], [2, 3])
    static let y = f32([1.1, 0.6, -0.9, 0.45, 1.3, -0.7], [2, 3])
    static let i = Tensor([3, -7, 0, 12, -1, 5] as [Int32], shape: [2, 3])
    static let j = Tensor([2, 3, -4, 5, 0, -2] as [Int32], shape: [2, 3])
    static let u = Tensor([3, 7, 0, 12, 1, 0xFFFF_FFF0] as [UInt32], shape: [2, 3])
    static let p = Tensor([true, false, true, true, false, false], shape: [2, 3])
    static let special = f32([.nan, .infinity, -.infinity, -0.0, 0, 1e-30], [2, 3])

    /// Primitives and compositions beyond the differentiable ones of ``GradCheckTests``:
    /// integers, unsigned, bools, conversions, bit operations, arg-reductions, RNG, loops.
    static let cases: [(String, @Sendable ([Tensor]) -> Tensor, [Tensor])] = [
        ("float32 unary", { x in exp(x[0]) + log1p(abs(x[0])) + tanh(x[0]) * sigmoid(x[0]) - erf(x[0]) + floor(x[0]) * round(x[0]) }, [x]),
        ("float32 specials", { x in sqrt(x[0]) + exp(x[0]) * sign(x[0]) }, [special]),
        ("isFinite/isNaN", { x in `where`(isFinite(x[0]) .& .!isNaN(x[0]), x[0], Tensor(Float(7))) }, [special]),
        ("int arithmetic", { x in (x[0] + x[1]) * x[0] - x[1] / Tensor(Int32(3)) + x[0] % x[1] + floorDivide(x[0], x[1]) }, [i, j]),
        ("int pow/max/min/abs/sign", { x in pow(x[0], abs(x[1]) % 4) + maximum(x[0], x[1]) - minimum(x[0], -x[1]) * sign(x[0]) }, [i, j]),
        ("int bits", { x in (x[0] .& x[1]) .| (x[0] .^ bitwiseNot(x[1])) + shiftLeft(x[0], abs(x[1])) + shiftRight(x[0], abs(x[1])) }, [i, j]),
        ("uint", { x in shiftRightLogical(x[0], Tensor(UInt32(1))) + x[0] * x[0] - x[0] / (x[0] + 1) }, [u]),
        ("bool logic", { x in ((x[0] .& x[1]) .| .!x[0]) .^ x[1] }, [p, p.flipped([1])]),
        ("compare all dtypes", { x in
            ((x[0] .< x[1]) .& (x[2] .>= x[3])) .| (x[4] .== x[4].flipped([1])) .| (x[5] .!= x[5].flipped([0]))
        }, [x, y, i, j, u, p]),
        ("convert every pair", { x in
            var acc = Tensor(Float(0))
            for s in x { for d in DType.allCases { acc = acc + s.converted(to: d).converted(to: .float32).sum() } }
            return acc
        }, [x * 1e9, i, u, p, x.converted(to: .float64)]),
        ("bitcast", { x in x[0].bitcast(to: .int32) + x[1].bitcast(to: .float32).bitcast(to: .int32) }, [x, u]),
        ("select scalar pred", { x in select(x[0].sum() .> 0, x[0], x[1]) }, [x, y]),
        ("clamp", { x in bind1(.clamp, Tensor(Float(-0.5)), x[0], x[1]) + bind1(.clamp, x[1], x[0], Tensor(Float(1))) }, [x, y]),
        ("argmax/argmin", { x in x[0].argmax(axis: 1) + x[0].argmin(axis: 0).sum() }, [x]),
        ("reduce all/any", { x in (x[0] .> 0).all(axes: [1]) .| (x[0] .< -1).any(axes: [1]) }, [x]),
        ("int reductions", { x in x[0].sum(axes: [0]) + x[0].prod(axes: [0]) + x[0].max(axes: [0]) }, [i]),
        ("iota/arange", { x in x[0] + arange(3).converted(to: .float32) }, [x]),
        ("sort multi", { x in sort([x[0], x[1]], axis: 1, numKeys: 1)[1] + argsort(x[0], axis: 0).converted(to: .float32) }, [x, y]),
        ("random", { x in Random.normal(PRNGKey(data: x[0]), shape: [50, 40]) }, [Random.key(3).data]),
        ("while", { x in whileLoop(condition: { (c: [Tensor]) in c[1] .< 10 }, body: { c in [c[0] * 1.5 + x[1], c[1] + 1] }, initial: [x[0], Tensor(Int32(0))])[0] }, [x, y]),
        ("while zero trips", { x in whileLoop(condition: { (c: Tensor) in c.sum() .< -100 }, body: { $0 * 2 }, initial: x[0]) }, [x]),
        ("scan stacked", { x in scan({ (c: Tensor, v: Tensor) in (c + v, c * v) }, initial: x[1][0], xs: x[0]).1 }, [x, y]),
        ("custom vjp", { x in customVJP({ $0 * 3 }, forward: { ($0 * 3, [$0]) }, backward: { res, g in g * res[0] })(x[0]) }, [x]),
        ("custom jvp", { x in customJVP({ sin($0) }) { x, t in (sin(x), t * 10) }(x[0]) }, [x]),
        ("stop gradient", { x in stopGradient(x[0]) * x[1] }, [x, y]),
        ("nested jit", { x in jit { (v: [Tensor]) in [jit { (w: [Tensor]) in [w[0] * 2] }([v[0] + 1])[0] * v[1]] }(x)[0] }, [x, y]),
        ("outputs: input, literal, repeated", { x in x[0] + 0 }, [x]),
        ("rank-0", { x in x[0].sum() * 2 + 1 }, [x]),
        ("relu/max gradients (masks)", { x in
            grad { (v: Tensor) in (relu(v) * x[1] + maximum(v, x[1]) * 3).sum() }(x[0])
        }, [f32([0, -1, 2, 0.5, -0.0, 3], [2, 3]), f32([1, 2, 3, 0.5, 0, -3], [2, 3])]),
        ("predicates to numbers", { x in
            (x[0] .> x[1]).converted(to: .int32) + (x[0] .== x[1]).converted(to: .int32) * 2
                + ((x[2] .< 0.5) .& (x[2] .> -1)).converted(to: .float32).converted(to: .int32)
        }, [i, j, x]),
        ("empty", { x in exp(x[0][0..<0]) + 1 }, [x]),
    ]

    @Test(arguments: cases.indices)
    func jitMatchesEager(_ k: Int) {
        let (name, f, args) = Self.cases[k]
        let jitted = jit(name: name) { [f($0)] }
        expectIdentical(jitted(args)[0], f(args), name)
    }

    @Test(arguments: GradCheckTests.cases.indices)
    func jitMatchesEagerOnDifferentiablePrimitives(_ k: Int) {
        let (name, f, args) = GradCheckTests.cases[k]
        let jitted = jit(name: name) { [f($0)] }
        expectClose(jitted(args)[0], f(args), rtol: 1e-13, atol: 1e-15, name)
    }
}

/// The plan's memory, the cache, donation, and jit composed with other transforms.
@Suite struct JitExecutionTests {
    @Test func longElementwiseChainStaysWithinThreeTimesItsInput() throws {
        let chain = { (x: [Tensor]) -> [Tensor] in
            var y = x[0]
            for k in 0..<100 { y = k % 3 == 0 ? tanh(y) : (k % 3 == 1 ? y * 1.01 : y + 0.1) }
            return [y]
        }
        let input = AbstractValue(shape: [25_000_000], dtype: .float32)  // 100 MB
        let compiled = jit(chain).lower([input]).compile()
        #expect(compiled.peakBytes <= 3 * input.byteCount, "peak \(compiled.peakBytes) for a \(input.byteCount)-byte input")
        // Without fusion, buffers are still released and reused at last use.
        let unfused = compilePlan(optimize(compiled.jaxpr, fuse: false))
        #expect(unfused.peakBytes <= 3 * input.byteCount, "unfused peak \(unfused.peakBytes)")
        #expect(unfused.instructionCount == 100)
        let small = Tensor((0..<1000).map { Float($0) / 500 - 1 })
        expectClose(jit(chain)([small])[0], chain([small])[0], rtol: 1e-6)
    }

    /// The same property measured, not simulated: the large buffers in use
    /// while a 100-operation chain runs on an 8 MB input, counted by the pool.
    @Test(.serialized, arguments: [true, false])
    func longChainMeasuredPeakStaysWithinThreeTimesItsInput(_ fused: Bool) throws {
        let chain = { (x: [Tensor]) -> [Tensor] in
            var y = x[0]
            for k in 0..<100 { y = k % 2 == 0 ? y * 1.01 : y + 0.1 }
            return [y]
        }
        let n = 2_000_000
        let x = linspace(-1, 1, count: n)
        let compiled = jit(chain).lower([x]).compile()
        let plan = fused ? compiled.plan : compilePlan(optimize(compiled.jaxpr, fuse: false))
        let inputBytes = n * 4
        let pool = BufferPool.shared
        // Other tests run concurrently and allocate too: take the least of a few runs.
        var worst = Int.max
        for _ in 0..<3 {
            pool.resetPeak()
            let before = pool.liveBytes
            let out = try plan.run([x.concreteArray(for: "test")])
            worst = min(worst, pool.peakBytes - before)
            #expect(out[0].count == n)
        }
        // The input is held by the caller throughout; the chain adds at most two arrays of its size.
        #expect(worst + inputBytes <= 3 * inputBytes, "fused \(fused): measured \(worst) bytes beyond the \(inputBytes)-byte input")
    }

    @Test func sameSignatureDoesNotRecompile() {
        let f = jit { (x: [Tensor]) in [x[0] * 2 + x[1]] }
        let a = Tensor([1, 2, 3] as [Float]), b = Tensor([4, 5, 6] as [Float])
        for _ in 0..<3 { _ = f([a, b]) }
        _ = f([b, a])
        #expect(f.traceCount == 1 && f.compileCount == 1)
        _ = f([Tensor([1, 2] as [Float]), Tensor([3, 4] as [Float])])
        #expect(f.traceCount == 2)
        _ = f([a, Tensor(Float(1))])  // a rank-0 operand is another signature
        _ = f([a, 1.0])  // and a weakly typed one another still
        #expect(f.traceCount == 4)
        for _ in 0..<2 { _ = f([a, 1.0]) }
        #expect(f.traceCount == 4 && f.compileCount == 4)
    }

    @Test func repeatedCallsMatchTheWholeSignature() {
        // A call is first matched against the previous call's signature, field by
        // field: alternating shapes, dtypes, weak types and named axes each need their own plan.
        let body = { (x: [Tensor]) in [x[0] * 2 + Double(activeAxisSize("i") ?? 0)] }
        let f = jit(body)
        let a = Tensor([1, 2, 3] as [Float]), b = Tensor([1, 2] as [Float]), weak: Tensor = 1.5
        let one = InProcessGroup(size: 1).members[0]
        for round in 0..<2 {
            for (x, what) in [(a, "f32[3]"), (b, "f32[2]"), (a.converted(to: .float64), "f64[3]"), (weak, "weak f32[]")] {
                expectIdentical(f([x])[0], body([x])[0], "\(what), round \(round)")
                expectIdentical(f([x])[0], body([x])[0], "\(what) again, round \(round)")
            }
            withAxis("i", communicator: one) { expectIdentical(f([a])[0], body([a])[0], "f32[3] under axis 'i'") }
            expectIdentical(f([a])[0], body([a])[0], "f32[3] after axis 'i'")
        }
        #expect(f.traceCount == 5 && f.compileCount == 5)
    }

    @Test func samplersUnderJitEqualEagerSamplers() {
        // The samplers convert dtypes and draw bits inside the trace: jit must give the same bits.
        let key = PRNGKey(42)
        let f = jit { (x: [Tensor]) in
            let k = PRNGKey(data: x[0])
            return [Random.normal(k, shape: [3, 4]), Random.uniform(k, shape: [5], dtype: .float64),
                    Random.truncatedNormal(k, lower: -1, upper: 2, shape: [6]), Random.bernoulli(k, p: 0.3, shape: [7])]
        }
        let out = f([key.data])
        expectIdentical(out[0], Random.normal(key, shape: [3, 4]), "normal")
        expectIdentical(out[1], Random.uniform(key, shape: [5], dtype: .float64), "uniform")
        expectIdentical(out[2], Random.truncatedNormal(key, lower: -1, upper: 2, shape: [6]), "truncatedNormal")
        expectIdentical(out[3], Random.bernoulli(key, p: 0.3, shape: [7]), "bernoulli")
    }

    @Test func staticArgumentsAreCacheKeys() {
        let f = jit(staticArgnums: [1]) { (x: [Tensor]) in
            // A static argument is concrete while tracing: Swift control flow may read it.
            [x[1].item(Int32.self) > 0 ? x[0] * 2 : -x[0]]
        }
        let a = Tensor([1, 2, 3] as [Float])
        expectIdentical(f([a, Tensor(Int32(1))])[0], a * 2, "positive")
        expectIdentical(f([a, Tensor(Int32(-1))])[0], -a, "negative")
        _ = f([a, Tensor(Int32(1))])
        #expect(f.traceCount == 2)
    }

    @Test func donatedArgumentsAreReused() throws {
        let n = 1 << 16
        let f = jit(donateArgnums: [0]) { (x: [Tensor]) in [x[0] - 0.5 * x[1]] }
        let g = jit { (x: [Tensor]) in [x[0] - 0.5 * x[1]] }
        let p = Tensor((0..<n).map { Float($0) }), d = Tensor((0..<n).map { _ in Float(2) })
        let kept = g([p, d])[0]
        #expect(try kept.concreteArray(for: "").buffer !== p.concreteArray(for: "").buffer)
        #expect(p.toArray(Float.self)[3] == 3, "a non-donated argument is never overwritten")
        let q = Tensor((0..<n).map { Float($0) })
        let qBuffer = try q.concreteArray(for: "").buffer
        let out = f([q, d])[0]
        #expect(try out.concreteArray(for: "").buffer === qBuffer, "the donated buffer holds the result")
        expectClose(out, kept)
        // The donated argument is deleted (as in JAX): reading it is an error naming the donation, never stale data.
        #expect(q.isDeleted && !out.isDeleted && !d.isDeleted)
        let message = errorText { _ = q + 1 }
        #expect(message.contains("donated to a jitted function"), "\(message)")
        #expect(errorText { _ = q.toArray(Float.self) }.contains("donated"))
        #expect(errorText { _ = f([q, d]) }.contains("donated"), "calling again with a deleted argument")
        #expect("\(q)".contains("deleted"))
        // Donating an argument the plan cannot reuse (another dtype) deletes it all the same.
        let h = jit(donateArgnums: [0]) { (x: [Tensor]) in [x[0].converted(to: .float64).sum()] }
        let r = Tensor([1, 2, 3] as [Float])
        #expect(h([r])[0].item(Double.self) == 6)
        #expect(r.isDeleted)
        // Returning the donated argument itself gives a live output.
        let identity = jit(donateArgnums: [0]) { (x: [Tensor]) in [x[0]] }
        let s = Tensor([4, 5] as [Float])
        let t = identity([s])[0]
        #expect(s.isDeleted && !t.isDeleted && t.toArray(Float.self) == [4, 5])
    }

    @Test func pytreeJitDonatesWholeArguments() {
        let n = 1 << 15  // pooled sizes: in-place reuse is visible
        func params() -> [String: Tensor] {
            ["w": Tensor((0..<n).map { Float($0) * 1e-3 }), "b": Tensor((0..<16).map { Float($0) })]
        }
        let grads: [String: Tensor] = ["w": Tensor((0..<n).map { _ in Float(2) }), "b": Tensor((0..<16).map { _ in Float(1) })]
        let sgd = { (p: [String: Tensor], g: [String: Tensor]) -> [String: Tensor] in
            ["w": p["w"]! - 0.5 * g["w"]!, "b": p["b"]! - 0.5 * g["b"]!]
        }
        let expected = sgd(params(), grads)
        let step = jit(donateArgnums: [0], sgd)
        var p = params()
        let wBuffer = try! p["w"]!.concreteArray(for: "").buffer
        let old = p
        p = step(p, grads)
        for k in ["w", "b"] {
            expectClose(p[k]!, expected[k]!, rtol: 0, atol: 0, k)
            #expect(old[k]!.isDeleted && !p[k]!.isDeleted && !grads[k]!.isDeleted, "\(k): the first argument's leaves only")
        }
        #expect(try! p["w"]!.concreteArray(for: "").buffer === wBuffer, "the update is written into the donated buffer")
        p = step(p, grads)  // the same structures: no new function
        expectClose(p["w"]!, sgd(expected, grads)["w"]!, rtol: 0, atol: 0, "second step")
        // Without donation nothing is deleted; the one-argument form donates its argument.
        let q = params()
        _ = jit(sgd)(q, grads)
        #expect(!q["w"]!.isDeleted)
        let decay = jit(donateArgnums: [0]) { (t: [String: Tensor]) in treeMap(t) { $0 * 0.5 } }
        let r = params()
        let halved = decay(r)
        #expect(r["b"]!.isDeleted && halved["b"]!.toArray(Float.self)[2] == 1)
        #expect(errorText { _ = jit(donateArgnums: [2], sgd) }.contains("out of range"))
    }

    /// The message of the first error `body` raises, or "" when it raises none.
    func errorText(_ body: () -> Void) -> String { errorMessage(body) ?? "" }

    @Test func intermediatesAreReusedInPlace() throws {
        let f = jit { (x: [Tensor]) in [exp(x[0]).sum(axes: [0]) + 1] }
        let compiled = f.lower([AbstractValue(shape: [4, 1 << 16], dtype: .float32)]).compile()
        // input + exp(input) + the small sum; the + 1 writes into the sum's buffer.
        #expect(compiled.peakBytes == 2 * 4 * 4 * (1 << 16) + 4 * (1 << 16))
    }

    @Test func controlFlowCompilesToNestedPlans() throws {
        let f = jit { (x: [Tensor]) in
            [whileLoop(condition: { (c: Tensor) in c.sum() .< 1000 }, body: { tanh($0) + $0 * 2 }, initial: x[0])]
        }
        let x = Tensor([1, 2, 3] as [Float])
        let c = f.lower([x]).compile()
        #expect(c.instructionCount == 1, "\(c.plan)")
        #expect(c.plan.description.contains("while"))
        expectIdentical(f([x])[0], whileLoop(condition: { (c: Tensor) in c.sum() .< 1000 }, body: { tanh($0) + $0 * 2 }, initial: x), "while")
    }

    static let a = Tensor([0.3, -1.2, 0.7, 1.9, -0.4, 0.25], shape: [2, 3])
    static let b = Tensor([1.1, 0.6, -0.9, 0.45, 1.3, -0.7], shape: [2, 3])
    static func loss(_ x: Tensor, _ y: Tensor) -> Tensor { (tanh(matmul(x, y.T)) * x.sum(axes: [1], keepDims: true)).sum() + gelu(x).mean() }

    @Test func gradOfJitEqualsGrad() {
        let f = jit { (x: [Tensor]) in [Self.loss(x[0], x[1])] }
        let jitted = grad { (x: Tensor) in f([x, Self.b])[0] }(Self.a)
        let plain = grad { (x: Tensor) in Self.loss(x, Self.b) }(Self.a)
        expectClose(jitted, plain, rtol: 1e-12, atol: 1e-14, "grad(jit)")
    }

    @Test func jitOfGradEqualsGrad() {
        let g = jit { (x: [Tensor]) in [grad { (v: Tensor) in Self.loss(v, x[1]) }(x[0])] }
        let plain = grad { (x: Tensor) in Self.loss(x, Self.b) }(Self.a)
        expectClose(g([Self.a, Self.b])[0], plain, rtol: 1e-12, atol: 1e-14, "jit(grad)")
        // jit(grad(jit(f))) and a second-order derivative through jit.
        let inner = jit { (x: [Tensor]) in [Self.loss(x[0], x[1])] }
        let h = jit { (x: [Tensor]) in [grad { (v: Tensor) in inner([v, x[1]])[0] }(x[0])] }
        expectClose(h([Self.a, Self.b])[0], plain, rtol: 1e-12, atol: 1e-14, "jit(grad(jit))")
        let second = grad { (v: Tensor) in grad { (w: Tensor) in inner([w, Self.b])[0] }(v).sum() }(Self.a)
        let secondPlain = grad { (v: Tensor) in grad { (w: Tensor) in Self.loss(w, Self.b) }(v).sum() }(Self.a)
        expectClose(second, secondPlain, rtol: 1e-10, atol: 1e-12, "grad(grad(jit))")
    }

    @Test func jitComposesWithVmap() {
        let f = { (x: Tensor) in tanh(matmul(x, Self.b.T)).sum(axes: [0]) * x.sum() }
        let rows = Self.a.reshaped([2, 1, 3])
        let plain = vmap(f)(rows)
        expectClose(jit(vmap(f))(rows), plain, rtol: 1e-14, atol: 1e-15, "jit(vmap)")
        expectClose(vmap(jit(f))(rows), plain, rtol: 1e-14, atol: 1e-15, "vmap(jit)")
        // Per-example gradients: jit(vmap(grad)).
        let g = { (x: Tensor) in grad { (v: Tensor) in Self.loss(v, Self.b) }(x) }
        let perExample = vmap(g)(rows)
        expectClose(jit(vmap(g))(rows), perExample, rtol: 1e-12, atol: 1e-14, "jit(vmap(grad))")
        expectClose(vmap(jit(g))(rows), perExample, rtol: 1e-12, atol: 1e-14, "vmap(jit(grad))")
    }

    @Test func jvpOfJitEqualsJvp() {
        let f = jit { (x: Tensor) in tanh(x) * Self.b + x * x }
        let (y, t) = jvp(f, primals: Self.a, tangents: Self.b)
        let (y0, t0) = jvp({ (x: Tensor) in tanh(x) * Self.b + x * x }, primals: Self.a, tangents: Self.b)
        expectClose(y, y0, rtol: 1e-14)
        expectClose(t, t0, rtol: 1e-14)
    }

    @Test func errorsInsideJitAreReported() {
        let f = jit { (x: [Tensor]) in [matmul(x[0], x[0])] }
        let m = errorMessage { _ = f([Self.a]) }
        #expect(m?.contains("dot_general") == true || m?.contains("matmul") == true, "got \(m ?? "nil")")
    }
}

/// Optimised = unoptimised on random programs of elementwise operations,
/// reductions, products and layout changes, with literals 0 and 1, repeated
/// and dead subexpressions, so every pass has something to rewrite.
@Suite struct JitPropertyTests {
    /// 40 small programs, and a few whose rows are long enough for fused
    /// loops to read broadcast rows and columns in place.
    @Test(arguments: Array((0..<40).map { ($0, 6) }) + (40..<46).map { ($0, 256) })
    func optimisedMatchesUnoptimised(_ seed: Int, _ n: Int) throws {
        let program = RandomProgram(seed: UInt64(seed), n: n)
        let args = program.inputs
        let eager = program.run(args)
        let traced = makeJaxpr(program.run)(args)
        try checkJaxpr(traced)
        for fuse in [false, true] {
            let optimised = optimize(traced, fuse: fuse)
            try checkJaxpr(optimised)
            let plan = compilePlan(optimised)
            let outs = try plan.run(args.map { try $0.concreteArray(for: "test") })
            for (k, (o, e)) in zip(outs, eager).enumerated() {
                expectClose(Tensor(concrete: o, weakType: e.weakType), e, rtol: 2e-5, atol: 1e-5, "seed \(seed) output \(k) fuse \(fuse)\n\(traced)")
            }
        }
        // And through the public path.
        let viaJit = jit(program.run)(args)
        for (o, e) in zip(viaJit, eager) { expectClose(o, e, rtol: 2e-5, atol: 1e-5, "seed \(seed) via jit") }
    }
}

/// A random straight-line program over float32 [n, n] values.
struct RandomProgram {
    enum Op {
        case unary(Int, Int)  // kind, operand
        case binary(Int, Int, Int)
        case literal(Int, Int, Float)
        case compareSelect(Int, Int)
        case reduceBack(Int, Int)
        case product(Int, Int)
        case layout(Int, Int)
        case duplicate(Int)
        case dead(Int)
        case constant(Int)
    }
    let n: Int
    var ops: [Op] = []
    let inputs: [Tensor]

    init(seed: UInt64, n: Int) {
        var rng = SplitMix64(seed: seed &+ 0x9E37_79B9_7F4A_7C15)  // the stream the programs were chosen with
        self.n = n
        inputs = (0..<3).map { _ in Tensor((0..<(n * n)).map { _ in Float(rng.unit() * 4 - 2) }, shape: [n, n]) }
        var count = 3
        for _ in 0..<(8 + Int(rng.next() % 16)) {
            func pick() -> Int { Int(rng.next() % UInt64(count)) }
            let op: Op
            switch rng.next() % 10 {
            case 0: op = .unary(Int(rng.next() % 8), pick())
            case 1: op = .binary(Int(rng.next() % 6), pick(), pick())
            case 2: op = .literal(Int(rng.next() % 4), pick(), [0, 1, -1, 0.5, 2, -0.0][Int(rng.next() % 6)])
            case 3: op = .compareSelect(pick(), pick())
            case 4: op = .reduceBack(Int(rng.next() % 3), pick())
            case 5: op = .product(pick(), pick())
            case 6: op = .layout(Int(rng.next() % 4), pick())
            case 7: op = .duplicate(pick())
            case 8: op = .dead(pick())
            default: op = .constant(pick())
            }
            ops.append(op)
            count += 1
        }
    }

    func run(_ args: [Tensor]) -> [Tensor] {
        var v = args
        for op in ops {
            switch op {
            case .unary(let k, let a):
                let x = v[a]
                v.append([tanh(x), sin(x), exp(-abs(x)), -x, abs(x), sigmoid(x), sqrt(abs(x) + 1), log1p(abs(x))][k])
            case .binary(let k, let a, let b):
                let (x, y) = (v[a], v[b])
                v.append([x + y, x - y, x * y, maximum(x, y), minimum(x, y), x / (abs(y) + 1)][k])
            case .literal(let k, let a, let c):
                let x = v[a], t = Tensor(c)
                v.append([x * t, x + t, t - x, x / (abs(t) + 1)][k])
            case .compareSelect(let a, let b):
                v.append(`where`(v[a] .> v[b], v[a], v[b] * 0.5))
            case .reduceBack(let k, let a):
                let x = v[a]
                let r = [x.sum(axes: [1], keepDims: true), x.max(axes: [0], keepDims: true), x.mean(axes: [1], keepDims: true)][k]
                v.append(r.broadcast(to: [n, n]) * 0.25 + x)
            case .product(let a, let b):
                v.append(matmul(v[a], v[b].T) * (1 / Float(n)))
            case .layout(let k, let a):
                let x = v[a]
                v.append([x.T, x.T.T, x.reshaped([n * n]).reshaped([n, n]) + 1, x.converted(to: .float64).converted(to: .float32)][k])
            case .duplicate(let a):
                v.append(tanh(v[a]) + tanh(v[a]))
            case .dead(let a):
                _ = exp(v[a]) * 3
                v.append(v[a] * 1)
            case .constant(let a):
                v.append(v[a] + (Tensor(Float(2)) * Tensor(Float(3))).broadcast(to: [n, n]) * Tensor(Float(0.5)))
            }
        }
        return Array(v.suffix(2))
    }
}
