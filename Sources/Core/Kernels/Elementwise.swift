#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

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
package struct BlockOperand: @unchecked Sendable {
    /// The operand's first element.
    public var pointer: UnsafeRawPointer
    /// Whether the one element at `pointer` stands for every element (a broadcast scalar).
    public var isScalar: Bool
    /// An operand at `pointer`, scalar or not.
    public init(pointer: UnsafeRawPointer, isScalar: Bool) {
        self.pointer = pointer
        self.isScalar = isScalar
    }
}

/// An elementwise primitive specialised to its operand dtypes: one tight,
/// vectorised loop writing `count` results from `count` elements of each
/// operand (scalar operands are broadcast).
package struct BlockKernel: @unchecked Sendable {
    let body: (UnsafePointer<BlockOperand>, UnsafeMutableRawPointer, Int) -> Void

    /// Computes `count` elements from `operands` into `output`.
    public func callAsFunction(_ operands: UnsafePointer<BlockOperand>, _ output: UnsafeMutableRawPointer, count: Int) {
        body(operands, output, count)
    }

    /// The same kernel behind a context of its own. Calling a closure retains
    /// its context, so threads calling one kernel contend for its reference
    /// count (measured: a fifth of a fused GELU's time on 2 threads); a thread
    /// calling its own copy does not.
    public func privateCopy() -> BlockKernel {
        let shared = body
        return BlockKernel { shared($0, $1, $2) }
    }

    /// The kernel of an elementwise primitive (unary, binary, compare, select,
    /// clamp, convert) for operands of `operandTypes`, or nil for other
    /// primitives. The operand types must satisfy the primitive's shape rule.
    public init?(_ primitive: Primitive, operandTypes t: [DType]) {
        switch primitive {
        case .unary(let op): self = unaryKernel(op, t[0])
        case .binary(let op): self = binaryKernel(op, t[0])
        case .compare(let op): self = compareKernel(op, t[0])
        case .select:
            if t[1].byteSize == 4, let k = AVX2Kernels.boolSelect() { self = k; return }
            self = bySize(t[1], SelectK<UInt8>.self, SelectK<UInt16>.self, SelectK<UInt32>.self, SelectK<UInt64>.self)
        case .clamp: self = clampKernel(t[1])
        case .fma:
            switch t[0] {
            case .float32: self = AVX2Kernels.fma() ?? ternaryBlock(FmaK<Float>.self)
            case .float64: self = ternaryBlock(FmaK<Double>.self)
            default: unreachableWidened(t[0])
            }
        case .convert(let dtype, _): self = convertKernel(t[0], to: dtype)
        case .bitcast, .reduce, .argReduce, .broadcastInDim, .reshape, .transpose, .reverse, .slice,
            .dynamicSlice, .dynamicUpdateSlice, .gather, .scatter, .concatenate, .pad, .iota,
            .dotGeneral, .convolution, .cumsum, .sort, .threefry2x32, .stopGradient, .debugCallback, .call, .cond,
            .reduceWindow, .selectAndScatterAdd, .selectAndGatherAdd,
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
        case .int64: maskCompare(op, Int64.self, UInt64.self)
        case .uint64: maskCompare(op, UInt64.self, UInt64.self)
        case .bool, .int8, .uint8, .int16, .uint16, .float16, .bfloat16: nil
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
        case .int64, .uint64: unaryBlock(MaskToOneK<UInt64, OneI64>.self)
        case .bool, .int8, .uint8, .int16, .uint16, .float16, .bfloat16: nil
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
        bySize(dtype, CopyK<UInt8>.self, CopyK<UInt16>.self, CopyK<UInt32>.self, CopyK<UInt64>.self)
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
        } else if K.Input.self == K.Output.self && UnsafeRawPointer(out) == ops[0].pointer {
            // In place (jit reuses dying buffers): through one pointer, so the
            // loop vectorises; with two equal pointers the compiler's overlap
            // check would send it to the scalar loop.
            let p = out.assumingMemoryBound(to: K.Input.self)
            for i in 0..<n { p[i] = unsafeBitCast(K.apply(p[i]), to: K.Input.self) }
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
        case (false, false) where K.Input.self == K.Output.self && UnsafeRawPointer(out) == ops[0].pointer:
            // In place into the first operand: one pointer for it (see unaryBlock).
            let p = out.assumingMemoryBound(to: K.Input.self)
            for i in 0..<n { p[i] = unsafeBitCast(K.apply(p[i], y[i]), to: K.Input.self) }
        case (false, true) where K.Input.self == K.Output.self && UnsafeRawPointer(out) == ops[0].pointer:
            let p = out.assumingMemoryBound(to: K.Input.self)
            let c = y[0]
            for i in 0..<n { p[i] = unsafeBitCast(K.apply(p[i], c), to: K.Input.self) }
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
private func bySize<K1: UnaryKernel, K2: UnaryKernel, K4: UnaryKernel, K8: UnaryKernel>(
    _ dtype: DType, _: K1.Type, _: K2.Type, _: K4.Type, _: K8.Type
) -> BlockKernel {
    switch dtype.byteSize {
    case 1: unaryBlock(K1.self)
    case 2: unaryBlock(K2.self)
    case 4: unaryBlock(K4.self)
    default: unaryBlock(K8.self)
    }
}

private func bySize<K1: TernaryKernel, K2: TernaryKernel, K4: TernaryKernel, K8: TernaryKernel>(
    _ dtype: DType, _: K1.Type, _: K2.Type, _: K4.Type, _: K8.Type
) -> BlockKernel {
    switch dtype.byteSize {
    case 1: ternaryBlock(K1.self)
    case 2: ternaryBlock(K2.self)
    case 4: ternaryBlock(K4.self)
    default: ternaryBlock(K8.self)
    }
}

private func clampKernel(_ dtype: DType) -> BlockKernel {
    switch dtype {
    case .float32: ternaryBlock(FloatClampK<Float>.self)
    case .float64: ternaryBlock(FloatClampK<Double>.self)
    case .int32: ternaryBlock(ClampK<Int32>.self)
    case .uint32: ternaryBlock(ClampK<UInt32>.self)
    case .int64: ternaryBlock(ClampK<Int64>.self)
    case .uint64: ternaryBlock(ClampK<UInt64>.self)
    case .bool: ternaryBlock(ClampK<UInt8>.self)
        case .int8, .uint8, .int16, .uint16, .float16, .bfloat16: unreachableWidened(dtype)
    }
}

func floatUnary<T: KernelFloat>(_ op: UnaryOp, _: T.Type) -> BlockKernel {
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
    case .erfc: unaryBlock(ErfcK<T>.self)
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
    case .int64: intUnary(op, Int64.self)
    case .uint64: intUnary(op, UInt64.self)
    case .bool: unaryBlock(BoolNotK.self)  // only `not` reaches here
        case .int8, .uint8, .int16, .uint16, .float16, .bfloat16: unreachableWidened(dtype)
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
    case .int64: intBinary(op, Int64.self)
    case .uint64: intBinary(op, UInt64.self)
        case .int8, .uint8, .int16, .uint16, .float16, .bfloat16: unreachableWidened(dtype)
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
    case .int64: compareTyped(op, Int64.self)
    case .uint64: compareTyped(op, UInt64.self)
    case .bool: compareTyped(op, UInt8.self)
        case .int8, .uint8, .int16, .uint16, .float16, .bfloat16: unreachableWidened(dtype)
    }
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

/// Kernels run on compute types only: 8/16-bit dtypes are widened before
/// (``Primitive/evaluate(_:outAvals:)``) and never fused.
func unreachableWidened(_ dtype: DType) -> Never {
    fatalError("internal: a \(dtype) operand reached a kernel; it should have been widened to \(dtype.computeType)")
}
