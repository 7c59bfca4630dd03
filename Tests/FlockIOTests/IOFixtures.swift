import Foundation

// The fixtures of tools/make_io_fixtures.py: files written by the Python
// `safetensors` package and numpy, and manifest.json with numpy's account of
// what each holds (or, for malformed files, the message Flock must give).

enum IOFixtures {
    struct Manifest: Decodable, Sendable {
        var safetensors: [SafetensorsEntry]
        var badSafetensors: [BadEntry]
        var idx: [IDXEntry]
        var csv: [CSVEntry]
        var badCsv: [BadCSVEntry]
    }
    struct SafetensorsEntry: Decodable, Sendable {
        var file: String
        var metadata: [String: String]?
        /// Whether the file's bytes are reproducible (Python orders several metadata keys at random).
        var pythonBytes: Bool
        var tensors: [String: ExpectedArray]
    }
    struct BadEntry: Decodable, Sendable {
        var file: String
        var message: String
        var pythonRejects: Bool
    }
    struct IDXEntry: Decodable, Sendable {
        var file: String
        var array: ExpectedArray
    }
    struct CSVEntry: Decodable, Sendable {
        var file: String
        var delimiter: String
        var header: Bool?
        var dtype: String
        var columnNames: [String]?
        var array: ExpectedArray
    }
    struct BadCSVEntry: Decodable, Sendable {
        var file: String
        var delimiter: String
        var header: Bool?
        var dtype: String
        var message: String
    }

    static let folder = FixtureFolder("io")
    static let manifest: Manifest = folder.manifest()
    static func path(_ file: String) -> String { folder.path(file) }
    static func bytes(_ file: String) -> [UInt8] { folder.bytes(file) }
}
