import FlockCore
// Register allocation and assembly of a native loop: the straight-line
// program of `NativeLoopCompiler` becomes the body of a loop over groups of
// 8 elements, between a prologue that loads the array bases and broadcasts
// the scalars and an epilogue that restores the caller's registers.

extension NativeLoopCompiler {
    /// The loop body for `unroll` groups of 8 elements, each operation
    /// issued for every group in turn (independent chains side by side keep
    /// more of the pipelines busy than one long chain), with registers
    /// allocated; `frameEnd` is the stack frame's size and `spilled` whether
    /// 16 registers were too few. Flat arrays throughout: this runs for
    /// every loop a plan compiles.
    private func body(unroll: Int) -> (code: [UInt8], frameEnd: Int32, spilled: Bool) {
        // Copies of the values per group: constants and scalars are shared,
        // arrays are read 32 bytes further per group, computed values repeat.
        var first = [Int](repeating: 0, count: values.count)
        var shared = [Bool](repeating: false, count: values.count)
        var home: [Home?] = []
        home.reserveCapacity(values.count * unroll)
        for (v, value) in values.enumerated() {
            first[v] = home.count
            switch value.home {
            case .constant, .stack:
                shared[v] = true
                home.append(value.home)
            case .array(let base, _):
                for u in 0..<unroll { home.append(.array(base, Int32(32 * u))) }
            case .row(let base, _):
                for u in 0..<unroll { home.append(.row(base, Int32(32 * u))) }
            case .bytes(let base, _):
                for u in 0..<unroll { home.append(.bytes(base, Int32(8 * u))) }
            case nil:
                for _ in 0..<unroll { home.append(nil) }
            }
        }
        @inline(__always) func copy(_ v: Int, _ u: Int) -> Int { shared[v] ? first[v] : first[v] + u }

        // Expanded op i = op i / unroll for group i % unroll. For each source
        // slot, the next op (after i) reading that value, or Int.max.
        let n = ops.count * unroll
        var nextUseAfter = [Int](repeating: Int.max, count: n * 3)
        var upcoming = [Int](repeating: Int.max, count: home.count)
        for i in stride(from: n - 1, through: 0, by: -1) {
            let o = ops[i / unroll]
            for (k, v) in o.sources.enumerated() { nextUseAfter[i * 3 + k] = upcoming[copy(v, i % unroll)] }
            for v in o.sources { upcoming[copy(v, i % unroll)] = i }
        }

        var body = A()
        var holder = [Int](repeating: -1, count: 16)
        var register = [Int](repeating: -1, count: home.count)
        var frameEnd = Int32(32 * (1 + scalars.count))
        var spilled = false

        func memory(_ v: Int) -> A.Memory {
            switch home[v]! {
            case .array(let base, let displacement): return A.Memory(base: base, index: .rax, scale: 4, displacement: displacement)
            case .row(let base, let displacement): return A.Memory(base: base, index: .r11, scale: 4, displacement: displacement)
            case .bytes(let base, let displacement): return A.Memory(base: base, index: .rax, scale: 1, displacement: displacement)
            case .stack(let offset): return A.Memory(base: .rsp, displacement: offset)
            case .constant(let offset): return A.Memory(base: .r8, displacement: offset)
            }
        }
        /// A free register, or the one whose value is needed furthest ahead
        /// (spilled if memory holds no copy); `pinned` is a bit set of registers to keep.
        func allocate(pinned: UInt16) -> Int {
            if let free = holder.firstIndex(of: -1) { return free }
            var best = -1, bestUse = -1
            for r in 0..<16 where pinned & (1 << r) == 0 && upcoming[holder[r]] > bestUse {
                (best, bestUse) = (r, upcoming[holder[r]])
            }
            let v = holder[best]
            if home[v] == nil {
                home[v] = .stack(frameEnd)
                frameEnd += 32
                spilled = true
                body.vmovups(memory(v), A.YMM(best))
            }
            register[v] = -1
            holder[best] = -1
            return best
        }
        func inRegister(_ v: Int, pinned: inout UInt16) -> A.YMM {
            var r = register[v]
            if r < 0 {
                r = allocate(pinned: pinned)
                body.vmovups(A.YMM(r), .memory(memory(v)))
                register[v] = r
                holder[r] = v
            }
            pinned |= 1 << r
            return A.YMM(r)
        }
        func operand(_ v: Int) -> A.Operand {
            register[v] >= 0 ? .register(A.YMM(register[v])) : .memory(memory(v))
        }

        for i in 0..<n {
            let o = ops[i / unroll], group = i % unroll
            var pinned: UInt16 = 0
            let s0 = copy(o.sources[0], group)
            let s1 = o.sources.count > 1 ? copy(o.sources[1], group) : s0
            // Registers first (an allocation must not evict an operand already chosen), then memory operands.
            var firstOperand = A.YMM(0), mask = A.YMM(0)
            switch o.kind {
            case .packed, .compare, .greaterInt, .store, .storeBool: firstOperand = inRegister(s0, pinned: &pinned)
            case .blend:
                firstOperand = inRegister(s0, pinned: &pinned)
                mask = inRegister(copy(o.sources[2], group), pinned: &pinned)
            case .fma:
                // a and b in registers (`mask` holds b), c may stay in memory.
                firstOperand = inRegister(s0, pinned: &pinned)
                mask = inRegister(s1, pinned: &pinned)
            case .sqrt, .rsqrtEstimate, .round, .loadBool: break
            }
            let second = operand(s1)
            if case .store(let base) = o.kind {
                let displacement = Int32(32 * group)
                body.vmovups(A.Memory(base: base, index: .rax, scale: 4, displacement: displacement), firstOperand)
                if home[s0] == nil { home[s0] = .array(base, displacement) }
            }
            if case .storeBool(let base) = o.kind {
                // Masks (0 or -1 per dword) packed with saturation to bytes 0 or -1, then made 0 or 1.
                let t = A.YMM(allocate(pinned: pinned))
                body.vextractUpperHalf(t, firstOperand)
                body.vpackssdw128(t, firstOperand, t)
                body.vpacksswb128(t, t, t)
                body.vpabsb128(t, t)
                body.vmovq(A.Memory(base: base, index: .rax, scale: 1, displacement: Int32(8 * group)), t)
            }
            // A fused multiply-add overwrites its destination before reading b and c,
            // so its register is chosen while all three operands hold theirs.
            var fmaAddend: A.Operand? = nil, early: Int? = nil
            if case .fma = o.kind {
                let s2 = copy(o.sources[2], group)
                if register[s2] >= 0 { pinned |= 1 << register[s2] }
                fmaAddend = operand(s2)
                early = allocate(pinned: pinned)
            }
            // Operands read for the last time free their registers (the result may take one).
            for k in o.sources.indices {
                let v = copy(o.sources[k], group)
                upcoming[v] = nextUseAfter[i * 3 + k]
                if upcoming[v] == Int.max, register[v] >= 0 {
                    pinned &= ~(1 << register[v])
                    holder[register[v]] = -1
                    register[v] = -1
                }
            }
            guard let d = o.destination.map({ copy($0, group) }) else { continue }
            let r = early ?? allocate(pinned: pinned)
            let out = A.YMM(r)
            switch o.kind {
            case .packed(let p): body.packed(p, out, firstOperand, second)
            case .compare(let predicate): body.vcmpps(out, firstOperand, second, predicate)
            case .greaterInt: body.vpcmpgtd(out, firstOperand, second)
            case .blend: body.vblendvps(out, firstOperand, second, mask)
            case .fma:
                body.vmovups(out, .register(firstOperand))
                body.vfmadd213ps(out, mask, fmaAddend!)
            case .sqrt: body.vsqrtps(out, second)
            case .rsqrtEstimate: body.vrsqrtps(out, second)
            case .round(let mode): body.vroundps(out, second, mode)
            case .loadBool:
                body.vpmovzxbd(out, memory(s0))
                body.vpslld(out, out, 31)
            case .store, .storeBool: break
            }
            if upcoming[d] != Int.max {
                register[d] = r
                holder[r] = d
            }
        }
        return (body.finish(), frameEnd, spilled)
    }

    /// The function's machine code, or nil if the loop needs more arrays than base registers.
    mutating func assemble() -> [UInt8]? {
        guard !tooManyArrays else { return nil }
        // Computed values alive at once (inputs and constants can always be
        // reloaded). Groups interleaved need fewer registers than that many
        // times one (GELU: 5 alive, 4 groups fit), so the estimate is generous
        // and only saves trials for loops that clearly would spill.
        var last = [Int](repeating: -1, count: values.count)
        for (i, o) in ops.enumerated() { for v in o.sources { last[v] = i } }
        var live = 0, peak = 1
        for (i, o) in ops.enumerated() {
            if let d = o.destination, last[d] > i { live += 1 }
            peak = max(peak, live)
            for (k, v) in o.sources.enumerated() where last[v] == i && values[v].home == nil && !o.sources[..<k].contains(v) {
                live -= 1
            }
        }
        var found: (code: [UInt8], frameEnd: Int32, spilled: Bool)? = nil
        for u in stride(from: min(4, 24 / peak), through: 2, by: -1) where (period ?? 0) % (8 * u) == 0 {
            let b = body(unroll: u)
            if !b.spilled {
                (found, unroll) = (b, u)
                break
            }
        }
        let chosen = found ?? body(unroll: 1)
        if found == nil { (unroll, spills) = (1, chosen.spilled) }
        let spillOffset = chosen.frameEnd

        // Prologue, loop, epilogue.
        var a = A()
        if period != nil { a.mov(.r11, .r9) }  // lo mod period, before r9 becomes a base
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
        if let p = period {
            // The row index wraps after whole iterations (8·unroll divides the period).
            let inRow = a.newLabel()
            a.add(.r11, Int32(8 * unroll))
            a.cmp(.r11, Int32(p))
            a.jump(if: .less, to: inRow)
            a.sub(.r11, Int32(p))
            a.bind(inRow)
        }
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
