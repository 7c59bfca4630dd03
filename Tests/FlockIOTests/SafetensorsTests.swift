import Foundation
import FlockTestSupport
import Testing

import FlockCore
@testable import FlockIO

// Oracles: files written by the Python `safetensors` package
// (tools/make_io_fixtures.py) with numpy's account of their contents; the
// package's exact bytes, which Flock's writer must reproduce; malformed files
// the Python loader also rejects; bit-exact round trips.

@Suite struct SafetensorsTests {
    @Test(arguments: IOFixtures.manifest.safetensors.map(\.file))
    func loadMatchesPython(file: String) throws {
        let entry = IOFixtures.manifest.safetensors.first { $0.file == file }!
        let loaded = try loadSafetensors(IOFixtures.path(file))
        #expect(loaded.tensors.keys.sorted() == entry.tensors.keys.sorted())
        #expect(loaded.metadata == entry.metadata)
        for (name, expected) in entry.tensors {
            guard let t = loaded.tensors[name] else { continue }
            try expectMatches(t, expected, "\(file)[\(name)]")
        }
    }

    /// safetensors.numpy.save_file's bytes: ordering, offsets, header text and padding.
    @Test(arguments: IOFixtures.manifest.safetensors.filter(\.pythonBytes).map(\.file))
    func encodeMatchesPythonBytes(file: String) throws {
        let bytes = IOFixtures.bytes(file)
        let file = try decodeSafetensors(bytes)
        #expect(try encodeSafetensors(file.tensors, metadata: file.metadata) == bytes)
    }

    @Test(arguments: IOFixtures.manifest.badSafetensors.map(\.file))
    func malformedFileThrows(file: String) {
        let entry = IOFixtures.manifest.badSafetensors.first { $0.file == file }!
        expectFlockError(entry.message) { try loadSafetensors(IOFixtures.path(file)) }
    }

    @Test func roundTripEveryDTypeBitForBit() throws {
        var tensors: [String: Tensor] = [:]
        var arrays: [String: DenseArray] = [:]
        for (i, dtype) in DType.allCases.enumerated() where dtype.canonical == dtype {
            for (j, shape) in ([[], [0], [1], [7], [3, 5], [2, 0, 3], [2, 3, 4]] as [[Int]]).enumerated() {
                let a = randomArray(shape: shape, dtype: dtype, seed: UInt64(10 * i + j))
                arrays["\(dtype).\(j)"] = a
                tensors["\(dtype).\(j)"] = Tensor(concrete: a)
            }
        }
        let path = try temporaryDirectory() + "/all.safetensors"
        try saveSafetensors(tensors, metadata: ["a": "1", "é": "\"\n"], to: path)
        let back = try loadSafetensors(path)
        #expect(back.metadata == ["a": "1", "é": "\"\n"])
        #expect(back.tensors.count == tensors.count)
        for (name, a) in arrays { try expectSameBits(back.tensors[name]!, a, name) }
        #expect(try encodeSafetensors(back.tensors, metadata: back.metadata) == loadFileBytes(path))
    }

    @Test func headerIsPaddedToEightBytes() throws {
        for n in 0..<10 {
            let bytes = try encodeSafetensors([String(repeating: "n", count: n + 1): Tensor([Float(1)])])
            let length = (0..<8).reduce(0) { $0 | Int(bytes[$1]) << (8 * $1) }
            #expect(length % 8 == 0)
            #expect(bytes.count == 8 + length + 4)
        }
    }

    @Test func reservedNameThrows() {
        expectFlockError("'__metadata__' is reserved") { try encodeSafetensors(["__metadata__": Tensor([Float(1)])]) }
    }

    @Test func everyTruncationThrows() {
        let bytes = IOFixtures.bytes("mixed.safetensors")
        for n in 0..<bytes.count {
            do {
                _ = try decodeSafetensors(Array(bytes[0..<n]))
                Issue.record("a file cut to \(n) of \(bytes.count) bytes loaded")
            } catch is FlockError {} catch { Issue.record("\(error)") }
        }
    }

    /// A flipped byte anywhere gives a value or a FlockError, never a crash or out-of-bounds read.
    @Test func flippedBytesNeverCrash() {
        let bytes = IOFixtures.bytes("scalars.safetensors")
        for i in bytes.indices {
            for mask: UInt8 in [0x01, 0x80, 0xFF] {
                var corrupt = bytes
                corrupt[i] ^= mask
                expectValueOrFlockError { try decodeSafetensors(corrupt) }
            }
        }
    }

    @Test(arguments: [
        (#"{"a":1,}"#, "expected a string key"),
        (#"{"a":[1 2]}"#, "expected ',' or ']'"),
        (#"{"a":"\q"}"#, "invalid escape"),
        (#"{"a":"\ud800"}"#, "unpaired surrogate"),
        (#"{"a":1.5}"#, "expected an integer"),
        (#"{"a":99999999999999999999}"#, "integer too large"),
        (#"{"a":1} x"#, "unexpected text after the JSON value"),
        ("{\"a\":\"\u{01}\"}", "control character in a string"),
        (String(repeating: "[", count: 40), "nesting deeper than 32"),
    ])
    func malformedJSONThrows(text: String, message: String) {
        expectFlockError(message) {
            try Array(text.utf8).withUnsafeBytes { try JSONParser.parse($0, context: "test") }
        }
    }

    @Test func jsonEscapesAsSerde() throws {
        let text = #"{"\u00e9\ud83d\ude00\/":"a\"\\\b\f\n\r\t\u0001"}"#
        let value = try Array(text.utf8).withUnsafeBytes { try JSONParser.parse($0, context: "test") }
        #expect(value == .object([("é😀/", .string("a\"\\\u{08}\u{0C}\n\r\t\u{01}"))]))
        // serde_json writes '/' and non-ASCII as is, control characters as short escapes or \u00XX.
        #expect(value.description == #"{"é😀/":"a\"\\\b\f\n\r\t\u0001"}"#)
    }

    /// With FLOCK_IO_CHECK_DIR set, writes files for `python tools/make_io_fixtures.py --check DIR`.
    @Test func exportForPythonCheck() throws {
        guard let directory = ProcessInfo.processInfo.environment["FLOCK_IO_CHECK_DIR"] else { return }
        for entry in IOFixtures.manifest.safetensors {
            let file = try loadSafetensors(IOFixtures.path(entry.file))
            try saveSafetensors(file.tensors, metadata: file.metadata, to: directory + "/" + entry.file)
        }
    }
}

func loadFileBytes(_ path: String) throws -> [UInt8] { Array(try Data(contentsOf: URL(fileURLWithPath: path))) }
