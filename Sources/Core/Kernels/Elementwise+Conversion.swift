// Element type conversion with JAX's CPU semantics, as block kernels.

/// Element types converted through Double, which represents every value of
/// every Flock dtype exactly.
protocol DoubleConvertible {
    var doubleValue: Double { get }
    static func converted(from d: Double) -> Self
}

extension Float: DoubleConvertible {
    @inline(__always) var doubleValue: Double { Double(self) }
    @inline(__always) static func converted(from d: Double) -> Float { Float(d) }
}
extension Double: DoubleConvertible {
    @inline(__always) var doubleValue: Double { self }
    @inline(__always) static func converted(from d: Double) -> Double { d }
}
extension Int32: DoubleConvertible {
    @inline(__always) var doubleValue: Double { Double(self) }
    @inline(__always) static func converted(from d: Double) -> Int32 { saturatingInt(d, Int32.self) }
}
extension UInt32: DoubleConvertible {
    @inline(__always) var doubleValue: Double { Double(self) }
    @inline(__always) static func converted(from d: Double) -> UInt32 { saturatingInt(d, UInt32.self) }
}
extension Bool: DoubleConvertible {
    @inline(__always) var doubleValue: Double { self ? 1 : 0 }
    @inline(__always) static func converted(from d: Double) -> Bool { d != 0 }
}

enum ConvertK<S: DoubleConvertible, D: DoubleConvertible>: UnaryKernel {
    @inline(__always) static func apply(_ x: S) -> D { D.converted(from: x.doubleValue) }
}
/// int32 ↔ uint32 wrap (keep the bits), as XLA.
enum WrapK<S: FixedWidthInteger, D: FixedWidthInteger>: UnaryKernel {
    @inline(__always) static func apply(_ x: S) -> D { D(truncatingIfNeeded: x) }
}

private func convertKernel<S: DoubleConvertible>(_: S.Type, to dtype: DType) -> BlockKernel {
    switch dtype {
    case .float32: unaryBlock(ConvertK<S, Float>.self)
    case .float64: unaryBlock(ConvertK<S, Double>.self)
    case .int32: unaryBlock(ConvertK<S, Int32>.self)
    case .uint32: unaryBlock(ConvertK<S, UInt32>.self)
    case .bool: unaryBlock(ConvertK<S, Bool>.self)
    }
}

/// Element type conversion with JAX's CPU semantics: floats saturate into
/// integers (NaN → 0), integers wrap between int32 and uint32, nonzero → true.
func convertKernel(_ from: DType, to dtype: DType) -> BlockKernel {
    switch (from, dtype) {
    case _ where from == dtype: BlockKernel.copy(dtype)
    case (.int32, .uint32): unaryBlock(WrapK<Int32, UInt32>.self)
    case (.uint32, .int32): unaryBlock(WrapK<UInt32, Int32>.self)
    case (.float32, _): convertKernel(Float.self, to: dtype)
    case (.float64, _): convertKernel(Double.self, to: dtype)
    case (.int32, _): convertKernel(Int32.self, to: dtype)
    case (.uint32, _): convertKernel(UInt32.self, to: dtype)
    case (.bool, _): convertKernel(Bool.self, to: dtype)
    }
}

/// `x` converted to `dtype` (the same array when the dtype already matches).
func convertArray(_ x: DenseArray, to dtype: DType) -> DenseArray {
    if x.dtype == dtype { return x }
    return runElementwise(convertKernel(x.dtype, to: dtype), [x], out: AbstractValue(shape: x.shape, dtype: dtype))
}

func bitcastArray(_ x: DenseArray, to dtype: DType) -> DenseArray {
    let out = DenseArray(uninitializedShape: x.shape, dtype: dtype)
    if x.byteCount > 0 { out.buffer.pointer.copyMemory(from: x.buffer.pointer, byteCount: x.byteCount) }
    return out
}
