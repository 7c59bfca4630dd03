/// `vmap` over pytrees: maps `f` over axis `inAxes` of every leaf of the
/// argument and stacks every output leaf along `outAxes` (`jax.vmap` with a
/// single int for in_axes/out_axes).
///
/// ```swift
/// let perExample = vmap { (batch: [String: Tensor]) in loss(params, batch) }
/// ```
public func vmap<P: PyTree, Q: PyTree>(
    _ f: @escaping (P) -> Q, inAxes: Int? = 0, outAxes: Int? = 0, axisSize: Int? = nil, axisName: String? = nil
) -> (P) -> Q {
    { p in
        let leaves = treeLeaves(p)
        return vmap(f, inAxes: leaves.map { _ in inAxes }, outAxes: outAxes, axisSize: axisSize, axisName: axisName)(p)
    }
}

/// `vmap` over pytrees with one input axis per leaf (in `treeLeaves` order;
/// `nil` broadcasts that leaf), as `in_axes` given per leaf in JAX.
public func vmap<P: PyTree, Q: PyTree>(
    _ f: @escaping (P) -> Q, inAxes: [Int?], outAxes: Int? = 0, axisSize: Int? = nil, axisName: String? = nil
) -> (P) -> Q {
    { p in
        let leaves = treeLeaves(p)
        guard inAxes.count == leaves.count else {
            raise(FlockError("vmap: inAxes has \(inAxes.count) entries but the argument has \(leaves.count) leaves"))
            return f(p)
        }
        var template: Q? = nil
        let outs = vmapFlat({ xs in
            let q = f(treeUnflatten(like: p, xs))
            template = q
            return treeLeaves(q)
        }, inAxes: inAxes, resultCount: 1, axisSize: axisSize, axisName: axisName) { [Int?](repeating: outAxes, count: $0) }(leaves)
        guard let template else { return f(p) }
        return treeUnflatten(like: template, outs)
    }
}

/// `vmap` over any number of pytree arguments, with one ``AxisSpec`` per
/// argument (`jax.vmap(f, in_axes=(None, 0, 0))`): each spec is a prefix of
/// its argument's tree, so a parameter dictionary is kept whole with one
/// `nil` however many leaves it has. `outAxes` is a prefix of the result's tree.
///
/// ```swift
/// func loss(_ p: [String: Tensor], _ x: Tensor, _ y: Tensor) -> Tensor { … }
/// let perExample = vmap(loss, inAxes: [nil, 0, 0])
/// let losses = perExample(params, xs, ys)           // one loss per row of xs
/// let g = vmap({ (p: [String: Tensor], x: Tensor) in grad { loss($0, x, x) }(p) },
///              inAxes: [nil, 0], outAxes: ["w": 0, "b": nil])   // assumes "b"'s gradient is unmapped
/// ```
///
/// - Parameters:
///   - inAxes: one spec per argument: an axis (or nil) for all its leaves,
///     or a list/dictionary spec matching its structure.
///   - outAxes: where the mapped axis goes in the result's leaves (a prefix spec).
///   - axisSize: the mapped size, needed when no argument is mapped.
///   - axisName: names the mapped axis for collectives.
///
/// A spec that does not match its argument's tree, or a number of specs
/// other than the number of arguments, is an error naming the argument.
public func vmap<each A: PyTree, Q: PyTree>(
    _ f: @escaping (repeat each A) -> Q, inAxes: [AxisSpec], outAxes: AxisSpec = 0, axisSize: Int? = nil,
    axisName: String? = nil
) -> TreeFunction<repeat each A, Q> {
    TreeFunction { (args: repeat each A) in
        var leaves: [Tensor] = [], axes: [Int?] = [], names: [String] = [], count = 0, ok = true
        for a in repeat each args {
            let l = treeLeaves(a)
            leaves += l
            names += treeLeafPaths(a).map { "argument \(count)\($0.isEmpty ? "" : " at \($0)")" }
            if ok, count < inAxes.count {
                if let resolved = inAxes[count].leafAxes(for: a, "vmap: inAxes[\(count)] for argument \(count)") {
                    axes += resolved
                } else {
                    ok = false
                }
            }
            count += 1
        }
        if ok && inAxes.count != count {
            raise(FlockError("vmap: inAxes has \(inAxes.count) entries (\(tupleDescription(inAxes))) but the function takes \(count) arguments; give one per argument"))
            ok = false
        }
        guard ok, checkedMappedSizes(leaves, axes, names, axisSize: axisSize) else { return f(repeat each args) }
        var template: Q? = nil
        let outs = vmapFlat({ xs in
            let cursor = LeafCursor(xs)
            let q = f(repeat cursor.take(like: each args))
            template = q
            return treeLeaves(q)
        }, inAxes: axes, resultCount: 1, axisSize: axisSize, axisName: axisName) { n in
            guard let template else { return [Int?](repeating: nil, count: n) }
            return outAxes.leafAxes(for: template, "vmap: outAxes", noun: "result")
        }(leaves)
        guard let template else { return f(repeat each args) }
        return treeUnflatten(like: template, outs)
    }
}

/// Specs as JAX prints an `in_axes` tuple: `(None, 0, 0)`.
package func tupleDescription(_ specs: [AxisSpec]) -> String { "(" + specs.map(\.description).joined(separator: ", ") + ")" }

/// Whether the mapped leaves agree on the mapped size (and have the mapped
/// axis), else an error naming each leaf by argument and key path (the flat
/// `vmapFlat` would name leaf positions the user never wrote).
private func checkedMappedSizes(_ leaves: [Tensor], _ axes: [Int?], _ names: [String], axisSize: Int?) -> Bool {
    var sizes: [(name: String, shape: [Int], axis: Int)] = []
    for (i, (x, a)) in zip(leaves, axes).enumerated() {
        guard let a else { continue }
        guard a >= -x.rank && a < x.rank else {
            raise(FlockError("vmap was requested to map \(names[i]) along axis \(a), but its shape is \(x.shape) (rank \(x.rank))"))
            return false
        }
        sizes.append((names[i], x.shape, a < 0 ? a + x.rank : a))
    }
    let distinct = Set(sizes.map { $0.shape[$0.axis] } + (axisSize.map { [$0] } ?? []))
    guard distinct.count > 1 else { return true }
    let parts = sizes.map { "\($0.name) of shape \($0.shape) has size \($0.shape[$0.axis]) along axis \($0.axis)" }
    raise(FlockError("vmap got inconsistent sizes for array axes to be mapped: " + ((axisSize.map { ["axisSize is \($0)"] } ?? []) + parts).joined(separator: ", ")))
    return false
}
