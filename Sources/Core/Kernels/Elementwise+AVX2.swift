import CKernels

/// float32 kernels of the C target, compiled for AVX2 (8 lanes instead of
/// SSE2's 4); used when the CPU has AVX2 unless `FLOCK_DISABLE_AVX2=1`. They
/// compute bit for bit what the Swift kernels compute.
enum AVX2Kernels {
    static var enabled: Bool { hasAVX2 && !Configuration.disableAVX2 }
    private static let hasAVX2 = flock_has_avx2() != 0

    @inline(__always)
    private static func f32(_ o: BlockOperand) -> UnsafePointer<Float> { o.pointer.assumingMemoryBound(to: Float.self) }

    /// The C kernels' code for a binary operation they have.
    static func code(_ op: BinaryOp) -> Int? {
        switch op {
        case .add: FLOCK_ADD
        case .sub: FLOCK_SUB
        case .mul: FLOCK_MUL
        case .div: FLOCK_DIV
        case .max: FLOCK_MAX
        case .min: FLOCK_MIN
        case .rem, .pow, .atan2, .and, .or, .xor, .shiftLeft, .shiftRightLogical: nil
        }
    }

    /// The C kernels' code for a reduction's binary operation.
    static func code(_ op: ReduceOp) -> Int? {
        switch op {
        case .sum: code(BinaryOp.add)
        case .max: code(BinaryOp.max)
        case .min: code(BinaryOp.min)
        case .prod: code(BinaryOp.mul)
        case .and, .or: nil
        }
    }

    static func binary(_ op: BinaryOp) -> BlockKernel? {
        guard enabled, let code = code(op) else { return nil }
        return BlockKernel { ops, out, n in
            flock_f32_binary(Int32(code), f32(ops[0]), ops[0].isScalar ? 1 : 0, f32(ops[1]), ops[1].isScalar ? 1 : 0,
                             out.assumingMemoryBound(to: Float.self), n)
        }
    }

    /// The fused multiply-add `a · b + c`, rounded once as the Swift kernel's `addingProduct`.
    static func fma() -> BlockKernel? {
        guard enabled else { return nil }
        return BlockKernel { ops, out, n in
            flock_f32_fma(f32(ops[0]), ops[0].isScalar ? 1 : 0, f32(ops[1]), ops[1].isScalar ? 1 : 0,
                          f32(ops[2]), ops[2].isScalar ? 1 : 0, out.assumingMemoryBound(to: Float.self), n)
        }
    }

    static func unary(_ op: UnaryOp) -> BlockKernel? {
        guard enabled else { return nil }
        let code: Int
        switch op {
        case .neg: code = FLOCK_NEG
        case .abs: code = FLOCK_ABS
        case .tanh: code = FLOCK_TANH
        case .exp: code = FLOCK_EXP
        case .logistic: code = FLOCK_LOGISTIC
        case .erfc: code = FLOCK_ERFC
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

    /// `select` with a bool predicate over 4-byte data.
    static func boolSelect() -> BlockKernel? {
        guard enabled else { return nil }
        let fallback = ternaryBlock(SelectK<UInt32>.self)
        return BlockKernel { ops, out, n in
            if ops[0].isScalar { fallback(ops, out, count: n) } else {
                let u = { (o: BlockOperand) in o.pointer.assumingMemoryBound(to: UInt32.self) }
                flock_u32_bool_select(ops[0].pointer.assumingMemoryBound(to: UInt8.self), u(ops[1]), ops[1].isScalar ? 1 : 0,
                                      u(ops[2]), ops[2].isScalar ? 1 : 0, out.assumingMemoryBound(to: UInt32.self), n)
            }
        }
    }
}
