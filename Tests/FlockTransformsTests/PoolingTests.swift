import Foundation
import Testing
import FlockTestSupport
@testable import FlockTransforms

/// One case of tools/make_pool_fixtures.py: a `lax.reduce_window` or Flax
/// pooling call, its input, JAX's output, and (floating inputs) the JVP along
/// `t` and the gradient of sum(output × ct).
struct PoolCase: Decodable, CustomTestStringConvertible, Sendable {
    struct Values: Decodable, Sendable {
        let shape: [Int]
        let values: [Double]
        enum CodingKeys: CodingKey { case shape, values }
        init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            shape = try c.decode([Int].self, forKey: .shape)
            values = try c.decode([JAXReference.Value].self, forKey: .values).map(\.double)
        }
        func tensor(_ dtype: DType) -> Tensor { Tensor(values, shape: shape).converted(to: dtype) }
    }
    enum Padding: Decodable, Sendable {
        case name(String)
        case pairs([[Int]])
        init(from decoder: Decoder) throws {
            let c = try decoder.singleValueContainer()
            if let s = try? c.decode(String.self) { self = .name(s) } else { self = .pairs(try c.decode([[Int]].self)) }
        }
        var flock: ConvolutionPadding {
            switch self {
            case .name(let s): s == "SAME" ? .same : .valid
            case .pairs(let p): .explicit(p)
            }
        }
    }
    let name, fn, dtype: String
    let op: String?
    let window: [Int]
    let strides: [Int]?
    let padding: Padding
    let baseDilation, windowDilation: [Int]?
    let countIncludePad: Bool?
    let x, out: Values
    let t, jvp, ct, grad: Values?

    enum CodingKeys: String, CodingKey {
        case name, fn, dtype, op, window, strides, padding, x, out, t, jvp, ct, grad
        case baseDilation = "base_dilation", windowDilation = "window_dilation", countIncludePad = "count_include_pad"
    }

    var testDescription: String { name }
    var type: DType { dtype == "float64" ? .float64 : dtype == "int32" ? .int32 : .float32 }
    var input: Tensor { x.tensor(type) }
    /// Whether max/min windows may hold ties or non-finite values (finite differences do not apply).
    var isSmooth: Bool { !["ties", "special", "inf"].contains { name.contains($0) } && type != .int32 }

    /// The Flock function this case calls.
    var function: @Sendable (Tensor) -> Tensor {
        let c = self
        switch fn {
        case "lax":
            return {
                reduceWindow($0, ReduceWindowOp(rawValue: c.op!)!, windowDimensions: c.window, windowStrides: c.strides,
                             padding: c.padding.flock, baseDilation: c.baseDilation, windowDilation: c.windowDilation)
            }
        case "max_pool": return { maxPool($0, windowShape: c.window, strides: c.strides, padding: c.padding.flock) }
        case "min_pool": return { minPool($0, windowShape: c.window, strides: c.strides, padding: c.padding.flock) }
        default:
            return {
                avgPool($0, windowShape: c.window, strides: c.strides, padding: c.padding.flock,
                        countIncludePad: c.countIncludePad ?? true)
            }
        }
    }

    var tolerance: (rtol: Double, atol: Double) { type == .float64 ? (1e-12, 1e-12) : (2e-6, 2e-6) }

    static let all: [PoolCase] = {
        let url = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.appendingPathComponent("pooling.json")
        return try! JSONDecoder().decode([PoolCase].self, from: Data(contentsOf: url))
    }()
}

@Suite struct PoolingTests {
    @Test(arguments: PoolCase.all)
    func forwardMatchesJAX(_ c: PoolCase) {
        let y = c.function(c.input)
        #expect(y.dtype == (c.fn == "avg_pool" || c.type != .int32 ? c.type : .int32))
        expectClose(y, c.out.tensor(.float64), rtol: c.tolerance.rtol, atol: c.tolerance.atol, c.name)
    }

    @Test(arguments: PoolCase.all.filter { $0.grad != nil })
    func gradientMatchesJAX(_ c: PoolCase) {
        let ct = c.ct!.tensor(c.type), f = c.function
        let g = grad { (x: Tensor) in (f(x) * ct).sum() }(c.input)
        expectClose(g, c.grad!.tensor(.float64), rtol: c.tolerance.rtol, atol: c.tolerance.atol, c.name)
    }

    @Test(arguments: PoolCase.all.filter { $0.jvp != nil })
    func jvpMatchesJAX(_ c: PoolCase) {
        let (_, tangent) = jvp(c.function, primals: c.input, tangents: c.t!.tensor(c.type))
        expectClose(tangent, c.jvp!.tensor(.float64), rtol: c.tolerance.rtol, atol: c.tolerance.atol, c.name)
    }

    @Test(arguments: PoolCase.all)
    func jitEqualsEager(_ c: PoolCase) {
        let f = c.function
        expectClose(jit(f)(c.input), f(c.input), rtol: 0, atol: 0, c.name)
        if let ct = c.ct?.tensor(c.type), c.grad != nil {
            let g = grad { (x: Tensor) in (f(x) * ct).sum() }
            expectClose(jit(g)(c.input), g(c.input), rtol: 0, atol: 0, "\(c.name) gradient")
        }
    }

    /// vmap of the function, of its gradient and of its JVP equals a loop, with
    /// the mapped axis first and last (the batching rule puts a trivial window there).
    @Test(arguments: PoolCase.all.filter { $0.name.contains("2d") || $0.fn != "lax" })
    func vmapEqualsLoop(_ c: PoolCase) {
        let f = c.function, x = c.input
        let examples = [x, x * 2 - 1, -x]
        let loop = stack(examples.map(f))
        expectClose(vmap(f)(stack(examples)), loop, rtol: 0, atol: 0, "\(c.name) vmap")
        expectClose(vmap(f, inAxes: -1, outAxes: 0)(stack(examples, axis: -1)), loop, rtol: 0, atol: 0, "\(c.name) vmap last axis")
        guard c.type != .int32, let ct = c.ct?.tensor(c.type) else { return }
        let g = grad { (v: Tensor) in (f(v) * ct).sum() }
        expectClose(vmap(g)(stack(examples)), stack(examples.map(g)), rtol: 0, atol: 0, "\(c.name) vmap of grad")
        let t = c.t!.tensor(c.type)
        let jf = { (v: Tensor) in jvp(f, primals: v, tangents: t).tangent }
        expectClose(vmap(jf, inAxes: 1, outAxes: 0)(stack(examples, axis: 1)), stack(examples.map(jf)), rtol: 0, atol: 0,
                    "\(c.name) vmap of jvp")
    }

    /// Finite differences and ⟨vjp(ct), t⟩ = ⟨ct, jvp(t)⟩ in float64, to second
    /// order (which runs select-and-scatter's JVP and transpose) — including the
    /// window-dilated max/min cases that JAX cannot differentiate in reverse.
    @Test(arguments: PoolCase.all.filter {
        $0.isSmooth && $0.out.values.count > 0 && $0.out.values.allSatisfy(\.isFinite) && $0.x.values.count <= 120
    })
    func finiteDifferences(_ c: PoolCase) throws {
        let f = c.function
        try checkGrads({ xs in [f(xs[0])] }, [c.x.tensor(.float64)], order: 2, eps: 1e-4)
    }

    @Test func firstMaximumTakesTheGradient() {
        // Each row's window holds its maximum twice: the earlier one gets the
        // cotangent, in reverse and forward mode alike.
        let x = Tensor([1, 1, 0, 2, 0, 2, 3, 3] as [Float], shape: [4, 2])
        let f = { (v: Tensor) in reduceWindow(v, .max, windowDimensions: [1, 2], padding: .explicit([[0, 0], [1, 0]])) }
        let g = grad { (v: Tensor) in f(v).sum() }(x)
        #expect(g.toArray(Float.self) == [2, 0, 1, 1, 1, 1, 2, 0])
        let t = Tensor([1, 2, 3, 4, 5, 6, 7, 8] as [Float], shape: [4, 2])
        #expect(jvp(f, primals: x, tangents: t).tangent.toArray(Float.self) == [1, 1, 3, 4, 5, 6, 7, 7])
    }

    static let errors: [(String, @Sendable () -> Void, [String])] = {
        let x = Tensor([Float](repeating: 1, count: 12), shape: [3, 4])
        return [
            ("window rank", { _ = reduceWindow(x, .max, windowDimensions: [2]) },
             ["reduce_window_max", "window_dimensions [2]", "[3, 4]", "rank 2"]),
            ("zero stride", { _ = reduceWindow(x, .sum, windowDimensions: [2, 2], windowStrides: [1, 0]) },
             ["reduce_window_sum", "window_strides", "positive", "[1, 0]", "[3, 4]"]),
            ("zero dilation", { _ = reduceWindow(x, .min, windowDimensions: [2, 2], windowDilation: [0, 1]) },
             ["reduce_window_min", "window_dilation", "positive", "[3, 4]"]),
            ("zero base dilation", { _ = reduceWindow(x, .min, windowDimensions: [2, 2], baseDilation: [1, 0]) },
             ["reduce_window_min", "base_dilation", "positive"]),
            ("empty window", { _ = reduceWindow(x, .max, windowDimensions: [0, 2]) },
             ["reduce_window_max", "window_dimensions must be positive", "[0, 2]"]),
            ("padding pairs", { _ = reduceWindow(x, .max, windowDimensions: [2, 2], padding: .explicit([[1, 1]])) },
             ["reduce_window_max", "padding", "(low, high)", "[3, 4]"]),
            ("bool operand", { _ = reduceWindow(Tensor([true, false]), .max, windowDimensions: [1]) },
             ["reduce_window_max", "bool"]),
            ("pool rank", { _ = maxPool(x, windowShape: [2, 2]) }, ["maxPool", "[3, 4]", "rank ≥ 3", "[2, 2]"]),
            ("pool strides", { _ = avgPool(x.reshaped([1, 3, 4]), windowShape: [2], strides: [1, 1]) },
             ["avgPool", "strides [1, 1]", "[2]"]),
            ("pool padding", { _ = minPool(x.reshaped([1, 3, 4]), windowShape: [2], padding: .explicit([[0, 1], [1, 0]])) },
             ["minPool", "padding", "[2]"]),
            ("scatter source shape", {
                let w = WindowParameters(windowDimensions: [2, 2], windowStrides: [1, 1], padding: [[0, 0], [0, 0]],
                                         baseDilation: [1, 1], windowDilation: [1, 1])
                _ = bind1(.selectAndScatterAdd(select: .ge, w), x, x)
            }, ["select_and_scatter_add", "source [3, 4]", "[2, 3]"]),
        ]
    }()

    @Test(arguments: errors.indices)
    func badInputNamesTheOpAndShapes(_ i: Int) {
        let (name, body, fragments) = Self.errors[i]
        let m = errorMessage(body)
        #expect(m != nil, "\(name): expected an error")
        for f in fragments {
            #expect(m?.contains(f) == true, "\(name): message \(m ?? "nil") should mention \(f)")
        }
    }

    @Test func stagedJaxprNamesTheWindows() {
        let x = Tensor([Float](repeating: 1, count: 16), shape: [1, 4, 4, 1])
        let text = makeJaxpr { (v: Tensor) in grad { (u: Tensor) in maxPool(u, windowShape: [2, 2], strides: [2, 2]).sum() }(v) }(x).description
        #expect(text.contains("f32[1,2,2,1] = reduce_window_max[base_dilation=(1, 1, 1, 1) padding=((0, 0), (0, 0), (0, 0), (0, 0)) window_dilation=(1, 1, 1, 1) window_dimensions=(1, 2, 2, 1) window_strides=(1, 2, 2, 1)]"), "\(text)")
        #expect(text.contains("f32[1,4,4,1] = select_and_scatter_add[select_prim=ge base_dilation="), "\(text)")
    }

    @Test func windowLargerThanInputGivesEmptyOutput() {
        let y = reduceWindow(Tensor([1, 2, 3] as [Float]), .max, windowDimensions: [5])
        #expect(y.shape == [0])
        let g = grad { (v: Tensor) in reduceWindow(v, .sum, windowDimensions: [5]).sum() }(Tensor([1, 2, 3] as [Float]))
        #expect(g.toArray(Float.self) == [0, 0, 0])
    }
}
