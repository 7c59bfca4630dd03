// The model of train-lm: a small GPT-style causal transformer over characters.
import Flock

/// One pre-LayerNorm transformer block: `x + attention(norm(x))`, then
/// `h + mlp(norm(h))` with a 4·d GELU MLP.
struct TransformerBlock: Module, PyTreeStruct {
    var attentionNorm: LayerNorm
    var attention: MultiHeadAttention
    var mlpNorm: LayerNorm
    var up: Linear
    var down: Linear
    static let fields: [PyTreeField<TransformerBlock>] = [
        .init(\.attentionNorm, "attention_norm"), .init(\.attention, "attention"),
        .init(\.mlpNorm, "mlp_norm"), .init(\.up, "up"), .init(\.down, "down"),
    ]

    init(features: Int, heads: Int, keys: inout KeyStream) {
        attentionNorm = LayerNorm(features, epsilon: 1e-5)
        attention = MultiHeadAttention(numHeads: heads, inFeatures: features, keys: &keys)
        mlpNorm = LayerNorm(features, epsilon: 1e-5)
        up = Linear(features, 4 * features, keys: &keys)
        down = Linear(4 * features, features, keys: &keys)
    }

    /// `x`: `[batch, length, features]`; `mask`: the causal mask.
    func callAsFunction(_ x: Tensor, mask: Tensor) -> Tensor {
        let h = x + attention(attentionNorm(x), mask: mask)
        return h + down(gelu(up(mlpNorm(h))))
    }
}

/// A character-level causal language model: token and learned position
/// embeddings, pre-LayerNorm blocks, a final LayerNorm and an output projection
/// to one logit per character of the vocabulary.
struct CharTransformer: Module, PyTreeStruct {
    var tokenEmbedding: Embedding
    var positionEmbedding: Embedding
    var blocks: [TransformerBlock]
    var finalNorm: LayerNorm
    var head: Linear
    static let fields: [PyTreeField<CharTransformer>] = [
        .init(\.tokenEmbedding, "token_embedding"), .init(\.positionEmbedding, "position_embedding"),
        .init(\.blocks, "blocks"), .init(\.finalNorm, "final_norm"), .init(\.head, "head"),
    ]

    init(vocabulary: Int, context: Int, features: Int, heads: Int, layers: Int, key: PRNGKey) {
        var keys = KeyStream(key)
        tokenEmbedding = Embedding(vocabulary, features, keys: &keys)
        positionEmbedding = Embedding(context, features, keys: &keys)
        blocks = (0..<layers).map { _ in TransformerBlock(features: features, heads: heads, keys: &keys) }
        finalNorm = LayerNorm(features, epsilon: 1e-5)
        head = Linear(features, vocabulary, keys: &keys)
    }

    /// The longest sequence the model takes.
    var context: Int { positionEmbedding.numEmbeddings }

    /// Logits `[batch, length, vocabulary]` of the next character after each
    /// prefix of `tokens` (int32 `[batch, length]`, length ≤ ``context``).
    ///
    /// With `modelAxis`, this runs on one device of that named axis and its
    /// blocks hold that device's part of the heads and MLP (see Megatron.swift).
    /// With `layout` (jit over sharded arrays, ShardedLMTrainer.swift), the
    /// activations and parameters carry its sharding annotations.
    func callAsFunction(_ tokens: Tensor, modelAxis: String? = nil, layout: LMLayout? = nil) -> Tensor {
        let length = tokens.shape[1]
        let (tokenEmbedding, positionEmbedding) = (layout?.parameters(tokenEmbedding) ?? tokenEmbedding,
                                                   layout?.parameters(positionEmbedding) ?? positionEmbedding)
        var h = tokenEmbedding(tokens) + positionEmbedding(arange(length)).expandingDims(0)
        if let layout { h = layout.activations(h) }
        let mask = MultiHeadAttention.causalMask(length: length)
        for block in blocks {
            if let layout {
                h = layout.activations(layout.parameters(block)(h, mask: mask))
            } else {
                h = modelAxis.map { block.modelParallel(h, mask: mask, axis: $0) } ?? block(h, mask: mask)
            }
        }
        let (finalNorm, head) = (layout?.parameters(finalNorm) ?? finalNorm, layout?.parameters(head) ?? head)
        return head(finalNorm(h))
    }
}
