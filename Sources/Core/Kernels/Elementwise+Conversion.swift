// Element type conversion with XLA's CPU semantics, as block kernels: every
// pair of dtypes has a direct kernel (no intermediate array).
//
// - float → float rounds to nearest even (to bfloat16 through float32, as XLA);
// - float → integer truncates toward zero and saturates at the integer's
//   range, NaN → 0;
// - integer → integer keeps the low bits (wraps), as C casts and numpy do;
// - integer → float rounds to nearest (to bfloat16 through float32);
// - anything → bool is `x != 0` (NaN → true); bool → number is 0 or 1.

/// The float element types, with the two conversions a kernel needs.
protocol ConvertibleFloat {
    var doubleValue: Double { get }
    static func rounded(from d: Double) -> Self
    static func rounded<I: BinaryInteger>(fromInteger i: I) -> Self
}

extension Float: ConvertibleFloat {
    @inline(__always) var doubleValue: Double { Double(self) }
    @inline(__always) static func rounded(from d: Double) -> Float { Float(d) }
    @inline(__always) static func rounded<I: BinaryInteger>(fromInteger i: I) -> Float { Float(i) }
}
extension Double: ConvertibleFloat {
    @inline(__always) var doubleValue: Double { self }
    @inline(__always) static func rounded(from d: Double) -> Double { d }
    @inline(__always) static func rounded<I: BinaryInteger>(fromInteger i: I) -> Double { Double(i) }
}
extension Float16: ConvertibleFloat {
    @inline(__always) var doubleValue: Double { Double(self) }
    @inline(__always) static func rounded(from d: Double) -> Float16 { Float16(d) }
    @inline(__always) static func rounded<I: BinaryInteger>(fromInteger i: I) -> Float16 { Float16(Float(i)) }
}
extension BFloat16: ConvertibleFloat {
    @inline(__always) var doubleValue: Double { Double(floatValue) }
    @inline(__always) static func rounded(from d: Double) -> BFloat16 { BFloat16(Float(d)) }
    @inline(__always) static func rounded<I: BinaryInteger>(fromInteger i: I) -> BFloat16 { BFloat16(Float(i)) }
}

enum FloatToFloatK<S: ConvertibleFloat, D: ConvertibleFloat>: UnaryKernel {
    @inline(__always) static func apply(_ x: S) -> D { D.rounded(from: x.doubleValue) }
}
enum FloatToIntK<S: ConvertibleFloat, D: FixedWidthInteger>: UnaryKernel {
    @inline(__always) static func apply(_ x: S) -> D { saturatingInt(x.doubleValue, D.self) }
}
enum IntToFloatK<S: FixedWidthInteger, D: ConvertibleFloat>: UnaryKernel {
    @inline(__always) static func apply(_ x: S) -> D { D.rounded(fromInteger: x) }
}
/// Integer to integer: keep the low bits (sign- or zero-extend when widening).
enum WrapK<S: FixedWidthInteger, D: FixedWidthInteger>: UnaryKernel {
    @inline(__always) static func apply(_ x: S) -> D { D(truncatingIfNeeded: x) }
}
enum FloatToBoolK<S: ConvertibleFloat>: UnaryKernel {
    @inline(__always) static func apply(_ x: S) -> Bool { x.doubleValue != 0 }
}
enum IntToBoolK<S: FixedWidthInteger>: UnaryKernel {
    @inline(__always) static func apply(_ x: S) -> Bool { x != 0 }
}
enum BoolToFloatK<D: ConvertibleFloat>: UnaryKernel {
    @inline(__always) static func apply(_ x: Bool) -> D { D.rounded(from: x ? 1 : 0) }
}
enum BoolToIntK<D: FixedWidthInteger>: UnaryKernel {
    @inline(__always) static func apply(_ x: Bool) -> D { x ? 1 : 0 }
}

private func fromFloat<S: ConvertibleFloat>(_: S.Type, to dtype: DType) -> BlockKernel {
    switch dtype {
    case .bool: unaryBlock(FloatToBoolK<S>.self)
    case .int8: unaryBlock(FloatToIntK<S, Int8>.self)
    case .uint8: unaryBlock(FloatToIntK<S, UInt8>.self)
    case .int16: unaryBlock(FloatToIntK<S, Int16>.self)
    case .uint16: unaryBlock(FloatToIntK<S, UInt16>.self)
    case .int32: unaryBlock(FloatToIntK<S, Int32>.self)
    case .uint32: unaryBlock(FloatToIntK<S, UInt32>.self)
    case .int64: unaryBlock(FloatToIntK<S, Int64>.self)
    case .uint64: unaryBlock(FloatToIntK<S, UInt64>.self)
    case .float16: unaryBlock(FloatToFloatK<S, Float16>.self)
    case .bfloat16: unaryBlock(FloatToFloatK<S, BFloat16>.self)
    case .float32: unaryBlock(FloatToFloatK<S, Float>.self)
    case .float64: unaryBlock(FloatToFloatK<S, Double>.self)
    }
}

private func fromInteger<S: FixedWidthInteger>(_: S.Type, to dtype: DType) -> BlockKernel {
    switch dtype {
    case .bool: unaryBlock(IntToBoolK<S>.self)
    case .int8: unaryBlock(WrapK<S, Int8>.self)
    case .uint8: unaryBlock(WrapK<S, UInt8>.self)
    case .int16: unaryBlock(WrapK<S, Int16>.self)
    case .uint16: unaryBlock(WrapK<S, UInt16>.self)
    case .int32: unaryBlock(WrapK<S, Int32>.self)
    case .uint32: unaryBlock(WrapK<S, UInt32>.self)
    case .int64: unaryBlock(WrapK<S, Int64>.self)
    case .uint64: unaryBlock(WrapK<S, UInt64>.self)
    case .float16: unaryBlock(IntToFloatK<S, Float16>.self)
    case .bfloat16: unaryBlock(IntToFloatK<S, BFloat16>.self)
    case .float32: unaryBlock(IntToFloatK<S, Float>.self)
    case .float64: unaryBlock(IntToFloatK<S, Double>.self)
    }
}

private func fromBool(to dtype: DType) -> BlockKernel {
    switch dtype {
    case .bool: BlockKernel.copy(.bool)
    case .int8: unaryBlock(BoolToIntK<Int8>.self)
    case .uint8: unaryBlock(BoolToIntK<UInt8>.self)
    case .int16: unaryBlock(BoolToIntK<Int16>.self)
    case .uint16: unaryBlock(BoolToIntK<UInt16>.self)
    case .int32: unaryBlock(BoolToIntK<Int32>.self)
    case .uint32: unaryBlock(BoolToIntK<UInt32>.self)
    case .int64: unaryBlock(BoolToIntK<Int64>.self)
    case .uint64: unaryBlock(BoolToIntK<UInt64>.self)
    case .float16: unaryBlock(BoolToFloatK<Float16>.self)
    case .bfloat16: unaryBlock(BoolToFloatK<BFloat16>.self)
    case .float32: unaryBlock(BoolToFloatK<Float>.self)
    case .float64: unaryBlock(BoolToFloatK<Double>.self)
    }
}

/// Element type conversion with XLA's CPU semantics (see the top of this file).
func convertKernel(_ from: DType, to dtype: DType) -> BlockKernel {
    if from == dtype { return BlockKernel.copy(dtype) }
    return switch from {
    case .bool: fromBool(to: dtype)
    case .int8: fromInteger(Int8.self, to: dtype)
    case .uint8: fromInteger(UInt8.self, to: dtype)
    case .int16: fromInteger(Int16.self, to: dtype)
    case .uint16: fromInteger(UInt16.self, to: dtype)
    case .int32: fromInteger(Int32.self, to: dtype)
    case .uint32: fromInteger(UInt32.self, to: dtype)
    case .int64: fromInteger(Int64.self, to: dtype)
    case .uint64: fromInteger(UInt64.self, to: dtype)
    case .float16: fromFloat(Float16.self, to: dtype)
    case .bfloat16: fromFloat(BFloat16.self, to: dtype)
    case .float32: fromFloat(Float.self, to: dtype)
    case .float64: fromFloat(Double.self, to: dtype)
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
