/// An N-d convolution over channels-last inputs (Flax `Conv`): `[batch…,
/// spatial…, inFeatures]` → `[batch…, spatial…, outFeatures]` for 1-D, 2-D or
/// 3-D kernels `[k₁, …, kₙ, inFeatures / featureGroupCount, outFeatures]`.
///
/// `.same` padding follows `lax.conv_general_dilated`: output size
/// ⌈input / stride⌉ from the undilated input and the dilated kernel, with the
/// odd pixel of padding at the end (not defined with input dilation, as in JAX). Inputs with no batch dimension, or with
/// several, are accepted as in Flax.
///
/// ```swift
/// let conv = Conv(1, 32, kernelSize: [3, 3], key: PRNGKey(0))
/// let y = conv(images)                 // [128, 28, 28, 1] → [128, 28, 28, 32]
/// let down = Conv(32, 64, kernelSize: [3, 3], strides: [2, 2], padding: .valid, key: PRNGKey(1))
/// ```
public struct Conv: Layer, PyTreeStruct {
    /// `[k₁, …, kₙ, inFeatures / featureGroupCount, outFeatures]`.
    public var kernel: Tensor
    /// `[outFeatures]`, or nil without a bias.
    public var bias: Tensor?
    /// The window strides, one per spatial dimension.
    public let strides: [Int]
    /// `.same`, `.valid`, or explicit `[low, high]` pairs per spatial dimension.
    public let padding: ConvolutionPadding
    /// The input (lhs) dilation, one per spatial dimension (transposed convolutions).
    public let inputDilation: [Int]
    /// The kernel (rhs) dilation, one per spatial dimension (atrous convolutions).
    public let kernelDilation: [Int]
    /// The number of groups the input and output features are split into.
    public let featureGroupCount: Int
    /// The pytree fields, in flattening order (their names are the parameter paths).
    public static let fields: [PyTreeField<Conv>] = [.init(\.kernel, "kernel"), .init(\.bias, "bias")]

    /// A convolution with the given parameters and options.
    ///
    /// ```swift
    /// let conv = Conv(kernel: w, bias: b, padding: .explicit([[1, 1], [0, 2]]))   // w: [3, 3, 8, 16]
    /// ```
    public init(
        kernel: Tensor, bias: Tensor? = nil, strides: [Int]? = nil, padding: ConvolutionPadding = .same,
        inputDilation: [Int]? = nil, kernelDilation: [Int]? = nil, featureGroupCount: Int = 1
    ) {
        let n = Swift.max(kernel.rank - 2, 0)
        let ones = [Int](repeating: 1, count: n)
        (self.kernel, self.bias, self.padding, self.featureGroupCount) = (kernel, bias, padding, featureGroupCount)
        (self.strides, self.inputDilation, self.kernelDilation) = (strides ?? ones, inputDilation ?? ones, kernelDilation ?? ones)
        if kernel.rank < 3 {
            raiseLayerError("Conv", "the kernel must be [k₁, …, kₙ, in / groups, out] with n ≥ 1, got \(shapeText(kernel.shape))")
        } else if let bias, bias.shape != [kernel.shape[n + 1]] {
            raiseLayerError("Conv", "the bias must have shape [\(kernel.shape[n + 1])], got \(shapeText(bias.shape))")
        } else if featureGroupCount < 1 || kernel.shape[n + 1] % featureGroupCount != 0 {
            raiseLayerError("Conv", "featureGroupCount \(featureGroupCount) must divide the \(kernel.shape[n + 1]) output features")
        } else if [self.strides, self.inputDilation, self.kernelDilation].contains(where: { $0.count != n || $0.contains { $0 < 1 } }) {
            raiseLayerError("Conv", "strides \(self.strides), inputDilation \(self.inputDilation) and kernelDilation \(self.kernelDilation) must each hold \(n) positive integers")
        } else if case .explicit(let pads) = padding, pads.count != n || pads.contains(where: { $0.count != 2 }) {
            raiseLayerError("Conv", "explicit padding must hold \(n) [low, high] pairs, got \(pads)")
        } else if padding == .same, self.inputDilation.contains(where: { $0 > 1 }) {
            // As lax.conv_general_dilated: SAME is not defined for transposed convolutions.
            raiseLayerError("Conv", "padding .same is not supported with input dilation \(self.inputDilation); give explicit padding")
        }
    }

    /// A convolution initialised from a key stream: kernel, then bias
    /// (the parameters of `nnx.Conv(…, rngs=nnx.Rngs(key))` for `KeyStream(key)`).
    public init(
        _ inFeatures: Int, _ outFeatures: Int, kernelSize: [Int], strides: [Int]? = nil, padding: ConvolutionPadding = .same,
        inputDilation: [Int]? = nil, kernelDilation: [Int]? = nil, featureGroupCount: Int = 1, useBias: Bool = true,
        dtype: DType = .float32, kernelInit: Initializer = .lecunNormal(), biasInit: Initializer = .zeros,
        keys: inout KeyStream
    ) {
        guard featureGroupCount >= 1, inFeatures % featureGroupCount == 0 else {
            raiseLayerError("Conv", "featureGroupCount \(featureGroupCount) must divide the \(inFeatures) input features")
            self.init(kernel: .poisoned)
            return
        }
        let kernel = kernelInit(keys.next(), kernelSize + [inFeatures / featureGroupCount, outFeatures], dtype: dtype)
        self.init(
            kernel: kernel, bias: useBias ? biasInit(keys.next(), [outFeatures], dtype: dtype) : nil, strides: strides,
            padding: padding, inputDilation: inputDilation, kernelDilation: kernelDilation, featureGroupCount: featureGroupCount)
    }

    /// A convolution initialised from `key` (as `KeyStream(key)`).
    ///
    /// ```swift
    /// let conv = Conv(3, 16, kernelSize: [3, 3], featureGroupCount: 1, key: PRNGKey(0))
    /// ```
    public init(
        _ inFeatures: Int, _ outFeatures: Int, kernelSize: [Int], strides: [Int]? = nil, padding: ConvolutionPadding = .same,
        inputDilation: [Int]? = nil, kernelDilation: [Int]? = nil, featureGroupCount: Int = 1, useBias: Bool = true,
        dtype: DType = .float32, kernelInit: Initializer = .lecunNormal(), biasInit: Initializer = .zeros, key: PRNGKey
    ) {
        var keys = KeyStream(key)
        self.init(
            inFeatures, outFeatures, kernelSize: kernelSize, strides: strides, padding: padding, inputDilation: inputDilation,
            kernelDilation: kernelDilation, featureGroupCount: featureGroupCount, useBias: useBias, dtype: dtype,
            kernelInit: kernelInit, biasInit: biasInit, keys: &keys)
    }

    /// The number of spatial dimensions.
    public var spatialRank: Int { kernel.rank - 2 }
    /// The number of input features.
    public var inFeatures: Int { kernel.shape[spatialRank] * featureGroupCount }
    /// The number of output features.
    public var outFeatures: Int { kernel.shape[spatialRank + 1] }

    /// The convolution of `x`: `[batch…, spatial…, inFeatures]` (zero or more batch dimensions).
    public func callAsFunction(_ x: Tensor) -> Tensor {
        let n = spatialRank
        guard x.rank >= n + 1, x.shape.last == inFeatures else {
            let expected = "[batch…, " + (0..<n).map { "s\($0 + 1)" }.joined(separator: ", ") + ", \(inFeatures)]"
            raiseLayerError("Conv", "expected input of shape \(expected), got \(shapeText(x.shape))")
            return .poisoned
        }
        // One batch dimension for the primitive: add it, or flatten several, as Flax.
        let batchShape = Array(x.shape.prefix(x.rank - n - 1))
        let spatialAndFeatures = Array(x.shape.suffix(n + 1))
        let lhs = x.reshaped([batchShape.reduce(1, *)] + spatialAndFeatures)
        let spatial = Array(spatialAndFeatures.prefix(n))
        // The primitive reads N…C images and a …IO kernel as they are.
        var out = convolution(
            lhs, kernel, strides: strides, padding: .explicit(explicitPadding(spatial)), lhsDilation: inputDilation,
            rhsDilation: kernelDilation, featureGroupCount: featureGroupCount,
            dimensionNumbers: .channelsLast(spatialRank: n))
        if let bias { out = out + bias }
        return out.reshaped(batchShape + Array(out.shape.dropFirst()))
    }

    /// `[low, high]` padding per spatial dimension; `.same` as `lax.padtype_to_pads`
    /// on the undilated input and the dilated kernel.
    func explicitPadding(_ spatial: [Int]) -> [[Int]] {
        switch padding {
        case .valid: return spatial.map { _ in [0, 0] }
        case .explicit(let pads): return pads
        case .same:
            return spatial.indices.map { i in
                let window = (kernel.shape[i] - 1) * kernelDilation[i] + 1
                let out = (spatial[i] + strides[i] - 1) / strides[i]
                let total = Swift.max(0, (out - 1) * strides[i] + window - spatial[i])
                return [total / 2, total - total / 2]
            }
        }
    }
}
