// Windowed reductions (`lax.reduce_window`) and Flax's pooling functions.

/// Reduces every window of `operand` with `op` (`lax.reduce_window` with the
/// monoid's identity as the initial value).
///
/// The operand is dilated by `baseDilation` (holes between elements), padded
/// (`.valid`, `.same` — output size ⌈size / stride⌉ — or explicit (low, high)
/// pairs, negative ones crop), and a window of `windowDimensions` elements
/// spaced `windowDilation` apart moves by `windowStrides`. Padding and holes
/// hold the identity (0 for sum, −∞ / the smallest integer for max, +∞ / the
/// largest for min). A window larger than the padded operand gives an empty
/// output along that dimension, as in JAX.
///
/// ```swift
/// let x = Tensor([1, 3, 2, 5, 4] as [Float])
/// reduceWindow(x, .max, windowDimensions: [2])                      // [3, 3, 5, 5]
/// reduceWindow(x, .sum, windowDimensions: [2], windowStrides: [2])  // [4, 7]
/// ```
///
/// - Parameters:
///   - operand: the array to reduce (float32, float64, int32 or uint32).
///   - op: `.sum`, `.max` or `.min`.
///   - windowDimensions: the window's size, one entry per operand dimension.
///   - windowStrides: steps between windows (default 1 in every dimension).
///   - padding: `.valid` (default), `.same` or explicit (low, high) pairs.
///   - baseDilation: operand dilation (default 1).
///   - windowDilation: window dilation (default 1).
public func reduceWindow(
    _ operand: Tensor, _ op: ReduceWindowOp, windowDimensions: [Int], windowStrides: [Int]? = nil,
    padding: ConvolutionPadding = .valid, baseDilation: [Int]? = nil, windowDilation: [Int]? = nil
) -> Tensor {
    let n = windowDimensions.count
    let ones = [Int](repeating: 1, count: n)
    let strides = windowStrides ?? ones, wd = windowDilation ?? ones
    var pads = windowPadding(padding, shape: operand.shape, window: windowDimensions, strides: strides, windowDilation: wd)
    // Counts that do not match leave SAME unresolved; the shape rule names them.
    if case .same = padding, pads.count != n { pads = [[Int]](repeating: [0, 0], count: n) }
    let params = WindowParameters(
        windowDimensions: windowDimensions, windowStrides: strides, padding: pads,
        baseDilation: baseDilation ?? ones, windowDilation: wd)
    return bind1(.reduceWindow(op, params), operand)
}

/// Explicit (low, high) pairs for `padding` (JAX's `padtype_to_pads` over the
/// undilated shape and the dilated window; SAME puts the odd element high).
func windowPadding(
    _ padding: ConvolutionPadding, shape: [Int], window: [Int], strides: [Int], windowDilation: [Int]
) -> [[Int]] {
    let n = Swift.min(shape.count, window.count, strides.count, windowDilation.count)
    switch padding {
    case .explicit(let pairs): return pairs
    case .valid: return [[Int]](repeating: [0, 0], count: window.count)
    case .same:
        return (0..<n).map { d in
            let dilated = (window[d] - 1) * windowDilation[d] + 1
            let stride = Swift.max(strides[d], 1)
            let out = (shape[d] + stride - 1) / stride
            let total = Swift.max(0, (out - 1) * stride + dilated - shape[d])
            return [total / 2, total - total / 2]
        }
    }
}

/// Window geometry of a Flax pooling function over `inputs` laid out as
/// (batch dims…, window dims…, features), or nil after raising an error.
private func poolingWindows(
    _ name: String, _ inputs: Tensor, windowShape: [Int], strides: [Int]?, padding: ConvolutionPadding
) -> (window: [Int], strides: [Int], padding: ConvolutionPadding)? {
    let n = windowShape.count
    let batchDims = inputs.rank - n - 1
    guard batchDims >= 0 else {
        raise(FlockError("\(name): inputs \(inputs.shape) must have (batch…, \(n) window dimensions, features), rank ≥ \(n + 1) for window shape \(windowShape)"))
        return nil
    }
    let s = strides ?? [Int](repeating: 1, count: n)
    guard s.count == n else {
        raise(FlockError("\(name): strides \(s) must have one entry per window dimension of window shape \(windowShape)"))
        return nil
    }
    let lead = [Int](repeating: 1, count: batchDims)
    var pad = padding
    if case .explicit(let pairs) = padding {
        guard pairs.count == n, pairs.allSatisfy({ $0.count == 2 }) else {
            raise(FlockError("\(name): padding \(pairs) must have one (low, high) pair per window dimension of window shape \(windowShape)"))
            return nil
        }
        pad = .explicit(lead.map { _ in [0, 0] } + pairs + [[0, 0]])
    }
    return (lead + windowShape + [1], lead + s + [1], pad)
}

/// Maximum over each window (`flax.linen.max_pool`).
///
/// `inputs` is (batch dims…, window dims…, features), e.g. NHWC for 2-D
/// windows; without batch dimensions it is one example. The gradient flows to
/// the first maximum of each window, as in JAX.
///
/// ```swift
/// let y = maxPool(x, windowShape: [2, 2], strides: [2, 2])   // [N, H/2, W/2, C]
/// ```
///
/// - Parameters:
///   - inputs: (batch…, spatial…, features).
///   - windowShape: the window's size along the spatial dimensions.
///   - strides: steps between windows (default 1).
///   - padding: `.valid` (default), `.same` or explicit (low, high) pairs per spatial dimension.
public func maxPool(
    _ inputs: Tensor, windowShape: [Int], strides: [Int]? = nil, padding: ConvolutionPadding = .valid
) -> Tensor {
    guard let g = poolingWindows("maxPool", inputs, windowShape: windowShape, strides: strides, padding: padding)
    else { return poison }
    return reduceWindow(inputs, .max, windowDimensions: g.window, windowStrides: g.strides, padding: g.padding)
}

/// Minimum over each window (`flax.linen.min_pool`); parameters as ``maxPool(_:windowShape:strides:padding:)``.
public func minPool(
    _ inputs: Tensor, windowShape: [Int], strides: [Int]? = nil, padding: ConvolutionPadding = .valid
) -> Tensor {
    guard let g = poolingWindows("minPool", inputs, windowShape: windowShape, strides: strides, padding: padding)
    else { return poison }
    return reduceWindow(inputs, .min, windowDimensions: g.window, windowStrides: g.strides, padding: g.padding)
}

/// Mean over each window (`flax.linen.avg_pool`); integer inputs become float32.
///
/// - Parameters:
///   - inputs: (batch…, spatial…, features).
///   - windowShape: the window's size along the spatial dimensions.
///   - strides: steps between windows (default 1).
///   - padding: `.valid` (default), `.same` or explicit (low, high) pairs per spatial dimension.
///   - countIncludePad: divide by the full window size (default), or by the
///     number of input elements the window covers (padding excluded).
public func avgPool(
    _ inputs: Tensor, windowShape: [Int], strides: [Int]? = nil, padding: ConvolutionPadding = .valid,
    countIncludePad: Bool = true
) -> Tensor {
    guard let g = poolingWindows("avgPool", inputs, windowShape: windowShape, strides: strides, padding: padding)
    else { return poison }
    let x = floatingOperand(inputs)
    let sums = reduceWindow(x, .sum, windowDimensions: g.window, windowStrides: g.strides, padding: g.padding)
    if countIncludePad { return sums / Tensor(Double(windowShape.reduce(1, *)), dtype: x.dtype) }
    // Counts from a ones array with size-1 batch and feature dimensions (the
    // padding of each window does not depend on them), broadcast in the division.
    let batchDims = x.rank - windowShape.count - 1
    var countShape = x.shape
    for d in 0..<batchDims { countShape[d] = 1 }
    countShape[x.rank - 1] = 1
    var countPadding = g.padding
    if case .same = g.padding {
        // SAME pads of the ones array: same spatial sizes, so the same pairs.
        countPadding = .explicit(windowPadding(.same, shape: x.shape, window: g.window, strides: g.strides, windowDilation: g.window.map { _ in 1 }))
    }
    let counts = reduceWindow(ones(countShape, dtype: x.dtype), .sum, windowDimensions: g.window, windowStrides: g.strides, padding: countPadding)
    return sums / counts
}
