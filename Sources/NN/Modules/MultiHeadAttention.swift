/// Multi-head dot-product attention (Flax `MultiHeadAttention`).
///
/// Queries, keys and values are projected to `[…, length, numHeads, headDim]`
/// by ``LinearGeneral`` layers with kernels `[inFeatures, numHeads, headDim]`;
/// weights are softmax(q · kᵀ / √headDim) over the key axis, with masked-out
/// positions set to the float minimum; the heads' outputs are projected back by
/// a kernel `[numHeads, headDim, outFeatures]`. Masks are boolean,
/// broadcastable to `[batch…, numHeads, queryLength, keyLength]`, true where
/// attention is allowed: see ``causalMask(length:)`` and ``attentionMask(queryValid:keyValid:)``.
///
/// ```swift
/// let attention = MultiHeadAttention(numHeads: 8, inFeatures: 512, key: PRNGKey(0))
/// let y = attention(x, mask: MultiHeadAttention.causalMask(length: 128))   // x: [batch, 128, 512]
/// ```
public struct MultiHeadAttention: Module, PyTreeStruct {
    /// `[inFeatures] → [numHeads, headDim]`.
    public var query: LinearGeneral
    /// `[inFeatures] → [numHeads, headDim]`.
    public var key: LinearGeneral
    /// `[inFeatures] → [numHeads, headDim]`.
    public var value: LinearGeneral
    /// `[numHeads, headDim] → [outFeatures]`.
    public var out: LinearGeneral
    /// The probability of dropping an attention weight in training (0 for none).
    public let dropoutRate: Double
    /// The pytree fields, in flattening order (their names are the parameter paths).
    public static let fields: [PyTreeField<MultiHeadAttention>] = [
        .init(\.query, "query"), .init(\.key, "key"), .init(\.value, "value"), .init(\.out, "out"),
    ]

    /// Attention with the given projections.
    ///
    /// ```swift
    /// let attention = MultiHeadAttention(query: q, key: k, value: v, out: o)
    /// ```
    public init(query: LinearGeneral, key: LinearGeneral, value: LinearGeneral, out: LinearGeneral, dropoutRate: Double = 0) {
        (self.query, self.key, self.value, self.out, self.dropoutRate) = (query, key, value, out, dropoutRate)
        if query.outShape.count != 2 || key.outShape != query.outShape || value.outShape != query.outShape
            || out.inShape != query.outShape
        {
            raiseLayerError("MultiHeadAttention", "query, key and value must project to the same [heads, headDim] that out projects from, got \(shapeText(query.outShape)), \(shapeText(key.outShape)), \(shapeText(value.outShape)) and \(shapeText(out.inShape))")
        }
    }

    /// Attention drawn from a key stream: query, key, value, out projections,
    /// each kernel then bias (the parameters of `nnx.MultiHeadAttention(…, rngs=nnx.Rngs(key))`
    /// for `KeyStream(key)`).
    ///
    /// - Parameters:
    ///   - qkvFeatures: heads × headDim (default `inFeatures`); must be divisible by `numHeads`.
    ///   - outFeatures: the output size (default `inFeatures`).
    public init(
        numHeads: Int, inFeatures: Int, qkvFeatures: Int? = nil, outFeatures: Int? = nil, dropoutRate: Double = 0,
        useBias: Bool = true, dtype: DType = .float32, kernelInit: Initializer = .lecunNormal(),
        biasInit: Initializer = .zeros, keys: inout KeyStream
    ) {
        let qkv = qkvFeatures ?? inFeatures
        guard numHeads >= 1, qkv % numHeads == 0 else {
            raiseLayerError("MultiHeadAttention", "qkvFeatures \(qkv) must be divisible by numHeads \(numHeads)")
            let poisoned = LinearGeneral(kernel: .poisoned, inRank: 0)
            self.init(query: poisoned, key: poisoned, value: poisoned, out: poisoned, dropoutRate: dropoutRate)
            return
        }
        let heads = [numHeads, qkv / numHeads]
        func projection(_ inShape: [Int], _ outShape: [Int], _ keys: inout KeyStream) -> LinearGeneral {
            LinearGeneral(inShape: inShape, outShape: outShape, useBias: useBias, dtype: dtype, kernelInit: kernelInit, biasInit: biasInit, keys: &keys)
        }
        let q = projection([inFeatures], heads, &keys), k = projection([inFeatures], heads, &keys)
        let v = projection([inFeatures], heads, &keys), o = projection(heads, [outFeatures ?? inFeatures], &keys)
        self.init(query: q, key: k, value: v, out: o, dropoutRate: dropoutRate)
    }

    /// Attention drawn from `key` (as `KeyStream(key)`).
    ///
    /// ```swift
    /// let attention = MultiHeadAttention(numHeads: 4, inFeatures: 256, dropoutRate: 0.1, key: PRNGKey(0))
    /// ```
    public init(
        numHeads: Int, inFeatures: Int, qkvFeatures: Int? = nil, outFeatures: Int? = nil, dropoutRate: Double = 0,
        useBias: Bool = true, dtype: DType = .float32, kernelInit: Initializer = .lecunNormal(),
        biasInit: Initializer = .zeros, key: PRNGKey
    ) {
        var keys = KeyStream(key)
        self.init(
            numHeads: numHeads, inFeatures: inFeatures, qkvFeatures: qkvFeatures, outFeatures: outFeatures,
            dropoutRate: dropoutRate, useBias: useBias, dtype: dtype, kernelInit: kernelInit, biasInit: biasInit, keys: &keys)
    }

    /// The number of heads.
    public var numHeads: Int { query.outShape[0] }
    /// The size of each head.
    public var headDim: Int { query.outShape[1] }
    /// The size of the inputs' last axis.
    public var inFeatures: Int { query.inShape[0] }

    /// Attention of `inputsQ` (`[batch…, queryLength, inFeatures]`) over
    /// `inputsKV` (`[batch…, keyLength, inFeatures]`; nil for self-attention).
    ///
    /// - Parameters:
    ///   - mask: boolean, broadcastable to `[batch…, numHeads, queryLength, keyLength]`; true = attend.
    ///   - deterministic: true to skip dropout on the attention weights (evaluation).
    ///   - key: the dropout key, required when `dropoutRate > 0` and not deterministic.
    /// - Returns: `[batch…, queryLength, outFeatures]`.
    public func callAsFunction(
        _ inputsQ: Tensor, _ inputsKV: Tensor? = nil, mask: Tensor? = nil, deterministic: Bool = true, key dropoutKey: PRNGKey? = nil
    ) -> Tensor {
        let inputsKV = inputsKV ?? inputsQ
        for (x, name) in [(inputsQ, "query"), (inputsKV, "key/value")] where x.rank < 2 || x.shape.last != inFeatures {
            raiseLayerError("MultiHeadAttention", "expected \(name) input of shape [batch…, length, \(inFeatures)], got \(shapeText(x.shape))")
            return .poisoned
        }
        let batchShape = Array(inputsQ.shape.dropLast(2))
        guard Array(inputsKV.shape.dropLast(2)) == batchShape else {
            raiseLayerError("MultiHeadAttention", "query and key/value inputs must have the same batch dimensions, got \(shapeText(inputsQ.shape)) and \(shapeText(inputsKV.shape))")
            return .poisoned
        }
        let (lq, lk, b) = (inputsQ.shape[inputsQ.rank - 2], inputsKV.shape[inputsKV.rank - 2], batchShape.reduce(1, *))
        // One batch dimension: [B, L, H, D].
        let q = ModulePath.with("query") { query(inputsQ) }.reshaped([b, lq, numHeads, headDim])
        let k = ModulePath.with("key") { key(inputsKV) }.reshaped([b, lk, numHeads, headDim])
        let v = ModulePath.with("value") { value(inputsKV) }.reshaped([b, lk, numHeads, headDim])
        let scaled = q / sqrt(Tensor(Double(headDim), dtype: q.dtype))
        // '…qhd,…khd->…hqk'
        var weights = dotGeneral(scaled, k, DotDimensionNumbers(lhsContracting: [3], rhsContracting: [3], lhsBatch: [0, 2], rhsBatch: [0, 2]))
        if let mask {
            let target = batchShape + [numHeads, lq, lk]
            guard mask.rank <= target.count, (try? broadcastShapes(mask.shape, target)) == target else {
                raiseLayerError("MultiHeadAttention", "the mask \(shapeText(mask.shape)) does not broadcast to [batch…, heads, queryLength, keyLength] = \(shapeText(target))")
                return .poisoned
            }
            let allowed = mask.converted(to: .bool).broadcast(to: target).reshaped([b, numHeads, lq, lk])
            let lowest = Tensor(-(weights.dtype == .float64 ? Double.greatestFiniteMagnitude : Double(Float.greatestFiniteMagnitude)), dtype: weights.dtype)
            weights = select(allowed, weights, lowest.broadcast(to: weights.shape))
        }
        weights = softmax(weights, axis: -1)
        if !deterministic && dropoutRate > 0 {
            guard let dropoutKey else {
                raiseLayerError("MultiHeadAttention", "deterministic is false and dropoutRate is \(dropoutRate) but no key was given")
                return .poisoned
            }
            // One mask shared by the batch and the heads, as Flax's broadcast_dropout.
            let keepProbability = 1 - dropoutRate
            let keep = Random.bernoulli(dropoutKey, p: Tensor(keepProbability, dtype: .float32), shape: [1, 1, lq, lk])
            weights = weights * (keep.converted(to: weights.dtype) / Tensor(keepProbability, dtype: weights.dtype))
        }
        // '…hqk,…khd->…qhd'
        let attended = dotGeneral(weights, v, DotDimensionNumbers(lhsContracting: [3], rhsContracting: [1], lhsBatch: [0, 1], rhsBatch: [0, 2]))
            .transposed([0, 2, 1, 3]).reshaped(batchShape + [lq, numHeads, headDim])
        return ModulePath.with("out") { out(attended) }
    }

    /// A causal mask `[1, length, length]`: query i attends to keys 0…i
    /// (`nnx.make_causal_mask` for one sequence, without the batch axes).
    ///
    /// ```swift
    /// let y = attention(x, mask: MultiHeadAttention.causalMask(length: x.shape[1]))
    /// ```
    public static func causalMask(length: Int) -> Tensor {
        let i = arange(length)
        return (i.expandingDims(1) .>= i.expandingDims(0)).expandingDims(0)
    }

    /// A padding mask `[batch…, 1, queryLength, keyLength]` from per-position
    /// validity: true where both the query and the key position are valid
    /// (`nnx.make_attention_mask(query_valid, key_valid)`).
    ///
    /// ```swift
    /// let valid = arange(5).expandingDims(0) .< lengths.expandingDims(1)       // [batch, 5]
    /// let mask = MultiHeadAttention.attentionMask(queryValid: valid, keyValid: valid)
    /// ```
    public static func attentionMask(queryValid: Tensor, keyValid: Tensor) -> Tensor {
        let q = queryValid.converted(to: .bool).expandingDims(-1), k = keyValid.converted(to: .bool).expandingDims(-2)
        return (q .& k).expandingDims(-3)
    }
}
