/// Max pooling over windows of the spatial dimensions of a channels-last
/// input (Flax `nn.max_pool` as a layer): `[batch…, spatial…, features]`.
///
/// ```swift
/// let pool = MaxPool(windowShape: [2, 2], strides: [2, 2])
/// let y = pool(x)                      // [N, 28, 28, C] → [N, 14, 14, C]
/// ```
public struct MaxPool: Layer, PyTreeStruct {
    /// The window's size along each spatial dimension.
    public let windowShape: [Int]
    /// Steps between windows (nil: 1).
    public let strides: [Int]?
    /// `.valid` (default), `.same` or explicit `[low, high]` pairs.
    public let padding: ConvolutionPadding
    /// No parameters.
    public static var fields: [PyTreeField<MaxPool>] { [] }

    /// Max pooling with the given windows.
    ///
    /// - Parameters:
    ///   - windowShape: the window's size along each spatial dimension.
    ///   - strides: steps between windows, one per spatial dimension (default 1).
    ///   - padding: `.valid` (default), `.same` or explicit `[low, high]` pairs.
    public init(windowShape: [Int], strides: [Int]? = nil, padding: ConvolutionPadding = .valid) {
        (self.windowShape, self.strides, self.padding) = (windowShape, strides, padding)
    }

    /// The maximum of each window of `x`.
    public func callAsFunction(_ x: Tensor) -> Tensor {
        guard checkPooling("MaxPool", x, windowShape: windowShape, strides: strides, padding: padding) else { return .poisoned }
        return maxPool(x, windowShape: windowShape, strides: strides, padding: padding)
    }
}

/// Average pooling over windows of the spatial dimensions of a channels-last
/// input (Flax `nn.avg_pool` as a layer).
///
/// ```swift
/// let pool = AvgPool(windowShape: [2, 2], strides: [2, 2], padding: .same, countIncludePad: false)
/// let y = pool(x)
/// ```
public struct AvgPool: Layer, PyTreeStruct {
    /// The window's size along each spatial dimension.
    public let windowShape: [Int]
    /// Steps between windows (nil: 1).
    public let strides: [Int]?
    /// `.valid` (default), `.same` or explicit `[low, high]` pairs.
    public let padding: ConvolutionPadding
    /// Divide by the full window size (true, Flax's default) or by the number of input elements covered.
    public let countIncludePad: Bool
    /// No parameters.
    public static var fields: [PyTreeField<AvgPool>] { [] }

    /// Average pooling with the given windows.
    ///
    /// - Parameters:
    ///   - windowShape: the window's size along each spatial dimension.
    ///   - strides: steps between windows, one per spatial dimension (default 1).
    ///   - padding: `.valid` (default), `.same` or explicit `[low, high]` pairs.
    ///   - countIncludePad: divide by the full window size (default), or by the
    ///     number of input elements each window covers (padding excluded).
    public init(windowShape: [Int], strides: [Int]? = nil, padding: ConvolutionPadding = .valid, countIncludePad: Bool = true) {
        (self.windowShape, self.strides, self.padding, self.countIncludePad) = (windowShape, strides, padding, countIncludePad)
    }

    /// The mean of each window of `x`.
    public func callAsFunction(_ x: Tensor) -> Tensor {
        guard checkPooling("AvgPool", x, windowShape: windowShape, strides: strides, padding: padding) else { return .poisoned }
        return avgPool(x, windowShape: windowShape, strides: strides, padding: padding, countIncludePad: countIncludePad)
    }
}

/// Checks a pooling layer's options against its input, raising an error that
/// names the layer and its path (the Core functions would name only `maxPool`).
private func checkPooling(_ layer: String, _ x: Tensor, windowShape: [Int], strides: [Int]?, padding: ConvolutionPadding) -> Bool {
    let n = windowShape.count
    if n == 0 || windowShape.contains(where: { $0 < 1 }) {
        raiseLayerError(layer, "windowShape must hold positive sizes, got \(windowShape)")
    } else if x.rank < n + 1 {
        raiseLayerError(layer, "expected input [batch…, \(n) spatial dimensions, features] for windowShape \(windowShape), got \(shapeText(x.shape))")
    } else if let strides, strides.count != n || strides.contains(where: { $0 < 1 }) {
        raiseLayerError(layer, "strides must hold \(n) positive integers for windowShape \(windowShape), got \(strides)")
    } else if case .explicit(let pads) = padding, pads.count != n || pads.contains(where: { $0.count != 2 }) {
        raiseLayerError(layer, "explicit padding must hold \(n) [low, high] pairs, got \(pads)")
    } else {
        return true
    }
    return false
}
