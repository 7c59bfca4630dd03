import Foundation
import Testing
import FlockTestSupport
@testable import FlockCore
@testable import FlockTransforms
@testable import FlockCompiler

/// `debugNans` / `debugInfs` (JAX's `jax_debug_nans` / `jax_debug_infs`): the
/// first primitive that produces a NaN (Inf) is reported with its name, shapes,
/// the test's source line and the enclosing transforms — eagerly, under jit
/// (by the op-by-op re-run), grad, vmap, in fused chains and reductions. The
/// oracle is IEEE arithmetic: log(-1), 0/0, inf-inf and sum(inf, -inf) are NaN;
/// 1/0, log(0) and a float32 sum past 3.4e38 are infinite (JAX gives the same
/// values with the switches off, and raises for them with the switches on).
@Suite struct DebugNumericsTests {
    static func f32(_ v: [Float]) -> Tensor { Tensor(v, shape: [v.count]) }
    static let mixed = f32([1, -1, 4])  // log, sqrt: NaN at index [1]

    /// The message under the switches (scoped to this task), or nil when nothing was reported.
    static func report(nans: Bool = true, infs: Bool = false, _ body: () -> Void) -> String? {
        Configuration.withDebugNans(nans) { Configuration.withDebugInfs(infs) { errorMessage { body() } } }
    }

    /// A case: what runs, which switches, and the fragments its report must hold (nil: no report).
    struct Case: CustomTestStringConvertible, Sendable {
        let name: String
        var nans = true
        var infs = false
        let body: @Sendable () -> Void
        let expected: [String]?
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        // Eager primitives.
        Case(name: "eager log(-1)", body: { _ = log(mixed) },
             expected: ["log: produced NaN in output 0 f32[3] at index [1] from inputs [f32[3]]", "eager", "debugNans (FLOCK_DEBUG_NANS)"]),
        Case(name: "eager 0/0", body: { _ = f32([0, 1]) / f32([0, 2]) },
             expected: ["div: produced NaN", "at index [0]", "from inputs [f32[2], f32[2]]"]),
        Case(name: "eager inf-inf", body: { _ = f32([.infinity]) - f32([.infinity]) }, expected: ["sub: produced NaN"]),
        Case(name: "eager 2-d index", body: { _ = sqrt(Tensor([1, 2, 3, -4] as [Float], shape: [2, 2])) },
             expected: ["sqrt: produced NaN in output 0 f32[2,2] at index [1, 1]"]),
        Case(name: "reduction sum(inf, -inf)", body: { _ = f32([1, .infinity, -.infinity]).sum() },
             expected: ["reduce_sum: produced NaN in output 0 f32[]"]),
        Case(name: "reduction overflow (Inf switch)", nans: false, infs: true,
             body: { _ = f32([3e38, 3e38]).sum() }, expected: ["reduce_sum: produced Inf", "debugInfs (FLOCK_DEBUG_INFS)"]),
        Case(name: "1/0 with the Inf switch", nans: false, infs: true, body: { _ = f32([1]) / f32([0]) },
             expected: ["div: produced Inf"]),
        Case(name: "log(0) with the Inf switch", nans: false, infs: true, body: { _ = log(f32([0])) },
             expected: ["log: produced Inf"]),
        // The switches are separate, and off means no report.
        Case(name: "1/0 with only the NaN switch", body: { _ = f32([1]) / f32([0]) }, expected: nil),
        Case(name: "0/0 with only the Inf switch", nans: false, infs: true, body: { _ = f32([0]) / f32([0]) }, expected: nil),
        Case(name: "switches off", nans: false, body: { _ = log(mixed); _ = jit { (x: Tensor) in log(x) }(mixed) }, expected: nil),
        Case(name: "finite values", body: { _ = log(f32([1, 2])); _ = jit { (x: Tensor) in sqrt(x) * 2 }(f32([4])) }, expected: nil),
        Case(name: "integer division by zero is not float", body: { _ = Tensor([1] as [Int32], shape: [1]) / Tensor([0] as [Int32], shape: [1]) },
             expected: nil),
        // A NaN that comes in is not produced where it passes through.
        Case(name: "NaN argument, eager", body: { _ = sin(f32([.nan, 1])) * 2 }, expected: nil),
        Case(name: "NaN argument, jit", body: { _ = jit { (x: Tensor) in sin(x) * 2 }(f32([.nan, 1])) }, expected: nil),
        Case(name: "NaN literal, jit", body: { _ = jit { (x: Tensor) in x * Float.nan }(f32([1])) }, expected: nil),
        Case(name: "Inf argument then inf-inf", body: { _ = f32([.infinity]) * 2 - f32([.infinity]) },
             expected: ["sub: produced NaN"]),
        // Under jit: the compiled plan's outputs, then the op-by-op re-run names the primitive.
        Case(name: "jit log(-1)", body: { _ = jit(name: "logTwice") { (x: Tensor) in log(x) * 2 }(mixed) },
             expected: ["log: produced NaN", "inside jit(logTwice) run op by op"]),
        Case(name: "jit fused elementwise chain", body: {
            _ = jit(name: "chain") { (x: Tensor) in exp(x) * 0.5 + sqrt(x - 2) * 3 - tanh(x) }(f32([3, 1, 4, 5]))
        }, expected: ["sqrt: produced NaN in output 0 f32[4] at index [1]", "jit(chain)"]),
        Case(name: "jit 0/0 from arguments", body: { _ = jit(name: "ratio") { (a: Tensor, b: Tensor) in [a / b] }(f32([0]), f32([0])) },
             expected: ["div: produced NaN", "jit(ratio)"]),
        Case(name: "jit reduction", body: { _ = jit(name: "total") { (x: Tensor) in (x * 2).sum() }(f32([.infinity, -.infinity])) },
             expected: ["reduce_sum: produced NaN", "jit(total)"]),
        Case(name: "jit Inf switch", nans: false, infs: true, body: { _ = jit(name: "inv") { (x: Tensor) in 1 / x }(f32([2, 0])) },
             expected: ["div: produced Inf", "at index [1]", "jit(inv)"]),
        Case(name: "jit with a donated argument", body: {
            _ = jit(name: "donating", donateArgnums: [0]) { xs in [log(xs[0]) + 1] }([f32([1, -1, 4])])
        }, expected: ["log: produced NaN", "jit(donating)"]),
        Case(name: "jit with a static argument", body: {
            _ = jit(name: "scaled", staticArgnums: [1]) { xs in [sqrt(xs[0] * xs[1])] }([f32([1, 2]), Tensor(Float(-1))])
        }, expected: ["sqrt: produced NaN", "jit(scaled)"]),
        // Transforms.
        Case(name: "grad forward pass", body: { _ = grad { (x: Tensor) in sqrt(x).sum() }(mixed) },
             expected: ["sqrt: produced NaN", "inside linearize (grad's forward pass)"]),
        Case(name: "grad backward pass", body: { _ = grad { (x: Tensor) in (sqrt(x) * 0).sum() }(f32([0, 1])) },
             expected: ["produced NaN", "inside transpose (grad's backward pass)"]),
        Case(name: "vmap", body: { _ = vmap { (x: Tensor) in log(x) }(mixed) }, expected: ["log: produced NaN", "inside vmap"]),
        Case(name: "vmap with an axis name", body: { _ = vmap({ (x: Tensor) in log(x) }, axisName: "batch")(mixed) },
             expected: ["inside vmap(axisName: batch)"]),
        Case(name: "jit of vmap of grad", body: {
            _ = jit(name: "perExample") { (x: Tensor) in vmap { (e: Tensor) in grad { (v: Tensor) in sqrt(v).sum() }(e) }(x) }(f32([1, -1]))
        }, expected: ["sqrt: produced NaN", "inside jit(perExample) run op by op > vmap > linearize (grad's forward pass)"]),
        // jit checks its outputs only (as JAX does): a NaN that does not reach them is not reported.
        Case(name: "jit, NaN only in an intermediate", body: {
            _ = jit { (x: Tensor) in grad { (v: Tensor) in log(v).sum() }(x) }(f32([1, -1]))
        }, expected: nil),
        Case(name: "jvp", body: { _ = jvp({ (x: Tensor) in log(x) }, primals: mixed, tangents: f32([1, 1, 1])) },
             expected: ["log: produced NaN", "inside jvp"]),
        Case(name: "scan body under jit", body: {
            _ = jit(name: "loop") { (x: Tensor) in
                scan({ (c: Tensor, v: Tensor) in (c + log(v), c) }, initial: Tensor(Float(0)), xs: x).0
            }(f32([1, 2, -1]))
        }, expected: ["log: produced NaN in output 0 f32[]", "jit(loop)"]),
    ]

    @Test(arguments: cases)
    func reportsTheProducingPrimitive(_ c: Case) {
        let message = Self.report(nans: c.nans, infs: c.infs, c.body)
        guard let expected = c.expected else {
            #expect(message == nil, "\(c.name): unexpected report \(message ?? "")")
            return
        }
        #expect(message != nil, "\(c.name): expected a report")
        for fragment in expected {
            #expect(message?.contains(fragment) == true, "\(c.name): \(message ?? "nil") should mention \(fragment)")
        }
        // The user's line: this file, from the backtrace (debug builds carry line tables).
        #expect(message?.contains("at DebugNumericsTests.swift:") == true, "\(c.name): no source line in \(message ?? "nil")")
        // The process goes on: a computation afterwards is right.
        var after: Float = 0
        #expect(Self.report { after = (Self.f32([1, 2]) * 3).sum().item() } == nil)
        #expect(after == 9)
    }

    /// The reported line is the line of the operation in the user's code, eagerly and under jit.
    @Test func reportsTheUsersLine() {
        let eagerLine = #line + 1
        let eager = Self.report { _ = sqrt(Self.mixed) }
        #expect(eager?.contains("at DebugNumericsTests.swift:\(eagerLine);") == true, "\(eager ?? "nil")")
        let f = jit(name: "step") { (x: Tensor) in
            let y = x * 2
            return log(y) + 1  // the line reported
        }
        let jitLine = #line - 2
        let jitted = Self.report { _ = f(Self.mixed) }
        #expect(jitted?.contains("at DebugNumericsTests.swift:\(jitLine);") == true, "\(jitted ?? "nil")")
    }

    /// With the switches off, the values are IEEE's (the same as JAX's with its flags off).
    @Test func offGivesIEEEValues() throws {
        let y = try catchingErrors { jit { (x: Tensor) in log(x) }(Self.mixed) }
        let v = y.toArray(Float.self)
        #expect(v[0] == 0 && v[1].isNaN && abs(v[2] - 1.3862944) < 1e-6)
        #expect(try catchingErrors { (Self.f32([1]) / Self.f32([0])).item() }.isInfinite)
    }

    /// The scoped switch holds for this task only and nests.
    @Test func scopedSwitchNestsAndEnds() {
        Configuration.withDebugNans {
            #expect(DebugNumerics.isOn)
            Configuration.withDebugNans(false) {
                #expect(errorMessage { _ = log(Self.mixed) } == nil)
            }
            #expect(errorMessage { _ = log(Self.mixed) } != nil)
        }
    }

    /// When the op-by-op run produces nothing although no input held a NaN,
    /// the optimised plan made it: said as such (here the "op-by-op run" is
    /// empty, standing for one that computes differently).
    @Test func notReproducedOpByOp() {
        let compiled = jit(name: "logs") { (xs: [Tensor]) in [log(xs[0])] }.lower([Self.mixed]).compile()
        let message = Configuration.withDebugNans { errorMessage { _ = compiled.runCheckingNumerics([Self.mixed]) { _ in } } }
        #expect(message?.contains("jit(logs): output 0 f32[3] holds NaN at flat index 1, but running the function op by op") == true,
                "\(message ?? "nil")")
    }

    /// A jitted function with collectives is not re-run on one member (the
    /// others would not join): its bad output is reported as such.
    @Test func functionWithCollectivesIsNotReRun() {
        let f = jit(name: "reduce") { (x: Tensor) in log(psum(x, axisName: "i")) }
        let message = Self.report { _ = vmap({ f($0) }, axisName: "i")(Self.f32([1, -3])) }
        // Under vmap the call is traced into the batched program and evaluated eagerly: log is named.
        #expect(message?.contains("log: produced NaN") == true, "\(message ?? "nil")")
        let compiled = jit(name: "reduce") { (xs: [Tensor]) in [log(psum(xs[0], axisName: "i"))] }
        let direct = Self.report {
            _ = withAxisFrame(AxisFrame(name: "i", size: 1, binding: .communicator(InProcessGroup(size: 1).members[0]))) {
                compiled.lower([Self.f32([-1])]).compile()([Self.f32([-1])])
            }
        }
        #expect(direct?.contains("jit(reduce): output 0 f32[1] holds NaN at flat index 0; the function has collectives") == true,
                "\(direct ?? "nil")")
    }

    /// A compiled function called directly re-runs its traced jaxpr op by op.
    @Test func compiledFunctionReRunsItsJaxpr() {
        let compiled = jit(name: "roots") { (xs: [Tensor]) in [sqrt(xs[0]) + 1] }.lower([Self.mixed]).compile()
        let message = Self.report { _ = compiled([Self.mixed]) }
        #expect(message?.contains("sqrt: produced NaN") == true && message?.contains("jit(roots)") == true, "\(message ?? "nil")")
    }

    /// The global switch from the environment variable and from `Configuration.update`,
    /// uncaught: the child process prints one line and exits 1 (run as a child so
    /// the global switch never touches the other tests).
    @Test(arguments: [
        ("FLOCK_DEBUG_NANS", "env-nans", "error: log: produced NaN in output 0 f32[3] at index [1] from inputs [f32[3]]"),
        ("", "update-infs", "error: div: produced Inf in output 0 f32[1] at index [0] from inputs [f32[], f32[1]]"),
    ])
    func globalSwitchInAChild(_ variable: String, _ mode: String, _ line: String) throws {
        var environment = ["FLOCK_TEST_DEBUG_NUMERICS": mode]
        if !variable.isEmpty { environment[variable] = "1" }
        let child = try runTestBinaryAsChild(filter: "DebugNumericsChild", environment: environment)
        let text = child.standardError
        let own = text.split(separator: "\n").map(String.init).filter { $0.hasPrefix("error:") }
        #expect(own.count == 1 && own.first?.hasPrefix(line) == true, "child stderr: \(text)")
        #expect(child.reason == .exit && child.status == 1, "status \(child.status)")
    }
}

/// Run only as the child of ``DebugNumericsTests/globalSwitchInAChild(_:_:_:)``.
@Suite(.enabled(if: ProcessInfo.processInfo.environment["FLOCK_TEST_DEBUG_NUMERICS"] != nil))
struct DebugNumericsChild {
    @Test func failOnPurpose() throws {
        switch ProcessInfo.processInfo.environment["FLOCK_TEST_DEBUG_NUMERICS"] {
        case "update-infs":
            #expect(!Configuration.debugInfs)
            try Configuration.update("FLOCK_DEBUG_INFS", "true")
            #expect(Configuration.debugInfs && !Configuration.debugNans)
            _ = jit { (x: Tensor) in 1 / x }(Tensor([0] as [Float], shape: [1]))
        default:
            #expect(Configuration.debugNans)
            _ = jit { (x: Tensor) in log(x) * 2 }(DebugNumericsTests.mixed)
        }
        Issue.record("the child should have exited")
    }
}
