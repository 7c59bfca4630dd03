// Differentiation of functions of any number of pytree arguments with JAX's
// `argnums`, and Jacobians over pytrees. Results for the arguments `argnums`
// names come back as a tuple with one optional per argument (nil for the
// arguments not differentiated): Swift's types cannot depend on the value
// of `argnums`, so the tuple has the function's shape and argnums picks the
// entries that are filled.

/// One counter shared by the steps of a pack expansion (the argument index).
final class ArgumentCounter {
    var index = 0
}

/// The arguments' leaves, in order, with each argument's leaf range.
private func packLeaves<each A: PyTree>(_ args: repeat each A) -> (leaves: [Tensor], ranges: [Range<Int>]) {
    var leaves: [Tensor] = [], ranges: [Range<Int>] = []
    for a in repeat each args {
        let l = treeLeaves(a)
        ranges.append(leaves.count..<(leaves.count + l.count))
        leaves += l
    }
    return (leaves, ranges)
}

/// `argnums` checked against the number of arguments and the arguments' dtypes.
private func checkedArgnums(_ argnums: [Int], _ ranges: [Range<Int>], _ leaves: [Tensor], _ op: String) -> Bool {
    if argnums.isEmpty {
        raise(FlockError("\(op): argnums must name at least one argument"))
        return false
    }
    if let bad = argnums.first(where: { !(0..<ranges.count).contains($0) }) {
        raise(FlockError("\(op): argnums \(bad) is out of range for a function of \(ranges.count) arguments"))
        return false
    }
    for i in argnums where !checkFloatInputs(Array(leaves[ranges[i]]), op, argument: i) { return false }
    return true
}

/// Argument `t` (the counter's current one) rebuilt from the cursor if it is differentiated.
private func substituted<T: PyTree>(_ t: T, _ k: ArgumentCounter, _ wrt: [Int], _ cursor: LeafCursor) -> T {
    defer { k.index += 1 }
    return wrt.contains(k.index) ? cursor.take(like: t) : t
}

/// The differentiated arguments' part of `leaves`, rebuilt as their trees; nil for the others.
private func picked<T: PyTree>(_ t: T, _ k: ArgumentCounter, _ wrt: [Int], _ cursor: LeafCursor) -> T? {
    defer { k.index += 1 }
    return wrt.contains(k.index) ? cursor.take(like: t) : nil
}

/// The leaves of the arguments `wrt`, in argument order.
private func selectedLeaves(_ leaves: [Tensor], _ ranges: [Range<Int>], _ wrt: [Int]) -> [Tensor] {
    wrt.flatMap { leaves[ranges[$0]] }
}

/// Value and gradient of a scalar function of any number of pytree
/// arguments with respect to the arguments `argnums` names
/// (`jax.value_and_grad(f, argnums=(0, 2))`): one optional per argument,
/// filled for the differentiated ones.
///
/// ```swift
/// let vg = valueAndGrad({ (p: [String: Tensor], x: Tensor, y: Tensor) in loss(p, x, y) }, argnums: [0, 2])
/// let (value, (dp, _, dy)) = vg(params, x, y)     // dp!, dy!; the second entry is nil
/// ```
public func valueAndGrad<each A: PyTree>(
    _ f: @escaping (repeat each A) -> Tensor, argnums: [Int]
) -> TreeFunction<repeat each A, (value: Tensor, grad: (repeat (each A)?))> {
    TreeFunction { (args: repeat each A) in
        let wrt = Array(Set(argnums)).sorted()
        let (leaves, ranges) = packLeaves(repeat each args)
        let failed = { (Tensor.poisoned, (repeat Optional<each A>.none)) }
        guard checkedArgnums(argnums, ranges, leaves, "grad") else { return failed() }
        let lin = linearizeFlat({ xs in
            let k = ArgumentCounter(), cursor = LeafCursor(xs)
            return [f(repeat substituted(each args, k, wrt, cursor))]
        }, selectedLeaves(leaves, ranges, wrt))
        let y = lin.outputs[0]
        guard checkScalarOutput(y, "grad") else { return failed() }
        let g = lin.vjp([Tensor(1, dtype: y.dtype)])
        let k = ArgumentCounter(), cursor = LeafCursor(g)
        return (y, (repeat picked(each args, k, wrt, cursor)))
    }
}

/// The gradient of a scalar function of any number of pytree arguments with
/// respect to the arguments `argnums` names (`jax.grad(f, argnums=(0, 2))`):
/// one optional per argument, filled for the differentiated ones.
///
/// ```swift
/// let (dp, _, dy) = grad({ (p: [String: Tensor], x: Tensor, y: Tensor) in loss(p, x, y) }, argnums: [0, 2])(params, x, y)
/// ```
public func grad<each A: PyTree>(
    _ f: @escaping (repeat each A) -> Tensor, argnums: [Int]
) -> TreeFunction<repeat each A, (repeat (each A)?)> {
    let vg = valueAndGrad(f, argnums: argnums)
    return TreeFunction { (args: repeat each A) in vg(repeat each args).grad }
}

/// The Jacobian blocks of a flat function: `blocks[i][j]` is the derivative
/// of output `i` with respect to input `j`, of shape `out[i].shape + in[j].shape`.
/// Forward mode pushes one basis tangent per input element; reverse mode
/// pulls one basis cotangent per output element.
func jacobianBlocks(_ f: @escaping ([Tensor]) -> [Tensor], _ x: [Tensor], forward: Bool) -> (outputs: [Tensor], blocks: [[Tensor]]) {
    let lin = linearizeFlat(f, x)
    let ys = lin.outputs
    var blocks = ys.map { y in x.map { xj in zeros(y.shape + xj.shape, dtype: y.dtype) } }
    if forward {
        for (j, xj) in x.enumerated() where xj.count > 0 {
            let columns = (0..<xj.count).map { e -> [Tensor] in
                lin.jvp(x.indices.map { $0 == j ? oneHotBasis(e, xj) : zeros(x[$0].shape, dtype: x[$0].dtype) })
            }
            for (i, y) in ys.enumerated() {
                blocks[i][j] = stack(columns.map { $0[i] }, axis: -1).reshaped(y.shape + xj.shape)
            }
        }
    } else {
        for (i, y) in ys.enumerated() where y.count > 0 {
            let rows = (0..<y.count).map { e -> [Tensor] in
                lin.vjp(ys.indices.map { $0 == i ? oneHotBasis(e, y) : zeros(ys[$0].shape, dtype: ys[$0].dtype) })
            }
            for (j, xj) in x.enumerated() {
                blocks[i][j] = stack(rows.map { $0[j] }, axis: 0).reshaped(y.shape + xj.shape)
            }
        }
    }
    return (ys, blocks)
}

/// The Jacobian of a function of any number of pytree arguments returning a
/// tensor, by forward or reverse mode, with respect to `argnums`.
private func jacobian<each A: PyTree>(
    _ f: @escaping (repeat each A) -> Tensor, argnums: [Int], forward: Bool, _ op: String
) -> TreeFunction<repeat each A, (repeat (each A)?)> {
    TreeFunction { (args: repeat each A) in
        let wrt = Array(Set(argnums)).sorted()
        let (leaves, ranges) = packLeaves(repeat each args)
        guard checkedArgnums(argnums, ranges, leaves, op) else { return (repeat Optional<each A>.none) }
        let (_, blocks) = jacobianBlocks({ xs in
            let k = ArgumentCounter(), cursor = LeafCursor(xs)
            return [f(repeat substituted(each args, k, wrt, cursor))]
        }, selectedLeaves(leaves, ranges, wrt), forward: forward)
        let k = ArgumentCounter(), cursor = LeafCursor(blocks[0])
        return (repeat picked(each args, k, wrt, cursor))
    }
}

/// The Jacobian by forward mode of a tensor-valued function of any number
/// of pytree arguments, with respect to the arguments `argnums` names
/// (`jax.jacfwd(f, argnums=(0, 1))`): one optional per argument, shaped like
/// the argument, each leaf of shape `output.shape + leaf.shape`.
///
/// ```swift
/// let (jp, jx) = jacfwd({ (p: [String: Tensor], x: Tensor) in tanh(matmul(x, p["w"]!)) }, argnums: [0, 1])(params, x)
/// // jp!["w"]!.shape == y.shape + [3, 2]
/// ```
public func jacfwd<each A: PyTree>(
    _ f: @escaping (repeat each A) -> Tensor, argnums: [Int]
) -> TreeFunction<repeat each A, (repeat (each A)?)> {
    jacobian(f, argnums: argnums, forward: true, "jacfwd")
}

/// The Jacobian by reverse mode (`jax.jacrev(f, argnums=...)`); see
/// ``jacfwd(_:argnums:)``.
///
/// ```swift
/// let (jp, _) = jacrev({ (p: [String: Tensor], x: Tensor) in tanh(matmul(x, p["w"]!)) }, argnums: [0])(params, x)
/// ```
public func jacrev<each A: PyTree>(
    _ f: @escaping (repeat each A) -> Tensor, argnums: [Int]
) -> TreeFunction<repeat each A, (repeat (each A)?)> {
    jacobian(f, argnums: argnums, forward: false, "jacrev")
}

/// The Jacobian of a function from a pytree to a tensor, by forward mode
/// (`jax.jacfwd`): shaped like the argument, each leaf of shape
/// `output.shape + leaf.shape`.
///
/// ```swift
/// let j = jacfwd { (p: [String: Tensor]) in tanh(matmul(x, p["w"]!) + p["b"]!) }(params)
/// ```
public func jacfwd<P: PyTree>(_ f: @escaping (P) -> Tensor) -> (P) -> P {
    { p in treeUnflatten(like: p, jacobianBlocks({ [f(treeUnflatten(like: p, $0))] }, treeLeaves(p), forward: true).blocks[0]) }
}

/// The Jacobian of a function from a pytree to a tensor, by reverse mode
/// (`jax.jacrev`); see ``jacfwd(_:)-(P)->Tensor``.
///
/// ```swift
/// let j = jacrev { (p: [String: Tensor]) in tanh(matmul(x, p["w"]!) + p["b"]!) }(params)
/// ```
public func jacrev<P: PyTree>(_ f: @escaping (P) -> Tensor) -> (P) -> P {
    { p in treeUnflatten(like: p, jacobianBlocks({ [f(treeUnflatten(like: p, $0))] }, treeLeaves(p), forward: false).blocks[0]) }
}

/// The Jacobian of a function between pytrees by forward mode: one tree
/// shaped like the argument per leaf of the output (in ``treeLeaves(_:)``
/// order), each leaf of shape `outputLeaf.shape + argumentLeaf.shape`
/// (JAX's nested output-of-input tree, with the outer level as a list).
///
/// ```swift
/// let rows = jacfwd { (p: [String: Tensor]) in ["y": p["w"]! * 2, "z": p["b"]!] }(params)
/// // rows[0] is d y / d params, rows[1] is d z / d params
/// ```
public func jacfwd<P: PyTree, Q: PyTree>(_ f: @escaping (P) -> Q) -> (P) -> [P] {
    { p in jacobianBlocks({ treeLeaves(f(treeUnflatten(like: p, $0))) }, treeLeaves(p), forward: true).blocks.map { treeUnflatten(like: p, $0) } }
}

/// The Jacobian of a function between pytrees by reverse mode; see ``jacfwd(_:)-(P)->Q``.
public func jacrev<P: PyTree, Q: PyTree>(_ f: @escaping (P) -> Q) -> (P) -> [P] {
    { p in jacobianBlocks({ treeLeaves(f(treeUnflatten(like: p, $0))) }, treeLeaves(p), forward: false).blocks.map { treeUnflatten(like: p, $0) } }
}

/// The Hessian of a scalar function of a pytree (`jax.hessian` = jacfwd of
/// jacrev): one tree shaped like the argument per leaf of the argument, so
/// `h[i]`'s leaf `j` is `d²f / d leaf_i d leaf_j`, of shape
/// `leaf_i.shape + leaf_j.shape` (JAX's `H['w']['b']` is `h[iw]["b"]`, with
/// `iw` the index of `w` among ``treeLeaves(_:)``).
///
/// ```swift
/// let h = hessian { (p: [String: Tensor]) in (tanh(matmul(x, p["w"]!) + p["b"]!) ** 2).sum() }(params)
/// // leaves in key order b, w: h[1]["b"] is d²f / dw db, shape [3, 2, 2]
/// ```
public func hessian<P: PyTree>(_ f: @escaping (P) -> Tensor) -> (P) -> [P] {
    jacfwd(jacrev(f))
}

/// Forward-mode derivative of a function of any number of pytree arguments
/// (`jax.jvp(f, primals, tangents)` with a tuple of arguments): the output
/// and its tangent. Tangents have the primals' structures.
///
/// ```swift
/// let (y, dy) = jvp({ (p: [String: Tensor], x: Tensor) in tanh(matmul(x, p["w"]!)) }, at: (params, x), tangents: (dp, dx))
/// ```
public func jvp<each A: PyTree, Q: PyTree>(
    _ f: @escaping (repeat each A) -> Q, at primals: (repeat each A), tangents: (repeat each A)
) -> (output: Q, tangent: Q) {
    let (leaves, _) = packLeaves(repeat each primals)
    let (tangentLeaves, _) = packLeaves(repeat each tangents)
    var structures: [TreeStructure] = [], tangentStructures: [TreeStructure] = []
    for p in repeat each primals { structures.append(treeStructure(p)) }
    for t in repeat each tangents { tangentStructures.append(treeStructure(t)) }
    for (i, (s, t)) in zip(structures, tangentStructures).enumerated() {
        if let d = s.firstDifference(from: t) {
            raise(FlockError("jvp: the tangent of argument \(i) must have the primal's tree structure; they differ at \(d)"))
            let q = f(repeat each primals)
            return (q, q)
        }
    }
    var template: Q? = nil
    let (outs, touts) = jvpFlat({ xs in
        let cursor = LeafCursor(xs)
        let q = f(repeat cursor.take(like: each primals))
        template = q
        return treeLeaves(q)
    }, leaves, tangentLeaves)
    guard let template else {
        let q = f(repeat each primals)
        return (q, q)
    }
    return (treeUnflatten(like: template, outs), treeUnflatten(like: template, touts))
}

/// The output of a function of any number of pytree arguments and its
/// pullback (`jax.vjp(f, *primals)`): the pullback maps an output cotangent
/// to one cotangent per argument.
///
/// ```swift
/// let (y, pullback) = vjp({ (p: [String: Tensor], x: Tensor) in tanh(matmul(x, p["w"]!)) }, at: (params, x))
/// let (dp, dx) = pullback(onesLike(y))
/// ```
public func vjp<each A: PyTree, Q: PyTree>(
    _ f: @escaping (repeat each A) -> Q, at primals: (repeat each A)
) -> (output: Q, pullback: (Q) -> (repeat each A)) {
    let (leaves, _) = packLeaves(repeat each primals)
    var template: Q? = nil
    let lin = linearizeFlat({ xs in
        let cursor = LeafCursor(xs)
        let q = f(repeat cursor.take(like: each primals))
        template = q
        return treeLeaves(q)
    }, leaves)
    guard let template else {
        let q = f(repeat each primals)
        return (q, { _ in primals })
    }
    let out = treeUnflatten(like: template, lin.outputs)
    return (out, { ct in
        if let d = treeStructure(out).firstDifference(from: treeStructure(ct)) {
            raise(FlockError("vjp: cotangent structure must match the output's; they differ at \(d)"))
            return primals
        }
        let cursor = LeafCursor(lin.vjp(treeLeaves(ct)))
        return (repeat cursor.take(like: each primals))
    })
}
