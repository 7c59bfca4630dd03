// Issue 13's transformer-block train step: one pre-LayerNorm block (d = 256,
// 4 heads, causal self-attention, GELU MLP 256-1024-256), sequence 128, batch
// 16, mean squared error against a fixed target, FlockOptim's adamw; the
// Flax + Optax peer is `transformer_block_step` in peers.py.

import Flock

/// LayerNorm → attention → residual, LayerNorm → MLP → residual.
struct TransformerBlock: Module, PyTreeStruct {
    var norm1: LayerNorm
    var attention: MultiHeadAttention
    var norm2: LayerNorm
    var mlp: FlockNN.MLP
    static let fields: [PyTreeField<TransformerBlock>] = [
        .init(\.norm1, "norm1"), .init(\.attention, "attention"), .init(\.norm2, "norm2"), .init(\.mlp, "mlp"),
    ]

    init(features: Int, heads: Int, hidden: Int, key: PRNGKey) {
        var keys = KeyStream(key)
        norm1 = LayerNorm(features)
        attention = MultiHeadAttention(numHeads: heads, inFeatures: features, keys: &keys)
        norm2 = LayerNorm(features)
        mlp = FlockNN.MLP(features, hidden: [hidden], features, activation: { gelu($0) }, key: keys.next())
    }

    func callAsFunction(_ x: Tensor, mask: Tensor) -> Tensor {
        let h = x + attention(norm1(x), mask: mask)
        return h + mlp(norm2(h))
    }
}

/// The block's parameters, adamw's state and the last loss: the donated pytree.
struct TransformerTrainState: PyTreeStruct {
    var params: TransformerBlock
    var opt: OptimizerState
    var loss: Tensor
    static let fields: [PyTreeField<TransformerTrainState>] = [
        .init(\.params, "params"), .init(\.opt, "opt"), .init(\.loss, "loss"),
    ]
}

/// The initial state, the batch (inputs, targets) and the step.
func transformerTrainStep() -> (
    state: TransformerTrainState, batch: [Tensor], step: (TransformerTrainState, [Tensor]) -> TransformerTrainState
) {
    let (batch, length, features) = (16, 128, 256)
    let tx = GradientTransformation.adamw(learningRate: 1e-3, weightDecay: 1e-4)
    let block = TransformerBlock(features: features, heads: 4, hidden: 4 * features, key: Random.key(0))
    let x = Random.normal(Random.key(1), shape: [batch, length, features])
    let y = Random.normal(Random.key(2), shape: [batch, length, features])
    let mask = MultiHeadAttention.causalMask(length: length)
    let step = { (s: TransformerTrainState, data: [Tensor]) -> TransformerTrainState in
        let (loss, g) = valueAndGrad { (m: TransformerBlock) in
            let d = m(data[0], mask: mask) - data[1]
            return (d * d).mean()
        }(s.params)
        let (u, opt) = tx.update(g, state: s.opt, params: s.params)
        return TransformerTrainState(params: applyUpdates(s.params, u), opt: opt, loss: loss)
    }
    return (TransformerTrainState(params: block, opt: tx.initialize(block), loss: zeros([])), [x, y], step)
}

@MainActor func transformerBlockCase() -> (String, () -> Void) {
    ("transformer_block_step", {
        var (state, batch, body) = transformerTrainStep()
        let step = jit(name: "transformer_block_step", donateArgnums: [0], body)
        let n = 5
        let ns = measure(repeats: 7, inner: n) {
            for _ in 0..<n { state = step(state, batch) }
            blackhole += state.loss.item(Float.self)
        }
        report("transformer_block_step", ns, unit: "ms", value: ns / 1e6)
    })
}

/// The plan's profile of the step (`flock-bench diag_profile_transformer_block`).
func profileTransformerBlock() {
    let (state, batch, body) = transformerTrainStep()
    let leaves = treeLeaves(state), n = leaves.count
    let flat = { (a: [Tensor]) in treeLeaves(body(treeUnflatten(like: state, Array(a[..<n])), Array(a[n...]))) }
    print(jit(name: "transformer_block_step", flat).lower(leaves + batch).compile().profile(leaves + batch, iterations: 20))
}
