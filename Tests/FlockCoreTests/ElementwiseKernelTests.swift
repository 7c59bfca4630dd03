import Testing
@testable import FlockCore

/// The AVX2 float32 kernels of the C target against the Swift kernels they
/// stand in for, bit for bit, on special values, random values and random bit
/// patterns, in every scalar/array operand combination and with ragged tails.
@Suite struct ElementwiseKernelTests {
    static let values: [Float] = {
        var specials: [Float] = [.nan, -.nan, .infinity, -.infinity, 0, -0.0, .leastNonzeroMagnitude, -.leastNormalMagnitude,
                                 1, -1, 0.0004, -0.0003, 7.90531110763549805, -7.9053111, 8, -100, .greatestFiniteMagnitude]
        var state: UInt64 = 0x1234_5678
        func next() -> UInt64 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return state >> 11
        }
        for k in 0..<4000 {
            specials.append(k % 2 == 0 ? Float(Double(next() % 2_000_001) / 100_000 - 10) : Float(bitPattern: UInt32(truncatingIfNeeded: next())))
        }
        return specials
    }()
    static let others: [Float] = values.reversed()

    /// Runs `kernel` with operand 0 from `a`, operand 1 from `b` (scalar when flagged), into 4-byte results.
    static func run(_ kernel: BlockKernel, _ a: [Float], _ aScalar: Bool, _ b: [Float]?, _ bScalar: Bool) -> [UInt32] {
        let n = a.count
        var out = [UInt32](repeating: 0, count: n)
        a.withUnsafeBytes { pa in
            (b ?? a).withUnsafeBytes { pb in
                let ops = [BlockOperand(pointer: pa.baseAddress!, isScalar: aScalar), BlockOperand(pointer: pb.baseAddress!, isScalar: bScalar)]
                ops.withUnsafeBufferPointer { o in
                    out.withUnsafeMutableBytes { kernel(o.baseAddress!, $0.baseAddress!, count: n) }
                }
            }
        }
        return out
    }

    @Test func binaryKernelsMatchSwift() throws {
        try #require(AVX2Kernels.enabled, "no AVX2 on this CPU: nothing to compare")
        let reference: [(BinaryOp, BlockKernel)] = [
            (.add, binaryBlock(AddK<Float>.self)), (.sub, binaryBlock(SubK<Float>.self)), (.mul, binaryBlock(MulK<Float>.self)),
            (.div, binaryBlock(DivK<Float>.self)), (.max, binaryBlock(MaxK<Float>.self)), (.min, binaryBlock(MinK<Float>.self)),
        ]
        for (op, swift) in reference {
            let c = AVX2Kernels.binary(op)!
            for (sa, sb) in [(false, false), (false, true), (true, false), (true, true)] {
                for k in [0, 5, 17] {  // scalars taken at several positions
                    let a = sa ? Array(Self.values[k...]) : Self.values, b = sb ? Array(Self.others[k...]) : Self.others
                    let n = min(a.count, b.count) - (sa || sb ? 0 : 3)
                    #expect(Self.run(c, Array(a.prefix(n)), sa, Array(b.prefix(n)), sb) == Self.run(swift, Array(a.prefix(n)), sa, Array(b.prefix(n)), sb),
                            "\(op) scalar operands \(sa) \(sb)")
                }
            }
        }
    }

    @Test func unaryKernelsMatchSwift() throws {
        try #require(AVX2Kernels.enabled, "no AVX2 on this CPU: nothing to compare")
        let reference: [(UnaryOp, BlockKernel)] = [
            (.neg, unaryBlock(NegK<Float>.self)), (.abs, unaryBlock(AbsK<Float>.self)), (.tanh, unaryBlock(TanhK<Float>.self)),
        ]
        for (op, swift) in reference {
            let c = AVX2Kernels.unary(op)!
            #expect(Self.run(c, Self.values, false, nil, false) == Self.run(swift, Self.values, false, nil, false), "\(op)")
        }
    }

    @Test func maskKernelsMatchSwift() throws {
        try #require(AVX2Kernels.enabled, "no AVX2 on this CPU: nothing to compare")
        let reference: [(CompareOp, BlockKernel)] = [
            (.eq, binaryBlock(MaskK<EqK<Float>, UInt32>.self)), (.ne, binaryBlock(MaskK<NeK<Float>, UInt32>.self)),
            (.lt, binaryBlock(MaskK<LtK<Float>, UInt32>.self)), (.le, binaryBlock(MaskK<LeK<Float>, UInt32>.self)),
            (.gt, binaryBlock(MaskK<GtK<Float>, UInt32>.self)), (.ge, binaryBlock(MaskK<GeK<Float>, UInt32>.self)),
        ]
        for (op, swift) in reference {
            let c = AVX2Kernels.compareMask(op)!
            for (sa, sb) in [(false, false), (false, true), (true, false)] {
                #expect(Self.run(c, Self.values, sa, Self.others, sb) == Self.run(swift, Self.values, sa, Self.others, sb), "\(op)")
            }
        }
        // Select blends by the mask bits.
        let mask = Self.run(AVX2Kernels.compareMask(.lt)!, Self.values, false, Self.others, false)
        let c = AVX2Kernels.maskSelect()!, swift = ternaryBlock(MaskSelectK<UInt32>.self)
        for (st, sf) in [(false, false), (false, true), (true, false), (true, true)] {
            func select(_ k: BlockKernel) -> [UInt32] {
                var out = [UInt32](repeating: 0, count: mask.count)
                mask.withUnsafeBytes { m in
                    Self.values.withUnsafeBytes { t in
                        Self.others.withUnsafeBytes { f in
                            let ops = [BlockOperand(pointer: m.baseAddress!, isScalar: false), BlockOperand(pointer: t.baseAddress!, isScalar: st),
                                       BlockOperand(pointer: f.baseAddress!, isScalar: sf)]
                            ops.withUnsafeBufferPointer { o in out.withUnsafeMutableBytes { k(o.baseAddress!, $0.baseAddress!, count: mask.count) } }
                        }
                    }
                }
                return out
            }
            #expect(select(c) == select(swift), "select scalar branches \(st) \(sf)")
        }
    }

    /// Runs a three-operand kernel: a bool or mask predicate and two 4-byte operands (scalar when flagged).
    static func ternary(_ k: BlockKernel, _ p: UnsafeRawPointer, _ t: [Float], _ st: Bool, _ f: [Float], _ sf: Bool) -> [UInt32] {
        var out = [UInt32](repeating: 0, count: t.count)
        t.withUnsafeBytes { pt in
            f.withUnsafeBytes { pf in
                let ops = [BlockOperand(pointer: p, isScalar: false), BlockOperand(pointer: pt.baseAddress!, isScalar: st),
                           BlockOperand(pointer: pf.baseAddress!, isScalar: sf)]
                ops.withUnsafeBufferPointer { o in out.withUnsafeMutableBytes { k(o.baseAddress!, $0.baseAddress!, count: t.count) } }
            }
        }
        return out
    }

    @Test func boolSelectMatchesSwift() throws {
        try #require(AVX2Kernels.enabled, "no AVX2 on this CPU: nothing to compare")
        let predicate = zip(Self.values, Self.others).map { $0 < $1 }
        let c = AVX2Kernels.boolSelect()!, swift = ternaryBlock(SelectK<UInt32>.self)
        try predicate.withUnsafeBytes { p in
            for (st, sf) in [(false, false), (false, true), (true, false), (true, true)] {
                let got = Self.ternary(c, p.baseAddress!, Self.values, st, Self.others, sf)
                #expect(got == Self.ternary(swift, p.baseAddress!, Self.values, st, Self.others, sf), "bool select \(st) \(sf)")
                // And against the definition.
                let want = predicate.indices.map { i in (predicate[i] ? Self.values[st ? 0 : i] : Self.others[sf ? 0 : i]).bitPattern }
                try #require(got == want, "bool select \(st) \(sf) against its definition")
            }
        }
    }

    /// jit writes results into an operand's buffer; the C loops must give the
    /// same bits in place (vectorised, not the overlap-checked scalar fallback).
    @Test func inPlaceKernelsEqualOutOfPlace() throws {
        try #require(AVX2Kernels.enabled, "no AVX2 on this CPU: nothing to compare")
        let n = Self.values.count
        func inPlace(_ k: BlockKernel, operands: Int, into slot: Int) -> [UInt32] {
            var a = Self.values, b = Self.others
            let predicate = zip(a, b).map { $0 > $1 }
            return predicate.withUnsafeBytes { p in
                a.withUnsafeMutableBytes { pa in
                    b.withUnsafeMutableBytes { pb in
                        let ptrs = operands == 3 ? [UnsafeMutableRawPointer(mutating: p.baseAddress!), pa.baseAddress!, pb.baseAddress!]
                                                 : [pa.baseAddress!, pb.baseAddress!]
                        let ops = ptrs.prefix(operands).map { BlockOperand(pointer: UnsafeRawPointer($0), isScalar: false) }
                        ops.withUnsafeBufferPointer { k($0.baseAddress!, ptrs[slot], count: n) }
                        return Array(UnsafeRawBufferPointer(start: ptrs[slot], count: 4 * n).bindMemory(to: UInt32.self))
                    }
                }
            }
        }
        for op in [BinaryOp.add, .mul, .div, .max] {
            let k = AVX2Kernels.binary(op)!
            let outOfPlace = Self.run(k, Self.values, false, Self.others, false)
            #expect(inPlace(k, operands: 2, into: 0) == outOfPlace, "\(op) into its first operand")
            #expect(inPlace(k, operands: 2, into: 1) == outOfPlace, "\(op) into its second operand")
        }
        let tanh = AVX2Kernels.unary(.tanh)!
        #expect(inPlace(tanh, operands: 1, into: 0) == Self.run(tanh, Self.values, false, nil, false), "tanh in place")
        let select = AVX2Kernels.boolSelect()!
        let predicate = zip(Self.values, Self.others).map { $0 > $1 }
        let outOfPlace = predicate.withUnsafeBytes { Self.ternary(select, $0.baseAddress!, Self.values, false, Self.others, false) }
        #expect(inPlace(select, operands: 3, into: 1) == outOfPlace, "select into its true operand")
        #expect(inPlace(select, operands: 3, into: 2) == outOfPlace, "select into its false operand")
    }

    /// The Swift kernels' in-place paths (one pointer) against their
    /// out-of-place loops, for float32 and float64, array and scalar operands.
    @Test func swiftKernelsInPlaceEqualOutOfPlace() {
        func check<T: BinaryFloatingPoint>(_ k: BlockKernel, _ a: [T], _ b: [T]?, scalar: Bool, _ what: String) {
            let n = a.count
            var outOfPlace = [T](repeating: 0, count: n)
            var inPlace = a
            a.withUnsafeBytes { pa in
                (b ?? a).withUnsafeBytes { pb in
                    let ops = [BlockOperand(pointer: pa.baseAddress!, isScalar: false), BlockOperand(pointer: pb.baseAddress!, isScalar: scalar)]
                    ops.withUnsafeBufferPointer { o in outOfPlace.withUnsafeMutableBytes { k(o.baseAddress!, $0.baseAddress!, count: n) } }
                }
            }
            inPlace.withUnsafeMutableBytes { pa in
                (b ?? a).withUnsafeBytes { pb in
                    let ops = [BlockOperand(pointer: UnsafeRawPointer(pa.baseAddress!), isScalar: false),
                               BlockOperand(pointer: pb.baseAddress!, isScalar: scalar)]
                    ops.withUnsafeBufferPointer { o in k(o.baseAddress!, pa.baseAddress!, count: n) }
                }
            }
            #expect(zip(inPlace, outOfPlace).allSatisfy { $0 == $1 || ($0.isNaN && $1.isNaN) }, "\(what) in place")
        }
        let f = Self.values.map { Swift.abs($0) }, g = Self.others
        let d = f.map { Double($0) * 1.000001 }, e = g.map { Double($0) }
        check(unaryBlock(SqrtK<Float>.self), f, nil, scalar: false, "sqrt f32")
        check(unaryBlock(ExpK<Double>.self), e, nil, scalar: false, "exp f64")
        check(binaryBlock(AddK<Double>.self), d, e, scalar: false, "add f64")
        check(binaryBlock(MulK<Double>.self), d, e, scalar: true, "mul f64 by a scalar")
        check(binaryBlock(DivK<Float>.self), f, g, scalar: false, "div f32 (Swift)")
    }
}
