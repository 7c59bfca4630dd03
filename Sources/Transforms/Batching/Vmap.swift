/// `vmap`: vectorising map (`jax.vmap`).
///
/// `vmapFlat` is the one implementation, over flat lists of tensors; the typed
/// `vmap` overloads are thin adapters around it.

/// Vectorises `f` over a mapped axis of its arguments (`jax.vmap` on flat lists).
///
/// The returned function takes the batched arguments: argument `i` is mapped
/// over its axis `inAxes[i]` (negative counts from the end), or passed whole
/// to every example when `inAxes[i]` is nil. `f` sees one example; result `j`
/// gets the mapped axis at `outAxes[j]` (negative counts from the end of the
/// result), or is returned unmapped when `outAxes[j]` is nil — only allowed for
/// results that do not depend on a mapped argument. Collectives inside `f` can
/// refer to the mapped axis as `axisName`.
///
/// ```swift
/// let f = vmapFlat({ [matmul($0[0], $0[1])] }, inAxes: [0, nil], outAxes: [0])
/// let ys = f([xs, w])          // xs [8, 3, 4], w [4, 5] → [8, 3, 5]
/// ```
///
/// - Parameters:
///   - f: the per-example function.
///   - inAxes: one entry per argument: the mapped axis, or nil for unmapped.
///   - outAxes: one entry per result: where the mapped axis goes, or nil.
///   - axisSize: the size of the mapped axis; required when no argument is mapped.
///   - axisName: a name binding the mapped axis for collectives (`psum`, …).
/// - Returns: the batched function. Bad axes, inconsistent sizes and wrong
///   result counts are reported through `raise` (see `catchingErrors`).
public func vmapFlat(
    _ f: @escaping ([Tensor]) -> [Tensor], inAxes: [Int?], outAxes: [Int?], axisSize: Int? = nil,
    axisName: String? = nil
) -> ([Tensor]) -> [Tensor] {
    vmapFlat(f, inAxes: inAxes, resultCount: outAxes.count, axisSize: axisSize, axisName: axisName) { _ in outAxes }
}

/// ``vmapFlat(_:inAxes:outAxes:axisSize:axisName:)`` whose out axes are
/// known once `f` has run (pytree results: one axis per leaf from a prefix
/// spec): `outAxes` gets the number of results, and returns nil after
/// raising an error. `resultCount` is how many poisoned results a failure
/// before tracing returns.
func vmapFlat(
    _ f: @escaping ([Tensor]) -> [Tensor], inAxes: [Int?], resultCount: Int, axisSize: Int?,
    axisName: String?, outAxes resolveOutAxes: @escaping (Int) -> [Int?]?
) -> ([Tensor]) -> [Tensor] {
    return { args in
        let failed = { Array(repeating: poisonedTensor(), count: resultCount) }
        if args.contains(where: \.isPoisoned) { return failed() }
        guard let (dims, size) = checkedInAxes(args, inAxes, axisSize: axisSize) else { return failed() }
        let outs = DebugNumerics.within(axisName.map { "vmap(axisName: \($0))" } ?? "vmap") {
            batchedCall(zip(args, dims).map { BatchedValue($0, $1) }, axisSize: size, axisName: axisName, f)
        }
        guard let outAxes = resolveOutAxes(outs.count) else { return outs.map { _ in poisonedTensor() } }
        guard outs.count == outAxes.count else {
            raise(FlockError("vmap: outAxes has \(outAxes.count) entries but the function returned \(outs.count) results"))
            return failed()
        }
        let rules = BatchingRules(axisSize: size, axisName: axisName)
        return outs.enumerated().map { (j, out) in
            if out.value.isPoisoned { return out.value }
            guard let axis = outAxes[j] else {
                if out.dim != nil {
                    raise(FlockError(
                        "vmap has mapped output but outAxes is nil: result \(j) (per-example shape \(out.exampleShape)) "
                            + "depends on a mapped argument; give it an output axis"))
                    return poisonedTensor()
                }
                return out.value
            }
            let rank = out.exampleRank + 1
            guard axis >= -rank && axis < rank else {
                raise(FlockError(
                    "vmap: outAxes \(axis) for result \(j) is out of bounds: the batched result has rank \(rank) "
                        + "(per-example shape \(out.exampleShape))"))
                return poisonedTensor()
            }
            return rules.moveBatchAxis(out, to: axis < 0 ? axis + rank : axis)
        }
    }
}

/// Normalised in-axes and the axis size, or nil after reporting what is wrong.
private func checkedInAxes(_ args: [Tensor], _ inAxes: [Int?], axisSize: Int?) -> ([Int?], Int)? {
    guard inAxes.count == args.count else {
        raise(FlockError("vmap: inAxes has \(inAxes.count) entries but the function was called with \(args.count) arguments"))
        return nil
    }
    var dims: [Int?] = []
    for (i, (x, axis)) in zip(args, inAxes).enumerated() {
        guard let axis else { dims.append(nil); continue }
        guard axis >= -x.rank && axis < x.rank else {
            raise(FlockError(
                "vmap was requested to map argument \(i) along axis \(axis), which implies that its rank should be "
                    + "at least \(axis < 0 ? -axis : axis + 1), but is only \(x.rank) (its shape is \(x.shape))"))
            return nil
        }
        dims.append(axis < 0 ? axis + x.rank : axis)
    }
    let mapped = zip(args, dims).enumerated().compactMap { (i, a) in a.1.map { (i, a.0.shape, $0) } }
    let sizes = Set(mapped.map { $0.1[$0.2] })
    if sizes.count > 1 || (axisSize != nil && !sizes.isEmpty && sizes.first != axisSize) {
        let parts = mapped.map { "argument \($0.0) of shape \($0.1) has size \($0.1[$0.2]) along axis \($0.2)" }
        let given = axisSize.map { ["axisSize is \($0)"] } ?? []
        raise(FlockError("vmap got inconsistent sizes for array axes to be mapped: " + (given + parts).joined(separator: ", ")))
        return nil
    }
    guard let size = sizes.first ?? axisSize else {
        raise(FlockError(
            "vmap must have at least one non-nil value in inAxes, or an axisSize (got inAxes \(inAxes.map { $0.map(String.init) ?? "nil" }))"))
        return nil
    }
    guard size >= 0 else {
        raise(FlockError("vmap: axisSize must be non-negative, got \(size)"))
        return nil
    }
    return (dims, size)
}

/// Vectorises a one-argument function over axis `inAxes` of its argument (`jax.vmap`).
///
/// ```swift
/// let norms = vmap { x in sqrt((x * x).sum()) }(rows)        // rows [8, 3] → [8]
/// let cols = vmap({ x in x * 2 }, inAxes: 1, outAxes: 1)(m)   // maps over columns
/// ```
///
/// - Parameters:
///   - f: the per-example function.
///   - inAxes: the mapped axis of the argument (negative counts from the end), or nil.
///   - outAxes: where the mapped axis goes in the result, or nil for an unmapped result.
///   - axisSize: the size of the mapped axis; required when `inAxes` is nil.
///   - axisName: a name binding the mapped axis for collectives.
public func vmap(
    _ f: @escaping (Tensor) -> Tensor, inAxes: Int? = 0, outAxes: Int? = 0, axisSize: Int? = nil,
    axisName: String? = nil
) -> (Tensor) -> Tensor {
    let g = vmapFlat({ [f($0[0])] }, inAxes: [inAxes], outAxes: [outAxes], axisSize: axisSize, axisName: axisName)
    return { x in g([x])[0] }
}

/// Vectorises a two-argument function (`jax.vmap` with `in_axes=(a, b)`).
///
/// ```swift
/// let ys = vmap({ x, w in matmul(x, w) }, inAxes: (0, nil))(xs, w)
/// ```
///
/// - Parameters:
///   - f: the per-example function.
///   - inAxes: the mapped axis of each argument, or nil to pass it whole to every example.
///   - outAxes: where the mapped axis goes in the result, or nil for an unmapped result.
///   - axisSize: the size of the mapped axis; required when both `inAxes` are nil.
///   - axisName: a name binding the mapped axis for collectives.
public func vmap(
    _ f: @escaping (Tensor, Tensor) -> Tensor, inAxes: (Int?, Int?) = (0, 0), outAxes: Int? = 0,
    axisSize: Int? = nil, axisName: String? = nil
) -> (Tensor, Tensor) -> Tensor {
    let g = vmapFlat({ [f($0[0], $0[1])] }, inAxes: [inAxes.0, inAxes.1], outAxes: [outAxes], axisSize: axisSize, axisName: axisName)
    return { x, y in g([x, y])[0] }
}
