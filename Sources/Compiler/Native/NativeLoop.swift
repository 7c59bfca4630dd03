import FlockCore
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
/// floor/ceil/round, sign, clamp, copies, comparisons to lane masks or bools,
/// selects, mask logic and conversions) over contiguous inputs (bool arrays as
/// select predicates), one-element scalars, broadcast rows of whole groups of
/// 8, registers or outputs; otherwise `init` fails and the loop keeps its
/// interpreter. Bools are lane masks in registers and bytes in memory. The
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
    /// `(inputs, outputs, lo, hi, constants, phase)`: tables of the
    /// first-element pointers of the loop's inputs and outputs, the element
    /// range (`hi - lo` a multiple of ``elementsPerIteration``), the constant
    /// table, and `lo mod period` for broadcast rows.
    private typealias Entry = @convention(c) (
        UnsafeRawPointer, UnsafeRawPointer, Int, Int, UnsafeRawPointer, Int
    ) -> Void

    /// Whether native loops are compiled: on x86-64 Linux and macOS with AVX2, unless
    /// `FLOCK_NATIVE_LOOPS=0` or `FLOCK_DISABLE_AVX2` is set.
    static var isEnabled: Bool { hasAVX2 && !Configuration.disableAVX2 && Configuration.nativeLoops }
    private static let hasAVX2: Bool = {
        // The generated code follows the System V calling convention (not Windows').
        #if arch(x86_64) && (os(Linux) || os(macOS))
        return flock_has_avx2() != 0
        #else
        return false
        #endif
    }()

    /// The code and constant table, until ``link(_:)`` maps them.
    private var image: (code: [UInt8], constants: [UInt32])
    /// The pages holding this loop (shared with the other loops linked with it).
    private var code: ExecutableCode? = nil
    private var entry: Entry? = nil
    private var constants: UnsafeRawPointer? = nil
    /// Bytes of machine code (for reports and tests).
    let codeSize: Int
    /// Elements per iteration of the loop: 8 per group of registers, as many
    /// groups (up to 4) as 16 registers hold without spilling; the function
    /// runs multiples of it.
    let elementsPerIteration: Int
    /// Whether values had to be spilled to the stack (then one group of 8 per iteration).
    let spills: Bool
    /// The length of the broadcast rows the loop reads in place (element `i`
    /// of a row operand is `row[i mod period]`), a multiple of
    /// ``elementsPerIteration``; nil without rows. Runs must then start at a
    /// multiple of ``elementsPerIteration``, so that no iteration wraps.
    let period: Int?

    /// Compiles `loop`'s steps, or returns nil when a step or operand is not
    /// supported or the loop is shorter than 8 elements (it would never run).
    /// The loop runs once ``link(_:)`` has mapped its code.
    init?(_ loop: FusedLoop) {
        guard Self.isEnabled, loop.count >= 8 else { return nil }
        var compiler = NativeLoopCompiler(inputIsScalar: loop.inputIsScalar, inputTypes: loop.inputTypes)
        for step in loop.steps {
            guard compiler.lower(step) else { return nil }
        }
        guard let bytes = compiler.assemble() else { return nil }
        image = (bytes, compiler.constantTable)
        codeSize = bytes.count
        elementsPerIteration = 8 * compiler.unroll
        spills = compiler.spills
        period = compiler.period
    }

    /// Whether the code is mapped and the loop can run.
    var isLinked: Bool { entry != nil }

    /// Maps the code and constants of `loops` into one set of executable
    /// pages (system calls cost more than compiling: one mapping per plan,
    /// not per loop, and none for a plan whose code is already mapped, see
    /// ``ExecutableCode/shared(_:)``). Returns false, leaving the loops
    /// unlinked, if the system refuses executable memory.
    static func link(_ loops: [NativeLoop]) -> Bool {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(loops.reduce(0) { $0 + $1.image.code.count + 4 * $1.image.constants.count + 96 })
        var offsets: [(code: Int, constants: Int)] = []
        for loop in loops {
            // Functions start on 64-byte lines; constants are 32-byte vectors.
            bytes += Array(repeating: 0xCC, count: (64 - bytes.count % 64) % 64)  // int3 padding
            let c = bytes.count
            bytes += loop.image.code
            bytes += Array(repeating: 0xCC, count: (32 - bytes.count % 32) % 32)
            let k = bytes.count
            for word in loop.image.constants {
                for b in 0..<4 { bytes.append(UInt8(truncatingIfNeeded: word >> (8 * b))) }
            }
            offsets.append((c, k))
        }
        guard !loops.isEmpty, let code = ExecutableCode.shared(bytes) else { return loops.isEmpty }
        for (loop, (c, k)) in zip(loops, offsets) {
            loop.code = code
            loop.entry = unsafeBitCast(code.address + c, to: Entry.self)
            loop.constants = code.address + k
            loop.image = ([], [])
        }
        return true
    }

    /// Runs elements `lo..<hi` (`hi - lo` a multiple of ``elementsPerIteration``,
    /// and `lo` too if the loop has a ``period``) of the loop over the inputs'
    /// and outputs' first elements.
    func run(inputs: UnsafePointer<UnsafeRawPointer>, outputs: UnsafePointer<UnsafeRawPointer>, _ lo: Int, _ hi: Int) {
        precondition((hi - lo) % elementsPerIteration == 0 && (period == nil || lo % elementsPerIteration == 0),
                     "NativeLoop: elements \(lo)..<\(hi) are not whole iterations of \(elementsPerIteration)")
        entry!(UnsafeRawPointer(inputs), UnsafeRawPointer(outputs), lo, hi, constants!, period.map { lo % $0 } ?? 0)
    }
}

/// Lowers steps to a straight-line program over virtual values; then
/// (NativeLoop+Assembly.swift) allocates registers and assembles the function.
struct NativeLoopCompiler {
    typealias A = X86Assembler

    /// Where a value lives in memory besides (or instead of) a register.
    enum Home {
        /// An input or output array: `[base + index·4]`.
        case array(A.GPR, Int32)
        /// A broadcast row: `[base + (index mod period)·4]`, the index mod period in r11.
        case row(A.GPR, Int32)
        /// An array of bools (one byte each): `[base + index]`.
        case bytes(A.GPR, Int32)
        /// A stack slot (a broadcast scalar or a spill): `[rsp + offset]`.
        case stack(Int32)
        /// A constant of the table: `[r8 + offset]`.
        case constant(Int32)
    }

    struct Value {
        var home: Home?
        var isConstant: Bool { if case .constant = home { return true } else { return false } }
    }

    enum Kind {
        case packed(A.PackedOp)
        case compare(UInt8)
        /// src1, src2, mask: src2 where the mask is set.
        case blend
        case greaterInt
        /// a, b, c: a · b + c rounded once (a fused multiply-add).
        case fma
        case sqrt
        /// The CPU's estimate of 1/√x (`vrsqrtps`).
        case rsqrtEstimate
        case round(UInt8)
        case store(A.GPR)
        /// 8 bools (a `.bytes` value) to lanes whose sign bit is the bool.
        case loadBool
        /// A lane mask (all ones or zeros) stored as 8 bools of 0 or 1.
        case storeBool(A.GPR)
    }

    struct Op {
        let kind: Kind
        let destination: Int?
        let sources: [Int]
    }

    let inputIsScalar: [Bool]
    let inputTypes: [DType]
    var values: [Value] = []
    var ops: [Op] = []
    /// The constant table, 8 equal lanes per constant.
    var constantTable: [UInt32] = []
    private var constantValue: [UInt32: Int] = [:]
    private var inputValue: [Int: Int] = [:]
    private var registerValue: [Int: Int] = [:]
    private var outputValue: [Int: Int] = [:]
    /// Base registers of the arrays, in the order they are given out; the index is into inputs or outputs.
    var arrays: [(register: A.GPR, isOutput: Bool, index: Int)] = []
    /// Broadcast scalar inputs: (input, stack offset).
    var scalars: [(input: Int, offset: Int32)] = []
    /// Registers for array bases: everything but rax (index), rcx (end), r8
    /// (constants), r11 (index mod period), rsp, rbp.
    private static let baseRegisters: [A.GPR] = [.r9, .r10, .rbx, .r12, .r13, .r14, .r15, .rdx, .rsi, .rdi]
    /// The period of the loop's broadcast rows (all rows of one loop must share it).
    var period: Int? = nil
    var tooManyArrays = false
    /// Groups of 8 elements per iteration (set by `assemble`).
    var unroll = 1
    /// Whether the assembled body spills values to the stack.
    var spills = false

    init(inputIsScalar: [Bool], inputTypes: [DType]) {
        self.inputIsScalar = inputIsScalar
        self.inputTypes = inputTypes
    }

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
                guard inputTypes[k].byteSize == 4 else { return nil }  // broadcasts read 4 bytes
                let offset = Int32(32 * (1 + scalars.count))  // slot 0 holds the saved argument pointers
                scalars.append((k, offset))
                v = newValue(.stack(offset))
            } else if inputTypes[k] == .bool {
                // Read only as select predicates: loaded once, widened to lanes.
                guard let r = baseRegister(isOutput: false, index: k) else { return nil }
                v = op(.loadBool, newValue(.bytes(r, 0)))
            } else {
                guard inputTypes[k].byteSize == 4, let r = baseRegister(isOutput: false, index: k) else { return nil }
                v = newValue(.array(r, 0))
            }
            inputValue[k] = v
            return v
        case .periodic(let k, let p):
            // Rows of one length, whole groups of 8 (unroll is chosen to divide it too).
            guard p % 8 == 0, period == nil || period == p else { return nil }
            period = p
            if let v = inputValue[k] { return v }
            guard let r = baseRegister(isOutput: false, index: k) else { return nil }
            let v = newValue(.row(r, 0))
            inputValue[k] = v
            return v
        case .register(let r): return registerValue[r]
        case .output(let j): return outputValue[j]
        case .stretched: return nil
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
    /// Every value is 8 lanes of 4 bytes; bools (a comparison's result, a
    /// select's predicate) are lane masks, 1-byte only in memory.
    mutating func lower(_ step: FusedLoop.Step) -> Bool {
        let isBool: Bool
        switch (step.operation, step.elementSize) {
        case (_, 4): isBool = false
        case (.elementwise(.compare, _), 1): isBool = true
        default: return false
        }
        guard step.reduction == nil else { return false }
        var operands: [Int] = []
        for o in step.operands {
            guard let v = value(of: o) else { return false }
            if case .periodic(let k, _) = o, inputTypes[k].byteSize != 4 { return false }
            operands.append(v)
        }
        guard let result = lower(step.operation, operands) else { return false }
        switch step.destination {
        case .register(let r): registerValue[r] = result
        case .output(let j):
            guard let base = baseRegister(isOutput: true, index: j) else { return false }
            ops.append(Op(kind: isBool ? .storeBool(base) : .store(base), destination: nil, sources: [result]))
            outputValue[j] = result
        }
        return true
    }

    private mutating func lower(_ operation: FusedLoop.Operation, _ x: [Int]) -> Int? {
        switch operation {
        case .copy(let dtype):
            return dtype.byteSize == 4 ? x[0] : nil
        case .compareMask(let c, .float32), .elementwise(.compare(let c), [.float32, .float32]):
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
        case .elementwise(.select, let types):
            // A bool predicate: its lanes' sign bits select, as SelectK's 0 - p does.
            guard types[0] == .bool, types[1].byteSize == 4 else { return nil }
            return op(.blend, x[2], x[1], x[0])
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
            default: return nil
            }
        case .elementwise(let p, let types):
            guard types.allSatisfy({ $0 == .float32 }) else { return nil }
            return lowerFloat(p, x)
        }
    }

    /// 1/√x as XLA computes it (see `XLARsqrt`, whose scalar steps these are):
    /// the estimate, Newton steps as fused multiply-adds, the estimate itself
    /// outside [smallest normal, +∞).
    private mutating func rsqrt(_ x: Int) -> Int {
        let steps = XLARsqrt.newtonSteps
        if steps == 0 { return op(.packed(.div), constant(Float(1)), op(.sqrt, x)) }
        let estimate = op(.rsqrtEstimate, x)
        var y = estimate
        for _ in 0..<steps {
            let r2 = op(.packed(.mul), x, y), halfR = op(.packed(.mul), y, constant(Float(-0.5)))
            let h = op(.fma, r2, y, constant(Float(-1)))
            y = op(.fma, halfR, h, y)
        }
        // x ≥ smallest normal (ordered: false for NaN) and x < +∞.
        let normal = op(.packed(.and), op(.compare(0x1D), x, constant(Float.leastNormalMagnitude)),
                        op(.compare(0x11), x, constant(Float.infinity)))
        return op(.blend, estimate, y, normal)
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
            case .rsqrt: return rsqrt(x[0])
            case .floor: return op(.round(0x09), x[0])
            case .ceil: return op(.round(0x0A), x[0])
            case .round: return op(.round(0x08), x[0])
            case .sign:
                // NaN and ±0 fail both comparisons and stay themselves.
                let zero = constant(Float(0))
                let positive = op(.compare(0x1E), x[0], zero)
                let negative = op(.compare(0x11), x[0], zero)
                let r = op(.blend, x[0], constant(Float(1)), positive)
                return flushed(op(.blend, r, constant(Float(-1)), negative))
            case .exp, .log, .log1p, .expm1, .sin, .cos, .tan, .logistic, .erf, .erfc, .erfInv, .isFinite, .not:
                return nil
            }
        case .fma: return op(.fma, x[0], x[1], x[2])
        case .clamp:
            // x < lo ? lo : (x > hi ? hi : x), operands (lo, x, hi). vminps(hi, x) is
            // hi < x ? hi : x (NaN x stays x); the low bound wins even over hi < lo.
            let below = op(.compare(0x11), x[1], x[0])
            return flushed(op(.blend, op(.packed(.min), x[2], x[1]), x[0], below))
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
        return flushed(op(.blend, b, a, pick))
    }

    /// `x` with subnormals flushed to zeros of their sign (Core's
    /// flushedSubnormal): a multiply by one, which the plan's
    /// denormals-are-zero mode reads as ±0 (NaN and the rest pass unchanged).
    /// Max, min, clamp and sign choose among operands with blends, which
    /// that mode does not touch.
    private mutating func flushed(_ x: Int) -> Int {
        op(.packed(.mul), x, constant(Float(1)))
    }

    /// Core's fastTanh (ckernels.c `fast_tanh`), operation for operation.
    private mutating func tanh(_ input: Int) -> Int {
        // Clamp to ±bound: (-bound > input) ? -bound : input, then (bound < x) ? bound : x (NaN stays).
        let clampedLow = op(.packed(.max), constant(Float(-7.99881172180175781)), input)
        let x = op(.packed(.min), constant(Float(7.99881172180175781)), clampedLow)
        let x2 = op(.packed(.mul), x, x)
        var p = constant(Float(-2.76076847742355e-16))
        for c: Float in [2.00018790482477e-13, -8.60467152213735e-11, 5.12229709037114e-08, 1.48572235717979e-05,
                         6.37261928875436e-04, 4.89352455891786e-03] {
            p = op(.fma, x2, p, constant(c))
        }
        p = op(.packed(.mul), p, x)
        var q = constant(Float(1.19825839466702e-06))
        for c: Float in [1.18534705686654e-04, 2.26843463243900e-03, 4.89352518554385e-03] {
            q = op(.fma, x2, q, constant(c))
        }
        let r = op(.packed(.div), p, q)
        // |input| < 0x39d1b717 as integers: tanh(x) = x (keeps -0 and denormals).
        let magnitude = commutative(.and, input, constant(UInt32(0x7fff_ffff)))
        let tiny = op(.greaterInt, constant(UInt32(0x39d1_b717)), magnitude)
        return op(.blend, r, input, tiny)
    }
}
