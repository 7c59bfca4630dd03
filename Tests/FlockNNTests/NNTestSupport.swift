import Foundation
import FlockIO
import FlockNN
import Testing

// Fixtures written by tools/make_nn_fixtures.py: `<part>.json` holds the cases
// (a list of objects), `<part>.npz` their arrays keyed `<case index>/<name>`.

/// A JSON value of a fixture case.
enum JSONValue: Decodable, Sendable {
    case number(Double), string(String), bool(Bool), array([JSONValue]), object([String: JSONValue]), null

    init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null }
        else if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let d = try? c.decode(Double.self) { self = .number(d) }
        else if let s = try? c.decode(String.self) { self = .string(s) }
        else if let a = try? c.decode([JSONValue].self) { self = .array(a) }
        else { self = .object(try c.decode([String: JSONValue].self)) }
    }
}

/// One fixture case: its options and its arrays.
struct FixtureCase: Sendable, CustomTestStringConvertible {
    let index: Int
    let options: [String: JSONValue]
    let arrays: [String: Tensor]

    var testDescription: String {
        let keys = options.keys.filter { $0 != "arrays" }.sorted()
        return "#\(index) " + keys.map { "\($0)=\(describe(options[$0]!))" }.joined(separator: " ")
    }
    private func describe(_ v: JSONValue) -> String {
        switch v {
        case .number(let d): d == d.rounded() && abs(d) < 1e15 ? "\(Int(d))" : "\(d)"
        case .string(let s): s
        case .bool(let b): "\(b)"
        case .array(let a): "[" + a.map(describe).joined(separator: ",") + "]"
        case .object: "{…}"
        case .null: "nil"
        }
    }

    func string(_ key: String) -> String? { if case .string(let s)? = options[key] { s } else { nil } }
    func double(_ key: String) -> Double? { if case .number(let d)? = options[key] { d } else { nil } }
    func int(_ key: String) -> Int? { double(key).map { Int($0) } }
    func bool(_ key: String) -> Bool? { if case .bool(let b)? = options[key] { b } else { nil } }
    func ints(_ key: String) -> [Int]? {
        guard case .array(let a)? = options[key] else { return nil }
        return a.compactMap { if case .number(let d) = $0 { Int(d) } else { nil } }
    }
    func intLists(_ key: String) -> [[Int]]? {
        guard case .array(let a)? = options[key] else { return nil }
        return a.map { v in if case .array(let inner) = v { inner.compactMap { if case .number(let d) = $0 { Int(d) } else { nil } } } else { [] } }
    }
    var dtype: DType { DType(rawValue: string("dtype") ?? "float32")! }
    subscript(_ name: String) -> Tensor { arrays[name]! }
}

enum NNFixtures {
    static let directory = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!

    /// The cases of `part` whose `fn` (or `layer`) is one of `names` (all if empty).
    static func cases(_ part: String, _ names: String...) -> [FixtureCase] {
        let all = load(part)
        return names.isEmpty ? all : all.filter { names.contains($0.string("fn") ?? $0.string("layer") ?? "") }
    }

    private static let cache = Mutex<[String: [FixtureCase]]>([:])

    static func load(_ part: String) -> [FixtureCase] {
        if let cached = cache.withLock({ $0[part] }) { return cached }
        let json = try! Data(contentsOf: directory.appendingPathComponent(part + ".json"))
        let options = try! JSONDecoder().decode([[String: JSONValue]].self, from: json)
        let arrays = try! loadNPZ(directory.appendingPathComponent(part + ".npz").path)
        var grouped: [Int: [String: Tensor]] = [:]
        for (key, value) in arrays {
            let parts = key.split(separator: "/", maxSplits: 1)
            grouped[Int(parts[0])!, default: [:]][String(parts[1])] = value
        }
        let cases = options.enumerated().map { FixtureCase(index: $0, options: $1, arrays: grouped[$0] ?? [:]) }
        cache.withLock { $0[part] = cases }
        return cases
    }
}

import Synchronization

/// Largest distance in units in the last place between two float tensors of
/// the same dtype and shape (0: bit for bit); Int.max for a dtype or shape mismatch.
func maxUlps(_ a: Tensor, _ b: Tensor) -> Int {
    guard a.dtype == b.dtype, a.shape == b.shape else { return .max }
    func ordinal(_ bits: Int64, _ sign: Int64) -> Int64 { bits & sign != 0 ? -(bits & ~sign) : bits }
    switch a.dtype {
    case .float32:
        return zip(a.toArray(Float.self), b.toArray(Float.self)).map { x, y in
            x == y || (x.isNaN && y.isNaN) ? 0 : Int(abs(ordinal(Int64(x.bitPattern), 1 << 31) - ordinal(Int64(y.bitPattern), 1 << 31)))
        }.max() ?? 0
    case .float64:
        return zip(a.toArray(Double.self), b.toArray(Double.self)).map { x, y in
            x == y || (x.isNaN && y.isNaN) ? 0 : Int(min(Int64.max, abs(ordinal(Int64(bitPattern: x.bitPattern), Int64.min) &- ordinal(Int64(bitPattern: y.bitPattern), Int64.min))))
        }.max() ?? 0
    default:
        return a.toArray(Double.self) == b.toArray(Double.self) ? 0 : .max
    }
}

/// Expects `actual` to have `expected`'s shape and dtype and |a − e| ≤ atol + rtol·|e| elementwise.
func expectClose(
    _ actual: Tensor, _ expected: Tensor, rtol: Double = 1e-5, atol: Double = 1e-6, _ what: String = "",
    sourceLocation: SourceLocation = #_sourceLocation
) {
    #expect(actual.shape == expected.shape, "\(what): shape \(actual.shape) vs \(expected.shape)", sourceLocation: sourceLocation)
    #expect(actual.dtype == expected.dtype, "\(what): dtype \(actual.dtype) vs \(expected.dtype)", sourceLocation: sourceLocation)
    guard actual.shape == expected.shape else { return }
    let a = actual.toArray(Double.self), e = expected.toArray(Double.self)
    var worst = 0.0, worstIndex = -1
    for i in a.indices {
        let excess = abs(a[i] - e[i]) - (atol + rtol * abs(e[i]))
        if excess > worst || (a[i].isNaN != e[i].isNaN) { worst = max(worst, excess.isNaN ? .infinity : excess); worstIndex = i }
    }
    #expect(worstIndex < 0, "\(what): element \(worstIndex) is \(worstIndex < 0 ? 0 : a[worstIndex]), expected \(worstIndex < 0 ? 0 : e[worstIndex])", sourceLocation: sourceLocation)
}
