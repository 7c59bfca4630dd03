import CKernels

/// The eager fast path of small elementwise operations: binary arithmetic
/// (`a + b` on two concrete arrays of one dtype and shape) and the float
/// functions of one operand (`exp(x)`, `tanh(x)`, ...), outside every transform.
///
/// ``bind(_:_:)`` is general: it builds operand and result arrays, runs the
/// shape rule, checks allocations and scratch memory, picks a kernel through
/// `Primitive.evaluate` and wraps the results. For a float32[100] `a + b` that
/// bookkeeping (a dozen small allocations and their reference counting) took
/// over 80 % of the time, the addition itself under 1 %. When nothing of it
/// can change the result, this path does only what the result needs: one
/// output buffer and the kernel call. It computes with the very kernels the
/// general path uses, so results are identical bit for bit.
///
/// It applies when the current interpreter is evaluation (no trace, JVP or
/// batching is active: those see every operation), neither operand is weakly
/// typed (so promotion is the identity), the dtype is one the kernels take
/// directly (no 8/16-bit widening, not bool), the operation is one every such
/// dtype defines (the shape rule cannot fail), the shapes are equal, neither
/// array was donated, no NaN/Inf debugging is on, and the result is small
/// enough to need neither an allocation check nor threads. A function of one
/// operand applies on a float32/float64 array (weakly typed or not: the
/// result keeps the operand's abstract value).
@inline(__always)
func eagerBinaryFastPath(_ op: BinaryOp, _ a: Tensor, _ b: Tensor) -> Tensor? {
    guard case .concrete(let x) = a.storage, case .concrete(let y) = b.storage,
        !a.weakType, !b.weakType, x.dtype == y.dtype
    else { return nil }
    return eagerBinary(op, x, y)
}

/// ``eagerBinaryFastPath(_:_:_:)`` once both operands are known concrete and
/// strongly typed: nil when another condition sends the operation to `bind`.
private func eagerBinary(_ op: BinaryOp, _ x: DenseArray, _ y: DenseArray) -> Tensor? {
    switch op {
    case .add, .sub, .mul, .div, .max, .min: break
    case .rem, .pow, .atan2, .and, .or, .xor, .shiftLeft, .shiftRightLogical: return nil
    }
    let dtype = x.dtype
    switch dtype {
    case .float32, .float64, .int32, .uint32, .int64, .uint64: break
    case .bool, .int8, .uint8, .int16, .uint16, .float16, .bfloat16: return nil
    }
    guard x.shape == y.shape, !y.isDeleted, let n = eagerElementCount(x) else { return nil }

    let out = DenseArray(buffer: .allocate(byteCount: n &* dtype.byteSize), shape: x.shape, dtype: dtype)
    if n > 0 {
        SubnormalMode.flushing {
            let xp = UnsafeRawPointer(x.buffer.pointer), yp = UnsafeRawPointer(y.buffer.pointer)
            if dtype == .float32, AVX2Kernels.enabled, let code = AVX2Kernels.code(op) {
                flock_f32_binary(Int32(code), xp.assumingMemoryBound(to: Float.self), 0,
                                 yp.assumingMemoryBound(to: Float.self), 0,
                                 out.buffer.pointer.assumingMemoryBound(to: Float.self), n)
            } else {
                var operands = (BlockOperand(pointer: xp, isScalar: false), BlockOperand(pointer: yp, isScalar: false))
                let kernel = BlockKernel(.binary(op), operandTypes: [dtype, dtype])!
                withUnsafePointer(to: &operands) { p in
                    p.withMemoryRebound(to: BlockOperand.self, capacity: 2) { kernel($0, out.buffer.pointer, count: n) }
                }
            }
        }
    }
    return Tensor(concrete: out)
}

/// ``eagerBinaryFastPath(_:_:_:)`` for a float function of one operand (`floatUnaryOp`'s operations).
@inline(__always)
func eagerFloatUnaryFastPath(_ op: UnaryOp, _ a: Tensor) -> Tensor? {
    guard case .concrete(let x) = a.storage, x.dtype == .float32 || x.dtype == .float64 else { return nil }
    return eagerFloatUnary(op, x, weak: a.weakType)
}

private func eagerFloatUnary(_ op: UnaryOp, _ x: DenseArray, weak: Bool) -> Tensor? {
    guard let n = eagerElementCount(x) else { return nil }
    let out = DenseArray(buffer: .allocate(byteCount: n &* x.dtype.byteSize), shape: x.shape, dtype: x.dtype)
    if n > 0 {
        var operand = BlockOperand(pointer: UnsafeRawPointer(x.buffer.pointer), isScalar: false)
        let kernel = BlockKernel(.unary(op), operandTypes: [x.dtype])!
        SubnormalMode.flushing { kernel(&operand, out.buffer.pointer, count: n) }
    }
    return Tensor(concrete: out, weakType: weak)
}

/// The element count of `x` when an operation producing an array like it may
/// take the fast path (see ``eagerBinaryFastPath(_:_:_:)``), else nil.
@inline(__always)
private func eagerElementCount(_ x: DenseArray) -> Int? {
    guard !x.isDeleted else { return nil }
    let n = x.count
    guard n < parallelThreshold, !allocationNeedsCheck(bytes: n &* x.dtype.byteSize), !DebugNumerics.isOn,
        InterpreterContext.current === EvalInterpreter.shared
    else { return nil }
    return n
}
