import CKernels

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A fused float32 loop compiled to x86-64 AVX2 machine code: each iteration
/// computes 8 elements of every step with the intermediates in ymm
/// registers, so only the loop's inputs and outputs touch memory.
///
/// Built from a ``FusedLoop``'s steps when every step is one of the supported
/// float32 operations (arithmetic, max/min, neg, abs, tanh, sqrt, rsqrt,
/// floor/ceil/round, sign, clamp, copies, lane-mask compares, logic, selects and
/// conversions) over contiguous inputs, one-element scalars, registers or
/// outputs; otherwise `init` fails and the loop keeps its interpreter. The
/// code does each step's operations in the kernels' order with no
/// contraction, and emulates their NaN and signed-zero rules, so its results
/// equal the interpreter's bit for bit.
///
/// Scalars are broadcast once into the stack frame before the loop, and the
/// constants (tanh's coefficients, sign masks) live in a table beside the
/// code; both are read as memory operands, so they need no register.
/// Registers are given out by a forward pass over the straight-line body that
/// evicts the value used furthest in the future (spilling it to the stack if
/// memory holds no copy).
final class NativeLoop: @unchecked Sendable {
    /// `(inputs, outputs, lo, hi, constants)`: element pointers of the loop's
    /// inputs and outputs; `hi - lo` a multiple of 8.
    private typealias Entry = @convention(c) (
        UnsafeRawPointer, UnsafeRawPointer, Int, Int, UnsafeRawPointer
    ) -> Void

    /// Whether native loops are compiled: on x86-64 CPUs with AVX2, unless
    /// `FLOCK_NATIVE_LOOPS=0` or `FLOCK_DISABLE_AVX2` is set.
    static let isEnabled: Bool = {
        #if arch(x86_64)
        return flock_has_avx2() != 0 && getenv("FLOCK_DISABLE_AVX2") == nil
            && getenv("FLOCK_NATIVE_LOOPS").map { String(cString: $0) != "0" } ?? true
        #else
        return false
        #endif
    }()

    private let code: ExecutableCode
    private let constants: UnsafeMutableRawPointer
    private let entry: Entry
    /// Bytes of machine code (for reports and tests).
    let codeSize: Int
    /// Elements per iteration of the loop: 8 per group of registers, as many
    /// groups (up to 4) as 16 registers hold without spilling; the function
    /// runs multiples of it.
    let elementsPerIteration: Int
    /// Whether values had to be spilled to the stack (then one group of 8 per iteration).
    let spills: Bool

    /// Compiles `loop`'s steps, or returns nil when a step or operand is not supported.
    init?(_ loop: FusedLoop) {
        guard Self.isEnabled else { return nil }
        var compiler = NativeLoopCompiler(inputIsScalar: loop.inputIsScalar)
        for step in loop.steps {
            guard compiler.lower(step, inputTypes: loop.inputTypes) else { return nil }
        }
        guard let bytes = compiler.assemble(), let code = ExecutableCode(bytes) else { return nil }
        self.code = code
        codeSize = bytes.count
        elementsPerIteration = 8 * compiler.unroll
        spills = compiler.spills
        let table = compiler.constantTable
        let constants = UnsafeMutableRawPointer.allocate(byteCount: max(32, table.count * 4), alignment: 32)
        table.withUnsafeBytes { if let p = $0.baseAddress { constants.copyMemory(from: p, byteCount: $0.count) } }
        self.constants = constants
        entry = unsafeBitCast(code.address, to: Entry.self)
    }

    deinit { constants.deallocate() }

    /// Runs elements `lo..<hi` (`hi - lo` a multiple of ``elementsPerIteration``)
    /// of the loop over the inputs' and outputs' first elements.
    func run(inputs: UnsafePointer<UnsafeRawPointer>, outputs: UnsafePointer<UnsafeRawPointer>, _ lo: Int, _ hi: Int) {
        precondition((hi - lo) % elementsPerIteration == 0, "NativeLoop: \(hi - lo) elements is not a multiple of \(elementsPerIteration)")
        entry(UnsafeRawPointer(inputs), UnsafeRawPointer(outputs), lo, hi, UnsafeRawPointer(constants))
    }
}

/// Lowers steps to a straight-line program over virtual values, then
/// allocates registers and assembles the function.
private struct NativeLoopCompiler {
    typealias A = X86Assembler

    /// Where a value lives in memory besides (or instead of) a register.
    enum Home {
        /// An input or output array: `[base + index·4]`.
        case array(A.GPR, Int32)
        /// A stack slot (a broadcast scalar or a spill): `[rsp + offset]`.
        case stack(Int32)
        /// A constant of the table: `[r8 + offset]`.
        case constant(Int32)
    }

    struct Value {
        var home: Home?
        var register: Int?
        var uses: [Int] = []
        var nextUse = 0
        var isConstant: Bool { if case .constant = home { return true } else { return false } }
    }

    enum Kind {
        case packed(A.PackedOp)
        case compare(UInt8)
        /// src1, src2, mask: src2 where the mask is set.
        case blend
        case greaterInt
        case sqrt
        case round(UInt8)
        case store(A.GPR)
    }

    struct Op {
        let kind: Kind
        let destination: Int?
        let sources: [Int]
    }

    let inputIsScalar: [Bool]
    var values: [Value] = []
    var ops: [Op] = []
    /// The constant table, 8 equal lanes per constant.
    var constantTable: [UInt32] = []
    private var constantValue: [UInt32: Int] = [:]
    private var inputValue: [Int: Int] = [:]
    private var registerValue: [Int: Int] = [:]
    private var outputValue: [Int: Int] = [:]
    /// Base registers of the arrays, in the order they are given out; the index is into inputs or outputs.
    private var arrays: [(register: A.GPR, isOutput: Bool, index: Int)] = []
    /// Broadcast scalar inputs: (input, stack offset).
    private var scalars: [(input: Int, offset: Int32)] = []
    /// Registers for array bases: everything but rax (index), rcx (end), r8 (constants), rsp, rbp.
    private static let baseRegisters: [A.GPR] = [.r9, .r10, .r11, .rbx, .r12, .r13, .r14, .r15, .rdx, .rsi, .rdi]
    private var tooManyArrays = false

    init(inputIsScalar: [Bool]) { self.inputIsScalar = inputIsScalar }

    // MARK: Values

    private mutating func newValue(_ home: Home?) -> Int {
        values.append(Value(home: home))
        return values.count - 1
    }

    private mutating func constant(_ bits: UInt32) -> Int {
        if let v = constantValue[bits] { return v }
        let offset = Int32(constantTable.count * 4)
        constantTable += Array(repeating: bits, count: 8)
        let v = newValue(.constant(offset))
        constantValue[bits] = v
        return v
    }

    private mutating func constant(_ x: Float) -> Int { constant(x.bitPattern) }

    private mutating func baseRegister(isOutput: Bool, index: Int) -> A.GPR? {
        if let a = arrays.first(where: { $0.isOutput == isOutput && $0.index == index }) { return a.register }
        guard arrays.count < Self.baseRegisters.count else {
            tooManyArrays = true
            return nil
        }
        let r = Self.baseRegisters[arrays.count]
        arrays.append((r, isOutput, index))
        return r
    }

    private mutating func value(of source: FusedLoop.Source) -> Int? {
        switch source {
        case .input(let k):
            if let v = inputValue[k] { return v }
            let v: Int
            if inputIsScalar[k] {
                let offset = Int32(32 * (1 + scalars.count))  // slot 0 holds the saved argument pointers
                scalars.append((k, offset))
                v = newValue(.stack(offset))
            } else {
                guard let r = baseRegister(isOutput: false, index: k) else { return nil }
                v = newValue(.array(r, 0))
            }
            inputValue[k] = v
            return v
        case .register(let r): return registerValue[r]
        case .output(let j): return outputValue[j]
        case .periodic, .stretched: return nil
        }
    }

    private mutating func op(_ kind: Kind, _ sources: Int...) -> Int {
        let d = newValue(nil)
        ops.append(Op(kind: kind, destination: d, sources: sources))
        return d
    }

    /// `a op b` for a commutative operation: a constant goes second, where it
    /// is read from memory. Only constants move: they are never NaN, and
    /// with at most one NaN operand the result does not depend on the order.
    private mutating func commutative(_ p: A.PackedOp, _ a: Int, _ b: Int) -> Int {
        values[a].isConstant && !values[b].isConstant ? op(.packed(p), b, a) : op(.packed(p), a, b)
    }

    // MARK: Lowering

    /// Appends the operations of `step`; false if it is not supported.
    mutating func lower(_ step: FusedLoop.Step, inputTypes: [DType]) -> Bool {
        guard step.reduction == nil, step.elementSize == 4 else { return false }
        var operands: [Int] = []
        for o in step.operands {
            guard let v = value(of: o) else { return false }
            if case .input(let k) = o, inputTypes[k].byteSize != 4 { return false }
            operands.append(v)
        }
        guard let result = lower(step.operation, operands) else { return false }
        switch step.destination {
        case .register(let r): registerValue[r] = result
        case .output(let j):
            guard let base = baseRegister(isOutput: true, index: j) else { return false }
            ops.append(Op(kind: .store(base), destination: nil, sources: [result]))
            outputValue[j] = result
        }
        return true
    }

    private mutating func lower(_ operation: FusedLoop.Operation, _ x: [Int]) -> Int? {
        switch operation {
        case .copy(let dtype):
            return dtype.byteSize == 4 ? x[0] : nil
        case .compareMask(let c, .float32):
            // Ordered quiet predicates, except ≠ which holds for NaN (as C's and Swift's !=).
            let predicate: UInt8
            switch c {
            case .eq: predicate = 0x00
            case .ne: predicate = 0x04
            case .lt: predicate = 0x11
            case .le: predicate = 0x12
            case .gt: predicate = 0x1E
            case .ge: predicate = 0x1D
            }
            return op(.compare(predicate), x[0], x[1])
        case .compareMask: return nil
        case .maskLogic(let p, width: 4):
            switch p {
            case .unary(.not): return op(.packed(.xor), x[0], constant(UInt32.max))
            case .binary(.and): return op(.packed(.and), x[0], x[1])
            case .binary(.or): return op(.packed(.or), x[0], x[1])
            case .binary(.xor): return op(.packed(.xor), x[0], x[1])
            default: return nil
            }
        case .maskLogic: return nil
        case .maskSelect(let dtype):
            // Masks are all ones or all zeros, so a blend on the sign bit is (m & t) | (~m & f).
            return dtype.byteSize == 4 ? op(.blend, x[2], x[1], x[0]) : nil
        case .maskConvert(let dtype):
            switch dtype {
            case .float32: return op(.packed(.and), x[0], constant(Float(1)))
            case .int32, .uint32: return op(.packed(.and), x[0], constant(UInt32(1)))
            case .float64, .bool: return nil
            }
        case .elementwise(let p, let types):
            guard types.allSatisfy({ $0 == .float32 }) else { return nil }
            return lowerFloat(p, x)
        }
    }

    private mutating func lowerFloat(_ p: Primitive, _ x: [Int]) -> Int? {
        switch p {
        case .binary(let b):
            switch b {
            case .add: return op(.packed(.add), x[0], x[1])
            case .sub: return op(.packed(.sub), x[0], x[1])
            case .mul: return op(.packed(.mul), x[0], x[1])
            case .div: return op(.packed(.div), x[0], x[1])
            case .max: return nanMaxMin(x[0], x[1], isMax: true)
            case .min: return nanMaxMin(x[0], x[1], isMax: false)
            case .rem, .pow, .atan2, .and, .or, .xor, .shiftLeft, .shiftRightLogical: return nil
            }
        case .unary(let u):
            switch u {
            case .neg: return op(.packed(.xor), x[0], constant(UInt32(0x8000_0000)))
            case .abs: return op(.packed(.and), x[0], constant(UInt32(0x7fff_ffff)))
            case .tanh: return tanh(x[0])
            case .sqrt: return op(.sqrt, x[0])
            case .rsqrt: return op(.packed(.div), constant(Float(1)), op(.sqrt, x[0]))
            case .floor: return op(.round(0x09), x[0])
            case .ceil: return op(.round(0x0A), x[0])
            case .round: return op(.round(0x08), x[0])
            case .sign:
                // NaN and ±0 fail both comparisons and stay themselves.
                let zero = constant(Float(0))
                let positive = op(.compare(0x1E), x[0], zero)
                let negative = op(.compare(0x11), x[0], zero)
                let r = op(.blend, x[0], constant(Float(1)), positive)
                return op(.blend, r, constant(Float(-1)), negative)
            case .exp, .log, .log1p, .expm1, .sin, .cos, .tan, .logistic, .erf, .erfInv, .isFinite, .not:
                return nil
            }
        case .clamp:
            // x < lo ? lo : (x > hi ? hi : x), operands (lo, x, hi). vminps(hi, x) is
            // hi < x ? hi : x (NaN x stays x); the low bound wins even over hi < lo.
            let below = op(.compare(0x11), x[1], x[0])
            return op(.blend, op(.packed(.min), x[2], x[1]), x[0], below)
        default:
            return nil
        }
    }

    /// Core's nanMax (nanMin): `a` if `a > b` (`a < b`), `a` is NaN, or `a == b`
    /// and `b` (`a`) is negative -- so NaN propagates and +0 > -0 in either order.
    private mutating func nanMaxMin(_ a: Int, _ b: Int, isMax: Bool) -> Int {
        let better = op(.compare(isMax ? 0x1E : 0x11), a, b)
        let nan = op(.compare(0x03), a, a)
        let equal = op(.compare(0x00), a, b)
        // Only sign bits matter to the blend: equal & b has b's sign where a == b.
        let tie = op(.packed(.and), equal, isMax ? b : a)
        let pick = op(.packed(.or), op(.packed(.or), better, nan), tie)
        return op(.blend, b, a, pick)
    }

    /// Core's fastTanh (ckernels.c `fast_tanh`), operation for operation.
    private mutating func tanh(_ input: Int) -> Int {
        // Clamp to ±bound: (-bound > input) ? -bound : input, then (bound < x) ? bound : x (NaN stays).
        let clampedLow = op(.packed(.max), constant(UInt32(0xc0fc_f84f)), input)
        let x = op(.packed(.min), constant(UInt32(0x40fc_f84f)), clampedLow)
        let x2 = op(.packed(.mul), x, x)
        // p = -2.76076847742355e-16f, then p = p·x2 ± c (bit patterns of clang's float literals).
        var p = commutative(.mul, constant(UInt32(0xa59f_25c0)), x2)
        p = op(.packed(.add), p, constant(UInt32(0x2a61_337e)))
        p = op(.packed(.sub), op(.packed(.mul), p, x2), constant(UInt32(0x2ebd_37ff)))
        for c: UInt32 in [0x335c_0041, 0x3779_434a, 0x3a27_0ded, 0x3ba0_59dc] {
            p = op(.packed(.add), op(.packed(.mul), p, x2), constant(c))
        }
        p = op(.packed(.mul), p, x)
        var q = commutative(.mul, constant(UInt32(0x35a0_d3d8)), x2)
        q = op(.packed(.add), q, constant(UInt32(0x38f8_95d6)))
        for c: UInt32 in [0x3b14_aa05, 0x3ba0_59dd] {
            q = op(.packed(.add), op(.packed(.mul), q, x2), constant(c))
        }
        let r = op(.packed(.div), p, q)
        // |input| < 0x39d1b717 as integers: tanh(x) = x (keeps -0 and denormals).
        let magnitude = commutative(.and, input, constant(UInt32(0x7fff_ffff)))
        let tiny = op(.greaterInt, constant(UInt32(0x39d1_b717)), magnitude)
        return op(.blend, r, input, tiny)
    }

    // MARK: Register allocation and assembly

    /// The loop body for `unroll` groups of 8 elements, each operation
    /// issued for every group in turn (independent chains side by side keep
    /// more of the pipelines busy than one long chain), with registers
    /// allocated; `frameEnd` is the stack frame's size and `spilled` whether
    /// 16 registers were too few.
    private func body(unroll: Int) -> (code: [UInt8], frameEnd: Int32, spilled: Bool) {
        // Values per group: constants and scalars are shared, arrays are read
        // 32 bytes further per group, computed values are copied.
        var values: [Value] = []
        var copies: [[Int]] = []
        for v in self.values {
            switch v.home {
            case .constant, .stack:
                copies.append(Array(repeating: values.count, count: unroll))
                values.append(Value(home: v.home))
            case .array(let base, _):
                copies.append((0..<unroll).map { u in values.count + u })
                for u in 0..<unroll { values.append(Value(home: .array(base, Int32(32 * u)))) }
            case nil:
                copies.append((0..<unroll).map { u in values.count + u })
                for _ in 0..<unroll { values.append(Value(home: nil)) }
            }
        }
        var ops: [(op: Op, group: Int)] = []
        for o in self.ops {
            for u in 0..<unroll {
                ops.append((Op(kind: o.kind, destination: o.destination.map { copies[$0][u] }, sources: o.sources.map { copies[$0][u] }), u))
            }
        }
        for (i, o) in ops.enumerated() { for s in o.op.sources where values[s].uses.last != i { values[s].uses.append(i) } }

        var body = A()
        var holder = [Int?](repeating: nil, count: 16)
        var frameEnd = Int32(32 * (1 + scalars.count))
        var spilled = false

        func memory(_ v: Int) -> A.Memory {
            switch values[v].home! {
            case .array(let base, let displacement): return A.Memory(base: base, index: .rax, scale: 4, displacement: displacement)
            case .stack(let offset): return A.Memory(base: .rsp, displacement: offset)
            case .constant(let offset): return A.Memory(base: .r8, displacement: offset)
            }
        }
        /// The next use of `v` at or after op `i` (Int.max if none).
        func nextUse(_ v: Int, from i: Int) -> Int {
            while values[v].nextUse < values[v].uses.count && values[v].uses[values[v].nextUse] < i { values[v].nextUse += 1 }
            return values[v].nextUse < values[v].uses.count ? values[v].uses[values[v].nextUse] : Int.max
        }
        func allocate(at i: Int, pinned: [Int]) -> Int {
            if let free = holder.firstIndex(where: { $0 == nil }) { return free }
            // Evict the value needed furthest ahead; spill it if memory has no copy.
            var best = -1, bestUse = -1
            for r in 0..<16 where !pinned.contains(r) {
                let u = nextUse(holder[r]!, from: i)
                if u > bestUse { (best, bestUse) = (r, u) }
            }
            let v = holder[best]!
            if values[v].home == nil {
                values[v].home = .stack(frameEnd)
                frameEnd += 32
                spilled = true
                body.vmovups(memory(v), A.YMM(best))
            }
            values[v].register = nil
            holder[best] = nil
            return best
        }
        func inRegister(_ v: Int, at i: Int, pinned: inout [Int]) -> A.YMM {
            if let r = values[v].register {
                pinned.append(r)
                return A.YMM(r)
            }
            let r = allocate(at: i, pinned: pinned)
            body.vmovups(A.YMM(r), .memory(memory(v)))
            values[v].register = r
            holder[r] = v
            pinned.append(r)
            return A.YMM(r)
        }
        func operand(_ v: Int) -> A.Operand {
            values[v].register.map { .register(A.YMM($0)) } ?? .memory(memory(v))
        }

        for (i, (o, group)) in ops.enumerated() {
            var pinned: [Int] = []
            let s = o.sources
            // Registers first (an allocation must not evict an operand already chosen), then memory operands.
            var first: A.YMM? = nil, mask: A.YMM? = nil
            switch o.kind {
            case .packed, .compare, .greaterInt, .store: first = inRegister(s[0], at: i, pinned: &pinned)
            case .blend:
                first = inRegister(s[0], at: i, pinned: &pinned)
                mask = inRegister(s[2], at: i, pinned: &pinned)
            case .sqrt, .round: break
            }
            let second = s.count > 1 ? operand(s[1]) : operand(s[0])
            if case .store(let base) = o.kind {
                let displacement = Int32(32 * group)
                body.vmovups(A.Memory(base: base, index: .rax, scale: 4, displacement: displacement), first!)
                if values[s[0]].home == nil { values[s[0]].home = .array(base, displacement) }
            }
            // Operands read for the last time free their registers (the result may take one).
            for v in Set(s) where nextUse(v, from: i + 1) == Int.max {
                if let r = values[v].register {
                    holder[r] = nil
                    values[v].register = nil
                    pinned.removeAll { $0 == r }
                }
            }
            guard let d = o.destination else { continue }
            let r = allocate(at: i, pinned: pinned)
            let out = A.YMM(r)
            switch o.kind {
            case .packed(let p): body.packed(p, out, first!, second)
            case .compare(let predicate): body.vcmpps(out, first!, second, predicate)
            case .greaterInt: body.vpcmpgtd(out, first!, second)
            case .blend: body.vblendvps(out, first!, second, mask!)
            case .sqrt: body.vsqrtps(out, second)
            case .round(let mode): body.vroundps(out, second, mode)
            case .store: break
            }
            if !values[d].uses.isEmpty {
                values[d].register = r
                holder[r] = d
            }
        }
        return (body.finish(), frameEnd, spilled)
    }

    /// Groups of 8 elements per iteration: as many as fit in 16 registers without spilling (at most 4).
    private(set) var unroll = 1
    /// Whether the chosen body spills values to the stack.
    private(set) var spills = false

    /// The function's machine code, or nil if the loop needs more arrays than base registers.
    mutating func assemble() -> [UInt8]? {
        guard !tooManyArrays else { return nil }
        var chosen = body(unroll: 1)
        unroll = 1
        spills = chosen.spilled
        if !chosen.spilled {
            for u in [4, 3, 2] {
                let b = body(unroll: u)
                if !b.spilled {
                    (chosen, unroll) = (b, u)
                    break
                }
            }
        }
        let spillOffset = chosen.frameEnd

        // Prologue, loop, epilogue.
        var a = A()
        let saved: [A.GPR] = [.rbx, .rbp, .r12, .r13, .r14, .r15]
        for r in saved { a.push(r) }
        a.mov(.rbp, .rsp)
        a.and(.rsp, -32)
        a.sub(.rsp, spillOffset)
        a.mov(A.Memory(base: .rsp), .rdi)
        a.mov(A.Memory(base: .rsp, displacement: 8), .rsi)
        a.mov(.rax, .rdx)
        for (k, offset) in scalars {
            a.mov(.rdx, A.Memory(base: .rdi, displacement: Int32(8 * k)))
            a.vbroadcastss(A.YMM(0), A.Memory(base: .rdx))
            a.vmovups(A.Memory(base: .rsp, displacement: offset), A.YMM(0))
        }
        for (r, isOutput, index) in arrays {
            a.mov(r, A.Memory(base: .rsp, displacement: isOutput ? 8 : 0))
            a.mov(r, A.Memory(base: r, displacement: Int32(8 * index)))
        }
        let top = a.newLabel(), done = a.newLabel()
        a.cmp(.rax, .rcx)
        a.jump(if: .greaterOrEqual, to: done)
        a.bind(top)
        a.append(chosen.code)
        a.add(.rax, Int32(8 * unroll))
        a.cmp(.rax, .rcx)
        a.jump(if: .less, to: top)
        a.bind(done)
        a.vzeroupper()
        a.mov(.rsp, .rbp)
        for r in saved.reversed() { a.pop(r) }
        a.ret()
        return a.finish()
    }
}
