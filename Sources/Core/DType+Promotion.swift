#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

// JAX's type promotion lattice (jax.numpy.promote_types), complex excluded:
//
//   bool → i* → uint8 → uint16 → uint32 → uint64 → f*
//          i* → int8 → int16 → int32 → int64 → f*
//          uint8 → int16, uint16 → int32, uint32 → int64
//   f* → float16 → float32 → float64,   f* → bfloat16 → float32
//
// i* and f* are the weak (literal) integer and float types. Without x64
// JAX replaces uint32 → int64 by uint32 → int32, so no promotion of 32-bit
// inputs forms a 64-bit type. The result of two types is their least upper
// bound; the tables below are computed once from the edges.

/// A node of the promotion lattice: a dtype, or a weak kind.
private enum LatticeNode {
    static let weakInteger = DType.allCases.count
    static let weakFloat = weakInteger + 1
    static let count = weakFloat + 1

    static func index(_ d: DType) -> Int {
        switch d {
        case .bool: 0
        case .int8: 1
        case .uint8: 2
        case .int16: 3
        case .uint16: 4
        case .int32: 5
        case .uint32: 6
        case .int64: 7
        case .uint64: 8
        case .float16: 9
        case .bfloat16: 10
        case .float32: 11
        case .float64: 12
        }
    }

    static func dtype(_ i: Int) -> DType? {
        i < DType.allCases.count ? DType.allCases.first { index($0) == i } : nil
    }

    /// The least upper bound of every pair of nodes, on the x32 or x64 lattice.
    static func leastUpperBounds(x64: Bool) -> [[Int]] {
        func n(_ d: DType) -> Int { index(d) }
        var up: [[Int]] = Array(repeating: [], count: count)
        up[n(.bool)] = [weakInteger]
        up[weakInteger] = [n(.uint8), n(.int8)]
        up[n(.uint8)] = [n(.int16), n(.uint16)]
        up[n(.uint16)] = [n(.int32), n(.uint32)]
        up[n(.uint32)] = [x64 ? n(.int64) : n(.int32), n(.uint64)]
        up[n(.uint64)] = [weakFloat]
        up[n(.int8)] = [n(.int16)]
        up[n(.int16)] = [n(.int32)]
        up[n(.int32)] = [n(.int64)]
        up[n(.int64)] = [weakFloat]
        up[weakFloat] = [n(.bfloat16), n(.float16)]
        up[n(.bfloat16)] = [n(.float32)]
        up[n(.float16)] = [n(.float32)]
        up[n(.float32)] = [n(.float64)]
        // Upper sets as bit masks, closed under the edges.
        var bounds = (0..<count).map { 1 << $0 }
        var changed = true
        while changed {
            changed = false
            for a in 0..<count {
                var m = bounds[a]
                for b in 0..<count where m & (1 << b) != 0 { for c in up[b] { m |= 1 << c } }
                if m != bounds[a] { bounds[a] = m; changed = true }
            }
        }
        return (0..<count).map { a in
            (0..<count).map { b in
                let common = bounds[a] & bounds[b]
                return (0..<count).first { c in common & (1 << c) != 0 && common & ~bounds[c] == 0 }!
            }
        }
    }

    static let x32 = leastUpperBounds(x64: false)
    static let x64 = leastUpperBounds(x64: true)
}

/// `jax.numpy.promote_types`: the dtype two strongly typed operands promote
/// to, on the lattice of the current x64 mode (``Configuration/enableX64``).
///
/// Where the lattice's answer is a weak kind (a 64-bit integer meeting an
/// unsigned one of its width), the result is that kind's 64-bit type, as in
/// JAX (`promoteTypes(.uint64, .int64)` is `float64`). No canonicalisation.
///
/// ```swift
/// promoteTypes(.uint8, .int8)       // int16
/// promoteTypes(.bfloat16, .float16) // float32
/// ```
public func promoteTypes(_ a: DType, _ b: DType) -> DType {
    let table = Configuration.enableX64 ? LatticeNode.x64 : LatticeNode.x32
    let r = table[LatticeNode.index(a)][LatticeNode.index(b)]
    if let d = LatticeNode.dtype(r) { return d }
    return r == LatticeNode.weakFloat ? .float64 : .int64
}

/// JAX's type promotion for two operands, each possibly weakly typed
/// (`jnp.result_type`): the dtype an elementwise operation computes in and
/// whether its result stays weakly typed.
///
/// A weak operand (a Swift literal) counts as its kind only (`i*` or `f*`),
/// so `int8 + 1` stays int8 and `float16 * 0.5` stays float16; a weak float
/// meeting integers gives the default float, weakly typed. Results are then
/// canonicalised: without x64 a 64-bit integer result becomes 32-bit, and the
/// default float is float32 (float64 with x64).
public func promoteTypes(
    _ a: DType, weak aWeak: Bool, _ b: DType, weak bWeak: Bool
) -> (dtype: DType, weak: Bool) {
    if a == b {
        if aWeak && bWeak && a != .bool { return (a.weakDefault, true) }
        return (a, false)
    }
    let x64 = Configuration.enableX64
    let table = x64 ? LatticeNode.x64 : LatticeNode.x32
    func node(_ d: DType, _ weak: Bool) -> Int {
        guard weak, !(aWeak && bWeak), d != .bool else { return LatticeNode.index(d) }
        return d.isFloatingPoint ? LatticeNode.weakFloat : LatticeNode.weakInteger
    }
    let r = table[node(a, aWeak)][node(b, bWeak)]
    let dtype: DType
    var weak = aWeak && bWeak
    switch r {
    case LatticeNode.weakFloat: (dtype, weak) = (x64 ? .float64 : .float32, true)
    case LatticeNode.weakInteger: (dtype, weak) = (x64 ? .int64 : .int32, true)
    default: dtype = LatticeNode.dtype(r)!
    }
    if weak && dtype != .bool { return (dtype.weakDefault, true) }
    return (dtype.canonical, false)
}

extension DType {
    /// The dtype of a weakly typed result of this dtype's kind (JAX's
    /// `result_type`): weak values are always of their kind's default width
    /// (int32, uint32, float32; 64-bit with x64). A weak float64 stays float64,
    /// as float64 is always real in Flock.
    var weakDefault: DType {
        let x64 = Configuration.enableX64
        switch self {
        case .int8, .int16, .int32, .int64: return x64 ? .int64 : .int32
        case .uint8, .uint16, .uint32, .uint64: return x64 ? .uint64 : .uint32
        case .float16, .bfloat16, .float32: return x64 ? .float64 : .float32
        case .float64, .bool: return self
        }
    }

    /// The dtype arrays of this dtype get in the current x64 mode: without x64
    /// `int64` becomes `int32` and `uint64` becomes `uint32` (JAX's
    /// `canonicalize_dtype`; Flock keeps `float64`, see ``DType``).
    public var canonical: DType {
        switch self {
        case .int64: Configuration.enableX64 ? .int64 : .int32
        case .uint64: Configuration.enableX64 ? .uint64 : .uint32
        default: self
        }
    }

    /// The dtype an explicit request for `self` gives (`zeros(dtype:)`,
    /// `converted(to:)`): ``canonical``, with JAX's warning when that changes it.
    /// - Parameter operation: The function asked, named in the warning.
    package func canonicalRequest(in operation: String) -> DType {
        let c = canonical
        if c != self { warnTruncatedDType(self, to: c, in: operation) }
        return c
    }
}

/// Prints JAX's warning for an explicitly requested 64-bit dtype that x64 mode
/// does not allow, once per (dtype, operation), to standard error.
func warnTruncatedDType(_ dtype: DType, to canonical: DType, in operation: String) {
    let message = "Explicitly requested dtype \(dtype) requested in \(operation) is not available, "
        + "and will be truncated to dtype \(canonical). To enable more dtypes, set the "
        + "jax_enable_x64 configuration option or the JAX_ENABLE_X64 shell environment variable. "
        + "See https://github.com/jax-ml/jax#current-gotchas for more."
    let first = truncationWarnings.withLock { $0.insert(message).inserted }
    if first { printWarning("UserWarning: " + message) }
    lastDTypeWarning.withLock { $0 = message }
}

/// Writes one warning line to standard error (as Python's `warnings` does).
func printWarning(_ message: String) {
    let line = Array("\(message)\n".utf8)
    _ = line.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
}

private let truncationWarnings = Mutex(Set<String>())
let lastDTypeWarning = Mutex<String?>(nil)

/// The last dtype warning printed or suppressed as a repeat (for tests).
package var lastDTypeWarningText: String? { lastDTypeWarning.withLock { $0 } }
