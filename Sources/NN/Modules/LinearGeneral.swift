/// A dense layer over several trailing input axes to several output axes
/// (Flax `LinearGeneral` / `DenseGeneral`): the kernel is
/// `inShape + outShape`, contracted with the last `inShape.count` axes of the input.
/// ``MultiHeadAttention``'s projections are `LinearGeneral`s.
///
/// ```swift
/// let toHeads = LinearGeneral(inShape: [512], outShape: [8, 64], key: PRNGKey(0))
/// let q = toHeads(x)                   // [batch, seq, 512] → [batch, seq, 8, 64]
/// ```
public struct LinearGeneral: Layer, PyTreeStruct {
    /// `inShape + outShape`.
    public var kernel: Tensor
    /// `outShape`, or nil without a bias.
    public var bias: Tensor?
    /// How many leading kernel axes are contracted with the input's trailing axes.
    public let inRank: Int
    /// The pytree fields, in flattening order (their names are the parameter paths).
    public static let fields: [PyTreeField<LinearGeneral>] = [.init(\.kernel, "kernel"), .init(\.bias, "bias")]

    /// A layer with the given parameters; the first `inRank` kernel axes are the input axes.
    ///
    /// ```swift
    /// let out = LinearGeneral(kernel: w, bias: b, inRank: 2)   // w: [heads, headDim, features]
    /// ```
    public init(kernel: Tensor, bias: Tensor? = nil, inRank: Int = 1) {
        if inRank < 1 || inRank >= kernel.rank || (bias != nil && bias!.shape != Array(kernel.shape.dropFirst(inRank))) {
            raiseLayerError("LinearGeneral", "the kernel must be inShape + outShape with \(inRank) input axes and the bias outShape, got kernel \(shapeText(kernel.shape)) and bias \(bias.map { shapeText($0.shape) } ?? "none")")
        }
        (self.kernel, self.bias, self.inRank) = (kernel, bias, inRank)
    }

    /// A layer drawn from a key stream, kernel then bias. As Flax, the kernel
    /// initialiser sees the flattened 2-D shape `[∏ inShape, ∏ outShape]`
    /// (so the fans are those of the equivalent dense layer), then is reshaped.
    public init(
        inShape: [Int], outShape: [Int], useBias: Bool = true, dtype: DType = .float32,
        kernelInit: Initializer = .lecunNormal(), biasInit: Initializer = .zeros, keys: inout KeyStream
    ) {
        let flat = [inShape.reduce(1, *), outShape.reduce(1, *)]
        let kernel = kernelInit(keys.next(), flat, dtype: dtype).reshaped(inShape + outShape)
        let bias = useBias ? biasInit(keys.next(), [flat[1]], dtype: dtype).reshaped(outShape) : nil
        self.init(kernel: kernel, bias: bias, inRank: inShape.count)
    }

    /// A layer drawn from `key` (as `KeyStream(key)`).
    ///
    /// ```swift
    /// let layer = LinearGeneral(inShape: [4, 16], outShape: [32], key: PRNGKey(0))
    /// ```
    public init(
        inShape: [Int], outShape: [Int], useBias: Bool = true, dtype: DType = .float32,
        kernelInit: Initializer = .lecunNormal(), biasInit: Initializer = .zeros, key: PRNGKey
    ) {
        var keys = KeyStream(key)
        self.init(inShape: inShape, outShape: outShape, useBias: useBias, dtype: dtype, kernelInit: kernelInit, biasInit: biasInit, keys: &keys)
    }

    /// The input axes' sizes.
    public var inShape: [Int] { Array(kernel.shape.prefix(inRank)) }
    /// The output axes' sizes.
    public var outShape: [Int] { Array(kernel.shape.dropFirst(inRank)) }

    /// `x` (`[…] + inShape`) contracted with the kernel: `[…] + outShape`.
    public func callAsFunction(_ x: Tensor) -> Tensor {
        guard x.rank >= inRank, Array(x.shape.suffix(inRank)) == inShape else {
            raiseLayerError("LinearGeneral", "expected input of shape […, \(inShape.map(String.init).joined(separator: ", "))], got \(shapeText(x.shape))")
            return .poisoned
        }
        let y = dotGeneral(
            x, kernel, DotDimensionNumbers(lhsContracting: Array((x.rank - inRank)..<x.rank), rhsContracting: Array(0..<inRank)))
        return bias.map { y + $0 } ?? y
    }
}
