import Foundation
import Testing
import FlockTestSupport
@testable import FlockCore
@testable import FlockIO

/// Hand-built headers that claim absurd or impossible sizes. The oracle is the
/// reference reader (tools/make_hostile_header_fixtures.py records whether
/// numpy's `np.load` or the Python `safetensors` package rejects each file):
/// Flock rejects what they reject — with a FlockError, before allocating —
/// and reads what they read with the same shape.
@Suite struct HostileHeaderTests {
    struct Record: Decodable, Sendable, CustomTestStringConvertible {
        var format: String
        var header: String
        var dataBytes: Int
        var rejects: Bool
        var message: String
        var shape: [Int]?
        var testDescription: String { "\(format) \(header) + \(dataBytes) bytes" }
    }
    static let records: [Record] = {
        let data = IOFixtures.bytes("hostile_headers.json")
        return try! JSONDecoder().decode([Record].self, from: Data(data))
    }()

    static func file(_ r: Record) -> [UInt8] {
        let header = Array(r.header.utf8)
        let zeros = [UInt8](repeating: 0, count: r.dataBytes)
        if r.format == "npy" { return wrapNPYHeader(header) + zeros }
        return (0..<8).map { UInt8(truncatingIfNeeded: header.count >> (8 * $0)) } + header + zeros
    }

    @Test(arguments: records)
    func rejectsWhatTheReferenceRejects(_ r: Record) throws {
        let bytes = Self.file(r)
        func decode() throws -> [Tensor] {
            r.format == "npy" ? [try decodeNPY(bytes)] : try decodeSafetensors(bytes).tensors.values.map { $0 }
        }
        if r.rejects {
            expectFlockError(r.format == "npy" ? "decodeNPY: " : "decodeSafetensors: ", { try decode() })
        } else {
            let xs = try decode()
            #expect(xs.map(\.shape) == [r.shape ?? []] || (r.format == "safetensors" && xs.count == 1))
            // The array is usable: its first operation neither traps nor spins.
            for x in xs { #expect(try catchingErrors { x.sum().item() } == 0) }
        }
    }

    /// The messages for the cases the issue names: numpy's "too big" shapes,
    /// negative dimensions and a terabyte claimed by a 128-byte file.
    @Test(arguments: [
        ("(0, 9223372036854775807)", "shape [0, 9223372036854775807] has too many elements"),
        ("(4611686018427387904, 0)", "shape [4611686018427387904, 0] has too many elements"),
        ("(-1, 3)", "malformed npy header: shape entry -1 is not a non-negative integer"),
        ("(99999999999999999999,)", "malformed npy header: integer too large"),
        ("(274877906944,)", "truncated data: shape [274877906944] of '<f4' needs 1099511627776 bytes, file has 0"),
    ])
    func npyMessages(_ shape: String, _ message: String) {
        let dict = "{'descr': '<f4', 'fortran_order': False, 'shape': \(shape), }"
        let bytes = wrapNPYHeader(Array(dict.utf8))
        #expect(bytes.count == 128)
        expectFlockError("decodeNPY: \(message)") { try decodeNPY(bytes) }
    }

    /// IDX headers: dimensions are 32-bit, so a terabyte takes two of them.
    @Test(arguments: [
        ([0, 0, 8, 2, 0, 0x10, 0, 0, 0, 0x10, 0, 0] as [UInt8], "IDX dimensions [1048576, 1048576] of unsigned byte need 1099511627776 data bytes, file has 0"),
        ([0, 0, 0x0E, 3, 0, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF], "IDX dimensions [0, 4294967295, 4294967295] have too many elements"),
        ([0, 0, 8, 2, 0, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF], ""),
    ] as [([UInt8], String)])
    func idxClaims(_ bytes: [UInt8], _ message: String) throws {
        if message.isEmpty {
            // (0, 2^32 - 1) bytes: small enough for numpy's rule, an empty array.
            let x = try decodeIDX(bytes)
            #expect(x.shape == [0, 4_294_967_295] && x.count == 0)
            #expect(try catchingErrors { x.sum().item() } == 0)
        } else {
            expectFlockError(message) { try decodeIDX(bytes) }
        }
    }

    /// Inputs the parser fuzzers found or that pin their fixes (fuzz/corpus
    /// holds the seeds; crashes found are added here as regression cases).
    @Test(arguments: FuzzRegressions.cases)
    func fuzzRegressions(_ c: FuzzRegressions.Case) {
        expectValueOrFlockError { try c.decode() }
    }
}

/// Inputs that crashed, hung or over-allocated a parser under fuzzing, kept as
/// regression cases (each decodes or throws a FlockError, nothing else).
enum FuzzRegressions {
    struct Case: Sendable, CustomTestStringConvertible {
        let parser: String
        let name: String
        let bytes: [UInt8]
        var testDescription: String { "\(parser) \(name)" }
        func decode() throws -> Any {
            switch parser {
            case "npy": return try decodeNPY(bytes)
            case "npz": return try decodeNPZ(bytes)
            case "safetensors": return try decodeSafetensors(bytes)
            case "idx": return try decodeIDX(bytes)
            default: return try decodeCSV(bytes)
            }
        }
    }
    static let cases: [Case] = [
        Case(parser: "npy", name: "(0, 2^63-1) as bool", bytes: wrapNPYHeader(Array("{'descr': '|b1', 'fortran_order': False, 'shape': (0, 9223372036854775807), }".utf8))),
    ]
}
