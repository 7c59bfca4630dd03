/// A number in a JSON fixture written by the tools/ scripts: a plain number,
/// or one of the strings "nan", "inf", "-inf" (JSON has no literal for them).
public enum FixtureNumber: Decodable, Sendable {
    case number(Double)
    case special(String)

    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let d = try? c.decode(Double.self) { self = .number(d) } else { self = .special(try c.decode(String.self)) }
    }

    /// The value, with the special strings read as NaN and ±infinity.
    public var double: Double {
        switch self {
        case .number(let d): d
        case .special(let s): FixtureNumber.special(named: s)
        }
    }

    /// NaN for "nan", −∞ for a string starting with "-", +∞ otherwise.
    public static func special(named s: String) -> Double {
        s == "nan" ? .nan : (s.hasPrefix("-") ? -.infinity : .infinity)
    }
}
