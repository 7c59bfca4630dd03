import FlockCore

// What `jit` runs: the compiler's product for one traced signature.

/// A jitted function compiled for one signature (`jax.stages.Compiled`): the
/// optimised jaxpr and its plan, with the plan's statistics.
///
/// ```swift
/// let f = jit { xs in [tanh(xs[0]) * 0.5 + 0.5] }
/// let c = f.lower([x]).compile()
/// print(c.instructionCount, c.bufferCount, c.peakBytes)
/// let y = c([x])
/// ```
public final class CompiledFunction: @unchecked Sendable {
    public let name: String
    /// The jaxpr as traced.
    public let jaxpr: Jaxpr
    /// The jaxpr after the optimisation passes.
    public let optimizedJaxpr: Jaxpr
    /// The executable plan.
    public let plan: Plan
    /// Donated dynamic arguments.
    let donated: [Bool]
    /// Seconds spent optimising and compiling.
    public let compileSeconds: Double
    /// Whether each output is weakly typed (computed once, not per call).
    private let outputWeakTypes: [Bool]

    /// Optimises `jaxpr` with ``optimize(_:name:fuse:)`` and compiles it with
    /// ``compilePlan(_:donated:native:)``; `donated` marks the dynamic
    /// arguments whose buffers the plan may overwrite.
    package init(name: String, jaxpr: Jaxpr, donated: [Bool]) {
        let t0 = monotonicSeconds()
        self.name = name
        self.jaxpr = jaxpr
        self.donated = donated
        outputWeakTypes = jaxpr.outputAvals.map(\.weakType)
        optimizedJaxpr = optimize(jaxpr, name: name)
        plan = compilePlan(optimizedJaxpr, donated: donated)
        compileSeconds = monotonicSeconds() - t0
        if IRDump.mode != .off { IRDump.write("jit(\(name)): plan\n\(plan)") }
    }

    /// Instructions of the top-level plan (nested plans of control flow not counted).
    public var instructionCount: Int { plan.instructionCount }
    /// Buffer slots of the top-level plan.
    public var bufferCount: Int { plan.bufferCount }
    /// Estimated peak bytes of live arrays while the plan runs, inputs included.
    public var peakBytes: Int { plan.peakBytes }
    /// Elementwise loops of the plan (nested plans included) compiled to
    /// native AVX2 code; the others run their block-kernel interpreter.
    public var nativeLoopCount: Int { plan.nativeLoopCount }

    /// Runs the plan on the dynamic arguments (static ones are part of the compilation).
    public func callAsFunction(_ args: [Tensor]) -> [Tensor] {
        guard args.count == plan.inputAvals.count,
            zip(args, plan.inputAvals).allSatisfy({ $0.isConcrete && $0.shape == $1.shape && $0.dtype == $1.dtype })
        else {
            raise(FlockError("jit(\(name)): compiled for \(plan.inputAvals), called with [\(args.map { $0.isConcrete ? "\($0.aval)" : "a traced value" }.joined(separator: ", "))]"))
            return plan.outputAvals.map { _ in Tensor.poisoned }
        }
        if DebugNumerics.isOn {
            return runCheckingNumerics(args) { xs in _ = evalJaxpr(jaxpr, xs) }
        }
        return run(args)
    }

    /// Runs the plan `iterations` times on `args` and returns its instructions
    /// sorted by the time they took, one line each: where a program spends its time.
    public func profile(_ args: [Tensor], iterations: Int = 10) -> String {
        let p = PlanProfile(plan)
        do {
            let arrays = try args.map { try $0.concreteArray(for: "jit(\(name)).profile") }
            _ = try plan.run(arrays)  // warm-up: buffer pool, BLAS buffers, page faults
            for _ in 0..<iterations { _ = try plan.run(arrays, profile: p) }
        } catch {
            return "jit(\(name)).profile: \(error)"
        }
        let total = p.seconds.reduce(0, +)
        let rows = p.seconds.enumerated().sorted { $0.element > $1.element }.map { k, t in
            let inst = plan.instructions[k]
            let share = total > 0 ? Int((100 * t / total).rounded()) : 0
            let us = (t / Double(iterations) * 1e7).rounded() / 10
            return "\(us) us \(share)%  #\(k) \(inst.kind.name) -> \(inst.outAvals.map(\.description).joined(separator: " "))"
        }
        let ms = (total / Double(iterations) * 1e6).rounded() / 1e3
        return (["jit(\(name)): \(ms) ms per run"] + rows).joined(separator: "\n")
    }

    /// Runs the plan on concrete arguments of the compiled signature (checked by the caller).
    package func run(_ args: [Tensor]) -> [Tensor] {
        do {
            return try plan.run(args, donated: donated, weakTypes: outputWeakTypes, name: name)
        } catch {
            raise((error as? FlockError) ?? FlockError("jit(\(name)): \(error)"))
            return plan.outputAvals.map { _ in Tensor.poisoned }
        }
    }
}
