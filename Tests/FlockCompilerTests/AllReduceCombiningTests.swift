import Testing
import FlockTestSupport
@testable import FlockCore
@testable import FlockCompiler

/// The all-reduce combiner: which psums merge, and that the result type checks.
/// (That the merged collective gives each member its own sum is tested under
/// pmap, in FlockShardingTests' `pmeanOfAPyTreeEqualsVmap`.)
@Suite struct AllReduceCombiningTests {
    /// A one-member axis "i", so that psums type check (nothing runs).
    final class Alone: CollectiveTransport, @unchecked Sendable {
        var size: Int { 1 }
        var rank: Int { 0 }
        func perform(_ operation: CollectiveOperation, _ x: DenseArray) throws -> DenseArray { x }
    }

    static func psums(_ j: Jaxpr) -> [[Int]] {
        j.equations.compactMap { e in if case .psum = e.primitive { e.inputs[0].aval.shape } else { nil } }
    }

    @Test func independentSmallSumsOfOneTypeMerge() throws {
        var ids = 0
        func v(_ shape: [Int], _ dtype: DType = .float32) -> Var { ids += 1; return Var(id: ids, aval: AbstractValue(shape: shape, dtype: dtype)) }
        let (a, b, c, d, e) = (v([3, 4]), v([5]), v([]), v([2], .int32), v([maxCombinedElements + 1]))
        let (a2, a3, b2, c2, d2, e2) = (v([3, 4]), v([3, 4]), v([5]), v([]), v([2], .int32), v([maxCombinedElements + 1]))
        let sum = Primitive.psum(axes: ["i"])
        let j = Jaxpr(inputs: [a, b, c, d, e], constVars: [], consts: [], equations: [
            Equation(primitive: sum, inputs: [.variable(a)], outputs: [a2]),
            Equation(primitive: .binary(.mul), inputs: [.variable(a2), .variable(a2)], outputs: [a3]),  // read before b's sum
            Equation(primitive: sum, inputs: [.variable(b)], outputs: [b2]),
            Equation(primitive: sum, inputs: [.variable(c)], outputs: [c2]),
            Equation(primitive: sum, inputs: [.variable(d)], outputs: [d2]),
            Equation(primitive: sum, inputs: [.variable(e)], outputs: [e2]),
        ], outputs: [a3, b2, c2, d2, e2].map { .variable($0) })
        let k = combineAllReduces(j)
        try withAxis("i", communicator: Alone()) { try checkJaxpr(k) }
        // a, b, c (float32, small) as one sum of 12 + 5 + 1; the int32 one and the large one alone.
        #expect(Self.psums(k) == [[18], [2], [maxCombinedElements + 1]])
    }

    @Test func aSumOfAnotherSumsResultStaysApart() throws {
        var ids = 0
        func v(_ shape: [Int]) -> Var { ids += 1; return Var(id: ids, aval: AbstractValue(shape: shape, dtype: .float32)) }
        let (a, a2, f, f2) = (v([3]), v([3]), v([3]), v([3]))
        let sum = Primitive.psum(axes: ["i"])
        let j = Jaxpr(inputs: [a], constVars: [], consts: [], equations: [
            Equation(primitive: sum, inputs: [.variable(a)], outputs: [a2]),
            Equation(primitive: .unary(.exp), inputs: [.variable(a2)], outputs: [f]),
            Equation(primitive: sum, inputs: [.variable(f)], outputs: [f2]),
        ], outputs: [.variable(f2)])
        #expect(combineAllReduces(j) === j)
    }

    @Test func differentAxesOrReductionsStayApart() throws {
        var ids = 0
        func v() -> Var { ids += 1; return Var(id: ids, aval: AbstractValue(shape: [4], dtype: .float32)) }
        let (a, b, c, a2, b2, c2) = (v(), v(), v(), v(), v(), v())
        let j = Jaxpr(inputs: [a, b, c], constVars: [], consts: [], equations: [
            Equation(primitive: .psum(axes: ["i"]), inputs: [.variable(a)], outputs: [a2]),
            Equation(primitive: .psum(axes: ["j"]), inputs: [.variable(b)], outputs: [b2]),
            Equation(primitive: .pmax(axes: ["i"]), inputs: [.variable(c)], outputs: [c2]),
        ], outputs: [a2, b2, c2].map { .variable($0) })
        #expect(combineAllReduces(j) === j)
    }
}
