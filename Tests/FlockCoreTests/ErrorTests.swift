import Testing
import FlockTestSupport
@testable import FlockCore

/// Bad input must produce a FlockError naming the operation, the shapes and
/// what was expected, catchable with `catchingErrors`.
@Suite struct ErrorTests {

    static let cases: [(String, @Sendable () -> Void, [String])] = [
        ("matmul", { _ = matmul(ones([4, 3]), ones([5, 2])) }, ["matmul", "contracting", "[4, 3]", "[5, 2]"]),
        ("dotGeneral", { _ = dotGeneral(ones([4, 3]), ones([5, 2]), DotDimensionNumbers(lhsContracting: [1], rhsContracting: [0])) },
         ["dot_general: contracting dimensions differ: lhs [4, 3] dim 1 = 3, rhs [5, 2] dim 0 = 5"]),
        ("add broadcast", { _ = ones([2, 3]) + ones([4]) }, ["add", "[2, 3]", "[4]"]),
        ("reshape", { _ = ones([2, 3]).reshaped([4, 2]) }, ["reshape", "[2, 3]", "[4, 2]"]),
        ("reshape -1", { _ = ones([2, 3]).reshaped([4, -1]) }, ["reshape", "[2, 3]"]),
        ("sum axis", { _ = ones([2, 3]).sum(axes: [2]) }, ["sum", "axis 2", "dimension 2"]),
        ("negative axis", { _ = ones([2, 3]).sum(axes: [-3]) }, ["sum", "axis -3"]),
        ("repeated axis", { _ = ones([2, 3]).sum(axes: [1, -1]) }, ["sum", "repeated"]),
        ("index bounds", { _ = ones([2, 3])[5] }, ["index", "5", "axis 0", "size 2"]),
        ("too many indices", { _ = ones([2])[0, 0] }, ["too many indices"]),
        ("concatenate", { _ = concatenate([ones([2, 3]), ones([2, 4])], axis: 0) }, ["concatenate", "[2, 3]", "[2, 4]"]),
        ("stack", { _ = stack([ones([2]), ones([3])]) }, ["stack", "[2]", "[3]"]),
        ("broadcast_to", { _ = ones([3]).broadcast(to: [2, 4]) }, ["broadcast_to", "[3]", "[2, 4]"]),
        ("transpose", { _ = ones([2, 3]).transposed([0, 0]) }, ["transpose"]),
        ("item", { _ = ones([2]).item(Float.self) }, ["item", "[2]"]),
        ("split", { _ = split(ones([5]), sections: 2) }, ["split", "[5]", "2"]),
        ("log of int dtype via lax", { _ = bind1(.unary(.log), Tensor([1, 2] as [Int32])) }, ["log", "floating-point", "int32"]),
        ("conv", { _ = convolution(ones([1, 3, 8]), ones([4, 2, 3])) }, ["conv_general_dilated", "[1, 3, 8]", "[4, 2, 3]"]),
        ("conv ranks", { _ = convolution(ones([2, 3, 8, 8]), ones([4, 3, 3])) },
         ["conv_general_dilated", "equal rank", "[2, 3, 8, 8]", "[4, 3, 3]"]),
        ("conv rank 2", { _ = convolution(ones([3, 8]), ones([4, 3])) }, ["conv_general_dilated", "rank ≥ 3", "[3, 8]", "[4, 3]"]),
        ("conv channels", { _ = convolution(ones([2, 3, 8, 8]), ones([4, 5, 3, 3])) },
         ["conv_general_dilated", "input features differ", "[2, 3, 8, 8]", "[4, 5, 3, 3]", "expects 5"]),
        ("conv groups divide input", { _ = convolution(ones([1, 6, 8]), ones([4, 3, 3]), featureGroupCount: 4) },
         ["conv_general_dilated", "feature_group_count 4", "input features 6", "[1, 6, 8]"]),
        ("conv groups divide output", { _ = convolution(ones([1, 6, 8]), ones([5, 3, 3]), featureGroupCount: 2) },
         ["conv_general_dilated", "feature_group_count 2", "output features 5", "[5, 3, 3]"]),
        ("conv zero groups", { _ = convolution(ones([1, 6, 8]), ones([5, 3, 3]), featureGroupCount: 0) },
         ["conv_general_dilated", "feature_group_count must be at least 1", "[1, 6, 8]"]),
        ("conv window larger than input", { _ = convolution(ones([1, 2, 4, 9]), ones([3, 2, 5, 3]), padding: .explicit([[0, 0], [0, 0]])) },
         ["conv_general_dilated", "window 5", "spatial dimension 0", "padded input 4", "[1, 2, 4, 9]", "[3, 2, 5, 3]"]),
        ("conv window larger than negatively padded input", { _ = convolution(ones([1, 1, 6]), ones([1, 1, 3]), padding: .explicit([[-2, -2]])) },
         ["conv_general_dilated", "window 3", "padded input 2", "[-2, -2]"]),
        ("conv dilated window", { _ = convolution(ones([1, 1, 6]), ones([1, 1, 3]), rhsDilation: [3]) },
         ["conv_general_dilated", "window 7", "rhs dilation 3", "padded input 6"]),
        ("squeeze", { _ = ones([2, 3]).squeezed([0]) }, ["squeeze", "axis 0"]),
        ("tril rank", { _ = tril(ones([3])) }, ["tril", "at least 2 dimensions", "[3]"]),
        ("triu rank", { _ = triu(ones([3])) }, ["triu", "at least 2 dimensions", "[3]"]),
        ("diag rank", { _ = diag(ones([2, 2, 2])) }, ["diag", "1-D or 2-D", "[2, 2, 2]"]),
        ("meshgrid indexing", { _ = meshgrid([ones([2])], indexing: "xz") }, ["meshgrid", "\"xy\" or \"ij\"", "xz"]),
        ("meshgrid rank", { _ = meshgrid([ones([2]), ones([2, 2])]) }, ["meshgrid", "argument 1", "1-D", "[2, 2]"]),
        ("einsum term count", { _ = einsum("ij,jk->ik", ones([2, 3])) }, ["einsum", "2 terms for 1 operands", "[[2, 3]]"]),
        ("einsum operand count", { _ = einsum("a,a,a,a", ones([2]), ones([2]), ones([2]), ones([2])) },
         ["einsum", "1 to 3 operands", "got 4"]),
        ("einsum rank", { _ = einsum("ijk->i", ones([2, 3])) }, ["einsum", "\"ijk\" names 3 axes", "[2, 3]"]),
        ("einsum sizes", { _ = einsum("ij,jk->ik", ones([2, 3]), ones([4, 5])) }, ["einsum", "axis \"j\" has sizes 3 and 4"]),
        ("einsum diagonal sizes", { _ = einsum("ii->i", ones([2, 3])) }, ["einsum", "letter \"i\" repeats in \"ii\"", "sizes 2 and 3"]),
        ("einsum output letter", { _ = einsum("ij->iz", ones([2, 2])) }, ["einsum", "output letter \"z\""]),
        ("einsum bad character", { _ = einsum("i1->i", ones([2, 2])) }, ["einsum", "letters and at most one"]),
        ("einsum two arrows", { _ = einsum("i->i->i", ones([2])) }, ["einsum", "more than one \"->\""]),
        ("einsum dropped ellipsis", { _ = einsum("...i->i", ones([2, 3])) }, ["einsum", "must keep \"...\""]),
        ("integer pow negative", { _ = pow(Tensor([Int32(2)]), -1) }, ["pow", "negative integer exponent", "int32"]),
        ("cumulative axis", { _ = ones([2, 3]).cumprod(axis: 2) }, ["cumulativeReduction", "axis 2"]),
        ("norm repeated axis", { _ = norm(ones([2, 3]), axes: [1, -1]) }, ["norm", "repeated axis", "[2, 3]"]),
        ("norm frobenius of vector", { _ = norm(ones([2, 3]), ord: .frobenius, axes: [1]) }, ["norm", "Frobenius", "two axes"]),
        ("norm matrix ord", { _ = norm(ones([2, 3]), ord: .p(2)) }, ["norm", "matrix norm ord 2.0", "SVD"]),
        ("choice scalar", { _ = Random.choice(Random.key(0), Tensor(Float(1))) }, ["choice", "at least one dimension"]),
        ("choice empty", { _ = Random.choice(Random.key(0), 0, shape: [2]) }, ["choice", "greater than 0", "got 0"]),
        ("choice too many", { _ = Random.choice(Random.key(0), 3, shape: [4], replace: false) },
         ["choice", "larger sample (size 4)", "population (size 3)"]),
        ("choice p shape", { _ = Random.choice(Random.key(0), 3, shape: [2], p: ones([4])) }, ["choice", "size 3", "[4]"]),
        ("norm rank 3 with ord", { _ = norm(ones([2, 3, 4]), ord: .p(1)) }, ["norm", "improper number of axes", "[2, 3, 4]"]),
        ("tensor init", { _ = Tensor([1, 2, 3] as [Float], shape: [2, 2]) }, ["Tensor.init", "3 values", "[2, 2]"]),
        ("where", { _ = `where`(ones([2], dtype: .bool), ones([3]), ones([4])) }, ["where", "[3]", "[4]"]),
        ("pad", { _ = pad(ones([2]), [(1, 1), (1, 1)]) }, ["pad", "[2]"]),
    ]

    @Test(arguments: cases.indices)
    func badInputNamesOperationAndShapes(_ i: Int) {
        let (name, body, fragments) = Self.cases[i]
        expectErrorMentions(fragments, name, body)
    }

    @Test func firstErrorWinsAndLaterOperationsAreSkipped() {
        let m = errorMessage {
            let bad = ones([2, 3]) + ones([4])
            let worse = matmul(bad, ones([7, 7]))  // consumes a poisoned value: skipped, no second error
            _ = worse.sum()
        }
        #expect(m?.hasPrefix("add:") == true, "got \(m ?? "nil")")
    }

    @Test func scopeReturnsValueWhenNothingFails() throws {
        let y = try catchingErrors { (Tensor([1, 2] as [Float]) * 2).toArray(Float.self) }
        #expect(y == [2, 4])
    }

    @Test func nestedScopesReportToTheInnermost() throws {
        var inner: String?
        try catchingErrors {
            inner = errorMessage { _ = ones([2]).reshaped([3]) }
            _ = ones([2]) * 2
        }
        #expect(inner?.contains("reshape") == true)
    }
}
