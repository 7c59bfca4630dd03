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
        }, inAxes: inAxes, outAxes: [outAxes], axisSize: axisSize, axisName: axisName, sharedOutAxis: true)(leaves)
        guard let template else { return f(p) }
        return treeUnflatten(like: template, outs)
    }
}
