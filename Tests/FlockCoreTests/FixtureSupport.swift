// Loading the JAX-generated fixtures (tools/make_fixtures.py writes
// Fixtures/ops.json) and comparing Flock's results with them.

import Foundation
import Testing
@testable import FlockCore

/// A JSON value, for the free-form `params` of a case.
enum JSONValue: Decodable, Sendable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

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

struct FixtureError: Error, CustomStringConvertible, Sendable {
    let description: String
    init(_ description: String) { self.description = description }
}

/// The static parameters of a case, read by name with the type the op expects.
struct FixtureParams: Decodable, Sendable {
    let values: [String: JSONValue]

    init(values: [String: JSONValue]) { self.values = values }
    init(from decoder: Decoder) throws { values = try [String: JSONValue](from: decoder) }

    private func value(_ key: String) throws -> JSONValue {
        guard let v = values[key] else { throw FixtureError("missing parameter \"\(key)\" in \(values.keys.sorted())") }
        return v
    }

    func isNull(_ key: String) -> Bool {
        if case .null = values[key] ?? .null { return true }
        return false
    }

    func has(_ key: String) -> Bool { values[key] != nil }

    func double(_ key: String) throws -> Double { try Self.double(value(key), key) }

    func int(_ key: String) throws -> Int {
        let d = try double(key)
        guard let i = Int(exactly: d) else { throw FixtureError("parameter \"\(key)\" = \(d) is not an integer") }
        return i
    }

    func optionalInt(_ key: String) throws -> Int? { isNull(key) ? nil : try int(key) }

    func bool(_ key: String) throws -> Bool {
        guard case .bool(let b) = try value(key) else { throw FixtureError("parameter \"\(key)\" is not a bool") }
        return b
    }

    func string(_ key: String) throws -> String {
        guard case .string(let s) = try value(key) else { throw FixtureError("parameter \"\(key)\" is not a string") }
        return s
    }

    func ints(_ key: String) throws -> [Int] {
        guard case .array(let a) = try value(key) else { throw FixtureError("parameter \"\(key)\" is not a list") }
        return try a.map { v in
            let d = try Self.double(v, key)
            guard let i = Int(exactly: d) else { throw FixtureError("parameter \"\(key)\" holds non-integer \(d)") }
            return i
        }
    }

    func optionalInts(_ key: String) throws -> [Int]? { isNull(key) ? nil : try ints(key) }

    /// A list of integer lists, e.g. padding pairs.
    func intLists(_ key: String) throws -> [[Int]] {
        guard case .array(let rows) = try value(key) else { throw FixtureError("parameter \"\(key)\" is not a list") }
        return try rows.map { row in
            guard case .array(let a) = row else { throw FixtureError("parameter \"\(key)\" is not a list of lists") }
            return try a.map { v in Int(try Self.double(v, key)) }
        }
    }

    func dtype(_ key: String) throws -> DType {
        let name = try string(key)
        guard let d = DType(rawValue: name) else { throw FixtureError("parameter \"\(key)\": unknown dtype \(name)") }
        return d
    }

    func optionalDType(_ key: String) throws -> DType? { isNull(key) ? nil : try dtype(key) }

    /// Numbers, and the strings "nan", "inf", "-inf" that stand for non-finite values.
    private static func double(_ v: JSONValue, _ key: String) throws -> Double {
        switch v {
        case .number(let d): return d
        case .string("nan"): return .nan
        case .string("inf"): return .infinity
        case .string("-inf"): return -.infinity
        default: throw FixtureError("parameter \"\(key)\" is not a number: \(v)")
        }
    }
}

/// An array as stored in the fixtures: raw little-endian bytes in hex.
struct FixtureArray: Decodable, Sendable {
    let dtype: String
    let shape: [Int]
    let hex: String
    /// Set when JAX's value is weakly typed (a Python scalar, or promoted from one).
    let weakType: Bool

    enum CodingKeys: String, CodingKey { case dtype, shape, hex, weakType = "weak_type" }

    init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        dtype = try c.decode(String.self, forKey: .dtype)
        shape = try c.decode([Int].self, forKey: .shape)
        hex = try c.decode(String.self, forKey: .hex)
        weakType = try c.decodeIfPresent(Bool.self, forKey: .weakType) ?? false
    }

    func denseArray() throws -> DenseArray {
        guard let dt = DType(rawValue: dtype) else { throw FixtureError("unknown dtype \(dtype)") }
        let bytes = try Self.decodeHex(hex)
        let array = DenseArray(uninitializedShape: shape, dtype: dt)
        guard bytes.count == array.byteCount else {
            throw FixtureError("\(bytes.count) bytes for \(dtype) \(shape) (expected \(array.byteCount))")
        }
        // Fixtures are little-endian, as is every platform Flock runs on.
        bytes.withUnsafeBytes { src in
            if let base = src.baseAddress, !src.isEmpty { array.buffer.pointer.copyMemory(from: base, byteCount: src.count) }
        }
        return array
    }

    func tensor() throws -> Tensor { Tensor(concrete: try denseArray(), weakType: weakType) }

    /// The array as a tensor (the fixture file is trusted; a bad entry traps).
    var value: Tensor { try! tensor() }

    /// The raw bytes.
    var rawBytes: [UInt8] { try! Self.decodeHex(hex) }

    private static func decodeHex(_ hex: String) throws -> [UInt8] {
        let digits = Array(hex.utf8)
        guard digits.count % 2 == 0 else { throw FixtureError("odd-length hex string") }
        func nibble(_ c: UInt8) throws -> UInt8 {
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
            default: throw FixtureError("bad hex digit \(Character(UnicodeScalar(c)))")
            }
        }
        return try stride(from: 0, to: digits.count, by: 2).map { try nibble(digits[$0]) << 4 | nibble(digits[$0 + 1]) }
    }
}

/// One oracle case: Flock's `fn` on `args` with `params` must give `out`.
struct FixtureCase: Decodable, Sendable, CustomTestStringConvertible {
    let name: String
    let fn: String
    let args: [FixtureArray]
    let params: FixtureParams
    let out: [FixtureArray]
    let rtol: Double
    let atol: Double

    var testDescription: String { name }

    /// Fixtures/ops.json, decoded once; a failure is reported by the `fixturesLoad` test.
    static let loaded = load("ops.json")

    /// Fixtures/fidelity.json (tools/make_fidelity_fixtures.py), decoded once.
    static let fidelity = load("fidelity.json")

    private static func load(_ file: String) -> Result<[FixtureCase], FixtureError> {
        guard let dir = Bundle.module.url(forResource: "Fixtures", withExtension: nil) else {
            return .failure(FixtureError("resource folder Fixtures not found in the test bundle"))
        }
        do {
            let data = try Data(contentsOf: dir.appendingPathComponent(file))
            return .success(try JSONDecoder().decode([FixtureCase].self, from: data))
        } catch {
            return .failure(FixtureError("cannot load Fixtures/\(file): \(error)"))
        }
    }

    /// All cases (none if the file cannot be read); with `FLOCK_FIXTURE_FILTER` set,
    /// only those whose name contains it (for debugging one case).
    static var all: [FixtureCase] {
        let cases = (try? loaded.get()) ?? []
        guard let filter = ProcessInfo.processInfo.environment["FLOCK_FIXTURE_FILTER"] else { return cases }
        return cases.filter { $0.name.contains(filter) }
    }
}

// MARK: - Comparison

/// Checks `actual` against JAX's `expected`: dtype, shape and weak type must be
/// equal; integers and bools exactly; floats within `atol + rtol·|expected|`,
/// with NaN exactly where JAX has NaN and infinities equal. With rtol = atol = 0
/// floats must match bit for bit (so -0.0 ≠ 0.0), except that any NaN matches any NaN.
///
/// XLA on CPU flushes subnormal results to zero; Flock keeps them (IEEE), so a
/// subnormal where JAX has a zero of the same sign matches.
///
/// JAX marks some bool results weakly typed (comparisons of weak operands);
/// a weak bool behaves exactly like a bool in promotion, so bools skip that check.
func expectMatches(
    _ actual: Tensor, _ expected: FixtureArray, rtol: Double, atol: Double, label: String,
    sourceLocation: SourceLocation = #_sourceLocation
) throws {
    let want = try expected.denseArray()
    let got = try actual.concreteArray(for: "fixture comparison")
    guard got.dtype == want.dtype, got.shape == want.shape else {
        Issue.record("\(label): got \(got.dtype) \(got.shape), JAX has \(want.dtype) \(want.shape)", sourceLocation: sourceLocation)
        return
    }
    if want.dtype != .bool && actual.weakType != expected.weakType {
        Issue.record("\(label): weak_type is \(actual.weakType), JAX has \(expected.weakType)", sourceLocation: sourceLocation)
    }
    var bad: [Int] = []
    switch want.dtype {
    case .float32:
        let a = got.pointer(Float.self), e = want.pointer(Float.self)
        for i in 0..<want.count
        where !floatsMatch(Double(a[i]), Double(e[i]), sameBits: a[i].bitPattern == e[i].bitPattern, flushed: flushed(a[i], e[i]), rtol, atol) {
            bad.append(i)
        }
    case .float64:
        let a = got.pointer(Double.self), e = want.pointer(Double.self)
        for i in 0..<want.count
        where !floatsMatch(a[i], e[i], sameBits: a[i].bitPattern == e[i].bitPattern, flushed: flushed(a[i], e[i]), rtol, atol) {
            bad.append(i)
        }
    case .float16, .bfloat16:
        for i in 0..<want.count {
            let (a, e) = (got.double(at: i), want.double(at: i))
            let sameBits = got.dtype == want.dtype && (0..<2).allSatisfy { got.bytes[i * 2 + $0] == want.bytes[i * 2 + $0] }
            if !floatsMatch(a, e, sameBits: sameBits, flushed: false, rtol, atol) { bad.append(i) }
        }
    case .int8, .uint8, .int16, .uint16, .int32, .uint32, .int64, .uint64, .bool:
        // Integers and bools compare by their bytes.
        let size = want.dtype.byteSize
        let a = got.bytes, e = want.bytes
        for i in 0..<want.count where !(0..<size).allSatisfy({ a[i * size + $0] == e[i * size + $0] }) { bad.append(i) }
    }
    guard !bad.isEmpty else { return }
    let shown = bad.prefix(6).map { i in
        "[\(multiIndex(i, want.shape).map(String.init).joined(separator: ", "))] got \(element(got, i)), JAX \(element(want, i))"
    }
    let details = shown.joined(separator: "\n  ") + (bad.count > 6 ? "\n  …" : "")
    Issue.record(
        "\(label): \(bad.count) of \(want.count) elements differ (rtol \(rtol), atol \(atol)):\n  \(details)",
        sourceLocation: sourceLocation)
}

/// Whether `expected` is `actual` flushed to zero (a subnormal became a zero of its sign).
private func flushed<F: BinaryFloatingPoint>(_ actual: F, _ expected: F) -> Bool {
    actual.isSubnormal && expected == 0 && actual.sign == expected.sign
}

private func floatsMatch(_ a: Double, _ e: Double, sameBits: Bool, flushed: Bool, _ rtol: Double, _ atol: Double) -> Bool {
    if e.isNaN || a.isNaN { return e.isNaN && a.isNaN }
    if rtol == 0 && atol == 0 { return sameBits || flushed }
    if e.isInfinite || a.isInfinite { return a == e }
    return flushed || Swift.abs(a - e) <= atol + rtol * Swift.abs(e)
}

private func multiIndex(_ flat: Int, _ shape: [Int]) -> [Int] {
    zip(rowMajorStrides(shape), shape).map { stride, n in (flat / stride) % n }
}

/// Element `i` for messages; floats with all their digits and bit pattern.
private func element(_ a: DenseArray, _ i: Int) -> String {
    switch a.dtype {
    case .float32: let v = a.pointer(Float.self)[i]; return "\(v) (0x\(String(v.bitPattern, radix: 16)))"
    case .float64: let v = a.pointer(Double.self)[i]; return "\(v) (0x\(String(v.bitPattern, radix: 16)))"
    case .int32: return "\(a.pointer(Int32.self)[i])"
    case .uint32: return "\(a.pointer(UInt32.self)[i])"
    case .bool: return "\(a.pointer(Bool.self)[i])"
    case .int64: return "\(a.pointer(Int64.self)[i])"
    case .uint64: return "\(a.pointer(UInt64.self)[i])"
    default: return "\(a.double(at: i))"
    }
}

