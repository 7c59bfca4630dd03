import Testing
import FlockTestSupport
@testable import FlockSharding

extension ShardingTests {
    /// `pmap` over several pytree arguments with one AxisSpec per argument:
    /// replicated parameters and a sharded batch in one call; pmap = vmap.
    @Suite struct PmapTree {
        /// A result with a mapped leaf and a leaf the same on every device.
        struct Out: PyTreeStruct {
            var y: Tensor
            var total: Tensor
            static let fields: [PyTreeField<Out>] = [.init(\.y, "y"), .init(\.total, "total")]
        }

        static func step(_ p: [String: Tensor], _ x: Tensor) -> Out {
            let y = tanh(x * p["w"]! + p["b"]!)
            return Out(y: y, total: psum(y.sum(), axisName: "i"))
        }

        @Test func replicatedParamsAndAShardedBatchEqualVmap() throws {
            let n = deviceCount
            let params = ["w": hostArray([3], seed: 40), "b": hostArray([3], seed: 41)]
            let x = hostArray([n, 3], seed: 42)
            let oracle = vmap(Self.step, inAxes: [nil, 0], outAxes: ["y": 0, "total": nil], axisName: "i")(params, x)
            let p = pmap(Self.step, axisName: "i", inAxes: [nil, 0], outAxes: ["y": 0, "total": nil])
            let out = try p(params, localRows(x))
            expectClose(out.y, localRows(oracle.y), rtol: 1e-12, atol: 1e-12, "mapped leaf")
            expectClose(out.total, oracle.total, rtol: 1e-12, atol: 1e-12, "unmapped leaf")
            // A dictionary prefix inside the parameters: w per device, b shared.
            let perDeviceW = hostArray([n, 3], seed: 43)
            let q = pmap(Self.step, axisName: "i", inAxes: [["w": 0, "b": nil], 0], outAxes: ["y": 0, "total": nil])
            let mixed = try q(["w": localRows(perDeviceW), "b": params["b"]!], localRows(x))
            let expected = vmap(Self.step, inAxes: [["w": 0, "b": nil], 0], outAxes: ["y": 0, "total": nil], axisName: "i")(
                ["w": perDeviceW, "b": params["b"]!], x)
            expectClose(mixed.y, localRows(expected.y), rtol: 1e-12, atol: 1e-12, "dict prefix")
        }

        @Test func aSpecThatDoesNotMatchIsAThrownError() {
            let params = ["w": hostArray([3], seed: 40), "b": hostArray([3], seed: 41)]
            let x = localRows(hostArray([deviceCount, 3], seed: 42))
            expectFlockError("pmap: inAxes[0] for argument 0 ({'kernel': None}) does not match the argument's tree: it names 'kernel'") {
                try pmap(Self.step, axisName: "i", inAxes: [["kernel": nil], 0])(params, x)
            }
            expectFlockError("pmap: inAxes has 1 entries ((None)) but the function takes 2 arguments") {
                try pmap(Self.step, axisName: "i", inAxes: [nil])(params, x)
            }
        }
    }
}
