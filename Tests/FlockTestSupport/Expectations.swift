// Value expectations shared by the test targets.

import Testing
import FlockCore

/// Expects `actual` to match `expected` elementwise within tolerances, with equal shapes.
public func expectClose(_ actual: Tensor, _ expected: Tensor, rtol: Double = 1e-5, atol: Double = 1e-6,
                 _ what: String = "", sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(actual.shape == expected.shape, "\(what): shape \(actual.shape) vs expected \(expected.shape)", sourceLocation: sourceLocation)
    let a = actual.toArray(Double.self), e = expected.toArray(Double.self)
    guard a.count == e.count else { return }
    for (i, (x, y)) in zip(a, e).enumerated() {
        let ok = (x.isNaN && y.isNaN) || x == y || Swift.abs(x - y) <= atol + rtol * Swift.abs(y)
        #expect(ok, "\(what): element \(i) is \(x), expected \(y)", sourceLocation: sourceLocation)
        if !ok { return }
    }
}

/// Expects the same shape, dtype, weak type and values (NaNs equal, signed zeros distinct).
public func expectIdentical(_ a: Tensor, _ b: Tensor, _ what: String, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(a.aval == b.aval, "\(what): \(a.aval) vs \(b.aval)", sourceLocation: sourceLocation)
    guard a.aval == b.aval else { return }
    let x = a.toArray(Double.self), y = b.toArray(Double.self)
    for (k, (p, q)) in zip(x, y).enumerated() where !(p == q && p.sign == q.sign) && !(p.isNaN && q.isNaN) {
        Issue.record("\(what): element \(k) is \(p), eager gives \(q)", sourceLocation: sourceLocation)
        return
    }
}

/// Expects `actual` to have `shape` and match the flat `expected` values within tolerances.
public func expectClose(_ actual: Tensor, shape: [Int], _ expected: [Double], rtol: Double = 1e-10, atol: Double = 1e-12,
                 _ what: String, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(actual.shape == shape, "\(what): shape \(actual.shape), expected \(shape)", sourceLocation: sourceLocation)
    let a = actual.toArray(Double.self)
    guard a.count == expected.count else { return }
    for (i, (x, y)) in zip(a, expected).enumerated() where !(x == y || Swift.abs(x - y) <= atol + rtol * Swift.abs(y)) {
        #expect(Bool(false), "\(what): element \(i) is \(x), expected \(y)", sourceLocation: sourceLocation)
        return
    }
}
