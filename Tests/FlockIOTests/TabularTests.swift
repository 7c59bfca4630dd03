import Foundation
import FlockTestSupport
import Testing

import FlockCore
@testable import FlockIO

// Oracles: IDX files built by tools/make_io_fixtures.py from numpy arrays
// (plain and gzip-compressed by Python's gzip/zlib), and CSV files with the
// values np.loadtxt reads from them.

@Suite struct IDXTests {
    @Test(arguments: IOFixtures.manifest.idx.map(\.file))
    func loadMatchesNumpy(file: String) throws {
        let entry = IOFixtures.manifest.idx.first { $0.file == file }!
        try expectMatches(loadIDX(IOFixtures.path(file)), entry.array, file)
    }

    @Test(arguments: [
        ([1, 0, 8, 1, 0, 0, 0, 0] as [UInt8], "expected two zero bytes"),
        ([0, 0, 0x0A, 1, 0, 0, 0, 0], "unknown IDX type code 0xa"),
        ([0, 0, 8, 2, 0, 0, 0, 1], "2 dimensions need 12 header bytes"),
        ([0, 0, 8, 1, 0, 0, 0, 3, 1, 2], "need 3 data bytes, file has 2"),
        ([0, 0, 0x0C, 1, 0, 0, 0, 1, 1, 2, 3, 4, 5], "need 4 data bytes, file has 5"),
        ([0, 0, 8, 3, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF], "have too many elements"),
        ([0, 0], "shorter than the 4-byte magic number"),
        ([0x1F, 0x8B, 8, 0], "corrupt gzip stream"),
    ] as [([UInt8], String)])
    func malformedThrows(bytes: [UInt8], message: String) {
        expectFlockError(message) { try decodeIDX(bytes) }
    }

    @Test func corruptGzipThrows() {
        var bytes = IOFixtures.bytes("u8.idx.gz")
        bytes[bytes.count - 6] ^= 1  // CRC-32 in the trailer
        expectFlockError("CRC-32 mismatch") { try decodeIDX(bytes) }
        var size = IOFixtures.bytes("u8.idx.gz")
        size[size.count - 1] = 0x7F  // a claimed size no DEFLATE stream of this length can reach
        expectFlockError("is impossible for") { try decodeIDX(size) }
        let gz = IOFixtures.bytes("labels_named.idx.gz")
        for n in 0..<gz.count { expectValueOrFlockError { try decodeIDX(Array(gz[0..<n])) } }
    }
}

@Suite struct CSVTests {
    @Test(arguments: IOFixtures.manifest.csv.map(\.file))
    func loadMatchesNumpy(file: String) throws {
        let entry = IOFixtures.manifest.csv.first { $0.file == file }!
        let table = try loadCSV(
            IOFixtures.path(file), delimiter: Character(entry.delimiter), header: entry.header,
            dtype: DType(rawValue: entry.dtype)!)
        #expect(table.columnNames == entry.columnNames)
        try expectMatches(table.values, entry.array, file)
    }

    @Test(arguments: IOFixtures.manifest.badCsv.map(\.file))
    func badValueNamesLineAndColumn(file: String) {
        let entry = IOFixtures.manifest.badCsv.first { $0.file == file }!
        expectFlockError(entry.message) {
            try loadCSV(IOFixtures.path(file), delimiter: Character(entry.delimiter), header: entry.header,
                        dtype: DType(rawValue: entry.dtype)!)
        }
    }

    @Test func columnByName() throws {
        let table = try decodeCSV(Array("a,b\n1,2\n3,4\n".utf8))
        #expect(try table.column("b")!.concreteArray(for: "test").toArray(Float.self) == [2, 4])
        #expect(table.column("c") == nil)
    }

    @Test func badOptionsThrow() {
        expectFlockError("the delimiter must be one ASCII character") { try decodeCSV([], delimiter: "\n") }
        expectFlockError("dtype bool is not supported") { try decodeCSV([], dtype: .bool) }
        expectFlockError("cannot read /nonexistent/x.csv") { try loadCSV("/nonexistent/x.csv") }
    }
}
