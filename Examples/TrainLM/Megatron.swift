// train-lm's tensor (model) parallelism: Megatron-LM's split of a transformer
// block over the devices of one mesh axis (Shoeybi et al., 2019, section 3).
//
// The attention's query, key and value projections and the MLP's first
// matrix are split by columns (each device holds some heads and some hidden
// units); the attention's output projection and the MLP's second matrix by
// rows. A device computes its heads and hidden units from the whole input,
// and one psum over the model axis after each row-split matrix adds the
// devices' partial outputs. Embeddings, LayerNorms and the biases after the
// psums are replicated.
//
// Gradients need two operators, because psum's transpose is psum (each
// device's cotangent is taken to be its own, as JAX's shard_map without
// check_rep): `copyToModelParallel` before a column-split matrix (identity
// forward, psum of the devices' input cotangents backward: the input feeds
// every device's heads) and `reduceFromModelParallel` after a row-split one
// (psum forward, identity backward: every device already holds the whole
// output cotangent). With them, every device gets the gradient of its own
// shard, and the replicated parameters get the whole gradient, the same on
// every device of the model axis.
import Flock

/// Megatron's `f`: the identity, whose cotangent is summed over `axis`.
func copyToModelParallel(_ x: Tensor, axis: String) -> Tensor {
    customVJP({ $0 }, forward: { ($0, []) }, backward: { _, cotangent in psum(cotangent, axisName: axis) })(x)
}

/// Megatron's `g`: a psum over `axis` whose cotangent passes unchanged.
func reduceFromModelParallel(_ x: Tensor, axis: String) -> Tensor {
    customVJP({ psum($0, axisName: axis) }, forward: { (psum($0, axisName: axis), []) }, backward: { _, cotangent in cotangent })(x)
}

extension TransformerBlock {
    /// The block on one device of the model axis `axis`, holding its heads'
    /// query, key, value and output projections and its columns of `up` and rows of `down`.
    func modelParallel(_ x: Tensor, mask: Tensor, axis: String) -> Tensor {
        // The heads this device holds, projected without the output bias (added once, after the psum).
        let heads = MultiHeadAttention(
            query: attention.query, key: attention.key, value: attention.value,
            out: LinearGeneral(kernel: attention.out.kernel, inRank: attention.out.inRank))
        let attended = reduceFromModelParallel(heads(copyToModelParallel(attentionNorm(x), axis: axis), mask: mask), axis: axis)
        let h = x + (attention.out.bias.map { attended + $0 } ?? attended)
        let hidden = gelu(up(copyToModelParallel(mlpNorm(h), axis: axis)))
        let mlp = reduceFromModelParallel(Linear(kernel: down.kernel)(hidden), axis: axis)
        return h + (down.bias.map { mlp + $0 } ?? mlp)
    }

    /// How each parameter is split over the model axis `axis`, by field path
    /// within the block (the parameters not named are replicated).
    static func modelParallelSpecs(axis: String) -> [String: PartitionSpec] {
        let model = MeshAxes([axis])
        let columns = PartitionSpec(nil, model, nil)  // [features, heads, headDim]: by heads
        return [
            "attention.query.kernel": columns, "attention.key.kernel": columns, "attention.value.kernel": columns,
            "attention.query.bias": PartitionSpec(model, nil),
            "attention.key.bias": PartitionSpec(model, nil),
            "attention.value.bias": PartitionSpec(model, nil),
            "attention.out.kernel": PartitionSpec(model, nil, nil),  // [heads, headDim, features]
            "up.kernel": PartitionSpec(nil, model), "up.bias": PartitionSpec(model),
            "down.kernel": PartitionSpec(model, nil),
        ]
    }
}
