import Foundation
import FlockTestSupport
import Testing

import FlockCore
@testable import FlockIO

// Oracles: fixture files written by numpy and zlib (tools/make_npy_fixtures.py)
// with numpy's account of their contents in manifest.json; np.save's exact
// bytes; bit-exact round trips; and, for malformed input, that every failure is
// a thrown FlockError (a crash or out-of-bounds read would stop the test run).

@Suite struct NPYTests {
    // MARK: - Reading numpy's files

    @Test(arguments: NPYFixtures.manifest.npy.map(\.file))
    func loadNPYMatchesNumpy(file: String) throws {
        let entry = NPYFixtures.manifest.npy.first { $0.file == file }!
        try expectMatches(loadNPY(NPYFixtures.path(file)), entry.array, file)
    }

    @Test(arguments: NPYFixtures.manifest.npz.map(\.file))
    func loadNPZMatchesNumpy(file: String) throws {
        let entry = NPYFixtures.manifest.npz.first { $0.file == file }!
        let arrays = try loadNPZ(NPYFixtures.path(file))
        #expect(arrays.keys.sorted() == entry.arrays.keys.sorted())
        for (name, expected) in entry.arrays {
            guard let t = arrays[name] else { continue }
            try expectMatches(t, expected, "\(file)[\(name)]")
        }
    }

    @Test(arguments: NPYFixtures.manifest.deflate.map(\.file))
    func inflateMatchesZlib(file: String) throws {
        let entry = NPYFixtures.manifest.deflate.first { $0.file == file }!
        let out = try NPYFixtures.bytes(file).withUnsafeBytes { try inflate($0, outputCount: entry.size) }
        #expect(out.count == entry.size)
        #expect(CRC32.checksum(out) == entry.crc32)
    }

    @Test func crc32CheckValue() {
        #expect(CRC32.checksum(Array("123456789".utf8)) == 0xCBF4_3926)
        #expect(CRC32.checksum([]) == 0)
    }

    // MARK: - Writing what numpy writes

    /// np.save's bytes for little-endian C-ordered arrays: Flock must reproduce them exactly.
    @Test(arguments: NPYFixtures.manifest.npy.filter(\.numpyBytes).map(\.file))
    func encodeNPYMatchesNumpySave(file: String) throws {
        let bytes = NPYFixtures.bytes(file)
        #expect(try encodeNPY(decodeNPY(bytes)) == bytes)
    }

    @Test(arguments: [[], [0], [1], [7], [9], [10], [123_456], [3, 4], [0, 5], [2, 3, 4, 5, 6, 7, 8]] as [[Int]])
    func headerIsAlignedVersion1(shape: [Int]) {
        let header = npyHeader(shape: shape, dtype: .float32)
        #expect(header.count % 64 == 0)
        #expect(Array(header[0..<8]) == [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1, 0])
        #expect(Int(header[8]) | Int(header[9]) << 8 == header.count - 10)
        #expect(header.last == 0x0A)
    }

    @Test func longHeaderUsesVersion2() throws {
        var dict = Array("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }".utf8)
        dict += [UInt8](repeating: 0x20, count: 70_000)
        let header = wrapNPYHeader(dict)
        #expect(Array(header[6..<8]) == [2, 0])
        #expect(header.count % 64 == 0)
        #expect((8..<12).reduce(0) { $0 | Int(header[$1]) << (8 * ($1 - 8)) } == header.count - 12)
        let t = try decodeNPY(header + encodeBytes([Float(1.5), -2]))
        #expect(t.shape == [2])
        #expect(try t.concreteArray(for: "test").toArray(Float.self) == [1.5, -2])
    }

    // MARK: - Round trips

    /// Every dtype arrays can have without x64 (int64/uint64 round-trip in DTypeX64Tests).
    @Test(arguments: DType.allCases.filter { $0.canonical == $0 })
    func roundTripEveryDType(dtype: DType) throws {
        let directory = try temporaryDirectory()
        for (i, shape) in ([[], [0], [5], [3, 4], [2, 0, 3], [2, 3, 4]] as [[Int]]).enumerated() {
            let array = randomArray(shape: shape, dtype: dtype, seed: UInt64(i))
            let t = Tensor(concrete: array)
            let path = directory + "/x\(i).npy"
            try saveNPY(t, to: path)
            try expectSameBits(loadNPY(path), array, "saveNPY/loadNPY \(dtype) \(shape)")
            try expectSameBits(decodeNPY(encodeNPY(t)), array, "encodeNPY/decodeNPY \(dtype) \(shape)")
            #expect(try encodeNPY(t) == Array(readFile(path, operation: "test")))
        }
    }

    @Test func roundTripNPZ() throws {
        var arrays: [String: DenseArray] = [:]
        for (i, dtype) in DType.allCases.enumerated() where dtype.canonical == dtype {
            arrays["\(dtype)"] = randomArray(shape: [3, 5], dtype: dtype, seed: UInt64(i))
            arrays["scalar_\(dtype)"] = randomArray(shape: [], dtype: dtype, seed: UInt64(10 + i))
            arrays["empty_\(dtype)"] = randomArray(shape: [0, 2], dtype: dtype, seed: 0)
        }
        arrays["naïve/ünïcode"] = randomArray(shape: [2], dtype: .int32, seed: 99)
        let tensors = arrays.mapValues { Tensor(concrete: $0) }
        let path = try temporaryDirectory() + "/a.npz"
        try saveNPZ(tensors, to: path)
        for decoded in [try loadNPZ(path), try decodeNPZ(encodeNPZ(tensors))] {
            #expect(decoded.keys.sorted() == arrays.keys.sorted())
            for (name, array) in arrays { try expectSameBits(decoded[name]!, array, "npz \(name)") }
        }
        #expect(try decodeNPZ(encodeNPZ([:])).isEmpty)
    }

    /// With FLOCK_NPY_CHECK_DIR set, writes every fixture back out for
    /// `python tools/make_npy_fixtures.py --check $FLOCK_NPY_CHECK_DIR`.
    @Test func exportForNumpyCheck() throws {
        guard let directory = ProcessInfo.processInfo.environment["FLOCK_NPY_CHECK_DIR"] else { return }
        for entry in NPYFixtures.manifest.npy {
            try saveNPY(loadNPY(NPYFixtures.path(entry.file)), to: directory + "/" + entry.file)
        }
        for entry in NPYFixtures.manifest.npz {
            try saveNPZ(loadNPZ(NPYFixtures.path(entry.file)), to: directory + "/" + entry.file)
        }
    }

    // MARK: - Malformed input

    @Test(arguments: [
        ("{'descr': '<c8', 'fortran_order': False, 'shape': (2,), }", "unsupported dtype '<c8' (supported: '<f2'"),
        ("{'descr': '<V4', 'fortran_order': False, 'shape': (2,), }", "unsupported dtype '<V4'"),
        ("{'descr': '|O', 'fortran_order': False, 'shape': (2,), }", "unsupported dtype '|O'"),
        ("{'descr': '<U3', 'fortran_order': False, 'shape': (2,), }", "unsupported dtype '<U3'"),
        ("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,), }", "unsupported structured dtype"),
        ("{'descr': '<f4', 'fortran_order': False, }", "missing key 'shape'"),
        ("{'fortran_order': False, 'shape': (2,), }", "missing key 'descr'"),
        ("{'descr': '<f4', 'shape': (2,), }", "missing key 'fortran_order'"),
        ("{'descr': '<f4', 'fortran_order': 0, 'shape': (2,), }", "unexpected value 0 for 'fortran_order'"),
        ("{'descr': '<f4', 'fortran_order': False, 'shape': (2), }", "unexpected value 2 for 'shape'"),
        ("{'descr': '<f4', 'fortran_order': False, 'shape': [2], }", "unexpected value [2] for 'shape'"),
        ("{'descr': '<f4', 'fortran_order': False, 'shape': (-2,), }", "shape entry -2 is not a non-negative integer"),
        ("{'descr': '<f4', 'fortran_order': False, 'shape': ('2',), }", "shape entry '2' is not a non-negative"),
        ("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'x': 1}", "unexpected key 'x'"),
        ("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), } junk", "unexpected text after the header dict"),
        ("{'descr': '<f4', 'fortran_order': False, 'shape': (2,)", "expected ',' or '}'"),
        ("{'descr': '<f4', 'fortran_order': False, 'shape': (2,", "unexpected end"),
        ("{'descr': '<f4", "unterminated string"),
        ("{'descr' '<f4'}", "expected ':'"),
        ("[1, 2]", "expected a dict"),
        ("float32", "unexpected character 'f'"),
        ("", "unexpected end"),
        (String(repeating: "(", count: 10_000), "nesting deeper than 16"),
        ("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,), }", "integer too large"),
        ("{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296), }", "too many elements"),
        ("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", "truncated data: shape [3] of '<f4' needs 12 bytes, file has 8"),
        ("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", "data size mismatch: shape [1] of '<f4' needs 4 bytes, file has 8"),
        ("{'descr': '<f4', 'fortran_order': False, 'shape': (), }", "data size mismatch"),
    ])
    func malformedHeaderThrows(dict: String, message: String) {
        // 8 data bytes: right for shape (2,) of '<f4'.
        expectFlockError(message) { try decodeNPY(wrapNPYHeader(Array(dict.utf8)) + [UInt8](repeating: 0, count: 8)) }
    }

    @Test func malformedPreambleThrows() {
        let good = npyHeader(shape: [2], dtype: .float32) + [UInt8](repeating: 0, count: 8)
        expectFlockError("shorter than the 10-byte preamble") { try decodeNPY([]) }
        expectFlockError("shorter than the 10-byte preamble") { try decodeNPY(Array(good[0..<9])) }
        var badMagic = good
        badMagic[3] = UInt8(ascii: "X")
        expectFlockError("bad magic bytes [93 4e 55 58 50 59]") { try decodeNPY(badMagic) }
        var badVersion = good
        badVersion[6] = 4
        expectFlockError("unsupported npy format version 4.0 (supported: 1.0, 2.0, 3.0)") { try decodeNPY(badVersion) }
        var longHeader = good
        longHeader[9] = 0x10
        expectFlockError("header of 4214 bytes runs past the end of the 136-byte file") { try decodeNPY(longHeader) }
        var v2 = good
        v2[6] = 2
        expectFlockError("shorter than the 12-byte v2.0 preamble") { try decodeNPY(Array(v2[0..<11])) }
            expectFlockError("cannot read /nonexistent/x.npy: open failed: No such file or directory") {
            try loadNPY("/nonexistent/x.npy")
        }
        expectFlockError("read failed: Is a directory") { try loadNPY("/tmp") }
        expectFlockError("saveNPY: cannot open /nonexistent/x.npy for writing") {
            try saveNPY(Tensor([1] as [Float]), to: "/nonexistent/x.npy")
        }
    }

    @Test func boolBytesAreNormalized() throws {
        let t = try decodeNPY(npyHeader(shape: [3], dtype: .bool) + [0, 1, 0xFE])
        #expect(try t.concreteArray(for: "test").toArray(Bool.self) == [false, true, true])
    }

    @Test(arguments: NPYFixtures.manifest.npy.map(\.file))
    func truncatedNPYThrows(file: String) {
        let bytes = NPYFixtures.bytes(file)
        let unthrown = (0..<bytes.count).filter { n in (try? decodeNPY(Array(bytes[0..<n]))) != nil }
        #expect(unthrown.isEmpty, "truncations of \(file) that decoded: \(unthrown)")
    }

    @Test(arguments: NPYFixtures.manifest.npz.map(\.file))
    func truncatedNPZThrows(file: String) {
        let bytes = NPYFixtures.bytes(file)
        let lengths = Set(Array(0..<min(bytes.count, 300)) + stride(from: 0, to: bytes.count, by: max(1, bytes.count / 300))
            + Array(max(0, bytes.count - 300)..<bytes.count))
        let unthrown = lengths.sorted().filter { n in (try? decodeNPZ(Array(bytes[0..<n]))) != nil }
        #expect(unthrown.isEmpty, "truncations of \(file) that decoded: \(unthrown)")
    }

    @Test(arguments: NPYFixtures.manifest.deflate.map(\.file))
    func truncatedDeflateThrows(file: String) {
        let entry = NPYFixtures.manifest.deflate.first { $0.file == file }!
        let bytes = NPYFixtures.bytes(file)
        let lengths = Set(Array(0..<min(bytes.count, 200)) + stride(from: 0, to: bytes.count, by: max(1, bytes.count / 200)))
        let unthrown = lengths.sorted().filter { n in
            (try? bytes[0..<n].withUnsafeBytes { try inflate($0, outputCount: entry.size) }) != nil
        }
        #expect(unthrown.isEmpty, "truncations of \(file) that inflated: \(unthrown)")
    }

    /// Any damaged byte may give a different valid array or a FlockError; nothing else.
    @Test(arguments: NPYFixtures.manifest.npy.map(\.file))
    func flippedNPYBytesNeverCrash(file: String) {
        let bytes = NPYFixtures.bytes(file)
        for i in bytes.indices {
            for mask: UInt8 in [0xFF, 0x01, 0x80] {
                var damaged = bytes
                damaged[i] ^= mask
                expectValueOrFlockError { try decodeNPY(damaged) }
            }
        }
    }

    /// In an archive, damage to any member's bytes is caught (CRC-32 or deflate error);
    /// damage elsewhere may be harmless but never crashes.
    @Test(arguments: NPYFixtures.manifest.npz.map(\.file))
    func flippedNPZBytesNeverCrash(file: String) throws {
        let bytes = NPYFixtures.bytes(file)
        // Every byte of small archives; in the large one the small members' bytes and a sample of the rest.
        let positions = bytes.count < 5000
            ? Array(bytes.indices) : Array(stride(from: 0, to: 1200, by: 3)) + stride(from: 1200, to: bytes.count, by: 4999)
        for i in positions {
            var damaged = bytes
            damaged[i] ^= 0xFF
            expectValueOrFlockError { try decodeNPZ(damaged) }
        }
        // The first member's data: local header (30 bytes + name + extra) then the data.
        let nameLength = Int(bytes[26]) | Int(bytes[27]) << 8, extraLength = Int(bytes[28]) | Int(bytes[29]) << 8
        let dataStart = 30 + nameLength + extraLength
        for i in dataStart..<(dataStart + 60) {
            var damaged = bytes
            damaged[i] ^= 0x01
            expectFlockError("member 'a.npy': ") { try decodeNPZ(damaged) }
        }
    }

    @Test(arguments: ["deflate_fixed.bin", "deflate_dynamic.bin", "deflate_rle.bin", "deflate_huffman_only.bin"])
    func flippedDeflateBytesNeverCrash(file: String) {
        let entry = NPYFixtures.manifest.deflate.first { $0.file == file }!
        let bytes = NPYFixtures.bytes(file)
        for i in stride(from: 0, to: bytes.count, by: max(1, bytes.count / 150)) {
            var damaged = bytes
            damaged[i] ^= 0x10
            expectValueOrFlockError { try damaged.withUnsafeBytes { try inflate($0, outputCount: entry.size) } }
        }
    }

    @Test func randomBytesNeverCrashInflate() {
        var rng = SplitMix64(seed: 7)
        for _ in 0..<3000 {
            let input = (0..<Int(rng.next() % 300)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            expectValueOrFlockError { try input.withUnsafeBytes { try inflate($0, outputCount: Int(rng.next() % 2000)) } }
        }
    }

    /// Each malformed stream is a FlockError carrying zlib's reason.
    @Test func corruptDeflateStreamsThrow() {
        func inflating(_ bytes: [UInt8], _ count: Int) -> () throws -> Any {
            { try bytes.withUnsafeBytes { try inflate($0, outputCount: count) } }
        }
        expectFlockError("invalid block type") { try inflating([0x07], 1)() }
        expectFlockError("invalid stored block lengths") {
            try inflating([0x01, 0x05, 0x00, 0x00, 0x00], 5)()
        }
        expectFlockError("the input ends before the stream does") { try inflating([0x01, 0x05, 0x00, 0xFA, 0xFF, 1, 2], 5)() }
        expectFlockError("decompresses to more than the expected 4 bytes") {
            try inflating([0x01, 0x05, 0x00, 0xFA, 0xFF, 1, 2, 3, 4, 5], 4)()
        }
        expectFlockError("decompressed to 5 bytes, expected 6") { try inflating([0x01, 0x05, 0x00, 0xFA, 0xFF, 1, 2, 3, 4, 5], 6)() }
        // Fixed block: length 3 (code 0000001), distance 1 (code 00000) with nothing decoded yet.
        expectFlockError("invalid distance too far back") {
            try inflating(packBits([(1, 1), (1, 2), (0b100_0000, 7), (0, 5), (0, 7)]), 3)()
        }
        // Fixed block with literal/length symbol 286 (code 11000110), which does not exist.
        expectFlockError("invalid literal/length code") { try inflating(packBits([(1, 1), (1, 2), (0b0110_0011, 8)]), 3)() }
        // Dynamic block whose 19 code-length codes all have length 1.
        let oversubscribed = [(1, 1), (2, 2), (0, 5), (0, 5), (15, 4)] + Array(repeating: (1, 3), count: 19)
        expectFlockError("invalid code lengths set") { try inflating(packBits(oversubscribed), 1)() }
        // Dynamic block declaring 287 literal/length codes (HLIT = 30).
        expectFlockError("too many length or distance symbols") { try inflating(packBits([(1, 1), (2, 2), (30, 5), (0, 5), (0, 4)]), 1)() }
        // Dynamic block starting its code lengths with "repeat previous" (symbol 16).
        // Code-length code: only symbols 16 and 17 (first two in the order), 1 bit each.
        let repeatFirst = [(1, 1), (2, 2), (0, 5), (0, 5), (0, 4), (1, 3), (1, 3), (0, 3), (0, 3), (0, 2)]
        expectFlockError("invalid bit length repeat") { try inflating(packBits(repeatFirst), 1)() }
        // Fixed block with the unassigned distance code 30 (11110).
        expectFlockError("invalid distance code") {
            try inflating(packBits([(1, 1), (1, 2), (0b100_0000, 7), (0b01111, 5), (0, 13)]), 10)()
        }
    }

    @Test func malformedNPZThrows() throws {
        let good = try encodeNPZ(["a": Tensor([1, 2, 3] as [Float]), "b": Tensor(Int32(4))])
        let end = good.count - 22
        let directory = Int(good[end + 16]) | Int(good[end + 17]) << 8
        func patched(_ offset: Int, _ values: [UInt8]) -> [UInt8] {
            var bytes = good
            bytes.replaceSubrange(offset..<(offset + values.count), with: values)
            return bytes
        }
        expectFlockError("shorter than a zip end-of-central-directory record") { try decodeNPZ([1, 2, 3]) }
        expectFlockError("no end-of-central-directory record (not a zip file, or truncated)") {
            try decodeNPZ(encodeNPY(Tensor([1, 2, 3] as [Float])))
        }
        expectFlockError("no end-of-central-directory record") { try decodeNPZ(good + [0]) }
        expectFlockError("multi-disk archives are not supported") { try decodeNPZ(patched(end + 4, [1])) }
        expectFlockError("lies outside the file") { try decodeNPZ(patched(end + 16, [0xFF, 0xFF, 0, 0])) }
        expectFlockError("2 entries cannot fit") { try decodeNPZ(patched(end + 12, [50, 0, 0, 0])) }
        expectFlockError("central directory entry 0 at offset \(directory) is missing or has a bad signature") {
            try decodeNPZ(patched(directory, [0]))
        }
        expectFlockError("member 'a.npy': bad zip structure: no local header at offset 0") { try decodeNPZ(patched(0, [0])) }
        expectFlockError("member 'a.npy': encrypted members are not supported") { try decodeNPZ(patched(directory + 8, [1])) }
        expectFlockError("member 'a.npy': compression method 12 is not supported") {
            try decodeNPZ(patched(directory + 10, [12]))
        }
        expectFlockError("member 'a.npy': CRC-32 mismatch") { try decodeNPZ(patched(directory + 16, [good[directory + 16] ^ 1])) }
        expectFlockError("stored member has compressed size") { try decodeNPZ(patched(directory + 20, [0])) }
        expectFlockError("run past the end of the file") { try decodeNPZ(patched(directory + 20, [0xFF, 0xFF, 0, 0])) }
        expectFlockError("member 'a.npy': duplicate array name 'a'") {
            // Rename member "b.npy" to "a.npy" in the central directory.
            let second = directory + 46 + 5
            return try decodeNPZ(patched(second + 46, Array("a.npy".utf8)))
        }
        expectFlockError("member 'a.npy': truncated data") {
            // Shrink the stored size of "a" by 4 bytes in both headers; fix the CRC so only the npy check fails.
            let size = Int(good[22]) | Int(good[23]) << 8
            let crc = good.withUnsafeBytes { CRC32.checksum(UnsafeRawBufferPointer(rebasing: $0[35..<(35 + size - 4)])) }
            let crcBytes = (0..<4).map { UInt8(truncatingIfNeeded: crc >> (8 * $0)) }
            let sizeBytes = [UInt8(truncatingIfNeeded: size - 4), UInt8((size - 4) >> 8)]
            var bytes = patched(directory + 16, crcBytes + sizeBytes + [0, 0] + sizeBytes)
            bytes.replaceSubrange(14..<24, with: crcBytes + sizeBytes + [0, 0] + sizeBytes)
            return try decodeNPZ(bytes)
        }
        expectFlockError("zip64 locator points to offset") {
            // A zip64 locator before the end record pointing nowhere.
            var locator: [UInt8] = [0x50, 0x4B, 0x06, 0x07, 0, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0, 0, 1, 0, 0, 0]
            locator += good[end...]
            return try decodeNPZ(Array(good[..<end]) + locator)
        }

        // Deflated members: a claimed size beyond deflate's ratio, and a bad CRC.
        let compressed = NPYFixtures.bytes("savez_compressed.npz")
        let cEnd = compressed.count - 22
        let cDirectory = Int(compressed[cEnd + 16]) | Int(compressed[cEnd + 17]) << 8 | Int(compressed[cEnd + 18]) << 16
        var bomb = compressed
        bomb.replaceSubrange((cDirectory + 24)..<(cDirectory + 28), with: [0xFF, 0xFF, 0xFF, 0x7F])
        expectFlockError("member 'a.npy': bad zip structure: claims 2147483647 bytes from") { try decodeNPZ(bomb) }
        var badCRC = compressed
        badCRC[cDirectory + 16] ^= 1
        expectFlockError("member 'a.npy': CRC-32 mismatch") { try decodeNPZ(badCRC) }
        var shortSize = compressed
        shortSize[cDirectory + 24] -= 1
        expectFlockError("member 'a.npy': inflate: corrupt deflate stream: decompresses to more than") {
            try decodeNPZ(shortSize)
        }
        expectFlockError("loadNPZ: cannot read /nonexistent.npz: open failed") { try loadNPZ("/nonexistent.npz") }
    }
}

// MARK: - Helpers

/// The fixture directory and manifest written by tools/make_npy_fixtures.py.
enum NPYFixtures {
    struct Manifest: Decodable, Sendable {
        var npy: [NPYEntry]
        var npz: [NPZEntry]
        var deflate: [DeflateEntry]
    }
    struct NPYEntry: Decodable, Sendable {
        var file: String
        var array: ExpectedArray
        /// Written by np.save from a little-endian C-ordered array.
        var numpyBytes: Bool
    }
    struct NPZEntry: Decodable, Sendable {
        var file: String
        var arrays: [String: ExpectedArray]
    }
    struct DeflateEntry: Decodable, Sendable {
        var file: String
        var size: Int
        var crc32: UInt32
    }

    static let folder = FixtureFolder("npy")
    static let manifest: Manifest = folder.manifest()
    static func path(_ file: String) -> String { folder.path(file) }
    static func bytes(_ file: String) -> [UInt8] { folder.bytes(file) }
}

/// A folder of Fixtures/ with a manifest.json written by a tools/ script (snake_case keys).
struct FixtureFolder: Sendable {
    let url: URL

    init(_ name: String) { url = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.appendingPathComponent(name) }

    func manifest<T: Decodable>() -> T {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try! decoder.decode(T.self, from: Data(contentsOf: url.appendingPathComponent("manifest.json")))
    }

    func path(_ file: String) -> String { url.appendingPathComponent(file).path }
    func bytes(_ file: String) -> [UInt8] { Array(try! Data(contentsOf: url.appendingPathComponent(file))) }
}

/// What numpy says an array holds; values row-major, for small arrays only.
struct ExpectedArray: Decodable, Sendable {
    var dtype: String
    var shape: [Int]
    /// CRC-32 of the little-endian row-major element bytes.
    var crc32: UInt32
    var values: [ExpectedValue]?
}

/// A number, a bool, or one of "nan", "inf", "-inf", "-0.0", as a Double.
struct ExpectedValue: Decodable, Sendable {
    var value: Double
    init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let b = try? c.decode(Bool.self) {
            value = b ? 1 : 0
        } else if let d = try? c.decode(Double.self) {
            value = d
        } else {
            let s = try c.decode(String.self)
            switch s {
            case "nan": value = .nan
            case "inf": value = .infinity
            case "-inf": value = -.infinity
            case "-0.0": value = -0.0
            default: throw DecodingError.dataCorruptedError(in: c, debugDescription: "unknown value \(s)")
            }
        }
    }
}

func expectMatches(_ t: Tensor, _ expected: ExpectedArray, _ what: String) throws {
    let a = try t.concreteArray(for: "test")
    #expect(a.dtype.rawValue == expected.dtype, "\(what): dtype")
    #expect(a.shape == expected.shape, "\(what): shape")
    #expect(CRC32.checksum(a.bytes) == expected.crc32, "\(what): element bytes")
    guard let values = expected.values else { return }
    #expect(values.count == a.count, "\(what): count")
    for (i, e) in values.enumerated() where i < a.count {
        let v = a.double(at: i)
        let same = e.value.isNaN ? v.isNaN : v == e.value && v.sign == e.value.sign
        #expect(same, "\(what): element \(i) is \(v), numpy says \(e.value)")
    }
}

func expectSameBits(_ t: Tensor, _ expected: DenseArray, _ what: String) throws {
    let a = try t.concreteArray(for: "test")
    #expect(a.dtype == expected.dtype && a.shape == expected.shape, "\(what): \(a.dtype) \(a.shape)")
    #expect(Array(a.bytes) == Array(expected.bytes), "\(what): element bytes differ")
}

/// An array of `shape` whose bytes are random (any bit pattern, NaN payloads
/// included; bools 0 or 1).
func randomArray(shape: [Int], dtype: DType, seed: UInt64) -> DenseArray {
    var rng = SplitMix64(seed: seed)
    let array = DenseArray(uninitializedShape: shape, dtype: dtype)
    let bytes = UnsafeMutableRawBufferPointer(start: array.buffer.pointer, count: array.byteCount)
    for i in bytes.indices { bytes[i] = UInt8(truncatingIfNeeded: rng.next()) & (dtype == .bool ? 1 : 0xFF) }
    return array
}

func encodeBytes(_ values: [Float]) -> [UInt8] { values.withUnsafeBytes { Array($0) } }

/// DEFLATE bit packing: each (value, count) appends `count` bits of `value`, least significant first.
func packBits(_ fields: [(Int, Int)]) -> [UInt8] {
    var out: [UInt8] = []
    var bit = 0
    for (value, count) in fields {
        for i in 0..<count {
            if bit % 8 == 0 { out.append(0) }
            out[out.count - 1] |= UInt8((value >> i) & 1) << (bit % 8)
            bit += 1
        }
    }
    return out
}

func temporaryDirectory() throws -> String {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("flock-npy-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url.path
}


@Suite struct NPYRowsTests {
    /// Every C-ordered fixture with rows: each row range equals the same rows of the whole array.
    @Test(arguments: NPYFixtures.manifest.npy.filter { !$0.file.hasPrefix("fortran") && !$0.array.shape.isEmpty }.map(\.file))
    func rowsMatchTheWholeArray(file: String) throws {
        let whole = try loadNPY(NPYFixtures.path(file)).concreteArray(for: "test")
        let n = whole.shape[0]
        #expect(try npyInfo(NPYFixtures.path(file)) == (whole.shape, whole.dtype))
        let rowBytes = whole.byteCount / max(n, 1)
        for rows in Set([0..<n, 0..<0, 0..<min(1, n), (n / 2)..<n, (n / 3)..<(2 * n / 3)]) {
            let part = try loadNPY(NPYFixtures.path(file), rows: rows).concreteArray(for: "test")
            #expect(part.shape == [rows.count] + whole.shape.dropFirst())
            #expect(Array(part.bytes) == Array(whole.bytes[(rows.lowerBound * rowBytes)..<(rows.upperBound * rowBytes)]), "\(file) \(rows)")
        }
    }

    @Test func badRowsThrow() throws {
        expectFlockError("rows 0..<4 are outside the 3 rows of shape [3, 3]") { try loadNPY(NPYFixtures.path("f4.npy"), rows: 0..<4) }
        expectFlockError("rows 0..<1 of a scalar") { try loadNPY(NPYFixtures.path("scalar_f4.npy"), rows: 0..<1) }
        expectFlockError("Fortran-ordered array are not contiguous") { try loadNPY(NPYFixtures.path("fortran_f4.npy"), rows: 0..<1) }
        expectFlockError("cannot read /nonexistent.npy") { try npyInfo("/nonexistent.npy") }
        let directory = try temporaryDirectory()
        let bytes = NPYFixtures.bytes("f4_3d.npy")
        for n in [0, 5, 11, 64, bytes.count - 1] {
            try Data(bytes[0..<n]).write(to: URL(fileURLWithPath: directory + "/cut.npy"))
            #expect(throws: FlockError.self) { try loadNPY(directory + "/cut.npy", rows: 0..<1) }
        }
    }
}
