import FlockCore
#if canImport(Glibc)
import Glibc
#endif
// The executor: runs a plan's instructions in order over its slots.
//
// Buffer ownership decides in-place execution. An array in a slot that no
// one else references (checked with `isKnownUniquelyReferenced` after the
// slot lets go) belongs to the plan; when an elementwise loop reads it for the
// last time, the loop writes its result into the same buffer. A donated input
// is treated as owned although the caller still holds it — that is what
// donation means; the run then deletes the caller's arrays over donated
// buffers (reading one is an error), and outputs over them are made anew.

extension Plan {
    /// Runs the plan on concrete arrays; `donated[i]` lets the plan overwrite argument `i`'s buffer.
    func run(_ args: consuming [DenseArray], donated: [Bool] = [], profile: PlanProfile? = nil) throws -> [DenseArray] {
        var args = args
        if let l = largestOutput, allocationNeedsCheck(bytes: l.bytes) { try checkAllocation(l.aval, operation: l.name) }
        return try withSlots { state in
            for (i, s) in inputSlots.enumerated() where s >= 0 {
                state.bind(s, args[i], donated: i < donated.count && donated[i])
            }
            args = []  // the slots hold the only references the plan keeps
            try executeAll(&state, profile: profile)
            return outputs.map(state.output)
        }
    }

    /// Runs the plan on the concrete values of `args` and returns tensors with
    /// `weakTypes`: ``run(_:donated:profile:)`` without the arrays in between,
    /// for a jitted function's call. `name` names the function in errors.
    func run(_ args: [Tensor], donated: [Bool], weakTypes: [Bool], name: String) throws -> [Tensor] {
        // One comparison per call; the error's text is built only when needed.
        if let l = largestOutput, allocationNeedsCheck(bytes: l.bytes) { try checkAllocation(l.aval, operation: "jit(\(name)): \(l.name)") }
        return try withSlots { state in
            for (i, s) in inputSlots.enumerated() where s >= 0 {
                state.bind(s, try args[i].concreteArray(for: "jit(\(name))"), donated: i < donated.count && donated[i])
            }
            try executeAll(&state, profile: nil)
            return outputs.indices.map { Tensor(concrete: state.output(outputs[$0]), weakType: weakTypes[$0]) }
        }
    }

    /// Runs `body` over this plan's slots, kept on the stack when few (a heap
    /// array costs a third of a small plan's run).
    @inline(__always)
    private func withSlots<R>(_ body: (inout ExecutionState) throws -> R) throws -> R {
        try withUnsafeTemporaryAllocation(of: DenseArray?.self, capacity: slotCount) { slots in
            slots.initialize(repeating: nil)
            defer { _ = slots.deinitialize() }
            var state = ExecutionState(slots: slots)
            return try body(&state)
        }
    }

    /// Runs the instructions once the inputs are bound, with subnormals
    /// flushed as XLA's kernels flush them (SubnormalMode).
    private func executeAll(_ state: inout ExecutionState, profile: PlanProfile?) throws {
        try SubnormalMode.flushing { try executeSteps(&state, profile: profile) }
    }

    private func executeSteps(_ state: inout ExecutionState, profile: PlanProfile?) throws {
        if !state.donated.isEmpty {
            // Constants are held by the plan; a donated buffer that is also a constant is never overwritten.
            for inst in instructions {
                for case .constant(let c) in inst.inputs { state.donated.removeValue(forKey: ObjectIdentifier(c.buffer)) }
            }
            // The caller's arrays over donated buffers are deleted from now on,
            // whether or not the plan reuses them (as in JAX): reading one is an
            // error, never silently overwritten data.
            for b in state.donated.values { b.invalidateArrays() }
        }
        if let profile {
            for (k, inst) in instructions.enumerated() {
                let t0 = monotonicSeconds()
                try execute(inst, &state, index: k)
                profile.seconds[k] += monotonicSeconds() - t0
            }
        } else {
            for (k, inst) in instructions.enumerated() { try execute(inst, &state, index: k) }
        }
    }

    /// `index` is the instruction's place in the plan: a collective's call
    /// site, for the members' consistency check.
    private func execute(_ inst: Instruction, _ state: inout ExecutionState, index: Int) throws {
        if let step = allReduceSteps[index] {
            // Latency-bound: no operand or result arrays around the communicator call.
            // An operand that dies here and that the plan owns takes the result
            // (MPI_IN_PLACE: one buffer less, the data stays in cache).
            let y: DenseArray
            if case .slot(let s) = inst.inputs[0], inst.dying.contains(s), let x = state.takeIfOwned(s) {
                y = try Primitive.evaluateAllReduce(x, step.op, axis: step.axis, inPlace: true, call: step.call)
            } else {
                y = try Primitive.evaluateAllReduce(state.read(inst.inputs[0]), step.op, axis: step.axis, call: step.call)
            }
            for s in inst.dying { state.slots[s] = nil }
            state.slots[inst.outputs[0]] = y
            return
        }
        var outs: [DenseArray]
        switch inst.kind {
        case .fused(let loop):
            // Claim dying operands whose buffers can take an output, before reading the rest.
            var claimed: [Int: DenseArray] = [:]  // output index -> array whose buffer it reuses
            var taken: [Int: DenseArray] = [:]  // slot -> array moved out of its slot
            for (j, k) in loop.reusable {
                guard claimed[j] == nil, case .slot(let s) = inst.inputs[k], inst.dying.contains(s), taken[s] == nil,
                    let array = state.takeIfOwned(s)
                else { continue }
                taken[s] = array
                claimed[j] = array
            }
            let xs = inst.inputs.map { o -> DenseArray in
                if case .slot(let s) = o, let a = taken[s] { return a }
                return state.read(o)
            }
            outs = inst.outAvals.enumerated().map { j, aval in
                if let a = claimed[j] { return DenseArray(buffer: a.buffer, shape: aval.shape, dtype: aval.dtype) }
                return DenseArray(uninitializedShape: aval.shape, dtype: aval.dtype)
            }
            loop.run(xs, into: outs)
        case .primitive(let p):
            if case .scatter(let op, let dn, let mode) = p, !inst.outAvals[0].dtype.isWidened, let x = state.takeScatterOperand(inst) {
                // Into the dying operand's buffer: no copy of the table.
                scatterInPlace(op, into: x, state.read(inst.inputs[1]), state.read(inst.inputs[2]), dn: dn, mode: mode)
                outs = [x]
            } else if p.collectiveAxes != nil {
                outs = try CollectiveSite.$current.withValue(collectiveCalls[index]?.site) {
                    try p.evaluate(inst.inputs.map(state.read), outAvals: inst.outAvals)
                }
            } else {
                outs = try p.evaluate(inst.inputs.map(state.read), outAvals: inst.outAvals)
            }
        case .allReduce:
            preconditionFailure("Plan.execute: all-reduces run as steps (allReduceSteps)")
        case .dotUpdate(let dn, let alpha):
            let (a, b) = (state.read(inst.inputs[0]), state.read(inst.inputs[1]))
            // Accumulate into w's buffer when the plan owns it and the product does not read it.
            var c: DenseArray? = nil
            if case .slot(let s) = inst.inputs[2], inst.dying.contains(s), let w = state.takeIfOwned(s) {
                if w.buffer !== a.buffer && w.buffer !== b.buffer { c = w } else { state.slots[s] = w }
            }
            if c == nil {
                let w = state.read(inst.inputs[2])
                let copy = DenseArray(uninitializedShape: w.shape, dtype: w.dtype)
                if w.byteCount > 0 { copy.buffer.pointer.copyMemory(from: w.buffer.pointer, byteCount: w.byteCount) }
                c = copy
            }
            dotGeneralAccumulate(a, b, dn: dn, alpha: alpha, into: c!)
            outs = [c!]
        case .call(let plan):
            let xs = state.readReleasing(inst)
            outs = try plan.run(xs)
        case .cond(let branches):
            var xs = state.readReleasing(inst)
            let index = Swift.min(Swift.max(Int(xs[0].double(at: 0)), 0), branches.count - 1)
            xs.removeFirst()
            outs = try branches[index].run(xs)
        case .whileLoop(let cond, let body, let nc, let nb):
            var xs = state.readReleasing(inst)
            let condConsts = Array(xs.prefix(nc)), bodyConsts = Array(xs[nc..<(nc + nb)])
            var carry = Array(xs.dropFirst(nc + nb))
            xs = []
            while try cond.run(condConsts + carry)[0].double(at: 0) != 0 {
                carry = try body.run(bodyConsts + consume carry)
            }
            outs = carry
        case .scan(let body, let length, let reverse, let nc, let ncarry):
            var xs = state.readReleasing(inst)
            outs = try runScan(body, &xs, inst.outAvals, length, reverse, nc, ncarry)
        }
        for s in inst.dying { state.slots[s] = nil }
        for (s, a) in zip(inst.outputs, outs) { state.slots[s] = a }
    }

    private func runScan(
        _ body: Plan, _ xs: inout [DenseArray], _ outAvals: [AbstractValue],
        _ length: Int, _ reverse: Bool, _ nc: Int, _ ncarry: Int
    ) throws -> [DenseArray] {
        let consts = Array(xs.prefix(nc))
        var carry = Array(xs[nc..<(nc + ncarry)])
        let scanned = Array(xs.dropFirst(nc + ncarry))
        xs = []
        let stacked = outAvals.dropFirst(ncarry).map { DenseArray(uninitializedShape: $0.shape, dtype: $0.dtype) }
        for step in 0..<length {
            let i = reverse ? length - 1 - step : step
            let slices = scanned.map { a -> DenseArray in
                let shape = Array(a.shape.dropFirst())
                let s = DenseArray(uninitializedShape: shape, dtype: a.dtype)
                let n = s.byteCount
                if n > 0 { s.buffer.pointer.copyMemory(from: a.buffer.pointer + i * n, byteCount: n) }
                return s
            }
            var outs = try body.run(consts + consume carry + slices)
            for (k, y) in outs.dropFirst(ncarry).enumerated() {
                let n = y.byteCount
                if n > 0 { (stacked[k].buffer.pointer + i * n).copyMemory(from: y.buffer.pointer, byteCount: n) }
            }
            outs.removeLast(outs.count - ncarry)
            carry = outs
        }
        return carry + stacked
    }
}

/// Seconds spent in each top-level instruction of a plan, summed over runs.
final class PlanProfile {
    var seconds: [Double]
    init(_ plan: Plan) { seconds = Array(repeating: 0, count: plan.instructionCount) }
}

/// The slots of one running plan and the donated buffers it may overwrite.
private struct ExecutionState {
    /// Owned by ``Plan/run(_:donated:profile:)``, which initialises and deinitialises them.
    let slots: UnsafeMutableBufferPointer<DenseArray?>
    /// The donated buffers, by identity (each once, however many arguments share it).
    var donated: [ObjectIdentifier: Buffer] = [:]

    init(slots: UnsafeMutableBufferPointer<DenseArray?>) { self.slots = slots }

    /// Stores input `array` in `slot`; a donated one may be overwritten.
    mutating func bind(_ slot: Int, _ array: DenseArray, donated: Bool) {
        if donated { self.donated[ObjectIdentifier(array.buffer)] = array.buffer }
        slots[slot] = array
    }

    /// An output: an array over a donated buffer (the argument returned, or
    /// written in place) is made anew, after the donation, so it is not deleted.
    func output(_ o: Plan.Operand) -> DenseArray {
        let a = read(o)
        return a.isDeleted ? DenseArray(buffer: a.buffer, shape: a.shape, dtype: a.dtype) : a
    }

    func read(_ o: Plan.Operand) -> DenseArray {
        switch o {
        case .slot(let s): slots[s]!
        case .constant(let c): c
        }
    }

    /// The operands of `inst`, with its dying slots emptied first so a nested
    /// plan can own (and reuse) their buffers.
    mutating func readReleasing(_ inst: Plan.Instruction) -> [DenseArray] {
        let xs = inst.inputs.map(read)
        for s in inst.dying { slots[s] = nil }
        return xs
    }

    /// A scatter's operand, moved out of its slot when it dies here, the plan
    /// owns it and the indices and updates do not share its buffer.
    mutating func takeScatterOperand(_ inst: Plan.Instruction) -> DenseArray? {
        guard case .slot(let s) = inst.inputs[0], inst.dying.contains(s),
            !inst.inputs.dropFirst().contains(where: { if case .slot(s) = $0 { true } else { false } }),
            let x = takeIfOwned(s)
        else { return nil }
        if inst.inputs.dropFirst().contains(where: { read($0).buffer === x.buffer }) {
            slots[s] = x
            return nil
        }
        return x
    }

    /// Moves the array out of `slot` if the plan may overwrite its buffer:
    /// nothing else references it, or it was donated and no other slot holds it.
    mutating func takeIfOwned(_ slot: Int) -> DenseArray? {
        guard let a = slots[slot] else { return nil }
        slots[slot] = nil
        var buffer = a.buffer
        let (shape, dtype) = (a.shape, a.dtype)
        _ = consume a
        if isKnownUniquelyReferenced(&buffer) { return DenseArray(buffer: buffer, shape: shape, dtype: dtype) }
        if donated[ObjectIdentifier(buffer)] != nil && !slots.contains(where: { $0?.buffer === buffer }) {
            return DenseArray(buffer: buffer, shape: shape, dtype: dtype)
        }
        slots[slot] = DenseArray(buffer: buffer, shape: shape, dtype: dtype)
        return nil
    }
}

/// Seconds on the monotonic clock (compile times, profiles).
package func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}
