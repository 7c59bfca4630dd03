import FlockCore

// Numeric CSV: one row per line, fields split at a one-byte delimiter,
// optionally a header row of column names. Values parse as numpy's
// `np.loadtxt` reads them: decimal or exponent notation, `nan`, `inf`,
// surrounding spaces ignored; each is read as a Double and then cast to the
// requested dtype (as numpy does for float32). Blank lines are skipped. A value
// that does not parse names its line and column, so a bad row in a large file
// can be found.

/// A numeric table read from a CSV file.
public struct CSVTable: Sendable {
    /// The header row's names, or `nil` when the file has no header.
    public var columnNames: [String]?
    /// The values as a `[rows, columns]` tensor.
    public var values: Tensor

    /// The column called `name`, as a `[rows]` tensor, or `nil` if there is no such column.
    public func column(_ name: String) -> Tensor? {
        guard let j = columnNames?.firstIndex(of: name) else { return nil }
        return values[0..., j]
    }
}

/// Parses numeric CSV text.
///
/// ```swift
/// let table = try decodeCSV(Array("x,y\n1,2\n3,4.5\n".utf8))
/// print(table.columnNames!)   // ["x", "y"]
/// print(table.values.shape)   // [2, 2]
/// ```
///
/// - Parameters:
///   - bytes: The file contents (UTF-8).
///   - delimiter: The field separator (`","`, `";"`, `"\t"`, …): one ASCII character.
///   - header: Whether the first row holds column names; `nil` decides from
///     the row (a header when any field is not a number).
///   - dtype: `.float32` (default), `.float64` or `.int32`.
/// - Throws: ``FlockError`` naming the line and column of a value that is not
///   a number, and for rows of different lengths.
public func decodeCSV(
    _ bytes: [UInt8], delimiter: Character = ",", header: Bool? = nil, dtype: DType = .float32
) throws -> CSVTable {
    try decodeCSV(bytes, delimiter: delimiter, header: header, dtype: dtype, context: "decodeCSV")
}

/// Reads a numeric CSV file. See ``decodeCSV(_:delimiter:header:dtype:)``.
///
/// ```swift
/// let table = try loadCSV("iris.csv", header: true)
/// let x = table.values[0..., 0..<4]
/// ```
///
/// - Throws: ``FlockError`` when the file cannot be read or holds a value that is not a number.
public func loadCSV(
    _ path: String, delimiter: Character = ",", header: Bool? = nil, dtype: DType = .float32
) throws -> CSVTable {
    try decodeCSV(readFile(path, operation: "loadCSV"), delimiter: delimiter, header: header, dtype: dtype, context: "loadCSV: \(path)")
}

func decodeCSV(_ bytes: [UInt8], delimiter: Character, header: Bool?, dtype: DType, context: String) throws -> CSVTable {
    guard let separator = delimiter.asciiValue, separator != 0x0A, separator != 0x0D else {
        throw FlockError("\(context): the delimiter must be one ASCII character other than a line break, got '\(delimiter)'")
    }
    guard [.float32, .float64, .int32].contains(dtype) else {
        throw FlockError("\(context): dtype \(dtype) is not supported (float32, float64 or int32)")
    }
    var columnNames: [String]?
    var columns = -1
    var doubles: [Double] = []
    var ints: [Int32] = []
    var rows = 0
    var lineNumber = 0
    var start = 0
    while start < bytes.count {
        var end = start
        while end < bytes.count, bytes[end] != 0x0A { end += 1 }
        lineNumber += 1
        var line = bytes[start..<end]
        start = end + 1
        if line.last == 0x0D { line = line.dropLast() }  // CRLF
        if lineNumber == 1, line.starts(with: [0xEF, 0xBB, 0xBF]) { line = line.dropFirst(3) }  // UTF-8 BOM
        if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { continue }
        let fields = line.split(separator: separator, omittingEmptySubsequences: false).map {
            String(decoding: $0, as: UTF8.self).trimmingSpaces
        }
        if columns < 0 {
            columns = fields.count
            let isHeader = header ?? fields.contains { Double(csvNumber: $0) == nil }
            if isHeader {
                columnNames = fields.map(\.unquoted)
                continue
            }
        }
        guard fields.count == columns else {
            throw FlockError("\(context): line \(lineNumber) has \(fields.count) columns, expected \(columns)")
        }
        for (j, field) in fields.enumerated() {
            func bad(_ what: String) -> FlockError {
                let name = columnNames.map { " ('\($0[j])')" } ?? ""
                return FlockError("\(context): line \(lineNumber), column \(j + 1)\(name): '\(field)' \(what)")
            }
            if dtype == .int32 {
                guard let v = Int32(field) ?? Int32(field.hasPrefix("+") ? String(field.dropFirst()) : "") else {
                    throw bad("is not an int32")
                }
                ints.append(v)
            } else {
                guard let v = Double(csvNumber: field) else { throw bad("is not a number") }
                doubles.append(v)
            }
        }
        rows += 1
    }
    let shape = [rows, max(columns, 0)]
    let values: Tensor
    switch dtype {
    case .int32: values = Tensor(concrete: DenseArray(ints, shape: shape))
    case .float64: values = Tensor(concrete: DenseArray(doubles, shape: shape))
    default: values = Tensor(concrete: DenseArray(doubles.map { Float($0) }, shape: shape))
    }
    return CSVTable(columnNames: columnNames, values: values)
}

extension Double {
    /// A CSV field as numpy reads a float: Swift's parser plus `nan`/`inf`
    /// spelled in any case, `+inf`, `infinity`.
    init?(csvNumber text: String) {
        if let v = Double(text) {
            self = v
            return
        }
        var body = Substring(text.lowercased())
        var sign = 1.0
        if let first = body.first, first == "+" || first == "-" {
            sign = first == "-" ? -1 : 1
            body = body.dropFirst()
        }
        switch body {
        case "nan": self = .nan
        case "inf", "infinity": self = sign * .infinity
        default: return nil
        }
    }
}

extension String {
    fileprivate var trimmingSpaces: String {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { $0 != " " && $0 != "\t" }) else { return "" }
        let last = scalars.lastIndex { $0 != " " && $0 != "\t" }!
        return String(scalars[first...last])
    }

    fileprivate var unquoted: String {
        count >= 2 && hasPrefix("\"") && hasSuffix("\"") ? String(dropFirst().dropLast()) : self
    }
}
