import Synchronization

// Printing runtime values from inside transformed functions (JAX's
// `jax.debug.print` / `jax.debug.callback`): the `debugCallback` primitive
// has an effect, so jit keeps it (dead-code elimination, CSE and constant
// folding leave it alone) and runs it each time the program runs, in program
// order; under `grad` it sees the primal values once, and under `vmap` it
// runs once per batch element, in order, as JAX's batching rule does.

/// Printing and host callbacks from inside transformed functions (JAX's
/// `jax.debug`). A namespace, as in JAX: a free `debugPrint` would lose to
/// the standard library's `debugPrint(_:)` in overload resolution.
public enum Debug {
    /// Calls `callback` with the runtime values of `arguments` — concrete
    /// tensors — wherever the call is staged: eagerly now, inside `jit` each
    /// time the compiled program runs (`jax.debug.callback`).
    ///
    /// ```swift
    /// let f = jit { (x: Tensor) in
    ///     Debug.callback([x]) { values in print(values[0].toArray(Float.self)) }
    ///     return x * 2
    /// }
    /// ```
    ///
    /// - Parameters:
    ///   - arguments: the tensors whose values the callback receives.
    ///   - label: how the callback shows in a printed jaxpr.
    ///   - callback: called with the values; it must not call Flock transforms.
    public static func callback(_ arguments: [Tensor], label: String = "callback", _ callback: @escaping ([Tensor]) -> Void) {
        _ = bind(.debugCallback(DebugCallback(label: label, callback)), arguments)
    }

    /// Prints `format` with each `{}` replaced by the runtime value of the
    /// next argument (`jax.debug.print`), inside `jit`, `vmap` and `grad` too:
    /// the values printed are the ones the program computes when it runs, not
    /// tracers. `{0}`, `{1}` name arguments by position; `{{` and `}}` print
    /// braces. Values print as numpy's `str` (`[1. 2. 3.]`, `2.5`).
    ///
    /// ```swift
    /// let f = jit { (x: Tensor) -> Tensor in
    ///     let y = sin(x)
    ///     Debug.print("x = {}, sin(x) = {}", x, y)     // printed on every call
    ///     return y * 2
    /// }
    /// ```
    ///
    /// Under `vmap` it prints once per batch element, in order, as JAX does.
    public static func print(_ format: String, _ arguments: Tensor...) {
        print(format, arguments)
    }

    /// ``print(_:_:)-(String,Tensor...)`` with the arguments in an array.
    public static func print(_ format: String, _ arguments: [Tensor]) {
        guard let pieces = DebugFormat(format, argumentCount: arguments.count) else { return }
        callback(arguments, label: format) { values in DebugPrintOutput.write(pieces.render(values)) }
    }
}

/// Where `Debug.print` writes: standard output, or a test's collector.
package enum DebugPrintOutput {
    private static let sink = Mutex<(@Sendable (String) -> Void)?>(nil)

    /// Writes one line.
    static func write(_ line: String) {
        if let s = sink.withLock({ $0 }) { s(line) } else { print(line) }
    }

    /// Runs `body` with `Debug.print`'s lines sent to `collect` instead of standard output.
    package static func capturing<R>(_ collect: @escaping @Sendable (String) -> Void, _ body: () throws -> R) rethrows -> R {
        let previous = sink.withLock { s in
            let p = s
            s = collect
            return p
        }
        defer { sink.withLock { $0 = previous } }
        return try body()
    }
}

/// A parsed `Debug.print` format: literal text and argument positions.
struct DebugFormat {
    enum Piece {
        case text(String)
        case argument(Int)
    }
    let pieces: [Piece]

    /// Parses `format`, or reports what is wrong (an unmatched brace, an
    /// argument number out of range, more `{}` than arguments).
    init?(_ format: String, argumentCount: Int) {
        var pieces: [Piece] = [], text = "", next = 0
        var chars = Array(format)[...]
        func fail(_ why: String) -> Bool {
            raise(FlockError("Debug.print: \(why) in the format \"\(format)\" (with \(argumentCount) argument\(argumentCount == 1 ? "" : "s"))"))
            return false
        }
        while let c = chars.popFirst() {
            if c == "{" && chars.first == "{" { chars.removeFirst(); text.append("{"); continue }
            if c == "}" && chars.first == "}" { chars.removeFirst(); text.append("}"); continue }
            if c == "}" { _ = fail("a single '}'"); return nil }
            guard c == "{" else { text.append(c); continue }
            guard let close = chars.firstIndex(of: "}") else { _ = fail("an unclosed '{'"); return nil }
            let field = String(chars[chars.startIndex..<close])
            chars = chars[(close + 1)...]
            let index: Int
            if field.isEmpty {
                index = next
                next += 1
            } else if let i = Int(field) {
                index = i
            } else {
                _ = fail("the field {\(field)} (only {} and {number} are supported)")
                return nil
            }
            guard index < argumentCount else { _ = fail("the field for argument \(index) has no argument"); return nil }
            if !text.isEmpty { pieces.append(.text(text)); text = "" }
            pieces.append(.argument(index))
        }
        if !text.isEmpty { pieces.append(.text(text)) }
        self.pieces = pieces
    }

    /// The line for these argument values.
    func render(_ values: [Tensor]) -> String {
        pieces.map { piece in
            switch piece {
            case .text(let s): s
            case .argument(let i): values[i].numpyString
            }
        }.joined()
    }
}
