import FlockCore
/// A small x86-64 assembler: the VEX-encoded 256-bit (ymm) float instructions
/// and the general-purpose instructions that ``NativeLoop`` needs, written
/// into a byte array. Encodings follow the Intel SDM (volume 2); the tests
/// check them against bytes assembled by clang.
///
/// Only what native loops use is here: no AVX-512, no 8/16/32-bit forms.
struct X86Assembler {
    /// A general-purpose 64-bit register, numbered as in ModRM (8-15 need REX).
    enum GPR: UInt8 {
        case rax = 0, rcx, rdx, rbx, rsp, rbp, rsi, rdi, r8, r9, r10, r11, r12, r13, r14, r15
        var low: UInt8 { rawValue & 7 }
        var isExtended: Bool { rawValue >= 8 }
    }

    /// A 256-bit vector register ymm0-ymm15.
    struct YMM: Equatable {
        let index: UInt8
        init(_ index: Int) {
            precondition((0..<16).contains(index), "X86Assembler: ymm\(index) does not exist")
            self.index = UInt8(index)
        }
    }

    /// `[base + index·scale + displacement]`.
    struct Memory: Equatable {
        var base: GPR
        var index: GPR? = nil
        var scale: UInt8 = 1
        var displacement: Int32 = 0
    }

    /// The `r/m` operand of a vector instruction: a register or memory.
    enum Operand: Equatable {
        case register(YMM)
        case memory(Memory)
    }

    /// Condition codes of `jcc` (the low nibble of its opcode).
    enum Condition: UInt8 {
        case less = 0xC, greaterOrEqual = 0xD
    }

    /// A position in the code that jumps can refer to before it is bound.
    struct Label { fileprivate let id: Int }

    private(set) var bytes: [UInt8] = []
    private var labelPositions: [Int?] = []
    /// (position of a rel32 field, label): patched in ``finish()``.
    private var fixups: [(at: Int, label: Int)] = []

    init() { bytes.reserveCapacity(1024) }

    // MARK: Encoding helpers

    // Fixed arities, not variadic: a variadic call allocates an array per instruction.
    private mutating func emit(_ a: UInt8) { bytes.append(a) }
    private mutating func emit(_ a: UInt8, _ b: UInt8) {
        bytes.append(a)
        bytes.append(b)
    }
    private mutating func emit(_ a: UInt8, _ b: UInt8, _ c: UInt8) {
        bytes.append(a)
        bytes.append(b)
        bytes.append(c)
    }

    private mutating func emit32(_ v: Int32) {
        let u = UInt32(bitPattern: v)
        for k in 0..<4 { bytes.append(UInt8(truncatingIfNeeded: u >> (8 * k))) }
    }

    /// ModRM (+ SIB + displacement) for register field `reg` (low 3 bits used) and `rm`.
    private mutating func modRM(reg: UInt8, _ rm: Operand) {
        switch rm {
        case .register(let r):
            emit(0xC0 | (reg & 7) << 3 | (r.index & 7))
        case .memory(let m):
            modRM(reg: reg, m)
        }
    }

    private mutating func modRM(reg: UInt8, _ m: Memory) {
        let d = m.displacement
        // rbp/r13 as base have no displacement-free form.
        let mod: UInt8 = d == 0 && m.base.low != 5 ? 0 : (Int8(exactly: d) != nil ? 1 : 2)
        if m.index == nil && m.base.low != 4 {
            emit(mod << 6 | (reg & 7) << 3 | m.base.low)
        } else {
            // SIB: rsp/r12 as base, or an index. Index 100 without REX.X means none.
            let scaleBits: UInt8
            switch m.scale {
            case 1: scaleBits = 0
            case 2: scaleBits = 1
            case 4: scaleBits = 2
            case 8: scaleBits = 3
            default: preconditionFailure("X86Assembler: scale \(m.scale) is not 1, 2, 4 or 8")
            }
            precondition(m.index != .rsp, "X86Assembler: rsp cannot be an index")
            emit(mod << 6 | (reg & 7) << 3 | 4)
            emit(scaleBits << 6 | (m.index?.low ?? 4) << 3 | m.base.low)
        }
        if mod == 1 { emit(UInt8(bitPattern: Int8(d))) } else if mod == 2 { emit32(d) }
    }

    private func extensionBits(_ rm: Operand) -> (x: Bool, b: Bool) {
        switch rm {
        case .register(let r): return (false, r.index >= 8)
        case .memory(let m): return (m.index?.isExtended ?? false, m.base.isExtended)
        }
    }

    enum Map: UInt8 { case x0F = 1, x0F38 = 2, x0F3A = 3 }
    enum Prefix: UInt8 { case none = 0, x66 = 1, xF3 = 2, xF2 = 3 }

    /// A VEX instruction (256 bits, or 128 unless `wide`): `opcode` in `map`
    /// with implied prefix `pp`, ModRM.reg = `reg`, VEX.vvvv = `vvvv` (a
    /// register number; 0 when unused).
    private mutating func vex(
        _ opcode: UInt8, map: Map, pp: Prefix, w: Bool = false, wide: Bool = true, reg: UInt8, vvvv: UInt8, _ rm: Operand
    ) {
        let (x, b) = extensionBits(rm)
        let r = reg >= 8
        let tail = (w ? 0x80 : 0) | (~vvvv & 0xF) << 3 | (wide ? 0x04 : 0) | pp.rawValue  // L: 256 or 128 bits
        if map == .x0F && !x && !b && !w {
            emit(0xC5, (r ? 0 : 0x80) | tail)
        } else {
            emit(0xC4, (r ? 0 : 0x80) | (x ? 0 : 0x40) | (b ? 0 : 0x20) | map.rawValue, tail)
        }
        emit(opcode)
        modRM(reg: reg, rm)
    }

    // MARK: Vector instructions (ymm)

    /// Opcodes of the packed-single operations `dst = src1 op src2` in map 0F without prefix.
    enum PackedOp: UInt8 {
        case and = 0x54, andNot = 0x55, or = 0x56, xor = 0x57
        case add = 0x58, mul = 0x59, sub = 0x5C, min = 0x5D, div = 0x5E, max = 0x5F
    }

    /// `vaddps`, `vmulps`, …: `dst = src1 op src2`. `andNot` is `~src1 & src2`;
    /// `min`/`max` return `src2` when either is NaN or both are zero.
    mutating func packed(_ op: PackedOp, _ dst: YMM, _ src1: YMM, _ src2: Operand) {
        vex(op.rawValue, map: .x0F, pp: .none, reg: dst.index, vvvv: src1.index, src2)
    }

    /// `vcmpps dst, src1, src2, predicate`: all ones where the predicate holds.
    mutating func vcmpps(_ dst: YMM, _ src1: YMM, _ src2: Operand, _ predicate: UInt8) {
        vex(0xC2, map: .x0F, pp: .none, reg: dst.index, vvvv: src1.index, src2)
        emit(predicate)
    }

    /// `vblendvps dst, src1, src2, mask`: `src2` where the mask's sign bit is set, else `src1`.
    mutating func vblendvps(_ dst: YMM, _ src1: YMM, _ src2: Operand, _ mask: YMM) {
        vex(0x4A, map: .x0F3A, pp: .x66, reg: dst.index, vvvv: src1.index, src2)
        emit(mask.index << 4)
    }

    /// `vpcmpgtd dst, src1, src2`: all ones where the signed 32-bit `src1 > src2`.
    mutating func vpcmpgtd(_ dst: YMM, _ src1: YMM, _ src2: Operand) {
        vex(0x66, map: .x0F, pp: .x66, reg: dst.index, vvvv: src1.index, src2)
    }

    /// `vfmadd213ps dst, src2, src3`: `dst = src2 · dst + src3`, rounded once.
    mutating func vfmadd213ps(_ dst: YMM, _ src2: YMM, _ src3: Operand) {
        vex(0xA8, map: .x0F38, pp: .x66, reg: dst.index, vvvv: src2.index, src3)
    }

    /// `vsqrtps dst, src`.
    mutating func vsqrtps(_ dst: YMM, _ src: Operand) {
        vex(0x51, map: .x0F, pp: .none, reg: dst.index, vvvv: 0, src)
    }

    /// `vrsqrtps dst, src`: the CPU's estimate of 1/√x per lane.
    mutating func vrsqrtps(_ dst: YMM, _ src: Operand) {
        vex(0x52, map: .x0F, pp: .none, reg: dst.index, vvvv: 0, src)
    }

    /// `vroundps dst, src, mode` (0x08 nearest even, 0x09 down, 0x0A up; exceptions suppressed).
    mutating func vroundps(_ dst: YMM, _ src: Operand, _ mode: UInt8) {
        vex(0x08, map: .x0F3A, pp: .x66, reg: dst.index, vvvv: 0, src)
        emit(mode)
    }

    /// `vmovups dst, src` (a load, or a register copy).
    mutating func vmovups(_ dst: YMM, _ src: Operand) {
        vex(0x10, map: .x0F, pp: .none, reg: dst.index, vvvv: 0, src)
    }

    /// `vmovups [dst], src`.
    mutating func vmovups(_ dst: Memory, _ src: YMM) {
        vex(0x11, map: .x0F, pp: .none, reg: src.index, vvvv: 0, .memory(dst))
    }

    /// `vbroadcastss dst, dword [src]`.
    mutating func vbroadcastss(_ dst: YMM, _ src: Memory) {
        vex(0x18, map: .x0F38, pp: .x66, reg: dst.index, vvvv: 0, .memory(src))
    }

    // Bools (one byte each) to and from lane masks. 128-bit forms name the
    // low half (xmm) of a YMM register.

    /// `vpmovzxbd dst, qword [src]`: 8 bytes zero-extended to 8 dwords.
    mutating func vpmovzxbd(_ dst: YMM, _ src: Memory) {
        vex(0x31, map: .x0F38, pp: .x66, reg: dst.index, vvvv: 0, .memory(src))
    }

    /// `vpslld dst, src, count`: each dword shifted left.
    mutating func vpslld(_ dst: YMM, _ src: YMM, _ count: UInt8) {
        vex(0x72, map: .x0F, pp: .x66, reg: 6, vvvv: dst.index, .register(src))
        emit(count)
    }

    /// `vextractf128 xmm(dst), src, 1`: the upper 128 bits.
    mutating func vextractUpperHalf(_ dst: YMM, _ src: YMM) {
        vex(0x19, map: .x0F3A, pp: .x66, reg: src.index, vvvv: 0, .register(dst))
        emit(1)
    }

    /// `vpackssdw xmm(dst), xmm(src1), xmm(src2)`: 4 + 4 dwords to 8 words, saturating.
    mutating func vpackssdw128(_ dst: YMM, _ src1: YMM, _ src2: YMM) {
        vex(0x6B, map: .x0F, pp: .x66, wide: false, reg: dst.index, vvvv: src1.index, .register(src2))
    }

    /// `vpacksswb xmm(dst), xmm(src1), xmm(src2)`: 8 + 8 words to 16 bytes, saturating.
    mutating func vpacksswb128(_ dst: YMM, _ src1: YMM, _ src2: YMM) {
        vex(0x63, map: .x0F, pp: .x66, wide: false, reg: dst.index, vvvv: src1.index, .register(src2))
    }

    /// `vpabsb xmm(dst), xmm(src)`: bytes' absolute values (-1 → 1).
    mutating func vpabsb128(_ dst: YMM, _ src: YMM) {
        vex(0x1C, map: .x0F38, pp: .x66, wide: false, reg: dst.index, vvvv: 0, .register(src))
    }

    /// `vmovq qword [dst], xmm(src)`: the low 8 bytes.
    mutating func vmovq(_ dst: Memory, _ src: YMM) {
        vex(0xD6, map: .x0F, pp: .x66, wide: false, reg: src.index, vvvv: 0, .memory(dst))
    }

    /// `vzeroupper`: avoids the penalty of dirty upper halves in SSE code after us.
    mutating func vzeroupper() { emit(0xC5, 0xF8, 0x77) }

    // MARK: General-purpose instructions

    private mutating func rex(w: Bool, r: Bool, x: Bool = false, b: Bool) {
        let v: UInt8 = 0x40 | (w ? 8 : 0) | (r ? 4 : 0) | (x ? 2 : 0) | (b ? 1 : 0)
        if v != 0x40 { emit(v) }
    }

    mutating func push(_ r: GPR) {
        rex(w: false, r: false, b: r.isExtended)
        emit(0x50 + r.low)
    }

    mutating func pop(_ r: GPR) {
        rex(w: false, r: false, b: r.isExtended)
        emit(0x58 + r.low)
    }

    /// `mov dst, src` (64-bit registers).
    mutating func mov(_ dst: GPR, _ src: GPR) {
        rex(w: true, r: src.isExtended, b: dst.isExtended)
        emit(0x89, 0xC0 | src.low << 3 | dst.low)
    }

    /// `mov dst, qword [src]`.
    mutating func mov(_ dst: GPR, _ src: Memory) {
        rex(w: true, r: dst.isExtended, x: src.index?.isExtended ?? false, b: src.base.isExtended)
        emit(0x8B)
        modRM(reg: dst.low, src)
    }

    /// `mov qword [dst], src`.
    mutating func mov(_ dst: Memory, _ src: GPR) {
        rex(w: true, r: src.isExtended, x: dst.index?.isExtended ?? false, b: dst.base.isExtended)
        emit(0x89)
        modRM(reg: src.low, dst)
    }

    /// The group-1 arithmetic of `dst` with an immediate (`/digit` in ModRM.reg).
    private mutating func group1(_ digit: UInt8, _ dst: GPR, _ imm: Int32) {
        rex(w: true, r: false, b: dst.isExtended)
        if let small = Int8(exactly: imm) {
            emit(0x83, 0xC0 | digit << 3 | dst.low, UInt8(bitPattern: small))
        } else {
            emit(0x81, 0xC0 | digit << 3 | dst.low)
            emit32(imm)
        }
    }

    mutating func add(_ dst: GPR, _ imm: Int32) { group1(0, dst, imm) }
    /// `cmp dst, imm` (sets flags from `dst - imm`).
    mutating func cmp(_ dst: GPR, _ imm: Int32) { group1(7, dst, imm) }
    mutating func and(_ dst: GPR, _ imm: Int32) { group1(4, dst, imm) }
    mutating func sub(_ dst: GPR, _ imm: Int32) { group1(5, dst, imm) }

    /// `cmp a, b` (sets flags from `a - b`).
    mutating func cmp(_ a: GPR, _ b: GPR) {
        rex(w: true, r: b.isExtended, b: a.isExtended)
        emit(0x39, 0xC0 | b.low << 3 | a.low)
    }

    mutating func ret() { emit(0xC3) }

    // MARK: Labels and jumps

    /// Appends code assembled elsewhere (with no jumps of its own).
    mutating func append(_ code: [UInt8]) { bytes += code }

    mutating func newLabel() -> Label {
        labelPositions.append(nil)
        return Label(id: labelPositions.count - 1)
    }

    mutating func bind(_ label: Label) { labelPositions[label.id] = bytes.count }

    /// `jcc rel32` to `label` (bound before or after).
    mutating func jump(if condition: Condition, to label: Label) {
        emit(0x0F, 0x80 | condition.rawValue)
        fixups.append((bytes.count, label.id))
        emit32(0)
    }

    /// The code with every jump resolved.
    func finish() -> [UInt8] {
        var out = bytes
        for f in fixups {
            guard let target = labelPositions[f.label] else { preconditionFailure("X86Assembler: unbound label") }
            let rel = Int32(target - (f.at + 4))
            withUnsafeBytes(of: rel.littleEndian) { for k in 0..<4 { out[f.at + k] = $0[k] } }
        }
        return out
    }
}
