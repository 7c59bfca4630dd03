import FlockTestSupport
import Synchronization
import Testing
@testable import FlockTransforms

/// `jit` over any number of pytree arguments and static arguments: jitted =
/// eager, and the number of traces is the number of distinct structures and
/// static values (as JAX's cache).
@Suite struct JitTreeTests {
    typealias R = PyTreeReference
    enum Mode: Hashable { case train, eval }

    /// A counter the traced bodies bump: it counts traces, not calls.
    final class Traces: @unchecked Sendable {
        let count = Mutex(0)
        func bump() { count.withLock { $0 += 1 } }
        var value: Int { count.withLock { $0 } }
    }

    static func body(_ p: [String: Tensor], _ x: Tensor, _ y: [Tensor]) -> [String: Tensor] {
        ["out": tanh(matmul(x, p["w"]!) + p["b"]!), "err": (matmul(x, p["w"]!) - y[0]).sum()]
    }

    @Test func threePytreeArgumentsMatchEager() {
        let traces = Traces()
        let f = jit { (p: [String: Tensor], x: Tensor, y: [Tensor]) -> [String: Tensor] in
            traces.bump()
            return Self.body(p, x, y)
        }
        let eager = Self.body(R.params, R.input("x"), [R.input("y")])
        for _ in 0..<3 {
            let out = f(R.params, R.input("x"), [R.input("y")])
            expectClose(out["out"]!, eager["out"]!, rtol: 1e-6, "out")
            expectClose(out["err"]!, eager["err"]!, rtol: 1e-6, "err")
        }
        #expect(traces.value == 1)
        // A new structure (another list length) traces again.
        _ = f(R.params, R.input("x"), [R.input("y"), R.input("y")])
        #expect(traces.value == 2)
    }

    @Test func staticArgumentsOfAnyHashableType() {
        let traces = Traces()
        let f = jit { (x: Tensor, power: Static<Int>, negate: Static<Bool>, label: Static<String>, mode: Static<Mode>) -> Tensor in
            traces.bump()
            var y = pow(x, Tensor(Float(power.value)))
            if negate.value { y = -y }
            if label.value == "double" { y = y * 2 }
            return mode.value == .train ? y + 1 : y
        }
        let x = Tensor([1, 2, 3] as [Float])
        let cases: [(Int, Bool, String, Mode, [Float])] = [
            (2, false, "", .eval, [1, 4, 9]), (3, false, "", .eval, [1, 8, 27]), (2, true, "", .eval, [-1, -4, -9]),
            (2, false, "double", .eval, [2, 8, 18]), (2, false, "", .train, [2, 5, 10]), (2, false, "", .eval, [1, 4, 9]),
        ]
        for (p, n, l, m, expected) in cases {
            #expect(f(x, Static(p), Static(n), Static(l), Static(m)).toArray(Float.self) == expected, "\(p) \(n) \(l) \(m)")
        }
        #expect(traces.value == 5, "one trace per distinct static tuple (the last call repeats the first)")
    }

    /// A struct with a static field, named by its label.
    struct Block: PyTreeStruct {
        var w: Tensor
        var training: Bool
        static let fields: [PyTreeField<Block>] = [.init(\.w, "w"), .init(static: \.training, "training")]
    }

    @Test func staticStructFieldsRetraceByValue() {
        let traces = Traces()
        let f = jit { (b: Block, x: Tensor) -> Tensor in
            traces.bump()
            return b.training ? x * b.w : x + b.w
        }
        let w = Tensor(Float(3)), x = Tensor([1, 2] as [Float])
        #expect(f(Block(w: w, training: true), x).toArray(Float.self) == [3, 6])
        #expect(f(Block(w: w, training: false), x).toArray(Float.self) == [4, 5])
        #expect(f(Block(w: w, training: true), x).toArray(Float.self) == [3, 6])
        #expect(traces.value == 2)
        #expect(treeLeaves(Block(w: w, training: true)).count == 1)
        #expect(treeStructure(Block(w: w, training: true)) != treeStructure(Block(w: w, training: false)))
        // Under the one- and two-argument overloads too (they share the implementation).
        let g = jit { (b: Block) in b.training ? b.w * 2 : b.w }
        #expect(g(Block(w: w, training: true)).toArray(Float.self) == [6])
        #expect(g(Block(w: w, training: false)).toArray(Float.self) == [3])
    }

    @Test func donatingOneOfThreeArguments() throws {
        let f = jit(donateArgnums: [1]) { (a: Tensor, b: [String: Tensor], c: Static<Int>) in
            treeMap(b) { $0 * a + Float(c.value) }
        }
        let b = ["k": Tensor([1, 2] as [Float])]
        let out = f(Tensor(Float(2)), b, Static(1))
        #expect(out["k"]!.toArray(Float.self) == [3, 5])
        #expect(b["k"]!.isDeleted)
        expectFlockError("jit(jit): donateArgnums 3 is out of range for a function of 3 arguments") {
            try catchingErrors { jit(donateArgnums: [3]) { (a: Tensor, b: Tensor, c: Tensor) in a + b + c }(b["k"]!, b["k"]!, b["k"]!) }
        }
    }

    @Test func jitOfVmapOverPackedArguments() {
        let batched = vmap(VmapTreeTests.loss, inAxes: [nil, 0, 0])
        let f = jit(batched.function)
        expectClose(f(R.params, R.input("x"), R.input("y")), R.tensor("vmap.params_none"), rtol: 1e-5, "jit(vmap)")
    }

    /// The compact keys `jit` compares on every call agree with the described
    /// structures: over every pair of a spread of trees (lists of each length,
    /// dictionaries with other keys, None, static values of other types and
    /// values, static struct fields, tuples), keys are equal exactly when
    /// the structures are.
    @Test func structureKeysAgreeWithDescribedStructures() {
        let t = Tensor(Float(1))
        let trees: [any PyTree] = [
            t, [t], [t, t], [[t], [t]], [[t, t]], ["a": t, "b": t], ["a": t, "c": t], ["a": [t], "b": [t]] as [String: [Tensor]],
            Tensor?.none, Tensor?.some(t), [Tensor]?.none, Static(1), Static(Int8(1)), Static(2), Static("1"),
            Block(w: t, training: true), Block(w: t, training: false), TupleTree(t, [t]), TupleTree(t, t), TupleTree([t], t),
            [Block(w: t, training: true)], [String: Tensor](), [Tensor](),
        ]
        func key(_ tree: some PyTree) -> TreeStructureKey { TreeStructureKey(tree) }
        func structure(_ tree: some PyTree) -> TreeStructure { treeStructure(tree) }
        var equalPairs = 0
        for (i, a) in trees.enumerated() {
            for (j, b) in trees.enumerated() {
                let sameStructure = structure(a) == structure(b)
                #expect((key(a) == key(b)) == sameStructure, "trees \(i) and \(j): \(structure(a)) / \(structure(b))")
                if sameStructure && i != j { equalPairs += 1 }
            }
        }
        // Tensor and Tensor?.some, and the two Nones, are the same structure in both forms.
        #expect(equalPairs == 4)
    }

    /// Alternating structures reuse their compiled programs (the last-call
    /// shortcut and the lookup behind it): two traces for A, B, A, B, …
    @Test func alternatingStructuresTraceOnce() {
        let traces = Traces()
        let f = jit { (xs: [Tensor]) -> Tensor in
            traces.bump()
            return xs.dropFirst().reduce(xs[0], +)
        }
        let one = [Tensor([1, 2] as [Float])], two = one + [Tensor([10, 20] as [Float])]
        for _ in 0..<3 {
            #expect(f(one).toArray(Float.self) == [1, 2])
            #expect(f(two).toArray(Float.self) == [11, 22])
        }
        #expect(traces.value == 2)
    }
}
