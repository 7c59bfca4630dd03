import FlockCore
/// An executable plan: a flat list of instructions over integer buffer slots,
/// compiled from an optimised jaxpr by ``compilePlan(_:)``.
///
/// Each slot holds at most one array at a time. An instruction reads its
/// operands (slots or constants), writes its output slots, and releases the
/// slots it reads for the last time, so buffers return to the pool as soon as
/// they are dead and elementwise loops can write into a dying operand's buffer.
/// Control flow runs nested plans; nothing is unrolled.
public final class Plan: @unchecked Sendable, CustomStringConvertible {
    enum Operand {
        case slot(Int)
        case constant(DenseArray)
    }

    enum Kind {
        /// Runs the primitive's eval kernel.
        case primitive(Primitive)
        /// A psum, pmax or pmin over one axis name, straight to its communicator.
        case allReduce(Primitive, ReduceOp, axis: String)
        /// Runs a fused elementwise loop; the operands are its inputs.
        case fused(FusedLoop)
        /// Operands lhs, rhs, w: `w + alpha · dotGeneral(lhs, rhs)` as one gemm.
        case dotUpdate(DotDimensionNumbers, alpha: Double)
        case call(Plan)
        case cond(branches: [Plan])
        case whileLoop(cond: Plan, body: Plan, condConstCount: Int, bodyConstCount: Int)
        case scan(body: Plan, length: Int, reverse: Bool, constCount: Int, carryCount: Int)
    }

    /// A class, not a struct: running a plan then retains one reference per
    /// instruction instead of each of its arrays.
    final class Instruction {
        let kind: Kind
        let inputs: [Operand]
        let outputs: [Int]
        let outAvals: [AbstractValue]
        /// Slots read for the last time here; released after the instruction.
        let dying: [Int]

        init(kind: Kind, inputs: [Operand], outputs: [Int], outAvals: [AbstractValue], dying: [Int]) {
            self.kind = kind
            self.inputs = inputs
            self.outputs = outputs
            self.outAvals = outAvals
            self.dying = dying
        }
    }

    let inputSlots: [Int]
    let slotCount: Int
    let instructions: [Instruction]
    let outputs: [Operand]
    /// The shapes and dtypes of the arguments, in order.
    public let inputAvals: [AbstractValue]
    /// The shapes and dtypes of the results, in order.
    public let outputAvals: [AbstractValue]

    /// The call of each collective instruction (by index; empty when the plan
    /// has none), digest included: made once at compile time.
    let collectiveCalls: [CollectiveCall?]

    /// Each single-name all-reduce instruction's step (by index; nil for the
    /// others), read before anything else of the instruction: the collective
    /// is latency-bound, and matching `kind` would copy its primitive.
    let allReduceSteps: [AllReduceStep?]

    /// What running a psum, pmax or pmin over one name needs, in one object.
    final class AllReduceStep: Sendable {
        let op: ReduceOp
        let axis: String
        /// Made at compile time (digest and schedule site included).
        let call: CollectiveCall
        init(op: ReduceOp, axis: String, call: CollectiveCall) {
            self.op = op
            self.axis = axis
            self.call = call
        }
    }

    /// Instructions of this plan, not counting nested plans.
    public var instructionCount: Int { instructions.count }
    /// Buffer slots of this plan (the most arrays it holds at once, inputs included).
    public var bufferCount: Int { slotCount }
    /// Upper bound of the bytes of arrays alive at once while the plan runs
    /// (inputs and constants included), assuming elementwise loops reuse
    /// dying intermediates in place.
    public let peakBytes: Int
    /// Bytes of the constants the plan holds.
    public let constantBytes: Int

    init(
        inputSlots: [Int], slotCount: Int, instructions: [Instruction], outputs: [Operand],
        inputAvals: [AbstractValue], outputAvals: [AbstractValue], peakBytes: Int, constantBytes: Int,
        collectiveCalls: [CollectiveCall?] = []
    ) {
        self.collectiveCalls = collectiveCalls
        allReduceSteps = instructions.enumerated().map { k, inst in
            guard case .allReduce(let p, let op, let axis) = inst.kind else { return nil }
            let call = k < collectiveCalls.count ? collectiveCalls[k] : nil
            return AllReduceStep(op: op, axis: axis, call: call ?? CollectiveCall(p, operand: inst.outAvals.first, site: nil))
        }
        self.inputSlots = inputSlots
        self.slotCount = slotCount
        self.instructions = instructions
        self.outputs = outputs
        self.inputAvals = inputAvals
        self.outputAvals = outputAvals
        self.peakBytes = peakBytes
        self.constantBytes = constantBytes
        var largest: (aval: AbstractValue, name: String, bytes: Int)? = nil
        for inst in instructions {
            for a in inst.outAvals where a.count &* a.dtype.byteSize > largest?.bytes ?? -1 {
                largest = (a, inst.kind.name, a.count &* a.dtype.byteSize)
            }
            for p in inst.kind.nestedPlans {
                if let l = p.largestOutput, l.aval.count &* l.aval.dtype.byteSize > largest?.bytes ?? -1 {
                    largest = (l.aval, l.name, l.aval.count &* l.aval.dtype.byteSize)
                }
            }
        }
        largestOutput = largest.map { ($0.aval, $0.name, $0.bytes) }
    }

    /// The largest array an instruction of this plan (or of a nested plan)
    /// allocates, and the instruction's name: checked against the memory
    /// limit before each run (``checkAllocations(_:operation:)``), so a plan
    /// too large for memory is a catchable error rather than a failed allocation.
    let largestOutput: (aval: AbstractValue, name: String, bytes: Int)?

    /// Fused elementwise loops in this plan and its nested plans.
    public var fusedLoopCount: Int {
        instructions.reduce(0) { n, inst in
            if case .fused(let f) = inst.kind { return n + (f.steps.count > 1 ? 1 : 0) }
            return n + inst.kind.nestedPlans.reduce(0) { $0 + $1.fusedLoopCount }
        }
    }

    /// Elementwise loops (fused or of one equation) of this plan and its
    /// nested plans that run as native code (see `NativeLoop`); 0 where
    /// native loops are off (no AVX2, `FLOCK_NATIVE_LOOPS=0`) or unsupported.
    public var nativeLoopCount: Int {
        instructions.reduce(0) { n, inst in
            if case .fused(let f) = inst.kind { return n + (f.native?.isLinked == true ? 1 : 0) }
            return n + inst.kind.nestedPlans.reduce(0) { $0 + $1.nativeLoopCount }
        }
    }

    /// One line per instruction, nested plans indented.
    public var description: String { lines(indent: "").joined(separator: "\n") }

    private func lines(indent: String) -> [String] {
        func operand(_ o: Operand) -> String {
            switch o {
            case .slot(let s): "%\(s)"
            case .constant(let a): a.count == 1 ? "\(a.double(at: 0))" : "const\(a.shape)"
            }
        }
        var out = ["\(indent)plan(\(inputSlots.map { "%\($0)" }.joined(separator: ", "))) slots=\(slotCount) peak=\(peakBytes)B"]
        for inst in instructions {
            let outs = zip(inst.outputs, inst.outAvals).map { "%\($0):\($1)" }.joined(separator: " ")
            let ins = inst.inputs.map(operand).joined(separator: " ")
            let dying = inst.dying.isEmpty ? "" : "  ; free \(inst.dying.map { "%\($0)" }.joined(separator: " "))"
            out.append("\(indent)  \(outs) = \(inst.kind.name) \(ins)\(dying)")
            for p in inst.kind.nestedPlans { out += p.lines(indent: indent + "    ") }
        }
        out.append("\(indent)  return \(outputs.map(operand).joined(separator: ", "))")
        return out
    }
}

extension Plan.Kind {
    var name: String {
        switch self {
        case .primitive(let p), .allReduce(let p, _, _): p.name
        case .fused(let f):
            (f.steps.count == 1 ? "loop[1 op]" : "fused_loop[\(f.steps.count) ops]") + (f.native?.isLinked == true ? "[native]" : "")
        case .dotUpdate(_, let alpha): "dot_update[alpha=\(alpha)]"
        case .call: "call"
        case .cond: "cond"
        case .whileLoop: "while"
        case .scan: "scan"
        }
    }

    var nestedPlans: [Plan] {
        switch self {
        case .primitive, .allReduce, .fused, .dotUpdate: []
        case .call(let p): [p]
        case .cond(let branches): branches
        case .whileLoop(let c, let b, _, _): [c, b]
        case .scan(let b, _, _, _, _): [b]
        }
    }
}
