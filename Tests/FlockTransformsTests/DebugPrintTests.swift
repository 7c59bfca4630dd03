import FlockTestSupport
import Synchronization
import Testing
@testable import FlockTransforms

/// `Debug.print` inside eager code, jit, grad and vmap prints the runtime
/// values JAX's `jax.debug.print` prints (expected lines: the output of
/// tools/make_debug_print_reference.py).
@Suite(.serialized) struct DebugPrintTests {
    final class Lines: @unchecked Sendable {
        let lines = Mutex<[String]>([])
        var value: [String] { lines.withLock { $0 } }
    }

    /// The lines `body` prints through `Debug.print`.
    static func printed(_ body: () -> Void) -> [String] {
        let out = Lines()
        DebugPrintOutput.capturing({ line in out.lines.withLock { $0.append(line) } }) { body() }
        return out.value
    }

    static func f(_ x: Tensor) -> Tensor {
        let y = sin(x) * 0 + x * 2
        Debug.print("x = {}, y = {}", x, y)
        Debug.print("second {1} {0}", x, y)
        return y.sum()
    }
    static let x = Tensor([1, 2, 3] as [Float])
    static let once = ["x = [1. 2. 3.], y = [2. 4. 6.]", "second [2. 4. 6.] [1. 2. 3.]"]

    @Test func eagerJitAndGradPrintTheRuntimeValues() {
        #expect(Self.printed { _ = Self.f(Self.x) } == Self.once)
        let g = jit { (x: Tensor) in Self.f(x) }
        #expect(Self.printed { _ = g(Self.x); _ = g(Self.x) } == Self.once + Self.once, "every run of the compiled program prints")
        #expect(Self.printed { _ = grad(Self.f)(Self.x) } == Self.once)
        #expect(Self.printed { _ = jit { (x: Tensor) in grad(Self.f)(x) }(Self.x) } == Self.once)
    }

    @Test func vmapPrintsOncePerBatchElementInOrder() {
        let rows = Tensor((0..<6).map(Float.init), shape: [3, 2])
        let f = { (r: Tensor) -> Tensor in
            Debug.print("row {}", r)
            return r
        }
        let expected = ["row [0. 1.]", "row [2. 3.]", "row [4. 5.]"]
        #expect(Self.printed { _ = vmap(f)(rows) } == expected)
        #expect(Self.printed { _ = jit { (x: Tensor) in vmap(f)(x) }(rows) } == expected)
    }

    @Test func scalarsAndBraces() {
        #expect(Self.printed { Debug.print("{} {} {{}}", Tensor(Float(2.5)), Tensor(Int32(3))) } == ["2.5 3 {}"])
    }

    @Test func theCompilerKeepsAnUnreadPrintAndTwoIdenticalOnes() {
        // The print's result is nothing the program returns: dead-code
        // elimination and CSE must keep both calls.
        let g = jit { (x: Tensor) -> Tensor in
            Debug.print("a {}", x)
            Debug.print("a {}", x)
            return x + 1
        }
        #expect(Self.printed { _ = g(Tensor(Float(1))) } == ["a 1.0", "a 1.0"])
    }

    @Test func debugCallbackSeesConcreteValues() {
        let seen = Lines()
        let g = jit { (x: Tensor) -> Tensor in
            Debug.callback([x * 3]) { v in seen.lines.withLock { $0.append("\(v[0].toArray(Float.self))") } }
            return x
        }
        _ = g(Tensor([1, 2] as [Float]))
        #expect(seen.value == ["[3.0, 6.0]"])
    }

    @Test(arguments: [
        ("{} {}", "the field for argument 1 has no argument"), ("{", "an unclosed '{'"), ("}", "a single '}'"),
        ("{x}", "the field {x}"),
    ])
    func badFormatsAreErrors(_ format: String, _ message: String) {
        expectFlockError("Debug.print: \(message)") { try catchingErrors { Debug.print(format, Tensor(Float(1))) } }
    }
}
