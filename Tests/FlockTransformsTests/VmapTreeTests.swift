import FlockTestSupport
import Testing
@testable import FlockTransforms

/// `vmap` with one pytree-prefix ``AxisSpec`` per argument, against JAX
/// (tools/make_pytree_fixtures.py) and against loop-and-stack.
@Suite struct VmapTreeTests {
    typealias R = PyTreeReference
    static func loss(_ p: [String: Tensor], _ x: Tensor, _ y: Tensor) -> Tensor {
        let r = matmul(x, p["w"]!) + p["b"]! - y
        return (r * r).sum()
    }

    @Test func paramsUnmappedDataMapped() {
        let f = vmap(Self.loss, inAxes: [nil, 0, 0])
        expectClose(f(R.params, R.input("x"), R.input("y")), R.tensor("vmap.params_none"), rtol: 1e-5, "in_axes=(None, 0, 0)")
        let g = vmap(Self.loss, inAxes: [nil, 1, 0])
        expectClose(g(R.params, R.input("xt"), R.input("y")), R.tensor("vmap.axis1_and_none"), rtol: 1e-5, "in_axes=(None, 1, 0)")
        let h = vmap(Self.loss, inAxes: [nil, -1, 0])
        expectClose(h(R.params, R.input("xt"), R.input("y")), R.tensor("vmap.negative_axis"), rtol: 1e-5, "in_axes=(None, -1, 0)")
    }

    @Test func aDictionaryPrefixInsideOneArgument() {
        let f = vmap({ (p: [String: Tensor], x: Tensor) in matmul(x, p["w"]!) + p["b"]! }, inAxes: [["w": nil, "b": 0], 0])
        expectClose(f(["w": R.input("w"), "b": R.input("b5")], R.input("x")), R.tensor("vmap.dict_prefix"), rtol: 1e-5, "dict prefix")
    }

    @Test func aListPrefixAndAnUnmappedScalar() {
        let f = vmap({ (uv: [Tensor], s: Tensor) in uv[0] * uv[1] * s }, inAxes: [[0, 1], nil])
        expectClose(f([R.input("u"), R.input("v")], R.input("s")), R.tensor("vmap.list_prefix"), rtol: 1e-6, "list prefix")
    }

    @Test func outAxesPrefixOfTheResult() {
        let f = vmap({ (x: Tensor) in ["a": x * 2, "b": x.sum()] }, inAxes: [0], outAxes: ["a": 1, "b": 0])
        let out = f(R.input("x"))
        expectClose(out["a"]!, R.tensor("vmap.out_prefix['a']"), rtol: 1e-6, "out a")
        expectClose(out["b"]!, R.tensor("vmap.out_prefix['b']"), rtol: 1e-6, "out b")
    }

    /// A result tree holding an unmapped subtree (out_axes None for it).
    struct Out: PyTreeStruct {
        var y: Tensor
        var p: [String: Tensor]
        static let fields: [PyTreeField<Out>] = [.init(\.y, "y"), .init(\.p, "p")]
    }

    @Test func unmappedOutputSubtree() {
        let f = vmap({ (p: [String: Tensor], x: Tensor) in Out(y: matmul(x, p["w"]!), p: p) }, inAxes: [nil, 0], outAxes: ["y": 0, "p": nil])
        let out = f(R.params, R.input("x"))
        expectClose(out.y, R.tensor("vmap.out_unmapped['y']"), rtol: 1e-5, "y")
        expectClose(out.p["w"]!, R.tensor("vmap.out_unmapped['p']['w']"), "p.w")
        expectClose(out.p["b"]!, R.tensor("vmap.out_unmapped['p']['b']"), "p.b")
    }

    @Test func perExampleGradients() {
        let f = vmap({ (p: [String: Tensor], x: Tensor, y: Tensor) in grad { Self.loss($0, x, y) }(p) }, inAxes: [nil, 0, 0])
        let g = f(R.params, R.input("x"), R.input("y"))
        expectClose(g["w"]!, R.tensor("vmap.per_example_grad['w']"), rtol: 1e-5, "w")
        expectClose(g["b"]!, R.tensor("vmap.per_example_grad['b']"), rtol: 1e-5, "b")
    }

    @Test func fourArgumentsEqualLoopAndStack() {
        let f = { (a: Tensor, b: [Tensor], c: [String: Tensor], d: Tensor) in a * b[0] + c["k"]! * d }
        let a = R.input("u"), b = [R.input("v").transposed()], c = ["k": R.input("s")], d = R.input("u") * 0.5
        let batched = vmap(f, inAxes: [0, [0], nil, 0])(a, b, c, d)
        let looped = stack((0..<4).map { i in f(a[i], [b[0][i]], c, d[i]) }, axis: 0)
        expectClose(batched, looped, rtol: 0, atol: 0, "loop and stack")
    }

    @Test func composesWithJitAndTheFlatForm() {
        let batched = vmap(Self.loss, inAxes: [nil, 0, 0])
        let fast = jit { (args: [Tensor]) in [batched(["w": args[0], "b": args[1]], args[2], args[3])] }
        let out = fast([R.input("w"), R.input("b"), R.input("x"), R.input("y")])[0]
        expectClose(out, R.tensor("vmap.params_none"), rtol: 1e-5, "jit(vmap)")
        let viaClosure = batched.function
        expectClose(viaClosure(R.params, R.input("x"), R.input("y")), R.tensor("vmap.params_none"), rtol: 1e-5, ".function")
    }

    @Test(arguments: [
        ([AxisSpec]([[0, nil], 0, 0]), "vmap: inAxes[0] for argument 0 ([0, None]) does not match the argument's tree: it gives a list of 2 at the root where the argument has dict with keys [\"b\", \"w\"]"),
        ([["w": 0, "bias": nil], 0, 0], "it names 'bias' at the root, where the argument has dict with keys [\"b\", \"w\"]"),
        ([["w": 0], 0, 0], "it gives no axis for the leaf at ['b']"),
        ([nil, [0], 0], "inAxes[1] for argument 1 ([0]) does not match the argument's tree: it gives a list of 1 at the root where the argument has a leaf"),
        ([nil, 0], "vmap: inAxes has 2 entries ((None, 0)) but the function takes 3 arguments"),
    ] as [([AxisSpec], String)])
    func aSpecThatDoesNotMatchItsArgumentIsAnError(_ spec: [AxisSpec], _ message: String) {
        expectFlockError(message) {
            try catchingErrors { vmap(Self.loss, inAxes: spec)(R.params, R.input("x"), R.input("y")) }
        }
    }

    @Test func inconsistentSizesNameTheArgumentAndPath() {
        let f = vmap({ (p: [String: Tensor], x: Tensor) in matmul(x, p["w"]!) + p["b"]! }, inAxes: [["w": nil, "b": 0], 0])
        expectFlockError("vmap got inconsistent sizes for array axes to be mapped: argument 0 at ['b'] of shape [2] has size 2 along axis 0, argument 1 of shape [5, 3] has size 5 along axis 0") {
            try catchingErrors { f(R.params, R.input("x")) }
        }
        expectFlockError("vmap was requested to map argument 0 at ['w'] along axis 2, but its shape is [3, 2] (rank 2)") {
            try catchingErrors { vmap(Self.loss, inAxes: [["w": 2, "b": nil], 0, 0])(R.params, R.input("x"), R.input("y")) }
        }
    }

    @Test func outAxesThatDoNotMatchTheResultIsAnError() {
        expectFlockError("vmap: outAxes ({'a': 0, 'c': 0}) does not match the result's tree: it names 'c'") {
            try catchingErrors { vmap({ (x: Tensor) in ["a": x, "b": x] }, inAxes: [0], outAxes: ["a": 0, "c": 0])(R.input("x")) }
        }
    }
}
