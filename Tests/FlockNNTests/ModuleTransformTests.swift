import FlockNN
import FlockTestSupport
import Testing

// Modules are pytrees, so they pass through jit, vmap and grad like any
// argument: jit = eager, vmap over examples = the batched call, and jitted
// gradients = eager gradients (identities, no fixture needed).
@Suite struct ModulesUnderTransforms {
    /// A small model using every kind of layer with parameters.
    struct Block: Module, PyTreeStruct {
        var conv: Conv
        var norm: LayerNorm
        var attention: MultiHeadAttention
        var head: Linear
        var causal = true
        static let fields: [PyTreeField<Block>] = [
            .init(\.conv, "conv"), .init(\.norm, "norm"), .init(\.attention, "attention"), .init(\.head, "head"),
        ]
        init(key: PRNGKey) {
            var keys = KeyStream(key)
            conv = Conv(2, 4, kernelSize: [3], keys: &keys)
            norm = LayerNorm(4)
            attention = MultiHeadAttention(numHeads: 2, inFeatures: 4, keys: &keys)
            head = Linear(4, 3, keys: &keys)
        }
        func callAsFunction(_ x: Tensor) -> Tensor {   // x: [batch, length, 2]
            let h = norm(gelu(ModulePath.with("conv") { conv(x) }))
            let mask = causal ? MultiHeadAttention.causalMask(length: x.shape[x.rank - 2]) : nil
            let a = ModulePath.with("attention") { attention(h, mask: mask) }
            return head(a + h).mean(axes: [-2])
        }
    }

    @Test func jitEqualsEager() throws {
        let model = Block(key: PRNGKey(0))
        let x = Random.normal(PRNGKey(1), shape: [3, 5, 2])
        let jitted = jit { (m: Block, xs: [Tensor]) in m(xs[0]) }
        expectClose(try catchingErrors { jitted(model, [x]) }, model(x), rtol: 1e-5, atol: 1e-6, "jit")
    }

    @Test func jitGradEqualsEager() throws {
        // With the causal mask (its select once made two fusion groups feed each other).
        let model = Block(key: PRNGKey(0))
        let x = Random.normal(PRNGKey(1), shape: [3, 5, 2])
        let loss = { (m: Block, xs: [Tensor]) in (m(xs[0]) * m(xs[0])).sum() }
        let eagerGrad = grad(loss)(model, [x])
        let jitGrad = try catchingErrors { jit { (m: Block, xs: [Tensor]) in grad(loss)(m, xs) }(model, [x]) }
        for (e, j) in zip(eagerGrad.parameters, jitGrad.parameters) {
            #expect(e.path == j.path)
            expectClose(j.value, e.value, rtol: 1e-4, atol: 1e-6, "jit grad \(e.path)")
        }
    }

    /// A masked attention alone: jitted gradients = eager gradients.
    @Test func jitGradOfMaskedAttentionEqualsEager() throws {
        let m = MultiHeadAttention(numHeads: 2, inFeatures: 4, key: PRNGKey(0))
        let x = Random.normal(PRNGKey(1), shape: [3, 5, 4])
        let f = { (m: MultiHeadAttention, t: Tensor) in m(t, mask: MultiHeadAttention.causalMask(length: 5)) }
        let loss = { (m: MultiHeadAttention, xs: [Tensor]) in (f(m, xs[0]) * f(m, xs[0])).sum() }
        let eagerGrad = grad(loss)(m, [x])
        let jitGrad = try catchingErrors { jit { (m: MultiHeadAttention, xs: [Tensor]) in grad(loss)(m, xs) }(m, [x]) }
        #expect(eagerGrad.parameters.count == jitGrad.parameters.count)
        for (e, j) in zip(eagerGrad.parameters, jitGrad.parameters) {
            #expect(e.path == j.path)
            expectClose(j.value, e.value, rtol: 1e-4, atol: 1e-6, "jit grad \(e.path)")
        }
    }

    @Test func vmapEqualsBatchedCall() throws {
        let model = Block(key: PRNGKey(2))
        let x = Random.normal(PRNGKey(3), shape: [3, 5, 2])
        // Per-example calls (no batch dimension) mapped over the batch = the batched call.
        let mapped = try catchingErrors { vmap({ (xs: [Tensor]) in [model(xs[0])] })([x])[0] }
        expectClose(mapped, model(x), rtol: 1e-5, atol: 1e-6, "vmap")
    }

    @Test func errorPathInsideCustomModel() {
        let model = Block(key: PRNGKey(0))
        #expect(errorMessage { _ = model(ones([1, 5, 3])) } == "Conv at conv: expected input of shape [batch…, s1, 2], got [1, 5, 3]")
    }
}
