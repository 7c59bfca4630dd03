import Testing
import FlockTestSupport
@testable import FlockTransforms

/// Functions under every order of {jit, vmap, grad} up to depth 3, compared
/// with JAX's values for the same compositions (tools/make_transform_fixtures.py).
@Suite struct CompositionTests {
    static let functions: [(String, @Sendable (Tensor) -> Tensor)] = [
        ("sin_x2", { x in sin(x) * x * x }),
        ("tanh_exp", { x in tanh(exp(0.3 * x)) }),
        ("logistic_log1p", { x in sigmoid(x) * log1p(x * x) }),
        ("poly_max", { x in maximum(x * x * x - x, 0.5 * x) }),
    ]
    static let points = Tensor([-1.3, -0.2, 0.4, 1.7] as [Double])

    /// The composition `name` of `f`, as a function of the batch of points.
    static func compose(_ name: String, _ f: @escaping (Tensor) -> Tensor) -> (Tensor) -> Tensor {
        let g = grad(f)
        let vmapSum = { (xs: Tensor) in vmap(f)(xs).sum() }
        switch name {
        case "grad", "vmap(grad)": return vmap(g)
        case "jit(grad)", "vmap(jit(grad))": return vmap(jit(g))
        case "grad(jit)", "vmap(grad(jit))": return vmap(grad(jit(f)))
        case "grad(grad)", "vmap(grad(grad))": return vmap(grad(g))
        case "jit(grad(grad))": return vmap(jit(grad(g)))
        case "grad(grad(jit))": return vmap(grad(grad(jit(f))))
        case "grad(grad(grad))": return vmap(grad(grad(g)))
        case "jit(vmap(grad))": return jit(vmap(g))
        case "grad(vmap_sum)": return grad(vmapSum)
        case "jit(grad(vmap_sum))": return jit(grad(vmapSum))
        default: fatalError("unknown composition \(name)")
        }
    }

    static let compositions = [
        "grad", "jit(grad)", "grad(jit)", "grad(grad)", "jit(grad(grad))", "grad(grad(jit))", "grad(grad(grad))",
        "vmap(grad)", "jit(vmap(grad))", "vmap(grad(grad))", "vmap(jit(grad))", "grad(vmap_sum)",
        "jit(grad(vmap_sum))", "vmap(grad(jit))",
    ]

    @Test(arguments: functions.indices)
    func everyCompositionMatchesJAX(_ i: Int) {
        let (name, f) = Self.functions[i]
        expectClose(vmap(f)(Self.points), JAXReference.tensor("compose.\(name).value"), rtol: 1e-12, "\(name) value")
        for c in Self.compositions {
            expectClose(Self.compose(c, f)(Self.points), JAXReference.tensor("compose.\(name).\(c)"),
                        rtol: 1e-10, atol: 1e-12, "\(name) \(c)")
        }
    }

    @Test func perExampleGradientsEqualTheLoopAndJAX() {
        let X = JAXReference.tensor("perexample.X"), y = JAXReference.tensor("perexample.y")
        let w = JAXReference.tensor("perexample.w")
        let loss = { (w: Tensor, x: Tensor, t: Tensor) -> Tensor in
            let r = (x * w).sum() - t
            return r * r
        }
        let perExample = vmapFlat({ a in [grad { (w: Tensor) in loss(w, a[1], a[2]) }(a[0])] }, inAxes: [nil, 0, 0], outAxes: [0])
        let batched = perExample([w, X, y])[0]
        expectClose(batched, JAXReference.tensor("perexample.grads"), rtol: 1e-12, "vmap(grad)")
        let looped = stack((0..<X.shape[0]).map { i in grad { (w: Tensor) in loss(w, X[i], y[i]) }(w) })
        expectClose(batched, looped, rtol: 1e-12, "loop")
    }

    @Test func controlFlowGradientsMatchJAX() {
        let x = Tensor([1, 2, 3] as [Double])
        let cumprod = { (x: Tensor) in scan({ (c: Tensor, v: Tensor) in (c * v, c * v) }, initial: Tensor(1, dtype: .float64), xs: x).1.sum() }
        expectClose(grad(cumprod)(x), JAXReference.tensor("control.scan_cumprod_grad"), "scan")
        let c = { (x: Tensor) in cond(x.sum() .> 0, { (v: Tensor) in (v * v).sum() }, { (v: Tensor) in v.sum() }, x) }
        expectClose(grad(c)(x), JAXReference.tensor("control.cond_grad"), "cond")
        let fori = { (v: Tensor) in forLoop(0, 3, body: { _, c in c * v }, initial: Tensor(1, dtype: .float64)) }
        expectClose(grad(fori)(Tensor(2, dtype: .float64)), JAXReference.tensor("control.fori_grad"), "fori")
        let w = { (x: Tensor) in whileLoop(condition: { (c: Tensor) in c.sum() .< 100 }, body: { $0 * 2 }, initial: x).sum() }
        expectClose(jvp(w, primals: x, tangents: onesLike(x)).tangent, JAXReference.tensor("control.while_jvp"), "while jvp")
    }

    @Test func jitTracesOncePerSignature() {
        let f = jit(name: "f") { (v: [Tensor]) in [tanh(v[0]) * 2] }
        for _ in 0..<3 { _ = f([Tensor([1, 2] as [Float])]) }
        #expect(f.traceCount == 1)
        _ = f([Tensor([1, 2, 3] as [Float])])
        _ = f([Tensor([1, 2] as [Double])])
        #expect(f.traceCount == 3)
        _ = f([Tensor([5, 6] as [Float])])
        #expect(f.traceCount == 3)
    }

    @Test func makeJaxprPrintsLikeJAX() {
        let j = makeJaxpr { (x: Tensor) in sin(x) * 2 }(Tensor([1, 2, 3] as [Float]))
        let text = j.description
        #expect(text.contains("a:f32[3]"), "\(text)")
        #expect(text.contains("b:f32[3] = sin a"), "\(text)")
        #expect(text.contains("mul b 2"), "\(text)")
    }
}
