#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// Elementwise kernels: switch on dtype once, then a plain loop over typed
// pointers. Binary kernels accept one rank-0 operand (the shape rule allows it)
// so that `x * 0.5` never materialises a broadcast scalar.

/// An elementwise function as a type: generic specialisation over kernel
/// *types* reliably inlines `apply` into the loop, so it vectorises; closures
/// passed through the parallel helper did not (measured 4× slower for tanh).
protocol UnaryKernel {
    associatedtype Input
    associatedtype Output
    static func apply(_ x: Input) -> Output
}

protocol BinaryKernel {
    associatedtype Input
    associatedtype Output
    static func apply(_ x: Input, _ y: Input) -> Output
}

func mapUnary<K: UnaryKernel>(_ x: DenseArray, to dtype: DType, _: K.Type) -> DenseArray {
    let out = DenseArray(uninitializedShape: x.shape, dtype: dtype)
    let src = UncheckedSendable(x.pointer(K.Input.self).baseAddress!)
    let dst = UncheckedSendable(out.mutablePointer(K.Output.self).baseAddress!)
    forEachChunk(x.count) { lo, hi in
        let s = src.value, d = dst.value
        for i in lo..<hi { d[i] = K.apply(s[i]) }
    }
    return out
}

func mapBinary<K: BinaryKernel>(_ a: DenseArray, _ b: DenseArray, shape: [Int], to dtype: DType, _: K.Type) -> DenseArray {
    let out = DenseArray(uninitializedShape: shape, dtype: dtype)
    let pa = UncheckedSendable(a.pointer(K.Input.self).baseAddress!)
    let pb = UncheckedSendable(b.pointer(K.Input.self).baseAddress!)
    let dst = UncheckedSendable(out.mutablePointer(K.Output.self).baseAddress!)
    let n = out.count
    if a.count == n && b.count == n {
        forEachChunk(n) { lo, hi in
            let x = pa.value, y = pb.value, d = dst.value
            for i in lo..<hi { d[i] = K.apply(x[i], y[i]) }
        }
    } else if a.count == n {
        let s = UncheckedSendable(pb.value[0])
        forEachChunk(n) { lo, hi in
            let x = pa.value, c = s.value, d = dst.value
            for i in lo..<hi { d[i] = K.apply(x[i], c) }
        }
    } else {
        let s = UncheckedSendable(pa.value[0])
        forEachChunk(n) { lo, hi in
            let y = pb.value, c = s.value, d = dst.value
            for i in lo..<hi { d[i] = K.apply(c, y[i]) }
        }
    }
    return out
}

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
enum RsqrtK<T: KernelFloat>: UnaryKernel { @inline(__always) static func apply(_ x: T) -> T { 1 / x.squareRoot() } }
enum AbsK<T: KernelFloat>: UnaryKernel { @inline(__always) static func apply(_ x: T) -> T { Swift.abs(x) } }
enum SignK<T: KernelFloat>: UnaryKernel {
    @inline(__always) static func apply(_ x: T) -> T { x.isNaN ? x : (x > 0 ? 1 : (x < 0 ? -1 : x)) }
}
enum FloorK<T: KernelFloat>: UnaryKernel { @inline(__always) static func apply(_ x: T) -> T { x.rounded(.down) } }
enum CeilK<T: KernelFloat>: UnaryKernel { @inline(__always) static func apply(_ x: T) -> T { x.rounded(.up) } }
enum RoundK<T: KernelFloat>: UnaryKernel { @inline(__always) static func apply(_ x: T) -> T { x.rounded(.toNearestOrEven) } }
enum ErfK<T: KernelFloat>: UnaryKernel { @inline(__always) static func apply(_ x: T) -> T { T._erf(x) } }
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

@inline(__always)
func mapUnary<T, U>(_ x: DenseArray, to dtype: DType, _ f: (T) -> U) -> DenseArray {
    precondition(MemoryLayout<U>.stride == dtype.byteSize, "mapUnary: kernel returns \(U.self) for a \(dtype) output")
    let out = DenseArray(uninitializedShape: x.shape, dtype: dtype)
    let src = x.pointer(T.self).baseAddress!
    let dst = out.mutablePointer(U.self).baseAddress!
    let n = x.count
    parallelChunks(n) { lo, hi in
        for i in lo..<hi { dst[i] = f(src[i]) }
    }
    return out
}

@inline(__always)
func mapBinary<T, U>(_ a: DenseArray, _ b: DenseArray, shape: [Int], to dtype: DType, _ f: (T, T) -> U) -> DenseArray {
    precondition(MemoryLayout<U>.stride == dtype.byteSize, "mapBinary: kernel returns \(U.self) for a \(dtype) output")
    let out = DenseArray(uninitializedShape: shape, dtype: dtype)
    let pa = a.pointer(T.self).baseAddress!
    let pb = b.pointer(T.self).baseAddress!
    let dst = out.mutablePointer(U.self).baseAddress!
    let n = out.count
    if a.count == n && b.count == n {
        parallelChunks(n) { lo, hi in for i in lo..<hi { dst[i] = f(pa[i], pb[i]) } }
    } else if a.count == n {
        let s = pb[0]
        parallelChunks(n) { lo, hi in for i in lo..<hi { dst[i] = f(pa[i], s) } }
    } else {
        let s = pa[0]
        parallelChunks(n) { lo, hi in for i in lo..<hi { dst[i] = f(s, pb[i]) } }
    }
    return out
}

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
    static func _pow(_ x: Self, _ y: Self) -> Self
    static func _fmod(_ x: Self, _ y: Self) -> Self
    static func _atan2(_ y: Self, _ x: Self) -> Self
    static func _erfInv(_ x: Self) -> Self
}

extension Float: KernelFloat {
    @inline(__always) static func _exp(_ x: Float) -> Float { expf(x) }
    @inline(__always) static func _log(_ x: Float) -> Float { xlaLogFloat(x) }
    @inline(__always) static func _log1p(_ x: Float) -> Float { log1pf(x) }
    @inline(__always) static func _expm1(_ x: Float) -> Float { expm1f(x) }
    @inline(__always) static func _sin(_ x: Float) -> Float { sinf(x) }
    @inline(__always) static func _cos(_ x: Float) -> Float { cosf(x) }
    @inline(__always) static func _tan(_ x: Float) -> Float { tanf(x) }
    @inline(__always) static func _tanh(_ x: Float) -> Float { fastTanh(x) }
    @inline(__always) static func _erf(_ x: Float) -> Float { xlaErfFloat(x) }
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
    @inline(__always) static func _pow(_ x: Double, _ y: Double) -> Double { Glibc.pow(x, y) }
    @inline(__always) static func _fmod(_ x: Double, _ y: Double) -> Double { Glibc.fmod(x, y) }
    @inline(__always) static func _atan2(_ y: Double, _ x: Double) -> Double { Glibc.atan2(y, x) }
    @inline(__always) static func _erfInv(_ x: Double) -> Double { erfInvDouble(x) }
}

// NaN propagates; +0.0 is larger than -0.0 whatever the operand order, as in XLA.
@inline(__always) func nanMax<T: FloatingPoint>(_ a: T, _ b: T) -> T {
    (a > b || a.isNaN || (a == b && b.sign == .minus)) ? a : b
}
@inline(__always) func nanMin<T: FloatingPoint>(_ a: T, _ b: T) -> T {
    (a < b || a.isNaN || (a == b && a.sign == .minus)) ? a : b
}

func floatUnary<T: KernelFloat>(_ op: UnaryOp, _ x: DenseArray, _: T.Type) -> DenseArray {
    let d = x.dtype
    switch op {
    case .neg: return mapUnary(x, to: d, NegK<T>.self)
    case .exp: return mapUnary(x, to: d, ExpK<T>.self)
    case .log: return mapUnary(x, to: d, LogK<T>.self)
    case .log1p: return mapUnary(x, to: d, Log1pK<T>.self)
    case .expm1: return mapUnary(x, to: d, Expm1K<T>.self)
    case .sin: return mapUnary(x, to: d, SinK<T>.self)
    case .cos: return mapUnary(x, to: d, CosK<T>.self)
    case .tan: return mapUnary(x, to: d, TanK<T>.self)
    case .tanh: return mapUnary(x, to: d, TanhK<T>.self)
    case .logistic: return mapUnary(x, to: d, LogisticK<T>.self)
    case .sqrt: return mapUnary(x, to: d, SqrtK<T>.self)
    case .rsqrt: return mapUnary(x, to: d, RsqrtK<T>.self)
    case .abs: return mapUnary(x, to: d, AbsK<T>.self)
    case .sign: return mapUnary(x, to: d, SignK<T>.self)
    case .floor: return mapUnary(x, to: d, FloorK<T>.self)
    case .ceil: return mapUnary(x, to: d, CeilK<T>.self)
    case .round: return mapUnary(x, to: d, RoundK<T>.self)
    case .erf: return mapUnary(x, to: d, ErfK<T>.self)
    case .erfInv: return mapUnary(x, to: d, ErfInvK<T>.self)
    case .isFinite: return mapUnary(x, to: .bool, IsFiniteK<T>.self)
    case .not: fatalError("unreachable: not on floats is rejected by the shape rule")
    }
}

func intUnary<T: FixedWidthInteger & TensorElement>(_ op: UnaryOp, _ x: DenseArray, _: T.Type) -> DenseArray {
    let d = x.dtype
    switch op {
    case .neg: return mapUnary(x, to: d) { (v: T) in 0 &- v }
    case .abs: return mapUnary(x, to: d) { (v: T) in v < 0 ? 0 &- v : v }
    // The explicit result type matters: with literals alone the closure would return Int
    // and write 8-byte elements into a 4-byte buffer.
    case .sign: return mapUnary(x, to: d) { (v: T) -> T in v > 0 ? 1 : (v < 0 ? 0 &- 1 : 0) }
    case .not: return mapUnary(x, to: d) { (v: T) in ~v }
    default: fatalError("unreachable: \(op) on integers is rejected by the shape rule")
    }
}

func evalUnary(_ op: UnaryOp, _ x: DenseArray) -> DenseArray {
    switch x.dtype {
    case .float32: floatUnary(op, x, Float.self)
    case .float64: floatUnary(op, x, Double.self)
    case .int32: intUnary(op, x, Int32.self)
    case .uint32: intUnary(op, x, UInt32.self)
    case .bool: mapUnary(x, to: .bool) { (v: Bool) in !v }  // only `not` reaches here
    }
}

func floatBinary<T: KernelFloat>(_ op: BinaryOp, _ a: DenseArray, _ b: DenseArray, _ s: [Int], _: T.Type) -> DenseArray {
    let d = a.dtype
    switch op {
    case .add: return mapBinary(a, b, shape: s, to: d, AddK<T>.self)
    case .sub: return mapBinary(a, b, shape: s, to: d, SubK<T>.self)
    case .mul: return mapBinary(a, b, shape: s, to: d, MulK<T>.self)
    case .div: return mapBinary(a, b, shape: s, to: d, DivK<T>.self)
    case .rem: return mapBinary(a, b, shape: s, to: d, RemK<T>.self)
    case .pow: return mapBinary(a, b, shape: s, to: d, PowK<T>.self)
    case .max: return mapBinary(a, b, shape: s, to: d, MaxK<T>.self)
    case .min: return mapBinary(a, b, shape: s, to: d, MinK<T>.self)
    case .atan2: return mapBinary(a, b, shape: s, to: d, Atan2K<T>.self)
    case .and, .or, .xor, .shiftLeft, .shiftRightLogical:
        fatalError("unreachable: \(op) on floats is rejected by the shape rule")
    }
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

func intBinary<T: FixedWidthInteger & TensorElement>(_ op: BinaryOp, _ a: DenseArray, _ b: DenseArray, _ s: [Int], _: T.Type) -> DenseArray {
    let d = a.dtype
    switch op {
    case .add: return mapBinary(a, b, shape: s, to: d) { (x: T, y: T) in x &+ y }
    case .sub: return mapBinary(a, b, shape: s, to: d) { (x: T, y: T) in x &- y }
    case .mul: return mapBinary(a, b, shape: s, to: d) { (x: T, y: T) in x &* y }
    // XLA: x / 0 = -1 (all bits set), INT_MIN / -1 = INT_MIN; x % 0 = x, INT_MIN % -1 = 0.
    case .div:
        return mapBinary(a, b, shape: s, to: d) { (x: T, y: T) in
            y == 0 ? ~T(0) : (T.isSigned && y == 0 &- 1 ? 0 &- x : x / y)
        }
    case .rem:
        return mapBinary(a, b, shape: s, to: d) { (x: T, y: T) in
            y == 0 ? x : (T.isSigned && y == 0 &- 1 ? 0 : x % y)
        }
    case .pow: return mapBinary(a, b, shape: s, to: d) { (x: T, y: T) in intPow(x, y) }
    case .max: return mapBinary(a, b, shape: s, to: d) { (x: T, y: T) in Swift.max(x, y) }
    case .min: return mapBinary(a, b, shape: s, to: d) { (x: T, y: T) in Swift.min(x, y) }
    case .and: return mapBinary(a, b, shape: s, to: d) { (x: T, y: T) in x & y }
    case .or: return mapBinary(a, b, shape: s, to: d) { (x: T, y: T) in x | y }
    case .xor: return mapBinary(a, b, shape: s, to: d) { (x: T, y: T) in x ^ y }
    // Shift counts outside [0, bitWidth) give 0, as in XLA.
    case .shiftLeft:
        return mapBinary(a, b, shape: s, to: d) { (x: T, y: T) in
            UInt64(truncatingIfNeeded: y) >= UInt64(T.bitWidth) ? 0 : x &<< y
        }
    case .shiftRightLogical:
        return mapBinary(a, b, shape: s, to: d) { (x: T, y: T) in
            UInt64(truncatingIfNeeded: y) >= UInt64(T.bitWidth)
                ? 0 : T(truncatingIfNeeded: T.Magnitude(truncatingIfNeeded: x) >> T.Magnitude(truncatingIfNeeded: y))
        }
    case .atan2: fatalError("unreachable: atan2 on integers is rejected by the shape rule")
    }
}

func boolBinary(_ op: BinaryOp, _ a: DenseArray, _ b: DenseArray, _ s: [Int]) -> DenseArray {
    switch op {
    case .and, .mul, .min: mapBinary(a, b, shape: s, to: .bool) { (x: Bool, y: Bool) in x && y }
    case .or, .add, .max: mapBinary(a, b, shape: s, to: .bool) { (x: Bool, y: Bool) in x || y }
    case .xor: mapBinary(a, b, shape: s, to: .bool) { (x: Bool, y: Bool) in x != y }
    default: fatalError("unreachable: \(op) on bool is rejected by the shape rule")
    }
}

func evalBinary(_ op: BinaryOp, _ a: DenseArray, _ b: DenseArray, shape: [Int]) -> DenseArray {
    switch a.dtype {
    case .float32: floatBinary(op, a, b, shape, Float.self)
    case .float64: floatBinary(op, a, b, shape, Double.self)
    case .int32: intBinary(op, a, b, shape, Int32.self)
    case .uint32: intBinary(op, a, b, shape, UInt32.self)
    case .bool: boolBinary(op, a, b, shape)
    }
}

func compareTyped<T: Comparable>(_ op: CompareOp, _ a: DenseArray, _ b: DenseArray, _ s: [Int], _: T.Type) -> DenseArray {
    switch op {
    case .eq: mapBinary(a, b, shape: s, to: .bool) { (x: T, y: T) in x == y }
    case .ne: mapBinary(a, b, shape: s, to: .bool) { (x: T, y: T) in x != y }
    case .lt: mapBinary(a, b, shape: s, to: .bool) { (x: T, y: T) in x < y }
    case .le: mapBinary(a, b, shape: s, to: .bool) { (x: T, y: T) in x <= y }
    case .gt: mapBinary(a, b, shape: s, to: .bool) { (x: T, y: T) in x > y }
    case .ge: mapBinary(a, b, shape: s, to: .bool) { (x: T, y: T) in x >= y }
    }
}

func evalCompare(_ op: CompareOp, _ a: DenseArray, _ b: DenseArray, shape: [Int]) -> DenseArray {
    switch a.dtype {
    case .float32: compareTyped(op, a, b, shape, Float.self)
    case .float64: compareTyped(op, a, b, shape, Double.self)
    case .int32: compareTyped(op, a, b, shape, Int32.self)
    case .uint32: compareTyped(op, a, b, shape, UInt32.self)
    case .bool:
        compareTyped(op, convertArray(a, to: .int32), convertArray(b, to: .int32), shape, Int32.self)
    }
}

func selectTyped<T>(_ p: DenseArray, _ t: DenseArray, _ f: DenseArray, _: T.Type) -> DenseArray {
    let out = DenseArray(uninitializedShape: t.shape, dtype: t.dtype)
    let pp = p.pointer(Bool.self), pt = t.pointer(T.self), pf = f.pointer(T.self)
    let dst = out.mutablePointer(T.self)
    if p.count == 1 && t.count != 1 {
        let src = pp[0] ? pt : pf
        for i in 0..<dst.count { dst[i] = src[i] }
    } else {
        for i in 0..<dst.count { dst[i] = pp[i] ? pt[i] : pf[i] }
    }
    return out
}

func evalSelect(_ p: DenseArray, _ t: DenseArray, _ f: DenseArray) -> DenseArray {
    switch t.dtype.byteSize {
    case 1: selectTyped(p, t, f, UInt8.self)
    case 4: selectTyped(p, t, f, UInt32.self)
    default: selectTyped(p, t, f, UInt64.self)
    }
}

func clampTyped<T: Comparable>(_ lo: DenseArray, _ x: DenseArray, _ hi: DenseArray, _: T.Type) -> DenseArray {
    let out = DenseArray(uninitializedShape: x.shape, dtype: x.dtype)
    let pl = lo.pointer(T.self), px = x.pointer(T.self), ph = hi.pointer(T.self)
    let dst = out.mutablePointer(T.self)
    let lScalar = lo.count == 1 && x.count != 1, hScalar = hi.count == 1 && x.count != 1
    for i in 0..<dst.count {
        let l = pl[lScalar ? 0 : i], h = ph[hScalar ? 0 : i], v = px[i]
        dst[i] = v < l ? l : (v > h ? h : v)
    }
    return out
}

func evalClamp(_ lo: DenseArray, _ x: DenseArray, _ hi: DenseArray) -> DenseArray {
    switch x.dtype {
    case .float32: clampTyped(lo, x, hi, Float.self)
    case .float64: clampTyped(lo, x, hi, Double.self)
    case .int32: clampTyped(lo, x, hi, Int32.self)
    case .uint32: clampTyped(lo, x, hi, UInt32.self)
    case .bool: clampTyped(convertArray(lo, to: .int32), convertArray(x, to: .int32), convertArray(hi, to: .int32), Int32.self)
        .converting(to: .bool)
    }
}

extension DenseArray {
    func converting(to dtype: DType) -> DenseArray { convertArray(self, to: dtype) }
}

/// Saturating float → integer conversion (NaN → 0), as XLA on CPU.
@inline(__always)
func saturatingInt<F: BinaryFloatingPoint, I: FixedWidthInteger>(_ v: F, _: I.Type) -> I {
    if v.isNaN { return 0 }
    if v <= F(I.min) { return I.min }
    if v >= F(I.max) { return I.max }
    return I(v)
}

func convertFrom<S>(_ x: DenseArray, _: S.Type, to dtype: DType, _ toDouble: (S) -> Double) -> DenseArray {
    switch dtype {
    case .float32: mapUnary(x, to: .float32) { (v: S) in Float(toDouble(v)) }
    case .float64: mapUnary(x, to: .float64) { (v: S) in toDouble(v) }
    case .int32: mapUnary(x, to: .int32) { (v: S) in saturatingInt(toDouble(v), Int32.self) }
    case .uint32: mapUnary(x, to: .uint32) { (v: S) in saturatingInt(toDouble(v), UInt32.self) }
    case .bool: mapUnary(x, to: .bool) { (v: S) in toDouble(v) != 0 }
    }
}

/// Element type conversion with JAX's CPU semantics: floats saturate into
/// integers (NaN → 0), integers wrap between int32 and uint32, nonzero → true.
func convertArray(_ x: DenseArray, to dtype: DType) -> DenseArray {
    if x.dtype == dtype { return x }
    switch (x.dtype, dtype) {
    case (.float32, .float64): return mapUnary(x, to: dtype) { (v: Float) in Double(v) }
    case (.float64, .float32): return mapUnary(x, to: dtype) { (v: Double) in Float(v) }
    case (.float32, .int32): return mapUnary(x, to: dtype) { (v: Float) in saturatingInt(v, Int32.self) }
    case (.int32, .float32): return mapUnary(x, to: dtype) { (v: Int32) in Float(v) }
    case (.uint32, .float32): return mapUnary(x, to: dtype) { (v: UInt32) in Float(v) }
    case (.int32, .uint32): return mapUnary(x, to: dtype) { (v: Int32) in UInt32(bitPattern: v) }
    case (.uint32, .int32): return mapUnary(x, to: dtype) { (v: UInt32) in Int32(bitPattern: v) }
    case (.float32, _): return convertFrom(x, Float.self, to: dtype) { Double($0) }
    case (.float64, _): return convertFrom(x, Double.self, to: dtype) { $0 }
    case (.int32, _): return convertFrom(x, Int32.self, to: dtype) { Double($0) }
    case (.uint32, _): return convertFrom(x, UInt32.self, to: dtype) { Double($0) }
    case (.bool, _): return convertFrom(x, Bool.self, to: dtype) { $0 ? 1 : 0 }
    }
}

func bitcastArray(_ x: DenseArray, to dtype: DType) -> DenseArray {
    let out = DenseArray(uninitializedShape: x.shape, dtype: dtype)
    if x.byteCount > 0 { out.buffer.pointer.copyMemory(from: x.buffer.pointer, byteCount: x.byteCount) }
    return out
}
