import FlockCore
#if canImport(Glibc)
import Glibc
#endif

/// The optimisation pipeline jit runs before compiling a jaxpr for execution.
///
/// Calls are inlined first (their bodies then take part in every other pass),
/// the jaxprs of control flow (`cond`, `whileLoop`, `scan`) are optimised
/// recursively, then simplification, constant folding, CSE and dead-code
/// elimination repeat until nothing changes, small independent all-reduces
/// are combined into one, and elementwise fusion and product-update fusion
/// run last.
/// In debug builds (or with `FLOCK_CHECK_IR=1`) every pass's result is type
/// checked with ``checkJaxpr(_:)``; `FLOCK_DUMP_IR=1` prints the jaxpr before
/// and after the pipeline, `FLOCK_DUMP_IR=passes` after every pass that changed it.
///
/// The result evaluates like the input but is meant for execution only
/// (`stopGradient` and custom-derivative boundaries are gone).
///
/// ```swift
/// let j = makeJaxpr { [exp($0[0]) * 1 + 0] }([x])
/// print(optimize(j))   // { lambda ; a:f32[3]. let b:f32[3] = exp a in (b) }
/// ```
package func optimize(_ jaxpr: Jaxpr, name: String = "jit", fuse: Bool = true) -> Jaxpr {
    let dump = IRDump.mode
    if dump != .off { IRDump.write("jit(\(name)): jaxpr before passes\n\(jaxpr)") }
    let result = optimize(jaxpr, closed: false, fuse: fuse, name: name, dump: dump)
    if dump != .off { IRDump.write("jit(\(name)): jaxpr after passes\n\(result)") }
    return result
}

private func optimize(_ jaxpr: Jaxpr, closed: Bool, fuse: Bool, name: String, dump: IRDump.Mode) -> Jaxpr {
    func run(_ pass: String, _ j: Jaxpr, _ f: (Jaxpr) -> Jaxpr) -> Jaxpr {
        let out = f(j)
        if out !== j {
            if IRDump.checks {
                do { try checkJaxpr(out) } catch {
                    fatalError("jit(\(name)): the \(pass) pass produced an ill-typed jaxpr (a Flock bug): \(error)")
                }
            }
            if dump == .passes { IRDump.write("jit(\(name)): after \(pass)\n\(out)") }
        }
        return out
    }
    var j = run("inlining", jaxpr, inlineCalls)
    j = run("control-flow bodies", j) { j in
        let eqs = j.equations.map { e in
            e.primitive.subJaxprs.isEmpty ? e : Equation(
                primitive: e.primitive.mappingSubJaxprs { optimize($0, closed: true, fuse: fuse, name: name, dump: dump) },
                inputs: e.inputs, outputs: e.outputs)
        }
        return eqs == j.equations ? j : j.rebuilt(equations: eqs, outputs: j.outputs)
    }
    for _ in 0..<4 {
        let before = j
        j = run("algebraic simplification", j, simplifyAlgebraically)
        j = run("constant folding", j) { foldConstants($0, allowNewConstants: !closed) }
        j = run("common-subexpression elimination", j, eliminateCommonSubexpressions)
        j = run("dead-code elimination", j, eliminateDeadCode)
        if j === before { break }
    }
    j = run("all-reduce combining", j, combineAllReduces)
    if fuse {
        j = run("elementwise fusion", j, fuseElementwise)
        j = run("reduction fusion", j, fuseReductions)
        j = run("product-update fusion", j, fuseDotUpdates)
    }
    return j
}

/// Debug output of the compiler, switched by environment variables.
enum IRDump {
    typealias Mode = IRDumpMode
    static var mode: Mode { Configuration.dumpIR }
    /// Whether each pass's result is type checked.
    static var checks: Bool {
        #if DEBUG
        return true
        #else
        return Configuration.checkIR
        #endif
    }
    static func write(_ s: String) {
        // Unbuffered write: dumps interleave correctly with other output.
        let line = s + "\n"
        _ = line.withCString { Glibc.write(2, $0, strlen($0)) }
    }
}
