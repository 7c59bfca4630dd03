import FlockCore

// A small JSON reader and writer for the headers of binary formats
// (safetensors). Headers come from untrusted files, so the reader bounds its
// nesting, rejects duplicate object keys (which would make a header mean two
// things) and reports the byte offset of every problem. Numbers are integers
// only: no header Flock reads holds another kind, and an integer is never
// silently rounded through a Double. The writer escapes strings as serde_json
// does, so headers come out byte for byte as the Rust `safetensors` writes them.

/// A parsed JSON value; object members keep their order in the text.
package indirect enum JSONValue: Equatable, CustomStringConvertible {
    case object([(key: String, value: JSONValue)])
    case array([JSONValue])
    case string(String)
    case integer(Int)
    case bool(Bool)
    case null

    package static func == (a: JSONValue, b: JSONValue) -> Bool {
        switch (a, b) {
        case (.object(let x), .object(let y)):
            x.count == y.count && zip(x, y).allSatisfy { $0.key == $1.key && $0.value == $1.value }
        case (.array(let x), .array(let y)): x == y
        case (.string(let x), .string(let y)): x == y
        case (.integer(let x), .integer(let y)): x == y
        case (.bool(let x), .bool(let y)): x == y
        case (.null, .null): true
        default: false
        }
    }

    /// Compact JSON text (no spaces), as serde_json's `to_string` writes it.
    package var description: String {
        switch self {
        case .object(let members):
            "{" + members.map { jsonQuoted($0.key) + ":" + $0.value.description }.joined(separator: ",") + "}"
        case .array(let items): "[" + items.map(\.description).joined(separator: ",") + "]"
        case .string(let s): jsonQuoted(s)
        case .integer(let n): String(n)
        case .bool(let b): b ? "true" : "false"
        case .null: "null"
        }
    }
}

/// `s` as a JSON string literal, escaped as serde_json does: `"`, `\`, and the
/// control characters below U+0020 (short forms where JSON has them); every
/// other character, non-ASCII included, is written as its UTF-8 bytes.
package func jsonQuoted(_ s: String) -> String {
    var out = "\""
    for scalar in s.unicodeScalars {
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        case "\u{08}": out += "\\b"
        case "\u{0C}": out += "\\f"
        case let c where c.value < 0x20:
            let hex = String(c.value, radix: 16)
            out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
        default: out.unicodeScalars.append(scalar)
        }
    }
    return out + "\""
}

/// A recursive-descent JSON parser over UTF-8 bytes.
package struct JSONParser {
    private let text: UnsafeRawBufferPointer
    private let context: String
    private var position = 0
    /// Nesting limit, so a header of many `[` cannot exhaust the stack.
    package static let maxDepth = 32

    /// Parses `text` as one JSON value surrounded by whitespace only; errors start with `context`.
    package static func parse(_ text: UnsafeRawBufferPointer, context: String) throws -> JSONValue {
        var parser = JSONParser(text: text, context: context)
        let value = try parser.parseValue(depth: 0)
        parser.skipWhitespace()
        guard parser.position == text.count else { throw parser.error("unexpected text after the JSON value") }
        return value
    }

    private init(text: UnsafeRawBufferPointer, context: String) {
        self.text = text
        self.context = context
    }

    private func error(_ what: String) -> FlockError {
        FlockError("\(context): malformed JSON header: \(what) at byte \(position)")
    }

    private var next: UInt8? { position < text.count ? text[position] : nil }

    private mutating func skipWhitespace() {
        while let c = next, c == 0x20 || c == 0x09 || c == 0x0A || c == 0x0D { position += 1 }
    }

    private mutating func expect(_ c: UInt8, _ what: String) throws {
        skipWhitespace()
        guard next == c else { throw error("expected \(what)") }
        position += 1
    }

    private mutating func parseValue(depth: Int) throws -> JSONValue {
        guard depth < Self.maxDepth else { throw error("nesting deeper than \(Self.maxDepth)") }
        skipWhitespace()
        guard let c = next else { throw error("unexpected end") }
        switch c {
        case UInt8(ascii: "{"):
            position += 1
            var members: [(key: String, value: JSONValue)] = []
            var seen = Set<String>()
            skipWhitespace()
            if next == UInt8(ascii: "}") {
                position += 1
                return .object(members)
            }
            while true {
                skipWhitespace()
                guard next == UInt8(ascii: "\"") else { throw error("expected a string key") }
                let key = try parseString()
                guard seen.insert(key).inserted else { throw error("duplicate key \(jsonQuoted(key))") }
                try expect(UInt8(ascii: ":"), "':' after a key")
                members.append((key, try parseValue(depth: depth + 1)))
                skipWhitespace()
                if next == UInt8(ascii: ",") { position += 1; continue }
                try expect(UInt8(ascii: "}"), "',' or '}' in an object")
                return .object(members)
            }
        case UInt8(ascii: "["):
            position += 1
            var items: [JSONValue] = []
            skipWhitespace()
            if next == UInt8(ascii: "]") {
                position += 1
                return .array(items)
            }
            while true {
                items.append(try parseValue(depth: depth + 1))
                skipWhitespace()
                if next == UInt8(ascii: ",") { position += 1; continue }
                try expect(UInt8(ascii: "]"), "',' or ']' in an array")
                return .array(items)
            }
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .integer(try parseInteger())
        default:
            for (word, value) in [("true", JSONValue.bool(true)), ("false", .bool(false)), ("null", .null)]
            where text[position...].starts(with: word.utf8) {
                position += word.utf8.count
                return value
            }
            throw error("unexpected character 0x\(String(c, radix: 16))")
        }
    }

    private mutating func parseInteger() throws -> Int {
        let (value, digits, overflow) = scanInteger(text, &position)
        guard !overflow else { throw error("integer too large") }
        guard digits > 0 else { throw error("expected digits") }
        if let c = next, c == UInt8(ascii: ".") || c == UInt8(ascii: "e") || c == UInt8(ascii: "E") {
            throw error("expected an integer, found a fraction or exponent")
        }
        return value
    }

    private mutating func parseString() throws -> String {
        position += 1  // opening quote
        var bytes: [UInt8] = []
        while true {
            guard let c = next else { throw error("unterminated string") }
            position += 1
            switch c {
            case UInt8(ascii: "\""):
                guard let s = String(validating: bytes, as: UTF8.self) else { throw error("string is not valid UTF-8") }
                return s
            case UInt8(ascii: "\\"):
                guard let e = next else { throw error("unterminated escape") }
                position += 1
                switch e {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): bytes.append(e)
                case UInt8(ascii: "b"): bytes.append(0x08)
                case UInt8(ascii: "f"): bytes.append(0x0C)
                case UInt8(ascii: "n"): bytes.append(0x0A)
                case UInt8(ascii: "r"): bytes.append(0x0D)
                case UInt8(ascii: "t"): bytes.append(0x09)
                case UInt8(ascii: "u"):
                    var scalar = try parseHex4()
                    if (0xD800..<0xDC00).contains(scalar) {
                        // A UTF-16 surrogate pair spells one scalar above U+FFFF.
                        guard next == UInt8(ascii: "\\"), position + 1 < text.count, text[position + 1] == UInt8(ascii: "u")
                        else { throw error("unpaired surrogate") }
                        position += 2
                        let low = try parseHex4()
                        guard (0xDC00..<0xE000).contains(low) else { throw error("unpaired surrogate") }
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    }
                    guard let u = Unicode.Scalar(scalar) else { throw error("invalid escape \\u\(String(scalar, radix: 16))") }
                    bytes += Array(String(Character(u)).utf8)
                default: throw error("invalid escape '\\\(Character(Unicode.Scalar(e)))'")
                }
            case 0..<0x20: throw error("control character in a string")
            default: bytes.append(c)
            }
        }
    }

    private mutating func parseHex4() throws -> UInt32 {
        var value: UInt32 = 0
        for _ in 0..<4 {
            guard let c = next, let digit = hexDigitValue(c) else { throw error("expected 4 hex digits after \\u") }
            value = value << 4 | digit
            position += 1
        }
        return value
    }
}

private func hexDigitValue(_ c: UInt8) -> UInt32? {
    switch c {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): UInt32(c - UInt8(ascii: "0"))
    case UInt8(ascii: "a")...UInt8(ascii: "f"): UInt32(c - UInt8(ascii: "a") + 10)
    case UInt8(ascii: "A")...UInt8(ascii: "F"): UInt32(c - UInt8(ascii: "A") + 10)
    default: nil
    }
}
