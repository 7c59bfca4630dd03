import FlockTestSupport
import Testing
@testable import FlockTransforms

/// A dataclass-like struct: its leaves' key paths are `.w` and `.b`, as a
/// `jax.tree_util.register_dataclass` class's.
struct DenseTree: PyTreeStruct {
    var w: Tensor
    var b: Tensor
    static let fields: [PyTreeField<DenseTree>] = [.init(\.w, "w"), .init(\.b, "b")]
}

/// A struct holding a dictionary of dense layers and a scale (nested containers).
struct ScaledTree: PyTreeStruct {
    var dense: DenseTree
    var scale: Tensor
    static let fields: [PyTreeField<ScaledTree>] = [.init(\.dense, "dense"), .init(\.scale, "scale")]
}

@Suite struct PyTreeKeyPathTests {
    static let one = Tensor(Float(0))

    /// The trees of tools/make_pytree_fixtures.py that Swift's typed
    /// containers can hold (one value type per dictionary), by case name, and
    /// how many of JAX's leading paths they cover.
    static let cases: [(String, [String])] = [
        ("nested_dicts", treeLeafPaths(["layer1": ["w": one, "b": one], "layer0": ["w": one]])),
        ("list_of_dicts", treeLeafPaths([["k": one], ["k": one, "j": one]])),
        ("struct_in_dict", treeLeafPaths(["dense": DenseTree(w: one, b: one)])),
        ("list_of_structs", treeLeafPaths([DenseTree(w: one, b: one), DenseTree(w: one, b: one)])),
        ("leaf", treeLeafPaths(one)),
    ]

    @Test(arguments: cases.map(\.0))
    func keyPathsAreJAXKeystr(_ name: String) {
        let ours = Self.cases.first { $0.0 == name }!.1
        let jax = PyTreeReference.file.keystr[name] ?? []
        // struct_in_dict has a sibling leaf Swift's one-value-type dictionary cannot hold: compare the shared part.
        #expect(ours == Array(jax.prefix(ours.count)) && !ours.isEmpty, "\(name): \(ours) vs JAX \(jax)")
    }

    @Test func keyPathsOfAStructInADictionaryWithSiblings() {
        // `{"dense": Dense, "scale": x}` needs one value type: a struct holding both has paths `.dense.w`…
        let t = ScaledTree(dense: DenseTree(w: Self.one, b: Self.one), scale: Self.one)
        #expect(treeLeafPaths(t) == [".dense.w", ".dense.b", ".scale"])
    }

    @Test func treeMapWithPathSeesEveryLeafWithItsPath() throws {
        let tree: [String: [Tensor]] = ["kernel": [Tensor([1, 2] as [Float])], "bias": [Tensor([3] as [Float])]]
        var seen: [String] = []
        let out = treeMapWithPath(tree) { path, x in
            seen.append(path)
            return path.hasPrefix("['kernel']") ? x * 10 : x
        }
        #expect(seen == ["['bias'][0]", "['kernel'][0]"])
        #expect(out["kernel"]![0].toArray(Float.self) == [10, 20])
        #expect(out["bias"]![0].toArray(Float.self) == [3])
        let pairs = treeLeavesWithPath(tree)
        #expect(pairs.map(\.path) == ["['bias'][0]", "['kernel'][0]"])
    }

    @Test func treeMapOverManyTrees() throws {
        let trees = (1...4).map { k in ["a": Tensor([Float(k)]), "b": Tensor([Float(k), Float(2 * k)])] }
        let sum = treeMap(trees[0], Array(trees.dropFirst())) { xs in xs.dropFirst().reduce(xs[0], +) }
        #expect(sum["a"]!.toArray(Float.self) == [10])
        #expect(sum["b"]!.toArray(Float.self) == [10, 20])
        let three = treeMap(trees[0], trees[1], trees[2]) { a, b, c in a * b - c }
        #expect(three["b"]!.toArray(Float.self) == [-1, 2] as [Float])
        let withPath = treeMapWithPath(trees[0], trees[1]) { path, a, b in path == "['a']" ? a + b : a - b }
        #expect(withPath["a"]!.toArray(Float.self) == [3])
        #expect(withPath["b"]!.toArray(Float.self) == [-1, -2])
    }

    @Test func treeMapOfTreesWithDifferentKeysNamesThePath() {
        let a: [String: [String: Tensor]] = ["layer": ["w": Tensor(Float(1)), "b": Tensor(Float(2))]]
        let b: [String: [String: Tensor]] = ["layer": ["w": Tensor(Float(1)), "c": Tensor(Float(2))]]
        expectFlockError("['layer']") { try catchingErrors { treeMap(a, [b]) { $0[0] } } }
        expectFlockError("tree 2 has a different structure") { try catchingErrors { treeMap(a, a, b) { x, _, _ in x } } }
    }

    @Test func aMissingDictionaryKeyIsAnErrorNamingThePath() throws {
        let layer: [String: Tensor] = ["w": Tensor(Float(1)), "b": Tensor(Float(2))]
        expectFlockError("no key 'kernel' at ['dense']['kernel']; the dictionary at ['dense'] has keys [\"b\", \"w\"]") {
            try catchingErrors { layer.value(at: "kernel", path: "['dense']") }
        }
        // Inside a transform, too: the error ends the traced call, not the process.
        expectFlockError("no key 'bias'") {
            try catchingErrors { grad { (p: [String: Tensor]) in p.value(at: "bias") * p.value(at: "w") }(layer) }
        }
        let nested: [String: [String: Tensor]] = ["dense": layer]
        expectFlockError("no key 'encoder'") { try catchingErrors { nested.value(at: "encoder") } }
        #expect(try catchingErrors { layer.value(at: "w") }.toArray(Float.self) == [1])
    }
}
