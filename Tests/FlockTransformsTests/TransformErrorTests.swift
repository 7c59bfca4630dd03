import Testing
import FlockTestSupport
@testable import FlockTransforms

/// Bad input to transforms: each error names the argument, its shape and what was expected.
@Suite struct TransformErrorTests {
    static let x = Tensor([1, 2, 3] as [Float])

    static let cases: [(String, @Sendable () -> Void, [String])] = [
        ("grad of non-scalar", { _ = grad { (v: Tensor) in v * 2 }(x) }, ["grad", "scalar-output", "[3]"]),
        ("grad of integer input", { _ = grad { (v: Tensor) in v.sum().converted(to: .float32) }(Tensor([1, 2] as [Int32])) },
         ["grad", "int32", "floating"]),
        ("item under jit", { _ = jit { (v: Tensor) in v * v.sum().item(Float.self) }(x) },
         ["item", "traced", "f32[]", "cond/select"]),
        ("bool of traced value", { _ = jit { (v: Tensor) in (v.sum() .> 0).boolValue ? v : -v }(x) }, ["traced", "cond/select"]),
        ("toArray under grad", { _ = grad { (v: Tensor) in Tensor(v.toArray(Float.self)).sum() }(x) }, ["toArray", "traced"]),
        ("jvp tangent shape", { _ = jvp({ (v: Tensor) in v * 2 }, primals: x, tangents: Tensor([1, 2] as [Float])) },
         ["jvp", "same shape", "[3]", "[2]"]),
        ("pytree mismatch in treeMap", { _ = treeMap(["a": x], ["b": x]) { $0 + $1 } }, ["tree_map", "differ", "[\"a\"]", "[\"b\"]"]),
        ("cond branch types", { _ = cond(Tensor(true), { (v: Tensor) in v }, { (v: Tensor) in v.sum() }, x) },
         ["cond", "same types", "f32[3]", "f32[]"]),
        ("cond predicate shape", { _ = cond(Tensor([true, false]), { (v: Tensor) in v }, { (v: Tensor) in v }, x) },
         ["cond", "scalar", "[2]"]),
        ("scan lengths", { _ = scan({ (c: Tensor, v: [Tensor]) in (c, c) }, initial: Tensor(Float(0)), xs: [x, Tensor([1, 2] as [Float])]) },
         ["scan", "leading axis", "[3]", "[2]"]),
        ("scan carry type", { _ = scan({ (c: Tensor, v: Tensor) in (v.expandingDims(0), c) }, initial: Tensor(Float(0)), xs: x) },
         ["scan", "carry"]),
        ("while condition type", { _ = whileLoop(condition: { (c: Tensor) in c }, body: { $0 }, initial: x) },
         ["whileLoop", "bool scalar"]),
        ("vjp cotangent structure", { _ = vjp({ (v: Tensor) in [v, v] }, x).pullback([x]) }, ["vjp", "cotangent", "differ"]),
    ]

    @Test(arguments: cases.indices)
    func errorNamesWhatWasExpected(_ i: Int) {
        let (name, body, fragments) = Self.cases[i]
        expectErrorMentions(fragments, name, body)
    }
}
