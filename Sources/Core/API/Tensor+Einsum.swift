// einsum: subscripts parsed into labels per axis, then contracted operand by
// operand with `dotGeneral` (shared labels the result or a later operand
// still needs are batch dimensions, the others contracting dimensions),
// labels no one needs summed away first, and the result transposed into the
// requested order -- the same lowering as jnp.einsum, pairwise left to right.

/// Einstein summation over one to three operands (`jnp.einsum`), lowered to
/// `dotGeneral`, reductions and transposes.
///
/// Subscripts follow numpy: one letter per axis, operands separated by
/// commas, `...` for any number of leading (broadcast) axes, and an optional
/// `->` output. Without an output, the result has the ellipsis axes and then
/// the letters used exactly once, in alphabetical order.
///
/// - Parameters:
///   - subscripts: e.g. `"ij,jk->ik"`, `"bij,bjk->bik"`, `"...i,i"`; a letter
///     repeated within one operand takes its diagonal (`"ii->i"`, the trace `"ii->"`,
///     `"iij->j"`), as numpy and JAX do.
///   - operands: the arrays, one per comma-separated term.
///
/// ```swift
/// let c = einsum("ij,jk->ik", a, b)       // matmul(a, b)
/// let t = einsum("bhqd,bhkd->bhqk", q, k) // attention scores
/// ```
public func einsum(_ subscripts: String, _ operands: Tensor...) -> Tensor { einsum(subscripts, operands) }

/// ``einsum(_:_:)-(String,Tensor...)`` over an array of operands.
public func einsum(_ subscripts: String, _ operands: [Tensor]) -> Tensor {
    guard let spec = EinsumSpec(subscripts, shapes: operands.map(\.shape)) else { return poison }
    var terms = zip(operands, spec.inputs).map { takeDiagonals($0, $1) }
    // Labels needed after term k: the output's and the later operands'.
    func needed(after k: Int) -> Set<Character> {
        var s = Set(spec.output)
        for t in terms.dropFirst(k + 1) { s.formUnion(t.1) }
        return s
    }
    var (result, labels) = sumAway(terms[0].0, terms[0].1, keeping: needed(after: 0))
    for k in 1..<Swift.max(1, terms.count) {
        let keep = needed(after: k)
        let (rhs, rhsLabels) = sumAway(terms[k].0, terms[k].1, keeping: keep.union(labels))
        let (lhs, lhsLabels) = sumAway(result, labels, keeping: keep.union(rhsLabels))
        let (l, r) = broadcastShared(lhs, lhsLabels, rhs, rhsLabels)
        let shared = lhsLabels.filter { rhsLabels.contains($0) }
        let batch = shared.filter { keep.contains($0) }, contracting = shared.filter { !keep.contains($0) }
        let index = { (ls: [Character], c: Character) in ls.firstIndex(of: c)! }
        let dims = DotDimensionNumbers(
            lhsContracting: contracting.map { index(lhsLabels, $0) }, rhsContracting: contracting.map { index(rhsLabels, $0) },
            lhsBatch: batch.map { index(lhsLabels, $0) }, rhsBatch: batch.map { index(rhsLabels, $0) })
        result = dotGeneral(l, r, dims)
        labels = batch + lhsLabels.filter { !shared.contains($0) } + rhsLabels.filter { !shared.contains($0) }
        terms[k] = (result, labels)
    }
    (result, labels) = sumAway(result, labels, keeping: Set(spec.output))
    let order = spec.output.map { labels.firstIndex(of: $0)! }
    return order == Array(order.indices) ? result : result.transposed(order)
}

/// `x` with every letter repeated in its labels reduced to one axis holding
/// the diagonal: the entries off the diagonal are masked to zero and summed
/// away, JAX's lowering (so the diagonal is exact and differentiable).
private func takeDiagonals(_ x: Tensor, _ labels: [Character]) -> (Tensor, [Character]) {
    var x = x, labels = labels
    while let j = labels.indices.first(where: { labels[..<$0].contains(labels[$0]) }) {
        let i = labels.firstIndex(of: labels[j])!
        let n = x.shape[i]
        var rowShape = [Int](repeating: 1, count: x.rank), columnShape = rowShape
        rowShape[i] = n
        columnShape[j] = n
        let onDiagonal = bind1(.iota(.int32, shape: rowShape, dimension: i)) .== bind1(.iota(.int32, shape: columnShape, dimension: j))
        x = `where`(onDiagonal, x, Tensor(0, dtype: x.dtype)).sum(axis: j)
        labels.remove(at: j)
    }
    return (x, labels)
}

/// `x` summed over the axes whose labels are not kept.
private func sumAway(_ x: Tensor, _ labels: [Character], keeping keep: Set<Character>) -> (Tensor, [Character]) {
    let axes = labels.indices.filter { !keep.contains(labels[$0]) }
    if axes.isEmpty { return (x, labels) }
    return (x.sum(axes: axes), labels.enumerated().filter { !axes.contains($0.offset) }.map(\.element))
}

/// Shared axes of size 1 on one side broadcast to the other side's size
/// (ellipsis axes broadcast as numpy's).
private func broadcastShared(_ a: Tensor, _ al: [Character], _ b: Tensor, _ bl: [Character]) -> (Tensor, Tensor) {
    var aShape = a.shape, bShape = b.shape
    for (i, c) in al.enumerated() {
        guard let j = bl.firstIndex(of: c), aShape[i] != bShape[j] else { continue }
        if aShape[i] == 1 { aShape[i] = bShape[j] } else { bShape[j] = aShape[i] }
    }
    return (aShape == a.shape ? a : a.broadcast(to: aShape), bShape == b.shape ? b : b.broadcast(to: bShape))
}

/// Parsed subscripts: a label per axis of each operand and of the output.
/// Ellipsis axes get labels that cannot be letters, numbered from the right
/// so that they broadcast as numpy's trailing alignment does.
struct EinsumSpec {
    var inputs: [[Character]]
    var output: [Character]

    init?(_ subscripts: String, shapes: [[Int]]) {
        let text = subscripts.filter { $0 != " " }
        let parts = text.split(separator: "->", omittingEmptySubsequences: false).map(String.init)
        func fail(_ message: String) {
            raise(FlockError("einsum: \(message) (subscripts \"\(subscripts)\", operand shapes \(shapes))"))
        }
        guard parts.count <= 2 else { fail("more than one \"->\""); return nil }
        let terms = parts[0].split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        guard (1...3).contains(shapes.count) else { fail("1 to 3 operands are supported, got \(shapes.count)"); return nil }
        guard terms.count == shapes.count else {
            fail("\(terms.count) terms for \(shapes.count) operands"); return nil
        }
        func ellipsisLabel(_ k: Int) -> Character { Character(Unicode.Scalar(0x2460 + k)!) }  // ①, ②, ...
        var ellipsisRank = 0
        var inputs: [[Character]] = []
        for (term, shape) in zip(terms, shapes) {
            let pieces = term.split(separator: "...", omittingEmptySubsequences: false).map(String.init)
            guard pieces.count <= 2 else { fail("more than one \"...\" in \"\(term)\""); return nil }
            let explicit = pieces.joined()
            guard explicit.allSatisfy({ $0.isLetter && $0.isASCII }) else {
                fail("\"\(term)\" must hold letters and at most one \"...\""); return nil
            }
            let rest = shape.count - explicit.count
            guard rest == 0 || (pieces.count == 2 && rest > 0) else {
                fail("\"\(term)\" names \(explicit.count) axes of an operand of shape \(shape)"); return nil
            }
            let middle = (0..<rest).map { ellipsisLabel(rest - 1 - $0) }
            let labels = pieces.count == 2 ? Array(pieces[0]) + middle + Array(pieces[1]) : Array(explicit)
            // A letter repeated within one operand (a diagonal) needs equal sizes.
            for (k, c) in labels.enumerated() {
                if let first = labels[..<k].firstIndex(of: c), shape[first] != shape[k] {
                    fail("letter \"\(c)\" repeats in \"\(term)\" over axes of sizes \(shape[first]) and \(shape[k]); a diagonal needs equal sizes")
                    return nil
                }
            }
            ellipsisRank = Swift.max(ellipsisRank, rest)
            inputs.append(labels)
        }
        // Each label's size must agree between operands (or be 1 and broadcast).
        var size: [Character: Int] = [:]
        for (labels, shape) in zip(inputs, shapes) {
            for (c, n) in zip(labels, shape) {
                if let m = size[c], m != n, m != 1, n != 1 {
                    let name = c.isASCII ? "\"\(c)\"" : "of \"...\""
                    fail("axis \(name) has sizes \(m) and \(n)"); return nil
                }
                size[c] = Swift.max(size[c] ?? n, n)
            }
        }
        let ellipsis = (0..<ellipsisRank).reversed().map(ellipsisLabel)
        if parts.count == 2 {
            let pieces = parts[1].split(separator: "...", omittingEmptySubsequences: false).map(String.init)
            guard pieces.count <= 2, pieces.joined().allSatisfy({ $0.isLetter && $0.isASCII }) else {
                fail("the output \"\(parts[1])\" must hold letters and at most one \"...\""); return nil
            }
            let out = pieces.count == 2 ? Array(pieces[0]) + ellipsis + Array(pieces[1]) : Array(pieces[0])
            guard Set(out).count == out.count else { fail("a letter repeated in the output \"\(parts[1])\""); return nil }
            if let missing = out.first(where: { size[$0] == nil }) {
                fail("output letter \"\(missing)\" names no input axis"); return nil
            }
            if pieces.count == 1, ellipsisRank > 0 {
                fail("the output must keep \"...\" when the inputs use it"); return nil
            }
            output = out
        } else {
            var count: [Character: Int] = [:]
            for labels in inputs { for c in labels where c.isASCII { count[c, default: 0] += 1 } }
            output = ellipsis + count.filter { $0.value == 1 }.map(\.key).sorted()
        }
        self.inputs = inputs
    }
}
