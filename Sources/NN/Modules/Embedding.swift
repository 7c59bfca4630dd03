/// A lookup table of `numEmbeddings` vectors of size `features` (Flax `Embed`).
///
/// The table is drawn by default from a normal with variance 1 / features
/// (`variance_scaling(1, "fan_in", "normal", out_axis=0)`, Flax's default).
///
/// ```swift
/// let embed = Embedding(50_000, 512, key: PRNGKey(0))
/// let h = embed(tokens)                // tokens: int32 [batch, seq] → [batch, seq, 512]
/// let logits = embed.attend(h)         // tied output projection → [batch, seq, 50_000]
/// ```
public struct Embedding: Layer, PyTreeStruct {
    /// `[numEmbeddings, features]`.
    public var embedding: Tensor
    public static let fields: [PyTreeField<Embedding>] = [.init(\.embedding, "embedding")]

    /// An embedding with the given table `[numEmbeddings, features]`.
    public init(embedding: Tensor) {
        if embedding.rank != 2 { raiseLayerError("Embedding", "the table must be [numEmbeddings, features], got \(shapeText(embedding.shape))") }
        self.embedding = embedding
    }

    /// An embedding drawn from the next key of a stream (as `nnx.Embed(…, rngs=nnx.Rngs(key))`).
    public init(
        _ numEmbeddings: Int, _ features: Int, dtype: DType = .float32,
        embeddingInit: Initializer = .varianceScaling(scale: 1, mode: .fanIn, distribution: .normal, outAxis: [0]),
        keys: inout KeyStream
    ) {
        self.init(embedding: embeddingInit(keys.next(), [numEmbeddings, features], dtype: dtype))
    }

    /// An embedding drawn from `key` (as `KeyStream(key)`).
    ///
    /// ```swift
    /// let embed = Embedding(10, 4, key: PRNGKey(0))
    /// ```
    public init(
        _ numEmbeddings: Int, _ features: Int, dtype: DType = .float32,
        embeddingInit: Initializer = .varianceScaling(scale: 1, mode: .fanIn, distribution: .normal, outAxis: [0]),
        key: PRNGKey
    ) {
        var keys = KeyStream(key)
        self.init(numEmbeddings, features, dtype: dtype, embeddingInit: embeddingInit, keys: &keys)
    }

    /// The number of vectors.
    public var numEmbeddings: Int { embedding.shape[0] }
    /// The size of each vector.
    public var features: Int { embedding.shape[1] }

    /// The vectors of integer `indices` (any shape): `[…, features]`.
    public func callAsFunction(_ indices: Tensor) -> Tensor {
        guard indices.dtype.isInteger else {
            raiseLayerError("Embedding", "indices must be integers, got \(indices.dtype)")
            return .poisoned
        }
        return take(embedding, indices, axis: 0)
    }

    /// Similarities of `query` (`[…, features]`) with every vector: `query · embeddingᵀ`,
    /// for an output layer tied to the embedding.
    ///
    /// ```swift
    /// let logits = embed.attend(hidden)    // [batch, seq, numEmbeddings]
    /// ```
    public func attend(_ query: Tensor) -> Tensor {
        guard checkFeatures(query, features, "Embedding.attend") else { return .poisoned }
        return dotGeneral(query, embedding, DotDimensionNumbers(lhsContracting: [query.rank - 1], rhsContracting: [1]))
    }
}
