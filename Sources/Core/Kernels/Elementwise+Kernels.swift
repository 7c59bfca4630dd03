#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// The elementwise kernel types, one line each where possible: generic over
// the element type, `@inline(__always)` so a specialised block loop
// vectorises. Integer arithmetic wraps and follows XLA's CPU semantics.

// Float kernels, one line each.
enum NegK<T: KernelFloat>: UnaryKernel { @inline(__always) static func apply(_ x: T) -> T { -x } }
enum ExpK<T: KernelFloat>: UnaryKernel { @inline(__always) static func apply(_ x: T) -> T { T._exp(x) } }
enum LogK<T: KernelFloat>: UnaryKernel { @inline(__always) static func apply(_ x: T) -> T { T._log(x) } }
enum Log1pK<T: KernelFloat>: UnaryKernel { @inline(__always) static func apply(_ x: T) -> T { T._log1p(x) } }
enum Expm1K<T: KernelFloat>: UnaryKernel { @inline(__always) static func apply(_ x: T) -> T { T._expm1(x) } }
enum SinK<T: KernelFloat>: UnaryKernel { @inline(__always) static func apply(_ x: T) -> T { T._sin(x) } }
enum CosK<T: KernelFloat>: UnaryKernel { @inline(__always) static func apply(_ x: T) -> T { T._cos(x) } }
enum TanK<T: KernelFloat>: UnaryKernel { @inline(__always) static func apply(_ x: T) -> T { T._tan(x) } }
enum TanhK<T: KernelFloat>: UnaryKernel { @inline(__always) static func apply(_ x: T) -> T { T._tanh(x) } }
enum LogisticK<T: KernelFloat>: UnaryKernel { @inline(__always) static func apply(_ x: T) -> T { 1 / (1 + T._exp(-x)) } }
enum SqrtK<T: KernelFloat>: UnaryKernel { @inline(__always) static func apply(_ x: T) -> T { x.squareRoot() } }
enum RsqrtK<T: KernelFloat>: UnaryKernel {
    @inline(__always) static func apply(_ x: T) -> T {
        if T.self == Float.self { return unsafeBitCast(XLARsqrt.apply(unsafeBitCast(x, to: Float.self)), to: T.self) }
        return 1 / x.squareRoot()
    }
}
enum AbsK<T: KernelFloat>: UnaryKernel { @inline(__always) static func apply(_ x: T) -> T { Swift.abs(x) } }
enum SignK<T: KernelFloat>: UnaryKernel {
    @inline(__always) static func apply(_ x: T) -> T { x.isNaN ? x : (x > 0 ? 1 : (x < 0 ? -1 : flushedSubnormal(x))) }
}
enum FloorK<T: KernelFloat>: UnaryKernel { @inline(__always) static func apply(_ x: T) -> T { x.rounded(.down) } }
enum CeilK<T: KernelFloat>: UnaryKernel { @inline(__always) static func apply(_ x: T) -> T { x.rounded(.up) } }
enum RoundK<T: KernelFloat>: UnaryKernel { @inline(__always) static func apply(_ x: T) -> T { x.rounded(.toNearestOrEven) } }
enum ErfK<T: KernelFloat>: UnaryKernel { @inline(__always) static func apply(_ x: T) -> T { T._erf(x) } }
enum ErfcK<T: KernelFloat>: UnaryKernel { @inline(__always) static func apply(_ x: T) -> T { T._erfc(x) } }
enum ErfInvK<T: KernelFloat>: UnaryKernel { @inline(__always) static func apply(_ x: T) -> T { T._erfInv(x) } }
enum IsFiniteK<T: KernelFloat>: UnaryKernel { @inline(__always) static func apply(_ x: T) -> Bool { x.isFinite } }

enum AddK<T: KernelFloat>: BinaryKernel { @inline(__always) static func apply(_ x: T, _ y: T) -> T { x + y } }
enum SubK<T: KernelFloat>: BinaryKernel { @inline(__always) static func apply(_ x: T, _ y: T) -> T { x - y } }
enum MulK<T: KernelFloat>: BinaryKernel { @inline(__always) static func apply(_ x: T, _ y: T) -> T { x * y } }
enum DivK<T: KernelFloat>: BinaryKernel { @inline(__always) static func apply(_ x: T, _ y: T) -> T { x / y } }
enum RemK<T: KernelFloat>: BinaryKernel { @inline(__always) static func apply(_ x: T, _ y: T) -> T { T._fmod(x, y) } }
enum PowK<T: KernelFloat>: BinaryKernel { @inline(__always) static func apply(_ x: T, _ y: T) -> T { T._pow(x, y) } }
enum MaxK<T: KernelFloat>: BinaryKernel { @inline(__always) static func apply(_ x: T, _ y: T) -> T { nanMax(x, y) } }
enum MinK<T: KernelFloat>: BinaryKernel { @inline(__always) static func apply(_ x: T, _ y: T) -> T { nanMin(x, y) } }
enum Atan2K<T: KernelFloat>: BinaryKernel { @inline(__always) static func apply(_ x: T, _ y: T) -> T { T._atan2(x, y) } }

/// Float operations shared by float32 and float64 kernels.
protocol KernelFloat: BinaryFloatingPoint, TensorElement {
    static func _exp(_ x: Self) -> Self
    static func _log(_ x: Self) -> Self
    static func _log1p(_ x: Self) -> Self
    static func _expm1(_ x: Self) -> Self
    static func _sin(_ x: Self) -> Self
    static func _cos(_ x: Self) -> Self
    static func _tan(_ x: Self) -> Self
    static func _tanh(_ x: Self) -> Self
    static func _erf(_ x: Self) -> Self
    static func _erfc(_ x: Self) -> Self
    static func _pow(_ x: Self, _ y: Self) -> Self
    static func _fmod(_ x: Self, _ y: Self) -> Self
    static func _atan2(_ y: Self, _ x: Self) -> Self
    static func _erfInv(_ x: Self) -> Self
}

extension Float: KernelFloat {
    @inline(__always) static func _exp(_ x: Float) -> Float { xlaExpFloat(x) }
    @inline(__always) static func _log(_ x: Float) -> Float { xlaLogFloat(x) }
    @inline(__always) static func _log1p(_ x: Float) -> Float { xlaLog1pFloat(x) }
    @inline(__always) static func _expm1(_ x: Float) -> Float { xlaExpm1Float(x) }
    @inline(__always) static func _sin(_ x: Float) -> Float { sinf(x) }
    @inline(__always) static func _cos(_ x: Float) -> Float { cosf(x) }
    @inline(__always) static func _tan(_ x: Float) -> Float { tanf(x) }
    @inline(__always) static func _tanh(_ x: Float) -> Float { fastTanh(x) }
    @inline(__always) static func _erf(_ x: Float) -> Float { xlaErfFloat(x) }
    @inline(__always) static func _erfc(_ x: Float) -> Float { xlaErfcFloat(x) }
    @inline(__always) static func _pow(_ x: Float, _ y: Float) -> Float { powf(x, y) }
    @inline(__always) static func _fmod(_ x: Float, _ y: Float) -> Float { fmodf(x, y) }
    @inline(__always) static func _atan2(_ y: Float, _ x: Float) -> Float { atan2f(y, x) }
    @inline(__always) static func _erfInv(_ x: Float) -> Float { erfInvFloat(x) }
}

extension Double: KernelFloat {
    @inline(__always) static func _exp(_ x: Double) -> Double { Glibc.exp(x) }
    @inline(__always) static func _log(_ x: Double) -> Double { Glibc.log(x) }
    @inline(__always) static func _log1p(_ x: Double) -> Double { Glibc.log1p(x) }
    @inline(__always) static func _expm1(_ x: Double) -> Double { Glibc.expm1(x) }
    @inline(__always) static func _sin(_ x: Double) -> Double { Glibc.sin(x) }
    @inline(__always) static func _cos(_ x: Double) -> Double { Glibc.cos(x) }
    @inline(__always) static func _tan(_ x: Double) -> Double { Glibc.tan(x) }
    @inline(__always) static func _tanh(_ x: Double) -> Double { Glibc.tanh(x) }
    @inline(__always) static func _erf(_ x: Double) -> Double { Glibc.erf(x) }
    @inline(__always) static func _erfc(_ x: Double) -> Double { Glibc.erfc(x) }
    @inline(__always) static func _pow(_ x: Double, _ y: Double) -> Double { Glibc.pow(x, y) }
    @inline(__always) static func _fmod(_ x: Double, _ y: Double) -> Double { Glibc.fmod(x, y) }
    @inline(__always) static func _atan2(_ y: Double, _ x: Double) -> Double { Glibc.atan2(y, x) }
    @inline(__always) static func _erfInv(_ x: Double) -> Double { erfInvDouble(x) }
}

// NaN propagates; +0.0 is larger than -0.0 whatever the operand order, as in XLA.
@inline(__always) func nanMax<T: FloatingPoint>(_ a: T, _ b: T) -> T {
    flushedSubnormal((a > b || a.isNaN || (a == b && b.sign == .minus)) ? a : b)
}
@inline(__always) func nanMin<T: FloatingPoint>(_ a: T, _ b: T) -> T {
    flushedSubnormal((a < b || a.isNaN || (a == b && a.sign == .minus)) ? a : b)
}

/// `x`, or a zero of its sign when it is subnormal: what XLA's max, min,
/// clamp and sign return for a subnormal (their results go through the
/// hardware's flush-to-zero; a choice between operands here would not).
/// A bit test, so the compiler cannot fold it away as it would `x * 1`.
@inline(__always) func flushedSubnormal<T: FloatingPoint>(_ x: T) -> T {
    x.isSubnormal ? (x.sign == .minus ? -T.zero : T.zero) : x
}

/// Integer power by squaring; negative exponents follow XLA (0 unless |base| = 1).
@inline(__always)
func intPow<T: FixedWidthInteger>(_ base: T, _ exponent: T) -> T {
    if exponent < 0 {
        if base == 1 { return 1 }
        if T.isSigned && base == 0 &- 1 { return exponent & 1 == 0 ? 1 : base }
        return 0
    }
    var result: T = 1, b = base, e = exponent
    while e > 0 {
        if e & 1 == 1 { result = result &* b }
        b = b &* b
        e >>= 1
    }
    return result
}

/// Saturating float → integer conversion (NaN → 0), as XLA on CPU.
@inline(__always)
func saturatingInt<F: BinaryFloatingPoint, I: FixedWidthInteger>(_ v: F, _: I.Type) -> I {
    if v.isNaN { return 0 }
    if v <= F(I.min) { return I.min }
    if v >= F(I.max) { return I.max }
    return I(v)
}


// Integer and bool kernels. Integer arithmetic wraps, as XLA's.
enum IntNegK<T: FixedWidthInteger>: UnaryKernel { @inline(__always) static func apply(_ x: T) -> T { 0 &- x } }
enum IntAbsK<T: FixedWidthInteger>: UnaryKernel { @inline(__always) static func apply(_ x: T) -> T { x < 0 ? 0 &- x : x } }
enum IntSignK<T: FixedWidthInteger>: UnaryKernel {
    @inline(__always) static func apply(_ x: T) -> T { x > 0 ? 1 : (x < 0 ? 0 &- 1 : 0) }
}
enum BitNotK<T: FixedWidthInteger>: UnaryKernel { @inline(__always) static func apply(_ x: T) -> T { ~x } }
enum BoolNotK: UnaryKernel { @inline(__always) static func apply(_ x: Bool) -> Bool { !x } }
enum CopyK<T>: UnaryKernel { @inline(__always) static func apply(_ x: T) -> T { x } }

enum IntAddK<T: FixedWidthInteger>: BinaryKernel { @inline(__always) static func apply(_ x: T, _ y: T) -> T { x &+ y } }
enum IntSubK<T: FixedWidthInteger>: BinaryKernel { @inline(__always) static func apply(_ x: T, _ y: T) -> T { x &- y } }
enum IntMulK<T: FixedWidthInteger>: BinaryKernel { @inline(__always) static func apply(_ x: T, _ y: T) -> T { x &* y } }
// XLA: x / 0 = -1 (all bits set), INT_MIN / -1 = INT_MIN; x % 0 = x, INT_MIN % -1 = 0.
enum IntDivK<T: FixedWidthInteger>: BinaryKernel {
    @inline(__always) static func apply(_ x: T, _ y: T) -> T { y == 0 ? ~T(0) : (T.isSigned && y == 0 &- 1 ? 0 &- x : x / y) }
}
enum IntRemK<T: FixedWidthInteger>: BinaryKernel {
    @inline(__always) static func apply(_ x: T, _ y: T) -> T { y == 0 ? x : (T.isSigned && y == 0 &- 1 ? 0 : x % y) }
}
enum IntPowK<T: FixedWidthInteger>: BinaryKernel { @inline(__always) static func apply(_ x: T, _ y: T) -> T { intPow(x, y) } }
enum IntMaxK<T: FixedWidthInteger>: BinaryKernel { @inline(__always) static func apply(_ x: T, _ y: T) -> T { Swift.max(x, y) } }
enum IntMinK<T: FixedWidthInteger>: BinaryKernel { @inline(__always) static func apply(_ x: T, _ y: T) -> T { Swift.min(x, y) } }
enum BitAndK<T: FixedWidthInteger>: BinaryKernel { @inline(__always) static func apply(_ x: T, _ y: T) -> T { x & y } }
enum BitOrK<T: FixedWidthInteger>: BinaryKernel { @inline(__always) static func apply(_ x: T, _ y: T) -> T { x | y } }
enum BitXorK<T: FixedWidthInteger>: BinaryKernel { @inline(__always) static func apply(_ x: T, _ y: T) -> T { x ^ y } }
// Shift counts outside [0, bitWidth) give 0, as in XLA.
enum ShiftLeftK<T: FixedWidthInteger>: BinaryKernel {
    @inline(__always) static func apply(_ x: T, _ y: T) -> T {
        UInt64(truncatingIfNeeded: y) >= UInt64(T.bitWidth) ? 0 : x &<< y
    }
}
enum ShiftRightLogicalK<T: FixedWidthInteger>: BinaryKernel {
    @inline(__always) static func apply(_ x: T, _ y: T) -> T {
        UInt64(truncatingIfNeeded: y) >= UInt64(T.bitWidth)
            ? 0 : T(truncatingIfNeeded: T.Magnitude(truncatingIfNeeded: x) >> T.Magnitude(truncatingIfNeeded: y))
    }
}
enum BoolAndK: BinaryKernel { @inline(__always) static func apply(_ x: Bool, _ y: Bool) -> Bool { x && y } }
enum BoolOrK: BinaryKernel { @inline(__always) static func apply(_ x: Bool, _ y: Bool) -> Bool { x || y } }
enum BoolXorK: BinaryKernel { @inline(__always) static func apply(_ x: Bool, _ y: Bool) -> Bool { x != y } }

// Comparisons; bools compare as the bytes 0 and 1.
enum EqK<T: Comparable>: BinaryKernel { @inline(__always) static func apply(_ x: T, _ y: T) -> Bool { x == y } }
enum NeK<T: Comparable>: BinaryKernel { @inline(__always) static func apply(_ x: T, _ y: T) -> Bool { x != y } }
enum LtK<T: Comparable>: BinaryKernel { @inline(__always) static func apply(_ x: T, _ y: T) -> Bool { x < y } }
enum LeK<T: Comparable>: BinaryKernel { @inline(__always) static func apply(_ x: T, _ y: T) -> Bool { x <= y } }
enum GtK<T: Comparable>: BinaryKernel { @inline(__always) static func apply(_ x: T, _ y: T) -> Bool { x > y } }
enum GeK<T: Comparable>: BinaryKernel { @inline(__always) static func apply(_ x: T, _ y: T) -> Bool { x >= y } }

/// A comparison as a lane mask: all bits set where `K` holds.
enum MaskK<K: BinaryKernel, M: FixedWidthInteger>: BinaryKernel where K.Output == Bool {
    @inline(__always) static func apply(_ x: K.Input, _ y: K.Input) -> M { K.apply(x, y) ? ~M(0) : 0 }
}

/// The bits of the value 1 in a dtype, for converting masks.
protocol OneBits { associatedtype Bits: FixedWidthInteger; static var bits: Bits { get } }
enum OneF32: OneBits { static var bits: UInt32 { Float(1).bitPattern } }
enum OneF64: OneBits { static var bits: UInt64 { Double(1).bitPattern } }
enum OneI32: OneBits { static var bits: UInt32 { 1 } }
enum OneI64: OneBits { static var bits: UInt64 { 1 } }

/// A lane mask converted to 1 (all bits set) or 0.
enum MaskToOneK<M: FixedWidthInteger, One: OneBits>: UnaryKernel where One.Bits == M {
    @inline(__always) static func apply(_ m: M) -> M { m & One.bits }
}

/// `select` with a lane-mask predicate: branch-free bit blending.
enum MaskSelectK<T: FixedWidthInteger>: TernaryKernel {
    @inline(__always) static func apply(_ m: T, _ t: T, _ f: T) -> T { (m & t) | (~m & f) }
}

/// `select(pred, onTrue, onFalse)` on storage of the element size, branch-free
/// (a data-dependent branch mispredicts on half the elements of a random mask,
/// e.g. relu's: 4 ns an element instead of a fraction of one).
enum SelectK<T: FixedWidthInteger>: TernaryKernel {
    @inline(__always) static func apply(_ p: Bool, _ t: T, _ f: T) -> T {
        let m = T(0) &- T(truncatingIfNeeded: unsafeBitCast(p, to: UInt8.self))
        return (m & t) | (~m & f)
    }
}
/// `clamp(lo, x, hi)`: the operand order is (lo, x, hi).
/// `a · b + c` rounded once (IEEE fusedMultiplyAdd; vfmadd in native loops).
enum FmaK<T: BinaryFloatingPoint>: TernaryKernel {
    @inline(__always) static func apply(_ a: T, _ b: T, _ c: T) -> T { c.addingProduct(a, b) }
}

enum ClampK<T: Comparable>: TernaryKernel {
    @inline(__always) static func apply(_ lo: T, _ x: T, _ hi: T) -> T { x < lo ? lo : (x > hi ? hi : x) }
}
/// clamp of floats: subnormal results flushed, as XLA's (``flushedSubnormal(_:)``).
enum FloatClampK<T: KernelFloat>: TernaryKernel {
    @inline(__always) static func apply(_ lo: T, _ x: T, _ hi: T) -> T { flushedSubnormal(x < lo ? lo : (x > hi ? hi : x)) }
}
