import FlockCore
/// Compiles an (optimised) jaxpr into an executable ``Plan``.
///
/// Variables get buffer slots, reused once their value is dead; each
/// equation becomes one instruction that releases the slots it reads for the
/// last time. Fusion calls and single elementwise equations become fused
/// loops; `cond`, `whileLoop`, `scan` and calls become nested plans (compiled
/// once, run as often as the control flow says); product-update calls become
/// one accumulating gemm; everything else runs its primitive's kernel (BLAS
/// for `dotGeneral`). Literals and the jaxpr's
/// constants are operands of the instructions that read them.
///
/// `donated` marks inputs whose buffers the plan may overwrite; it only
/// affects the peak-memory estimate (the executor decides at run time).
/// `native: false` keeps every elementwise loop on its block-kernel
/// interpreter (tests compare the two); by default loops that
/// ``NativeLoop`` supports run as machine code where it is enabled.
package func compilePlan(_ jaxpr: Jaxpr, donated: [Bool] = [], native: Bool = true) -> Plan {
    var compiler = PlanCompiler(jaxpr, donated: donated, native: native)
    return compiler.compile()
}

private struct PlanCompiler {
    let jaxpr: Jaxpr
    let donated: [Bool]
    let native: Bool
    var slotOf: [Int: Int] = [:]
    var freeSlots: [Int] = []
    var slotCount = 0
    let consts: [Int: Tensor]

    init(_ jaxpr: Jaxpr, donated: [Bool], native: Bool) {
        self.jaxpr = jaxpr
        self.donated = donated
        self.native = native
        consts = jaxpr.constValues
    }

    mutating func newSlot() -> Int {
        if let s = freeSlots.popLast() { return s }
        slotCount += 1
        return slotCount - 1
    }

    func operand(_ a: Atom) -> Plan.Operand {
        switch a {
        case .literal(let l): return .constant(try! l.tensor.concreteArray(for: "jit"))
        case .variable(let v):
            if let c = consts[v.id] { return .constant(try! c.concreteArray(for: "jit")) }
            return .slot(slotOf[v.id]!)
        }
    }

    mutating func compile() -> Plan {
        let eqs = jaxpr.equations
        var lastUse: [Int: Int] = [:]
        for (i, e) in eqs.enumerated() { for case .variable(let v) in e.inputs { lastUse[v.id] = i } }
        for case .variable(let v) in jaxpr.outputs { lastUse[v.id] = Int.max }

        var inputSlots: [Int] = []
        for v in jaxpr.inputs {
            if lastUse[v.id] == nil {
                inputSlots.append(-1)  // never read: not stored
            } else if let s = slotOf[v.id] {
                inputSlots.append(s)  // the same variable twice (cannot happen for traced jaxprs)
            } else {
                let s = newSlot()
                slotOf[v.id] = s
                inputSlots.append(s)
            }
        }
        var memory = MemoryEstimate()
        for (k, v) in jaxpr.inputs.enumerated() where inputSlots[k] >= 0 {
            memory.bind(slot: inputSlots[k], bytes: v.aval.byteCount, external: !(k < donated.count && donated[k]))
        }
        var constantBytes = 0
        for c in jaxpr.consts { constantBytes += c.aval.byteCount }
        memory.current += constantBytes
        memory.peak = memory.current

        var instructions: [Plan.Instruction] = []
        instructions.reserveCapacity(eqs.count)
        for (i, e) in eqs.enumerated() {
            var inputs = e.inputs.map(operand)
            var dying: [Int] = []
            for case .variable(let v) in e.inputs where lastUse[v.id] == i {
                if let s = slotOf[v.id], !dying.contains(s) { dying.append(s) }
            }
            let kind: Plan.Kind
            var inPlace: [(output: Int, input: Int)] = []
            if case .call(let body, .fusedElementwise) = e.primitive {
                var literals: [DenseArray] = []
                let loop = FusedLoop(body: body, literals: &literals, native: native)
                inputs += literals.map { .constant($0) }
                kind = .fused(loop)
                inPlace = loop.reusable
            } else if case .call(let body, .dotUpdate) = e.primitive,
                case .dotGeneral(let dn) = body.equations[0].primitive, let form = UpdateForm(dotUpdate: body)
            {
                kind = .dotUpdate(dn, alpha: form.alpha)
                inPlace = [(0, 2)]
            } else if involvesWidenedTypes(e), !e.primitive.wrapsJaxpr {
                kind = .primitive(e.primitive)  // the eval rule widens (see Primitive.evaluateWidened)
            } else if e.primitive.isElementwise {
                let loop = FusedLoop(singleEquation: e, native: native)
                kind = .fused(loop)
                inPlace = loop.reusable
            } else {
                kind = Self.kind(of: e.primitive, native: native)
                if case .scatter = e.primitive { inPlace = [(0, 0)] }  // into the operand (Plan+Run)
            }
            for s in dying { freeSlots.append(s) }
            let outputs = e.outputs.map { v -> Int in
                let s = newSlot()
                slotOf[v.id] = s
                return s
            }
            // Memory: outputs are allocated while the operands are alive, then the dead ones go;
            // an output written into a dying operand, or a reshape, shares its buffer.
            var shared: [Int: Int] = [:]  // output index -> buffer
            for (j, k) in inPlace {
                if shared[j] == nil, case .slot(let s) = inputs[k], dying.contains(s), memory.isPrivate(s),
                    let b = memory.buffer(of: s), !shared.values.contains(b)
                {
                    shared[j] = b
                }
            }
            if case .primitive(.reshape) = kind, case .slot(let s) = inputs[0], let b = memory.buffer(of: s) { shared[0] = b }
            let newBytes = e.outputs.indices.filter { shared[$0] == nil }.reduce(0) { $0 + e.outputs[$1].aval.byteCount }
            let nested = kind.nestedPlans.map { max(0, $0.peakBytes - $0.inputAvals.reduce(0) { $0 + $1.byteCount }) }.max() ?? 0
            memory.peak = max(memory.peak, memory.current + newBytes + nested)
            for b in shared.values { memory.retain(b) }
            for s in dying { memory.release(slot: s) }
            for (j, s) in outputs.enumerated() {
                if let b = shared[j] { memory.bind(slot: s, buffer: b) } else { memory.bind(slot: s, bytes: e.outputs[j].aval.byteCount, external: false) }
            }
            instructions.append(Plan.Instruction(kind: kind, inputs: inputs, outputs: outputs, outAvals: e.outputs.map(\.aval), dying: dying))
        }
        // One executable mapping for the plan's native loops.
        let loops = instructions.compactMap { i -> FusedLoop? in if case .fused(let f) = i.kind { f } else { nil } }
        if !NativeLoop.link(loops.compactMap(\.native)) { for f in loops { f.discardNative() } }
        return Plan(
            inputSlots: inputSlots, slotCount: slotCount, instructions: instructions,
            outputs: jaxpr.outputs.map(operand), inputAvals: jaxpr.inputAvals, outputAvals: jaxpr.outputAvals,
            peakBytes: memory.peak, constantBytes: constantBytes, collectiveCalls: Self.collectiveCalls(eqs))
    }

    /// Each collective equation's call (by equation, hence instruction, index),
    /// made once here so that running the plan hashes nothing: its site is its
    /// place in the plan's collective schedule (``CollectiveSite/schedule(_:)``),
    /// which also covers the parts an all-reduce combined (the concatenation
    /// feeding it, see `combineAllReduces`).
    static func collectiveCalls(_ eqs: [Equation]) -> [CollectiveCall?] {
        var concatenated: [Int: [AbstractValue]] = [:]  // variable id -> the avals of its concatenated parts
        var found: [(index: Int, primitive: Primitive, operand: AbstractValue?, parts: [AbstractValue])] = []
        for (i, e) in eqs.enumerated() {
            if case .concatenate = e.primitive, e.outputs.count == 1 { concatenated[e.outputs[0].id] = e.inputs.map(\.aval) }
            guard e.primitive.collectiveAxes != nil else { continue }
            var parts: [AbstractValue] = []
            if case .variable(let v)? = e.inputs.first { parts = concatenated[v.id] ?? [] }
            found.append((i, e.primitive, e.inputs.first?.aval, parts))
        }
        guard !found.isEmpty else { return [] }
        let sites = CollectiveSite.schedule(found.map { ($0.primitive, $0.operand, $0.parts) })
        var calls = [CollectiveCall?](repeating: nil, count: eqs.count)
        for (c, site) in zip(found, sites) { calls[c.index] = CollectiveCall(c.primitive, operand: c.operand, site: site) }
        return calls
    }

    static func kind(of p: Primitive, native: Bool) -> Plan.Kind {
        func plan(_ j: Jaxpr) -> Plan { compilePlan(j, native: native) }
        switch p {
        case .call(let j, _), .customJVP(let j, _), .customVJP(let j, _), .checkpoint(let j):
            return .call(plan(j))
        case .cond(let branches):
            return .cond(branches: branches.map(plan))
        case .whileLoop(let c, let b, let nc, let nb):
            return .whileLoop(cond: plan(c), body: plan(b), condConstCount: nc, bodyConstCount: nb)
        case .scan(let b, let length, let reverse, let nc, let ncarry):
            return .scan(body: plan(b), length: length, reverse: reverse, constCount: nc, carryCount: ncarry)
        default:
            if let (op, axis) = p.singleAxisAllReduce { return .allReduce(p, op, axis: axis) }
            return .primitive(p)
        }
    }
}

/// Static simulation of buffer lifetimes for the plan's peak-bytes estimate.
private struct MemoryEstimate {
    var current = 0
    var peak = 0
    private var bufferOf: [Int: Int] = [:]  // slot -> buffer
    private var bytes: [Int] = []
    private var references: [Int] = []
    private var external: [Bool] = []  // held by the caller as well: never freed by the plan

    func buffer(of slot: Int) -> Int? { bufferOf[slot] }

    /// Binds `slot` to a new buffer of `n` bytes.
    mutating func bind(slot: Int, bytes n: Int, external e: Bool) {
        bufferOf[slot] = bytes.count
        bytes.append(n)
        references.append(1)
        external.append(e)
        current += n
    }
    /// Binds `slot` to an existing buffer already retained for it.
    mutating func bind(slot: Int, buffer b: Int) { bufferOf[slot] = b }
    mutating func retain(_ b: Int) { references[b] += 1 }
    /// Whether the plan owns the slot's buffer alone (an in-place candidate).
    func isPrivate(_ slot: Int) -> Bool {
        guard let b = bufferOf[slot] else { return false }
        return references[b] == 1 && !external[b]
    }
    mutating func release(slot: Int) {
        guard let b = bufferOf.removeValue(forKey: slot) else { return }
        references[b] -= 1
        if references[b] == 0 && !external[b] { current -= bytes[b] }
    }
}

extension AbstractValue {
    var byteCount: Int { count * dtype.byteSize }
}

extension FusedLoop {
    /// A loop of one elementwise equation, every operand an input (literals are constant operands).
    convenience init(singleEquation e: Equation, native: Bool = true) {
        let params = e.inputs.enumerated().map { Var(id: -1 - $0.offset, aval: $0.element.aval) }
        let out = e.outputs[0]
        let body = Jaxpr(
            inputs: params, constVars: [], consts: [],
            equations: [Equation(primitive: e.primitive, inputs: params.map { .variable($0) }, outputs: [out])],
            outputs: [.variable(out)])
        var none: [DenseArray] = []
        self.init(body: body, literals: &none, native: native)
    }
}
