import FlockCore

// `jax_debug_nans` under jit: the compiled plan's outputs are scanned (the
// plan itself runs at full speed, fused); when one holds a NaN (Inf), the
// function runs again op by op, unfused, under the eval interpreter, whose
// per-primitive check names the primitive that produced it. A NaN that came
// in through an argument, a captured constant or a literal produces no report.
// If the op-by-op run produces none although the inputs held none, the
// optimised plan made the value (a reassociated sum, say): that is reported
// as such, as JAX does.

extension CompiledFunction {
    /// Runs the plan with ``Configuration/debugNans`` / ``Configuration/debugInfs``
    /// on: scans the outputs and, on a NaN (Inf), calls `opByOp` with the same
    /// dynamic arguments (copies of donated ones, which the plan may have
    /// overwritten), where the eager check reports the producing primitive.
    package func runCheckingNumerics(_ args: [Tensor], opByOp: ([Tensor]) -> Void) -> [Tensor] {
        let kept = donated.contains(true) ? zip(args, donated).map { $1 ? copied($0) : $0 } : args
        let outs = DebugNumerics.within("jit(\(name))") { run(args) }
        let kinds = DebugNumerics.Kinds.current
        var bad: (output: Int, finding: DebugNumerics.Finding)?
        for (j, y) in outs.enumerated() {
            guard let a = try? y.concreteArray(for: name), let f = DebugNumerics.firstInvalid(a, kinds) else { continue }
            bad = (j, f)
            break
        }
        guard let bad else { return outs }
        // A function that communicates cannot run again on this member alone:
        // the others would not join its collectives (JAX's debug_nans does not
        // support pmap either). Report the output instead.
        if communicates(jaxpr) {
            raise(FlockError(
                "jit(\(name)): output \(bad.output) \(plan.outputAvals[bad.output]) holds \(bad.finding.kind) at flat index "
                    + "\(bad.finding.index); the function has collectives, so it is not run again op by op to find the "
                    + "primitive (the other members would not join); " + DebugNumerics.context(switchFor: bad.finding.kind)))
            return plan.outputAvals.map { _ in Tensor.poisoned }
        }
        do {
            try catchingErrors {
                DebugNumerics.within("jit(\(name)) run op by op") { withInterpreter(EvalInterpreter.shared) { opByOp(kept) } }
            }
        } catch {
            raise((error as? FlockError) ?? FlockError("jit(\(name)): \(error)"))
            return plan.outputAvals.map { _ in Tensor.poisoned }
        }
        // Nothing produced it op by op: it came in, or the optimised plan made it.
        let inputs = kept.compactMap { try? $0.concreteArray(for: name) }
        if DebugNumerics.contains(bad.finding.kind, in: inputs) || holdsConstant(bad.finding.kind, jaxpr) { return outs }
        raise(FlockError(
            "jit(\(name)): output \(bad.output) \(plan.outputAvals[bad.output]) holds \(bad.finding.kind) at flat index "
                + "\(bad.finding.index), but running the function op by op without jit's optimisations produced none "
                + "(the optimised plan computed it differently, e.g. a fused or reassociated expression); "
                + DebugNumerics.context(switchFor: bad.finding.kind)))
        return plan.outputAvals.map { _ in Tensor.poisoned }
    }

    /// Whether `jaxpr` (or a jaxpr nested in it) binds a collective.
    private func communicates(_ jaxpr: Jaxpr) -> Bool {
        jaxpr.equations.contains { $0.primitive.collectiveAxes != nil || $0.primitive.subJaxprs.contains(where: communicates) }
    }

    /// Whether a constant or literal of `jaxpr` (or of a jaxpr nested in it) holds a `kind` value.
    private func holdsConstant(_ kind: String, _ jaxpr: Jaxpr) -> Bool {
        func arrays(_ ts: [Tensor]) -> [DenseArray] { ts.compactMap { try? $0.concreteArray(for: "jit") } }
        if DebugNumerics.contains(kind, in: arrays(jaxpr.consts)) { return true }
        for e in jaxpr.equations {
            let literals = e.inputs.compactMap { atom -> Tensor? in
                if case .literal(let l) = atom { return l.tensor }
                return nil
            }
            if DebugNumerics.contains(kind, in: arrays(literals)) { return true }
            if e.primitive.subJaxprs.contains(where: { holdsConstant(kind, $0) }) { return true }
        }
        return false
    }

    /// A tensor over a fresh copy of `x`'s buffer (the plan may overwrite a donated one).
    private func copied(_ x: Tensor) -> Tensor {
        guard let a = try? x.concreteArray(for: name) else { return x }
        let b = DenseArray(uninitializedShape: a.shape, dtype: a.dtype)
        if a.byteCount > 0 { b.buffer.pointer.copyMemory(from: a.buffer.pointer, byteCount: a.byteCount) }
        return Tensor(concrete: b, weakType: x.weakType)
    }
}
