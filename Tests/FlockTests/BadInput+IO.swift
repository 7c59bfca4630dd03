import Foundation
import Flock

/// Writes `bytes` to `name` in the scratch folder and returns its path.
func scratchFile(_ name: String, _ bytes: [UInt8]) -> String {
    try? FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
    let path = "\(scratch)/\(name)"
    FileManager.default.createFile(atPath: path, contents: Data(bytes))
    return path
}

/// Writes `text` to `name` in the scratch folder and returns its path.
func scratchFile(_ name: String, text: String) -> String { scratchFile(name, Array(text.utf8)) }

/// A valid .npy file of float32 [2, 3] (0…5), made by Flock's writer.
func npyBytes() throws -> [UInt8] { try encodeNPY(iota([2, 3])) }

// Files: missing, of the wrong format, damaged — every reader and writer.
extension BadInput {
    static let io: [BadInput] = [
        BadInput("files", "loadNPY of a missing file", "loadNPY: cannot read /tmp/flock-bad-input/missing.npy: open failed: No such file or directory") {
            _ = try loadNPY("\(scratch)/missing.npy")
        },
        BadInput("files", "loadNPY of a CSV file", "not an npy file: bad magic bytes") {
            _ = try loadNPY(scratchFile("table.csv.npy", text: "a,b,c\n1,2,3\n4,5,6\n"))
        },
        BadInput("files", "loadNPY of an empty file", "not an npy file: 0 bytes, shorter than the 10-byte preamble") {
            _ = try loadNPY(scratchFile("empty.npy", []))
        },
        BadInput("files", "decodeNPY of a truncated file", "decodeNPY: truncated data: shape [2, 3] of '<f4' needs 24 bytes, file has 19") { _ = try decodeNPY(Array(try npyBytes().dropLast(5))) },
        BadInput("files", "decodeNPY of an unsupported dtype", "unsupported dtype '<c8'") {
            let header = "{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }"
            let padded = header + String(repeating: " ", count: 117 - header.count) + "\n"
            _ = try decodeNPY([0x93] + Array("NUMPY".utf8) + [1, 0, 118, 0] + Array(padded.utf8) + [UInt8](repeating: 0, count: 8))
        },
        BadInput("files", "decodeNPY of a future format version", "unsupported npy format version 9.0") {
            var b = try npyBytes()
            b[6] = 9
            _ = try decodeNPY(b)
        },
        BadInput("files", "decodeNPY with a malformed header", "malformed npy header") {
            var b = try npyBytes()
            if let i = b.firstIndex(of: UInt8(ascii: "{")) { b[i] = UInt8(ascii: "(") }
            _ = try decodeNPY(b)
        },
        BadInput("files", "loadNPY rows outside the array", "rows 1..<5 are outside the 2 rows of shape [2, 3]") {
            _ = try loadNPY(scratchFile("rows.npy", try npyBytes()), rows: 1..<5)
        },
        BadInput("files", "npyInfo of a missing file", "cannot read /tmp/flock-bad-input/none.npy") { _ = try npyInfo("\(scratch)/none.npy") },
        BadInput("files", "saveNPY into a missing directory", "cannot open /tmp/flock-bad-input/no/such/dir/x.npy for writing") {
            try saveNPY(iota([2]), to: "\(scratch)/no/such/dir/x.npy")
        },
        BadInput("files", "loadNPZ of an .npy file", "bad zip structure") { _ = try loadNPZ(scratchFile("plain.npz", try npyBytes())) },
        BadInput("files", "decodeNPZ of a truncated archive", "bad zip structure") {
            _ = try decodeNPZ(Array(try encodeNPZ(["a": iota([4])]).dropLast(30)))
        },
        BadInput("files", "loadNPZ of a missing file", "cannot read /tmp/flock-bad-input/missing.npz") { _ = try loadNPZ("\(scratch)/missing.npz") },
        BadInput("files", "loadSafetensors of a missing file", "cannot read /tmp/flock-bad-input/missing.safetensors") {
            _ = try loadSafetensors("\(scratch)/missing.safetensors")
        },
        BadInput("files", "decodeSafetensors of a 4-byte file", "not a safetensors file: 4 bytes, shorter than the 8-byte header length") {
            _ = try decodeSafetensors([1, 2, 3, 4])
        },
        BadInput("files", "decodeSafetensors of an .npy file", "header length") { _ = try decodeSafetensors(try npyBytes()) },
        BadInput("files", "safetensors header that is not JSON", "not a safetensors file: the header does not start with '{'") {
            _ = try decodeSafetensors([4, 0, 0, 0, 0, 0, 0, 0] + Array("abcd".utf8))
        },
        BadInput("files", "safetensors tensor whose bytes run past the file", "tensor 'w'") {
            let header = #"{"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}"#
            _ = try decodeSafetensors([UInt8(header.utf8.count), 0, 0, 0, 0, 0, 0, 0] + Array(header.utf8) + [UInt8](repeating: 0, count: 8))
        },
        BadInput("files", "safetensors of an unsupported dtype", "tensor 'w'") {
            let header = #"{"w":{"dtype":"C64","shape":[1],"data_offsets":[0,8]}}"#
            _ = try decodeSafetensors([UInt8(header.utf8.count), 0, 0, 0, 0, 0, 0, 0] + Array(header.utf8) + [UInt8](repeating: 0, count: 8))
        },
        BadInput("files", "safetensors shape that does not match its bytes", "tensor 'w'") {
            let header = #"{"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#
            _ = try decodeSafetensors([UInt8(header.utf8.count), 0, 0, 0, 0, 0, 0, 0] + Array(header.utf8) + [UInt8](repeating: 0, count: 8))
        },
        BadInput("files", "saveSafetensors with a tensor named __metadata__", "'__metadata__' is reserved") {
            try saveSafetensors(["__metadata__": iota([1])], to: "\(scratch)/meta.safetensors")
        },
        BadInput("files", "loadIDX of a missing file", "cannot read /tmp/flock-bad-input/missing.idx") { _ = try loadIDX("\(scratch)/missing.idx") },
        BadInput("files", "decodeIDX of 2 bytes", "not an IDX file: 2 bytes, shorter than the 4-byte magic number") { _ = try decodeIDX([0, 0]) },
        BadInput("files", "decodeIDX with bad magic", "IDX") { _ = try decodeIDX([1, 2, 3, 4, 0, 0, 0, 1]) },
        BadInput("files", "decodeIDX with a truncated header", "truncated IDX file") { _ = try decodeIDX([0, 0, 8, 3, 0, 0, 0, 2]) },
        BadInput("files", "decodeIDX with missing data", "IDX") { _ = try decodeIDX([0, 0, 8, 1, 0, 0, 0, 9, 1, 2]) },
        BadInput("files", "loadCSV of a missing file", "cannot read /tmp/flock-bad-input/missing.csv") { _ = try loadCSV("\(scratch)/missing.csv") },
        BadInput("files", "a CSV row with a missing column", "line 3 has 1 columns, expected 2") {
            _ = try decodeCSV(Array("a,b\n1,2\n3\n".utf8))
        },
        BadInput("files", "a CSV field that is not a number", "'x' ") { _ = try decodeCSV(Array("1,2\n3,x\n".utf8)) },
        BadInput("files", "a CSV with a two-character delimiter", "the delimiter must be one ASCII character") {
            _ = try decodeCSV(Array("1;2\n".utf8), delimiter: "é")
        },
        BadInput("files", "a CSV read as bool", "dtype bool is not supported") { _ = try decodeCSV(Array("1,2\n".utf8), dtype: .bool) },
        BadInput("files", "a gzip-compressed IDX file that is damaged", "corrupt gzip stream") {
            _ = try decodeIDX([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 1, 2, 3, 4, 5, 6, 7, 8])
        },
    ]
}
