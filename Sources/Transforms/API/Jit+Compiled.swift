import FlockCompiler

// The ahead-of-time stages of a jitted function: `jit(f).lower(args)` traces,
// `.compile()` optimises and compiles; the compiled form reports its plan.

/// A jitted function traced for one signature (`jax.stages.Lowered`).
public struct LoweredFunction: Sendable {
    let function: JitFunction
    let entry: JitFunction.Entry
    let argCount: Int

    /// The traced jaxpr (before optimisation).
    public var jaxpr: Jaxpr { entry.jaxpr }
    /// The traced jaxpr as text.
    public func asText() -> String { "\(entry.jaxpr)" }
    /// Optimises and compiles (or returns the cached compilation).
    public func compile() -> CompiledFunction { function.compile(self) }
}
