// `valueAndGrad(hasAux:)` / `grad(hasAux:)`: the auxiliary output is any
// pytree and comes back concrete (readable), eagerly and under jit.

import FlockTestSupport
import Testing
@testable import FlockTransforms

@Suite struct HasAuxTests {
    static let x = Tensor([Float(0.5), -1.5, 2.0])
    static let w = Tensor([Float(1.0), 2.0, -0.25])

    /// loss = (w·x)², aux = the dot product, its double and an integer count.
    static func loss(_ w: Tensor) -> (Tensor, [String: [Tensor]]) {
        let y = (w * x).sum()
        return (y * y, ["dot": [y, y * 2], "positive": [(w .> 0).converted(to: .int32).sum()]])
    }

    @Test func auxIsConcreteAndReadable() throws {
        let (value, aux, g) = valueAndGrad(hasAux: Self.loss)(Self.w)
        let dot = 0.5 * 1.0 + -1.5 * 2.0 + 2.0 * -0.25
        #expect(aux["dot"]![0].isConcrete)
        #expect(aux["dot"]![0].item(Float.self) == Float(dot))
        #expect(aux["dot"]![1].item(Float.self) == Float(2 * dot))
        #expect(aux["positive"]![0].item(Int32.self) == 2)
        #expect(value.item(Float.self) == Float(dot * dot))
        // d/dw (w·x)² = 2 (w·x) x.
        #expect(g.toArray(Float.self) == [0.5, -1.5, 2.0].map { Float(2 * dot * $0) })
        let (g2, aux2) = grad(hasAux: Self.loss)(Self.w)
        #expect(g2.toArray(Float.self) == g.toArray(Float.self))
        #expect(aux2["dot"]![1].item(Float.self) == Float(2 * dot))
    }

    @Test func auxUnderJit() throws {
        let step = jit { (w: Tensor) -> [Tensor] in
            let (g, aux) = grad(hasAux: Self.loss)(w)
            return [g] + aux["dot"]! + aux["positive"]!
        }
        let jitted = step(Self.w)
        let (g, aux) = grad(hasAux: Self.loss)(Self.w)
        for (a, b) in zip(jitted, [g] + aux["dot"]! + aux["positive"]!) {
            #expect(a.isConcrete)
            #expect(a.dtype == b.dtype && a.shape == b.shape)
            #expect(a.toArray(Float.self) == b.toArray(Float.self))
        }
    }

    @Test func auxUnderAnOuterTransformIsThatTransformsValue() throws {
        // grad of a function that itself uses grad(hasAux:): the inner aux is
        // traced by the outer grad and differentiable like any value.
        let outer = grad { (w: Tensor) -> Tensor in
            let (_, aux) = grad(hasAux: Self.loss)(w)
            return aux["dot"]![1]  // 2 w·x
        }
        #expect(outer(Self.w).toArray(Float.self) == [1.0, -3.0, 4.0])
    }
}
