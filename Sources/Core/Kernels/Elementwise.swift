#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CKernels

// Elementwise kernels. Each operation is a kernel *type* (generic
// specialisation over types reliably inlines `apply` into the loop, so it
// vectorises; closures passed through the parallel helper did not: measured
// 4x slower for tanh). A table picks the kernel for a primitive and dtype
// once, as a ``BlockKernel``: a loop over a block of elements whose operands
// are arrays or rank-0 scalars (the shape rules allow one, so `x * 0.5` never
// materialises a broadcast scalar). Eager evaluation runs it over whole arrays
// split across threads; jit's fused loops run it over cache-sized blocks.

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

/// Three operands, the last two of one type (`select`, `clamp`).
protocol TernaryKernel {
    associatedtype First
    associatedtype Input
    associatedtype Output
    static func apply(_ a: First, _ b: Input, _ c: Input) -> Output
}

/// An operand of a ``BlockKernel``: `count` elements, or one element standing for all of them.
public struct BlockOperand: @unchecked Sendable {
    public var pointer: UnsafeRawPointer
    public var isScalar: Bool
    public init(pointer: UnsafeRawPointer, isScalar: Bool) {
        self.pointer = pointer
        self.isScalar = isScalar
    }
}

/// An elementwise primitive specialised to its operand dtypes: one tight,
/// vectorised loop writing `count` results from `count` elements of each
/// operand (scalar operands are broadcast).
public struct BlockKernel: @unchecked Sendable {
    let body: (UnsafePointer<BlockOperand>, UnsafeMutableRawPointer, Int) -> Void

    public func callAsFunction(_ operands: UnsafePointer<BlockOperand>, _ output: UnsafeMutableRawPointer, count: Int) {
        body(operands, output, count)
    }

    /// The kernel of an elementwise primitive (unary, binary, compare, select,
    /// clamp, convert) for operands of `operandTypes`, or nil for other
    /// primitives. The operand types must satisfy the primitive's shape rule.
    public init?(_ primitive: Primitive, operandTypes t: [DType]) {
        switch primitive {
        case .unary(let op): self = unaryKernel(op, t[0])
        case .binary(let op): self = binaryKernel(op, t[0])
        case .compare(let op): self = compareKernel(op, t[0])
        case .select: self = bySize(t[1], SelectK<UInt8>.self, SelectK<UInt32>.self, SelectK<UInt64>.self)
        case .clamp: self = clampKernel(t[1])
        case .convert(let dtype, _): self = convertKernel(t[0], to: dtype)
        case .bitcast, .reduce, .argReduce, .broadcastInDim, .reshape, .transpose, .reverse, .slice,
            .dynamicSlice, .dynamicUpdateSlice, .gather, .scatterAdd, .concatenate, .pad, .iota,
            .dotGeneral, .convolution, .cumsum, .sort, .threefry2x32, .stopGradient, .call, .cond,
            .whileLoop, .scan, .customJVP, .customVJP, .checkpoint, .customVJPLinear,
            .psum, .pmax, .pmin, .allGather, .psumScatter, .ppermute, .allToAll, .axisIndex, .pbroadcast:
            return nil
        }
    }

    init(_ body: @escaping (UnsafePointer<BlockOperand>, UnsafeMutableRawPointer, Int) -> Void) {
        self.body = body
    }

    /// A comparison of `dtype` operands that writes lane masks (all bits set
    /// when it holds) of the operands' element size instead of bools, or nil
    /// for 1-byte operands. Masks feed ``maskSelect(_:)`` and bitwise not, and,
    /// or, xor of unsigned integers of the same size without per-byte work
    /// (fused loops keep predicates they do not output as masks).
    public static func compareMask(_ op: CompareOp, _ dtype: DType) -> BlockKernel? {
        if dtype == .float32, let k = AVX2Kernels.compareMask(op) { return k }
        return switch dtype {
        case .float32: maskCompare(op, Float.self, UInt32.self)
        case .float64: maskCompare(op, Double.self, UInt64.self)
        case .int32: maskCompare(op, Int32.self, UInt32.self)
        case .uint32: maskCompare(op, UInt32.self, UInt32.self)
        case .bool: nil
        }
    }

    /// `select` whose predicate is a lane mask of the branches' element size.
    public static func maskSelect(_ dtype: DType) -> BlockKernel {
        if dtype.byteSize == 4, let k = AVX2Kernels.maskSelect() { return k }
        return dtype.byteSize == 8 ? ternaryBlock(MaskSelectK<UInt64>.self) : ternaryBlock(MaskSelectK<UInt32>.self)
    }

    /// Conversion of a lane mask (of `dtype`'s width) to `dtype`: 1 or 0.
    public static func maskConvert(to dtype: DType) -> BlockKernel? {
        switch dtype {
        case .float32: unaryBlock(MaskToOneK<UInt32, OneF32>.self)
        case .float64: unaryBlock(MaskToOneK<UInt64, OneF64>.self)
        case .int32, .uint32: unaryBlock(MaskToOneK<UInt32, OneI32>.self)
        case .bool: nil
        }
    }

    /// Logical not/and/or/xor on lane masks of `width` bytes (4 or 8).
    public static func maskLogic(_ p: Primitive, width: Int) -> BlockKernel? {
        switch (p, width) {
        case (.unary(.not), 4): unaryBlock(BitNotK<UInt32>.self)
        case (.unary(.not), 8): unaryBlock(BitNotK<UInt64>.self)
        case (.binary(.and), 4): binaryBlock(BitAndK<UInt32>.self)
        case (.binary(.and), 8): binaryBlock(BitAndK<UInt64>.self)
        case (.binary(.or), 4): binaryBlock(BitOrK<UInt32>.self)
        case (.binary(.or), 8): binaryBlock(BitOrK<UInt64>.self)
        case (.binary(.xor), 4): binaryBlock(BitXorK<UInt32>.self)
        case (.binary(.xor), 8): binaryBlock(BitXorK<UInt64>.self)
        default: nil
        }
    }

    /// Copies `count` elements of `dtype`, or fills them with a scalar operand.
    public static func copy(_ dtype: DType) -> BlockKernel {
        bySize(dtype, CopyK<UInt8>.self, CopyK<UInt32>.self, CopyK<UInt64>.self)
    }
}

@inline(__always)
func unaryBlock<K: UnaryKernel>(_: K.Type) -> BlockKernel {
    BlockKernel { ops, out, n in
        let d = out.assumingMemoryBound(to: K.Output.self)
        let x = ops[0].pointer.assumingMemoryBound(to: K.Input.self)
        if ops[0].isScalar {
            let v = K.apply(x[0])
            for i in 0..<n { d[i] = v }
        } else {
            for i in 0..<n { d[i] = K.apply(x[i]) }
        }
    }
}

@inline(__always)
func binaryBlock<K: BinaryKernel>(_: K.Type) -> BlockKernel {
    BlockKernel { ops, out, n in
        let d = out.assumingMemoryBound(to: K.Output.self)
        let x = ops[0].pointer.assumingMemoryBound(to: K.Input.self)
        let y = ops[1].pointer.assumingMemoryBound(to: K.Input.self)
        switch (ops[0].isScalar, ops[1].isScalar) {
        case (false, false): for i in 0..<n { d[i] = K.apply(x[i], y[i]) }
        case (false, true):
            let c = y[0]
            for i in 0..<n { d[i] = K.apply(x[i], c) }
        case (true, false):
            let c = x[0]
            for i in 0..<n { d[i] = K.apply(c, y[i]) }
        case (true, true):
            let v = K.apply(x[0], y[0])
            for i in 0..<n { d[i] = v }
        }
    }
}

@inline(__always)
func ternaryBlock<K: TernaryKernel>(_: K.Type) -> BlockKernel {
    BlockKernel { ops, out, n in
        let d = out.assumingMemoryBound(to: K.Output.self)
        let a = ops[0].pointer.assumingMemoryBound(to: K.First.self)
        let b = ops[1].pointer.assumingMemoryBound(to: K.Input.self)
        let c = ops[2].pointer.assumingMemoryBound(to: K.Input.self)
        switch (ops[0].isScalar, ops[1].isScalar, ops[2].isScalar) {
        case (false, false, false): for i in 0..<n { d[i] = K.apply(a[i], b[i], c[i]) }
        case (false, true, true):
            let (v, w) = (b[0], c[0])
            for i in 0..<n { d[i] = K.apply(a[i], v, w) }
        case (false, true, false):
            let v = b[0]
            for i in 0..<n { d[i] = K.apply(a[i], v, c[i]) }
        case (false, false, true):
            let w = c[0]
            for i in 0..<n { d[i] = K.apply(a[i], b[i], w) }
        case (true, false, true):
            let (u, w) = (a[0], c[0])
            for i in 0..<n { d[i] = K.apply(u, b[i], w) }
        case (true, false, false):
            let u = a[0]
            for i in 0..<n { d[i] = K.apply(u, b[i], c[i]) }
        case (true, true, false):
            let (u, v) = (a[0], b[0])
            for i in 0..<n { d[i] = K.apply(u, v, c[i]) }
        case (true, true, true):
            let r = K.apply(a[0], b[0], c[0])
            for i in 0..<n { d[i] = r }
        }
    }
}

/// Runs `kernel` over whole arrays, split across threads, into a new array of `out`'s type.
func runElementwise(_ kernel: BlockKernel, _ xs: [DenseArray], out aval: AbstractValue) -> DenseArray {
    let out = DenseArray(uninitializedShape: aval.shape, dtype: aval.dtype)
    let n = out.count
    if n == 0 { return out }
    let operands = xs.map { BlockOperand(pointer: UnsafeRawPointer($0.buffer.pointer), isScalar: $0.count != n) }
    let sizes = xs.map(\.dtype.byteSize)
    let dst = UncheckedSendable(out.buffer.pointer)
    let outSize = aval.dtype.byteSize
    forEachChunk(n) { lo, hi in
        var ops = operands
        for k in ops.indices where !ops[k].isScalar { ops[k].pointer += lo * sizes[k] }
        ops.withUnsafeBufferPointer { kernel($0.baseAddress!, dst.value + lo * outSize, count: hi - lo) }
    }
    return out
}

/// The elementwise primitives' eval rule.
func evalElementwise(_ p: Primitive, _ xs: [DenseArray], out: AbstractValue) -> DenseArray {
    runElementwise(BlockKernel(p, operandTypes: xs.map(\.dtype))!, xs, out: out)
}

/// A kernel over the unsigned storage type of `dtype`'s element size.
private func bySize<K1: UnaryKernel, K4: UnaryKernel, K8: UnaryKernel>(
    _ dtype: DType, _: K1.Type, _: K4.Type, _: K8.Type
) -> BlockKernel {
    switch dtype.byteSize {
    case 1: unaryBlock(K1.self)
    case 4: unaryBlock(K4.self)
    default: unaryBlock(K8.self)
    }
}

private func bySize<K1: TernaryKernel, K4: TernaryKernel, K8: TernaryKernel>(
    _ dtype: DType, _: K1.Type, _: K4.Type, _: K8.Type
) -> BlockKernel {
    switch dtype.byteSize {
    case 1: ternaryBlock(K1.self)
    case 4: ternaryBlock(K4.self)
    default: ternaryBlock(K8.self)
    }
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

/// A lane mask converted to 1 (all bits set) or 0.
enum MaskToOneK<M: FixedWidthInteger, One: OneBits>: UnaryKernel where One.Bits == M {
    @inline(__always) static func apply(_ m: M) -> M { m & One.bits }
}

/// `select` with a lane-mask predicate: branch-free bit blending.
enum MaskSelectK<T: FixedWidthInteger>: TernaryKernel {
    @inline(__always) static func apply(_ m: T, _ t: T, _ f: T) -> T { (m & t) | (~m & f) }
}

private func maskCompare<T: Comparable, M: FixedWidthInteger>(_ op: CompareOp, _: T.Type, _: M.Type) -> BlockKernel {
    switch op {
    case .eq: binaryBlock(MaskK<EqK<T>, M>.self)
    case .ne: binaryBlock(MaskK<NeK<T>, M>.self)
    case .lt: binaryBlock(MaskK<LtK<T>, M>.self)
    case .le: binaryBlock(MaskK<LeK<T>, M>.self)
    case .gt: binaryBlock(MaskK<GtK<T>, M>.self)
    case .ge: binaryBlock(MaskK<GeK<T>, M>.self)
    }
}

/// `select(pred, onTrue, onFalse)` on storage of the element size.
enum SelectK<T>: TernaryKernel { @inline(__always) static func apply(_ p: Bool, _ t: T, _ f: T) -> T { p ? t : f } }
/// `clamp(lo, x, hi)`: the operand order is (lo, x, hi).
enum ClampK<T: Comparable>: TernaryKernel {
    @inline(__always) static func apply(_ lo: T, _ x: T, _ hi: T) -> T { x < lo ? lo : (x > hi ? hi : x) }
}

private func clampKernel(_ dtype: DType) -> BlockKernel {
    switch dtype {
    case .float32: ternaryBlock(ClampK<Float>.self)
    case .float64: ternaryBlock(ClampK<Double>.self)
    case .int32: ternaryBlock(ClampK<Int32>.self)
    case .uint32: ternaryBlock(ClampK<UInt32>.self)
    case .bool: ternaryBlock(ClampK<UInt8>.self)
    }
}

private func floatUnary<T: KernelFloat>(_ op: UnaryOp, _: T.Type) -> BlockKernel {
    switch op {
    case .neg: unaryBlock(NegK<T>.self)
    case .exp: unaryBlock(ExpK<T>.self)
    case .log: unaryBlock(LogK<T>.self)
    case .log1p: unaryBlock(Log1pK<T>.self)
    case .expm1: unaryBlock(Expm1K<T>.self)
    case .sin: unaryBlock(SinK<T>.self)
    case .cos: unaryBlock(CosK<T>.self)
    case .tan: unaryBlock(TanK<T>.self)
    case .tanh: unaryBlock(TanhK<T>.self)
    case .logistic: unaryBlock(LogisticK<T>.self)
    case .sqrt: unaryBlock(SqrtK<T>.self)
    case .rsqrt: unaryBlock(RsqrtK<T>.self)
    case .abs: unaryBlock(AbsK<T>.self)
    case .sign: unaryBlock(SignK<T>.self)
    case .floor: unaryBlock(FloorK<T>.self)
    case .ceil: unaryBlock(CeilK<T>.self)
    case .round: unaryBlock(RoundK<T>.self)
    case .erf: unaryBlock(ErfK<T>.self)
    case .erfInv: unaryBlock(ErfInvK<T>.self)
    case .isFinite: unaryBlock(IsFiniteK<T>.self)
    case .not: fatalError("unreachable: not on floats is rejected by the shape rule")
    }
}

private func intUnary<T: FixedWidthInteger>(_ op: UnaryOp, _: T.Type) -> BlockKernel {
    switch op {
    case .neg: unaryBlock(IntNegK<T>.self)
    case .abs: unaryBlock(IntAbsK<T>.self)
    case .sign: unaryBlock(IntSignK<T>.self)
    case .not: unaryBlock(BitNotK<T>.self)
    default: fatalError("unreachable: \(op) on integers is rejected by the shape rule")
    }
}

private func unaryKernel(_ op: UnaryOp, _ dtype: DType) -> BlockKernel {
    if dtype == .float32, let k = AVX2Kernels.unary(op) { return k }
    return switch dtype {
    case .float32: floatUnary(op, Float.self)
    case .float64: floatUnary(op, Double.self)
    case .int32: intUnary(op, Int32.self)
    case .uint32: intUnary(op, UInt32.self)
    case .bool: unaryBlock(BoolNotK.self)  // only `not` reaches here
    }
}

private func floatBinary<T: KernelFloat>(_ op: BinaryOp, _: T.Type) -> BlockKernel {
    switch op {
    case .add: binaryBlock(AddK<T>.self)
    case .sub: binaryBlock(SubK<T>.self)
    case .mul: binaryBlock(MulK<T>.self)
    case .div: binaryBlock(DivK<T>.self)
    case .rem: binaryBlock(RemK<T>.self)
    case .pow: binaryBlock(PowK<T>.self)
    case .max: binaryBlock(MaxK<T>.self)
    case .min: binaryBlock(MinK<T>.self)
    case .atan2: binaryBlock(Atan2K<T>.self)
    case .and, .or, .xor, .shiftLeft, .shiftRightLogical:
        fatalError("unreachable: \(op) on floats is rejected by the shape rule")
    }
}

private func intBinary<T: FixedWidthInteger>(_ op: BinaryOp, _: T.Type) -> BlockKernel {
    switch op {
    case .add: binaryBlock(IntAddK<T>.self)
    case .sub: binaryBlock(IntSubK<T>.self)
    case .mul: binaryBlock(IntMulK<T>.self)
    case .div: binaryBlock(IntDivK<T>.self)
    case .rem: binaryBlock(IntRemK<T>.self)
    case .pow: binaryBlock(IntPowK<T>.self)
    case .max: binaryBlock(IntMaxK<T>.self)
    case .min: binaryBlock(IntMinK<T>.self)
    case .and: binaryBlock(BitAndK<T>.self)
    case .or: binaryBlock(BitOrK<T>.self)
    case .xor: binaryBlock(BitXorK<T>.self)
    case .shiftLeft: binaryBlock(ShiftLeftK<T>.self)
    case .shiftRightLogical: binaryBlock(ShiftRightLogicalK<T>.self)
    case .atan2: fatalError("unreachable: atan2 on integers is rejected by the shape rule")
    }
}

private func binaryKernel(_ op: BinaryOp, _ dtype: DType) -> BlockKernel {
    if dtype == .float32, let k = AVX2Kernels.binary(op) { return k }
    return switch dtype {
    case .float32: floatBinary(op, Float.self)
    case .float64: floatBinary(op, Double.self)
    case .int32: intBinary(op, Int32.self)
    case .uint32: intBinary(op, UInt32.self)
    case .bool:
        switch op {
        case .and, .mul, .min: binaryBlock(BoolAndK.self)
        case .or, .add, .max: binaryBlock(BoolOrK.self)
        case .xor: binaryBlock(BoolXorK.self)
        default: fatalError("unreachable: \(op) on bool is rejected by the shape rule")
        }
    }
}

private func compareTyped<T: Comparable>(_ op: CompareOp, _: T.Type) -> BlockKernel {
    switch op {
    case .eq: binaryBlock(EqK<T>.self)
    case .ne: binaryBlock(NeK<T>.self)
    case .lt: binaryBlock(LtK<T>.self)
    case .le: binaryBlock(LeK<T>.self)
    case .gt: binaryBlock(GtK<T>.self)
    case .ge: binaryBlock(GeK<T>.self)
    }
}

private func compareKernel(_ op: CompareOp, _ dtype: DType) -> BlockKernel {
    switch dtype {
    case .float32: compareTyped(op, Float.self)
    case .float64: compareTyped(op, Double.self)
    case .int32: compareTyped(op, Int32.self)
    case .uint32: compareTyped(op, UInt32.self)
    case .bool: compareTyped(op, UInt8.self)
    }
}

// MARK: - Conversion

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
private func convertKernel(_ from: DType, to dtype: DType) -> BlockKernel {
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

/// float32 kernels of the C target, compiled for AVX2 (8 lanes instead of
/// SSE2's 4); used when the CPU has AVX2 unless `FLOCK_DISABLE_AVX2=1`. They
/// compute bit for bit what the Swift kernels compute.
enum AVX2Kernels {
    static let enabled = flock_has_avx2() != 0 && getenvString("FLOCK_DISABLE_AVX2") == nil

    @inline(__always)
    private static func f32(_ o: BlockOperand) -> UnsafePointer<Float> { o.pointer.assumingMemoryBound(to: Float.self) }

    static func binary(_ op: BinaryOp) -> BlockKernel? {
        guard enabled else { return nil }
        let code: Int
        switch op {
        case .add: code = FLOCK_ADD
        case .sub: code = FLOCK_SUB
        case .mul: code = FLOCK_MUL
        case .div: code = FLOCK_DIV
        case .max: code = FLOCK_MAX
        case .min: code = FLOCK_MIN
        case .rem, .pow, .atan2, .and, .or, .xor, .shiftLeft, .shiftRightLogical: return nil
        }
        return BlockKernel { ops, out, n in
            flock_f32_binary(Int32(code), f32(ops[0]), ops[0].isScalar ? 1 : 0, f32(ops[1]), ops[1].isScalar ? 1 : 0,
                             out.assumingMemoryBound(to: Float.self), n)
        }
    }

    static func unary(_ op: UnaryOp) -> BlockKernel? {
        guard enabled else { return nil }
        let code: Int
        switch op {
        case .neg: code = FLOCK_NEG
        case .abs: code = FLOCK_ABS
        case .tanh: code = FLOCK_TANH
        default: return nil
        }
        let fallback = floatUnary(op, Float.self)
        return BlockKernel { ops, out, n in
            // A scalar operand fills the block; that is rare and the Swift kernel does it.
            if ops[0].isScalar { fallback(ops, out, count: n) } else {
                flock_f32_unary(Int32(code), f32(ops[0]), out.assumingMemoryBound(to: Float.self), n)
            }
        }
    }

    static func compareMask(_ op: CompareOp) -> BlockKernel? {
        guard enabled else { return nil }
        let code: Int
        switch op {
        case .eq: code = FLOCK_EQ
        case .ne: code = FLOCK_NE
        case .lt: code = FLOCK_LT
        case .le: code = FLOCK_LE
        case .gt: code = FLOCK_GT
        case .ge: code = FLOCK_GE
        }
        return BlockKernel { ops, out, n in
            flock_f32_compare_mask(Int32(code), f32(ops[0]), ops[0].isScalar ? 1 : 0, f32(ops[1]), ops[1].isScalar ? 1 : 0,
                                   out.assumingMemoryBound(to: UInt32.self), n)
        }
    }

    static func maskSelect() -> BlockKernel? {
        guard enabled else { return nil }
        let fallback = ternaryBlock(MaskSelectK<UInt32>.self)
        return BlockKernel { ops, out, n in
            if ops[0].isScalar { fallback(ops, out, count: n) } else {
                let u = { (o: BlockOperand) in o.pointer.assumingMemoryBound(to: UInt32.self) }
                flock_u32_mask_select(u(ops[0]), u(ops[1]), ops[1].isScalar ? 1 : 0, u(ops[2]), ops[2].isScalar ? 1 : 0,
                                      out.assumingMemoryBound(to: UInt32.self), n)
            }
        }
    }
}
