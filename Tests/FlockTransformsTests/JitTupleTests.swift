import FlockTestSupport
import Testing
@testable import FlockTransforms

/// `jit` of functions returning Swift tuples of pytrees (JAX's jit returns any
/// pytree): JAX's outputs (tools/make_pytree_fixtures.py, `jit.*`), jitted =
/// eager bit for bit, one trace per signature, donation, and errors raised
/// while tracing caught rather than crashing.
@Suite struct JitTupleTests {
    typealias R = PyTreeReference

    @Test func twoOutputsMatchJAX() {
        let f = jit { (u: Tensor, v: Tensor) in (u + v.T, u * v.T) }
        let (s, p) = f(R.input("u"), R.input("v"))
        expectClose(s, R.tensor("jit.tuple2[0]"), rtol: 1e-6, "sum")
        expectClose(p, R.tensor("jit.tuple2[1]"), rtol: 1e-6, "product")
    }

    @Test func oneArgumentThreeOutputsMatchJAX() {
        let f = jit { (x: Tensor) in (tanh(x), x.sum(axes: [0]), x) }
        let x = R.input("x")
        let (t, s, same) = f(x)
        expectClose(t, R.tensor("jit.one_arg[0]"), rtol: 1e-6, "tanh")
        expectClose(s, R.tensor("jit.one_arg[1]"), rtol: 1e-6, "sum")
        expectIdentical(same, x, "an argument returned unchanged")
    }

    @Test func valueAndGradInsideMatchesJAX() {
        let f = jit { (p: [String: Tensor], x: Tensor, y: Tensor) in
            let (l, g) = valueAndGrad { (q: [String: Tensor]) in VmapTreeTests.loss(q, x, y) }(p)
            return (l, g)
        }
        let (l, g) = f(R.params, R.input("x"), R.input("y"))
        expectClose(l, R.tensor("jit.value_and_grad[0]"), rtol: 1e-5, "loss")
        expectClose(g["w"]!, R.tensor("jit.value_and_grad[1]['w']"), rtol: 1e-5, "dw")
        expectClose(g["b"]!, R.tensor("jit.value_and_grad[1]['b']"), rtol: 1e-5, "db")
    }

    @Test func nestedPytreeElementsMatchJAX() {
        let y = R.input("y")
        let f = jit { (p: [String: Tensor], x: Tensor) in
            (matmul(x, p["w"]!), [p["b"]! * 2, x.sum()], ["g": grad { (q: [String: Tensor]) in VmapTreeTests.loss(q, x, y) }(p)])
        }
        let (a, list, dict) = f(R.params, R.input("x"))
        expectClose(a, R.tensor("jit.tuple3[0]"), rtol: 1e-6, "x @ w")
        expectClose(list[0], R.tensor("jit.tuple3[1][0]"), rtol: 1e-6, "[1][0]")
        expectClose(list[1], R.tensor("jit.tuple3[1][1]"), rtol: 1e-6, "[1][1]")
        expectClose(dict["g"]!["w"]!, R.tensor("jit.tuple3[2]['g']['w']"), rtol: 1e-5, "[2].g.w")
        expectClose(dict["g"]!["b"]!, R.tensor("jit.tuple3[2]['g']['b']"), rtol: 1e-5, "[2].g.b")
    }

    @Test func vmapInsideReturningATupleMatchesJAX() {
        let f = jit { (p: [String: Tensor], x: Tensor, y: Tensor) in
            vmap({ (rows: [Tensor]) in [VmapTreeTests.loss(p, rows[0], rows[1]), matmul(rows[0].expandingDims(0), p["w"]!).squeezed()] })([x, y])
        }
        let per = jit { (p: [String: Tensor], x: Tensor, y: Tensor) in
            let out = f(p, x, y)
            return (out[0], out[1])
        }
        let (losses, projections) = per(R.params, R.input("x"), R.input("y"))
        expectClose(losses, R.tensor("jit.vmap_tuple[0]"), rtol: 1e-5, "per-row loss")
        expectClose(projections, R.tensor("jit.vmap_tuple[1]"), rtol: 1e-6, "per-row x @ w")
    }

    /// A struct, an optional (present and absent) and an empty list as elements:
    /// jitted = eager, element for element.
    @Test func structsOptionalsAndEmptyListsAsElements() {
        struct Dense: PyTreeStruct {
            var w: Tensor
            var b: Tensor
            static let fields: [PyTreeField<Dense>] = [.init(\.w, "w"), .init(\.b, "b")]
        }
        func body(_ d: Dense, _ x: Tensor) -> (Dense, Tensor?, Tensor?, [Tensor], Tensor) {
            (Dense(w: d.w * 2, b: d.b - 1), exp(x), nil, [], matmul(x, d.w) + d.b)
        }
        let d = Dense(w: R.input("w"), b: R.input("b")), x = R.input("x")
        let (d1, e, none, empty, y) = jit(body)(d, x)
        let (d2, e2, _, _, y2) = body(d, x)
        expectIdentical(d1.w, d2.w, "struct w")
        expectIdentical(d1.b, d2.b, "struct b")
        expectIdentical(e!, e2!, "optional present")
        #expect(none == nil && empty.isEmpty)
        expectIdentical(y, y2, "x @ w + b")
    }

    @Test func tracesOncePerSignature() {
        let traces = JitTreeTests.Traces()
        let f = jit { (a: Tensor, b: Tensor) in
            traces.bump()
            return (a + b, a - b, a * b)
        }
        let a = Tensor([1, 2, 3] as [Float]), b = Tensor([4, 5, 6] as [Float])
        for _ in 0..<3 {
            let (s, d, p) = f(a, b)
            #expect(s.toArray(Float.self) == [5, 7, 9])
            #expect(d.toArray(Float.self) == [-3, -3, -3])
            #expect(p.toArray(Float.self) == [4, 10, 18])
        }
        #expect(traces.value == 1)
        _ = f(a.reshaped([3, 1]), b.reshaped([3, 1]))
        #expect(traces.value == 2, "a new shape traces again")
    }

    /// Differentiating through, and mapping over, a jitted function that returns a tuple.
    @Test func gradAndVmapOfJittedTupleFunction() throws {
        let f = jit { (w: Tensor, x: Tensor) in (sin(w) * x, (w * w).sum()) }
        let w = Tensor([0.5, -1, 2] as [Float]), x = Tensor([3, 4, 5] as [Float])
        // d/dw [Σ sin(w)·x + Σ w²] = cos(w)·x + 2w.
        let g = grad { (w: Tensor) in
            let (a, b) = f(w, x)
            return a.sum() + b
        }(w)
        expectClose(g, cos(w) * x + 2 * w, rtol: 1e-6, "grad through jit")
        try checkGrads({ v in
            let (a, b) = f(v[0], v[1])
            return [a, b]
        }, [w, x], order: 2)
        let rows = Tensor([0.1, 0.2, 0.3, 0.4, 0.5, 0.6] as [Float], shape: [2, 3])
        let mapped = vmap { (r: Tensor) in [f(r, x).0, f(r, x).1] }(rows)
        for i in 0..<2 {
            let (a, b) = f(rows[i], x)
            expectIdentical(mapped[0][i], a, "vmap row \(i) [0]")
            expectIdentical(mapped[1][i], b, "vmap row \(i) [1]")
        }
    }

    @Test func donatedArgumentsAreDeleted() {
        let f = jit(donateArgnums: [0]) { (p: [String: Tensor], g: [String: Tensor]) in
            (treeMap(p, g) { $0 - 0.5 * $1 }, treeLeaves(g).map { ($0 * $0).sum() })
        }
        let p = ["w": Tensor([1, 2] as [Float]), "b": Tensor([3] as [Float])]
        let g = ["w": Tensor([2, 2] as [Float]), "b": Tensor([4] as [Float])]
        let (p1, norms) = f(p, g)
        #expect(p1["w"]!.toArray(Float.self) == [0, 1])
        #expect(p1["b"]!.toArray(Float.self) == [1])
        #expect(norms.map { $0.toArray(Float.self) } == [[16], [8]], "leaves in key order: b, w")
        #expect(p["w"]!.isDeleted && p["b"]!.isDeleted)
        #expect(!g["w"]!.isDeleted)
        expectFlockError("jit(jit): donateArgnums 2 is out of range for a function of 2 arguments") {
            try catchingErrors { jit(donateArgnums: [2]) { (a: Tensor, b: Tensor) in (a, b) }(g["w"]!, g["b"]!) }
        }
    }

    /// A shape error while tracing is a caught error, not a crash; the
    /// function still works for good arguments afterwards.
    @Test func errorsWhileTracingAreCaught() {
        let f = jit { (a: Tensor, b: Tensor) in (a + b, a * b) }
        expectFlockError("add") {
            try catchingErrors { f(Tensor([1, 2] as [Float]), Tensor([1, 2, 3] as [Float])) }
        }
        let (s, p) = f(Tensor([1, 2] as [Float]), Tensor([3, 4] as [Float]))
        #expect(s.toArray(Float.self) == [4, 6] && p.toArray(Float.self) == [3, 8])
    }
}
