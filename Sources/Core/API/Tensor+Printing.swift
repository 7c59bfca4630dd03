#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// Printing in JAX's style (numpy's array2string conventions):
// `Array([11., 20., 29.], dtype=float32)`.

extension Tensor: CustomStringConvertible {
    /// The array as JAX prints it (`Array([...], dtype=float32)`), summarised like numpy above the print threshold.
    public var description: String {
        switch storage {
        case .poisoned(let e): return "Array(<poisoned: \(e.message)>)"
        case .traced(let t): return "Traced<\(t.aval)>"
        case .concrete(let a) where a.isDeleted: return "Array(<deleted: donated to a jitted function>)"
        case .concrete(let a):
            let prefix = "Array("
            var suffix = "dtype=\(a.dtype)"
            if weakType { suffix += ", weak_type=True" }
            if a.count == 0 { return "\(prefix)[], shape=(\(a.shape.map(String.init).joined(separator: ", "))\(a.rank == 1 ? "," : "")), \(suffix))" }
            let body = formatArray(a, indent: prefix.count)
            // JAX's __repr__: when the dtype does not fit after the last line, the
            // separator becomes len("Array(") spaces (JAX's choice, kept for equal output).
            // (It measures the last line plus 2, without "Array(" even on the first line.)
            let lastLine = body.split(separator: "\n", omittingEmptySubsequences: false).last ?? ""
            let separator = lastLine.count + 2 + suffix.count + 2 > 75 ? String(repeating: " ", count: prefix.count) : " "
            return "\(prefix)\(body),\(separator)\(suffix))"
        }
    }
}

/// Shortest round-trip decimal of a finite value: digits and the decimal exponent
/// such that value = 0.d₁d₂… × 10^exponent.
private func shortestDigits(_ v: Double, dtype: DType) -> (digits: [UInt8], exponent: Int) {
    var s = switch dtype {
    case .float16: Float16(v).magnitude.description
    case .float32: Float(v).magnitude.description
    default: v.magnitude.description
    }
    var exp10 = 0
    if let e = s.firstIndex(where: { $0 == "e" || $0 == "E" }) {
        exp10 = Int(s[s.index(after: e)...])!
        s = String(s[..<e])
    }
    let parts = s.split(separator: ".", omittingEmptySubsequences: false)
    let intPart = Array(parts[0].utf8), frac = parts.count > 1 ? Array(parts[1].utf8) : []
    var digits = intPart + frac
    var exponent = intPart.count + exp10
    while let f = digits.first, f == UInt8(ascii: "0"), digits.count > 1 { digits.removeFirst(); exponent -= 1 }
    while let l = digits.last, l == UInt8(ascii: "0"), digits.count > 1 { digits.removeLast() }
    if digits == [UInt8(ascii: "0")] { exponent = 1 }
    return (digits, exponent)
}

/// Rounds decimal digits to keep at most `keep` significant digits (half up on digits).
private func roundDigits(_ d: [UInt8], _ exponent: Int, keep: Int) -> ([UInt8], Int) {
    if keep >= d.count { return (d, exponent) }
    if keep < 0 { return ([UInt8(ascii: "0")], 1) }
    var out = Array(d[..<keep]).map { Int($0) - 48 }
    var e = exponent
    if d[keep] >= UInt8(ascii: "5") {
        var i = out.count - 1
        while i >= 0 {
            out[i] += 1
            if out[i] < 10 { break }
            out[i] = 0
            i -= 1
        }
        if i < 0 { out.insert(1, at: 0); e += 1 }
    }
    while out.count > 1 && out.last == 0 { out.removeLast() }
    if out.isEmpty { return ([UInt8(ascii: "0")], 1) }
    return (out.map { UInt8($0 + 48) }, e)
}

private let precision = 8

/// C's `%g` (six significant digits, trailing zeros dropped).
private func formatG(_ v: Double) -> String {
    var buffer = [CChar](repeating: 0, count: 32)
    _ = withVaList([v]) { vsnprintf(&buffer, buffer.count, "%g", $0) }
    return String(cString: buffer)
}

private func formatElements(_ a: DenseArray) -> [String] {
    let n = a.count
    switch a.dtype {
    case .bool:
        return (0..<n).map { a.pointer(Bool.self)[$0] ? " True" : "False" }
    case .int8, .uint8, .int16, .uint16, .int32, .uint32, .int64, .uint64:
        let strs = (0..<n).map { i in
            switch a.dtype {
            case .int64: String(a.pointer(Int64.self)[i])
            case .uint64: String(a.pointer(UInt64.self)[i])
            default: String(Int64(a.double(at: i)))
            }
        }
        let w = strs.map(\.count).max() ?? 0
        return strs.map { String(repeating: " ", count: w - $0.count) + $0 }
    case .bfloat16:
        // ml_dtypes prints each bfloat16 as C's `%g` of its value, unpadded.
        return (0..<n).map { i in
            let v = a.double(at: i)
            if v.isNaN { return "nan" }
            if v.isInfinite { return v < 0 ? "-inf" : "inf" }
            return formatG(v)
        }
    case .float16, .float32, .float64:
        let values = (0..<n).map { a.double(at: $0) }
        let finite = values.filter { $0.isFinite }
        let nonzero = finite.map(\.magnitude).filter { $0 != 0 }
        let maxV = nonzero.max() ?? 0, minV = nonzero.min() ?? 0
        let useExp = !nonzero.isEmpty && (maxV >= 1e16 || minV < 1e-4 || maxV / minV > 1e3)
            && !finite.allSatisfy({ $0 == $0.rounded() && $0.magnitude < 1e16 })
        var parts: [(sign: String, intPart: String, frac: String, exp: String)] = []
        for v in values {
            if !v.isFinite {
                parts.append((v < 0 ? "-" : "", v.isNaN ? "nan" : "inf", "", ""))
                continue
            }
            let sign = (v < 0 || (v == 0 && v.sign == .minus)) ? "-" : ""
            let (d0, e0) = shortestDigits(v, dtype: a.dtype)
            if useExp {
                let (d, e) = roundDigits(d0, e0, keep: precision + 1)
                let mant = String(decoding: d, as: UTF8.self)
                let ex = v == 0 ? 0 : e - 1
                let exs = (ex < 0 ? "-" : "+") + (Swift.abs(ex) < 10 ? "0" : "") + String(Swift.abs(ex))
                parts.append((sign, String(mant.prefix(1)), String(mant.dropFirst()), "e" + exs))
            } else {
                let (d, e) = roundDigits(d0, e0, keep: e0 + precision)
                let digits = String(decoding: d, as: UTF8.self)
                let intPart: String, frac: String
                if v == 0 || d == [UInt8(ascii: "0")] {
                    intPart = "0"; frac = ""
                } else if e <= 0 {
                    intPart = "0"; frac = String(repeating: "0", count: -e) + digits
                } else if e >= d.count {
                    intPart = digits + String(repeating: "0", count: e - d.count); frac = ""
                } else {
                    intPart = String(digits.prefix(e)); frac = String(digits.dropFirst(e))
                }
                parts.append((sign, intPart, frac, ""))
            }
        }
        // numpy's FloatingFormat: widths come from the finite values; nan/inf are
        // right-aligned in the full width, widened on the left only if they must be.
        let finiteParts = parts.filter { $0.intPart != "nan" && $0.intPart != "inf" }
        let fracWidth = finiteParts.map(\.frac.count).max() ?? 0
        // In exponent mode numpy's pad_right also counts the exponent ("e+05": 2 + digits).
        let padRight = finiteParts.isEmpty ? 0 : (useExp ? (finiteParts.map(\.exp.count).max() ?? 0) + fracWidth : fracWidth)
        var padLeft = finiteParts.map { $0.sign.count + $0.intPart.count }.max() ?? 0
        if finiteParts.count < parts.count {
            let negativeInf = parts.contains { $0.intPart == "inf" && $0.sign == "-" }
            padLeft = Swift.max(padLeft, 3 - (padRight + 1), 3 + (negativeInf ? 1 : 0) - (padRight + 1))
        }
        return parts.map { p in
            let left = p.sign + p.intPart
            if p.intPart == "nan" || p.intPart == "inf" {
                return String(repeating: " ", count: Swift.max(0, padLeft + padRight + 1 - left.count)) + left
            }
            let pl = String(repeating: " ", count: padLeft - left.count) + left
            if useExp {
                return pl + "." + p.frac + String(repeating: "0", count: fracWidth - p.frac.count) + p.exp
            }
            return pl + "." + p.frac + String(repeating: " ", count: fracWidth - p.frac.count)
        }
    }
}

/// Lays out elements as nested brackets, wrapping rows as numpy's `_formatArray`
/// does for `np.array2string(x, prefix="Array(", suffix=",", separator=", ")`:
/// a line width of 75 less the suffix, one column less per nesting level for
/// its closing bracket, and a row wraps before an element that would cross it.
/// Arrays of more than `Configuration.printThreshold` elements are summarised
/// as numpy does: each axis longer than twice `printEdgeItems` shows its edge
/// items with `...` between, and the number format comes from the shown elements.
func formatArray(_ a: DenseArray, indent: Int) -> String {
    let edge = Configuration.printEdgeItems
    let summarise = a.count > Configuration.printThreshold
    let shown: [[Int]] = a.shape.map { n in
        summarise && n > 2 * edge ? Array(0..<edge) + Array(n - edge..<n) : Array(0..<n)
    }
    let cut = zip(shown, a.shape).map { $0.count < $1 }
    let compact = cut.contains(true) ? gatherShown(a, shown) : a
    let elems = formatElements(compact)
    if a.rank == 0 { return elems[0].trimmingSpaces() }
    let strides = rowMajorStrides(compact.shape)
    func render(_ dim: Int, _ offset: Int, hangingIndent: String, width: Int) -> String {
        let n = compact.shape[dim]
        let summaryAt = cut[dim] ? edge : -1
        var s = ""
        if dim == a.rank - 1 {
            let elementWidth = width - 1  // room for the "," or "]" after an element
            var line = hangingIndent
            var words = (0..<n).map { elems[offset + $0] }
            if summaryAt >= 0 { words.insert("...", at: summaryAt) }
            for (i, word) in words.enumerated() {
                if line.count + word.count > elementWidth && line.count > hangingIndent.count {
                    s += line.trimmingTrailingSpaces() + "\n"
                    line = hangingIndent
                }
                line += word + (i + 1 < words.count ? ", " : "")
            }
            s += line
        } else {
            let separator = "," + String(repeating: "\n", count: a.rank - dim - 1)
            var rows = (0..<n).map { i in
                hangingIndent + render(dim + 1, offset + i * strides[dim], hangingIndent: hangingIndent + " ", width: width - 1)
            }
            if summaryAt >= 0 { rows.insert(hangingIndent + "...", at: summaryAt) }
            s = rows.joined(separator: separator)
        }
        return "[" + s.dropFirst(hangingIndent.count) + "]"
    }
    return render(0, 0, hangingIndent: String(repeating: " ", count: indent + 1), width: 75 - 1)
}

/// The elements at the shown indices of each axis, as a smaller array.
private func gatherShown(_ a: DenseArray, _ shown: [[Int]]) -> DenseArray {
    let out = DenseArray(uninitializedShape: shown.map(\.count), dtype: a.dtype)
    let strides = rowMajorStrides(a.shape), size = a.dtype.byteSize
    var index = [Int](repeating: 0, count: a.rank)
    for k in 0..<out.count {
        var source = 0
        for d in 0..<a.rank { source += shown[d][index[d]] * strides[d] }
        (out.buffer.pointer + k * size).copyMemory(from: a.buffer.pointer + source * size, byteCount: size)
        var d = a.rank - 1
        while d >= 0 {
            index[d] += 1
            if index[d] < shown[d].count { break }
            index[d] = 0
            d -= 1
        }
    }
    return out
}

extension String {
    fileprivate func trimmingTrailingSpaces() -> String {
        var s = Substring(self)
        while s.last == " " { s.removeLast() }
        return String(s)
    }

    fileprivate func trimmingSpaces() -> String {
        var s = Substring(self)
        while s.first == " " { s.removeFirst() }
        while s.last == " " { s.removeLast() }
        return String(s)
    }
}
