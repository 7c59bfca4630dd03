import Foundation
import Testing
@testable import FlockCore
import FlockTestSupport
@testable import FlockTransforms

/// Gather and scatter against JAX (tools/make_gather_fixtures.py): `take`,
/// `takeAlongAxis`, `x[idx]`, `.at[].get` and every `.at[]` update in every
/// index mode, over negative, repeated, out-of-bounds, empty and 2-D indices,
/// float32/float64/int32, and their gradients; each case eager and jitted.
@Suite struct GatherFixtureTests {
    struct Array: Decodable {
        let shape: [Int]
        let dtype: String
        let values: [JAXReference.Value]
        var tensor: Tensor {
            let t = Tensor(values.map(\.double), shape: shape)
            switch dtype {
            case "float32": return t.converted(to: .float32)
            case "int32": return t.converted(to: .int32)
            default: return t
            }
        }
    }
    enum Parameter: Decodable {
        case number(Double), text(String), none
        init(from decoder: Decoder) throws {
            let c = try decoder.singleValueContainer()
            if c.decodeNil() { self = .none } else if let d = try? c.decode(Double.self) { self = .number(d) } else { self = .text(try c.decode(String.self)) }
        }
    }
    struct Case: Decodable {
        let name: String
        let fn: String
        let params: [String: Parameter]
        let inputs: [Int]
        let output: Int
        let grads: [Int]
        func text(_ k: String) -> String? { if case .text(let s)? = params[k] { s } else { nil } }
        func number(_ k: String) -> Double? { if case .number(let d)? = params[k] { d } else { nil } }
        var mode: IndexMode? { text("mode").map { IndexMode(rawValue: $0)! } }
    }
    struct File: Decodable {
        let arrays: [Array]
        let cases: [Case]
    }
    static let file: File = {
        let url = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.appendingPathComponent("gather.json")
        return try! JSONDecoder().decode(File.self, from: Data(contentsOf: url))
    }()

    /// The index expression of a pattern: `[i]`, `[:, i]`, `[i, reversed(i)]` (`[i, i]` for 2-D `i`).
    static func pattern(_ p: String, _ i: Tensor) -> [any TensorIndexConvertible] {
        switch p {
        case "row": [i]
        case "col": [TensorIndex.all, i]
        default: [i, i.rank == 1 ? i[.stride(by: -1)] : i]
        }
    }

    static func update(_ at: IndexedTensor, _ op: String, _ v: Tensor, _ mode: IndexMode) -> Tensor {
        switch op {
        case "set": at.set(v, mode: mode)
        case "add": at.add(v, mode: mode)
        case "subtract": at.subtract(v, mode: mode)
        case "multiply": at.multiply(v, mode: mode)
        case "min": at.min(v, mode: mode)
        default: at.max(v, mode: mode)
        }
    }

    /// The function a case applies to its inputs, with its outputs and gradients.
    static func function(_ c: Case) -> ([Tensor]) -> [Tensor] {
        switch c.fn {
        case "take":
            let axis = c.number("axis").map { Int($0) }
            return { [take($0[0], $0[1], axis: axis, mode: c.mode!, fillValue: c.number("fill_value"))] }
        case "take_along_axis":
            return { [takeAlongAxis($0[0], $0[1], axis: Int(c.number("axis")!), mode: c.mode!)] }
        case "index":
            return { x in [x[0].index(pattern(c.text("pattern")!, x[1]).map(\.tensorIndex))] }
        case "at_get":
            return { x in
                let at = IndexedTensor(base: x[0], indices: pattern(c.text("pattern")!, x[1]).map(\.tensorIndex))
                return [at.get(mode: c.mode!, fillValue: c.number("fill_value"))]
            }
        case "at":
            return { x in
                let at = IndexedTensor(base: x[0], indices: pattern(c.text("pattern")!, x[1]).map(\.tensorIndex))
                return [update(at, c.text("op")!, x[2], c.mode ?? .drop)]
            }
        case "grad_take", "grad_index":
            let axis = Int(c.number("axis") ?? 0)
            let f: (Tensor, Tensor) -> Tensor = c.fn == "grad_index" ? { $0[$1] } : { take($0, $1, axis: axis, mode: c.mode!) }
            return { x in
                let g = grad({ (a: Tensor) in (f(a, x[1]) * x[2]).sum() })(x[0])
                return [f(x[0], x[1]), g]
            }
        default:  // grad_at
            let op = c.text("op")!
            return { x in
                let f = { (a: Tensor, b: Tensor) in update(a.at(x[1]), op, b, .drop) }
                let loss = { (a: Tensor, b: Tensor) in (f(a, b) * x[3]).sum() }
                if op == "multiply" { return [f(x[0], x[2]), grad({ (a: Tensor) in loss(a, x[2]) })(x[0])] }
                let (ga, gb) = grad(loss, argnums: .both)(x[0], x[2])
                return [f(x[0], x[2]), ga, gb]
            }
        }
    }

    static let caseCount = file.cases.count

    @Test(arguments: 0..<caseCount)
    func matchesJAX(_ k: Int) {
        let c = Self.file.cases[k]
        let arrays = Self.file.arrays
        let inputs = c.inputs.map { arrays[$0].tensor }
        let expected = ([c.output] + c.grads).map { arrays[$0] }
        let f = Self.function(c)
        let jitted = jit { f($0) }
        for (how, outs) in [("eager", f(inputs)), ("jit", jitted(inputs))] {
            #expect(outs.count == expected.count, "\(c.name) \(how): \(outs.count) results")
            for (j, (o, e)) in zip(outs, expected).enumerated() {
                #expect(o.dtype.description == e.dtype, "\(c.name) \(how) result \(j): dtype \(o.dtype), JAX \(e.dtype)")
                expectClose(o, e.tensor, rtol: 1e-6, atol: 1e-6, "\(c.name) \(how) result \(j)")
            }
        }
    }
}
