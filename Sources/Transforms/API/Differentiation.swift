// The user-facing differentiation API: thin pytree adapters around
// linearizeFlat / jvpFlat (one implementation per transform).

/// Checks that `f`'s output is a real scalar, as `grad` requires.
func checkScalarOutput(_ y: Tensor, _ op: String) -> Bool {
    if y.rank != 0 {
        raise(FlockError("\(op): gradient only defined for scalar-output functions. Output had shape: \(y.shape)"))
        return false
    }
    if !y.dtype.isFloatingPoint {
        raise(FlockError("\(op): differentiation requires a real-valued floating-point output, got \(y.dtype)"))
        return false
    }
    return true
}

/// Checks that the differentiated inputs are floating point, as JAX does.
func checkFloatInputs(_ leaves: [Tensor], _ op: String, argument: Int = 0) -> Bool {
    for (i, x) in leaves.enumerated() where !x.dtype.isFloatingPoint {
        raise(FlockError("\(op) requires real-valued inputs (input dtype that is a sub-dtype of floating), but got \(x.dtype) for leaf \(i) (shape \(x.shape)) of argument \(argument). For integer inputs, convert them to float first."))
        return false
    }
    return true
}

/// Value and gradient of a scalar function of a pytree (`jax.value_and_grad`).
///
/// ```swift
/// let (loss, g) = valueAndGrad { (p: [String: Tensor]) in (p["w"]! * x).sum() }(params)
/// ```
public func valueAndGrad<P: PyTree>(_ f: @escaping (P) -> Tensor) -> (P) -> (value: Tensor, grad: P) {
    { p in
        let leaves = treeLeaves(p)
        guard checkFloatInputs(leaves, "grad") else { return (Tensor.poisoned, p) }
        let lin = linearizeFlat({ xs in [f(treeUnflatten(like: p, xs))] }, leaves)
        let y = lin.outputs[0]
        guard checkScalarOutput(y, "grad") else { return (y, p) }
        let g = lin.vjp([Tensor(1, dtype: y.dtype)])
        return (y, treeUnflatten(like: p, g))
    }
}

/// The gradient of a scalar function of a pytree (`jax.grad`).
///
/// ```swift
/// let df = grad { (x: Tensor) in tanh(x) }
/// print(df(Tensor(Float(2))))   // Array(0.07065082, dtype=float32)
/// ```
public func grad<P: PyTree>(_ f: @escaping (P) -> Tensor) -> (P) -> P {
    let vg = valueAndGrad(f)
    return { vg($0).grad }
}

/// Value, auxiliary data and gradient of `f` returning `(loss, aux)`
/// (`jax.value_and_grad(f, has_aux=True)`). The auxiliary data is any pytree
/// and comes back as concrete values (not traced), ready to read.
///
/// ```swift
/// let (loss, aux, g) = valueAndGrad(hasAux: { (w: Tensor) in
///     let y = (w * x).sum()
///     return (y * y, ["y": y])
/// })(w)
/// print(aux["y"]!.item())
/// ```
public func valueAndGrad<P: PyTree, Aux: PyTree>(hasAux f: @escaping (P) -> (Tensor, Aux)) -> (P) -> (value: Tensor, aux: Aux, grad: P) {
    { p in
        let leaves = treeLeaves(p)
        var template: Aux? = nil
        // The auxiliary leaves are outputs beside the loss, so they come back
        // as primal values; they get no cotangent.
        let lin = linearizeFlat({ xs in
            let (y, a) = f(treeUnflatten(like: p, xs))
            template = a
            return [y] + treeLeaves(a)
        }, leaves)
        let y = lin.outputs[0]
        let aux = treeUnflatten(like: template!, Array(lin.outputs.dropFirst()))
        guard checkFloatInputs(leaves, "grad"), checkScalarOutput(y, "grad") else { return (y, aux, p) }
        let cotangents: [Tensor?] = [Tensor(1, dtype: y.dtype)] + Array(repeating: nil, count: lin.outputs.count - 1)
        return (y, aux, treeUnflatten(like: p, lin.vjp(partial: cotangents)))
    }
}

/// Gradient and auxiliary data of `f` returning `(loss, aux)`
/// (`jax.grad(f, has_aux=True)`); the auxiliary data is any pytree, concrete.
public func grad<P: PyTree, Aux: PyTree>(hasAux f: @escaping (P) -> (Tensor, Aux)) -> (P) -> (grad: P, aux: Aux) {
    let vg = valueAndGrad(hasAux: f)
    return { p in
        let r = vg(p)
        return (r.grad, r.aux)
    }
}

/// Which arguments of a two-argument function to differentiate (JAX's `argnums`).
public struct Argnums<A, B, Result> {
    let indices: [Int]
    let build: (A?, B?) -> Result
}
extension Argnums where Result == A {
    /// `argnums=0`.
    public static var first: Argnums { Argnums(indices: [0]) { a, _ in a! } }
}
extension Argnums where Result == B {
    /// `argnums=1`.
    public static var second: Argnums { Argnums(indices: [1]) { _, b in b! } }
}
extension Argnums where Result == (A, B) {
    /// `argnums=(0, 1)`.
    public static var both: Argnums { Argnums(indices: [0, 1]) { a, b in (a!, b!) } }
}

/// Value and gradient of a scalar function of two pytrees with respect to the
/// arguments chosen by `argnums` (`.first`, `.second` or `.both`).
///
/// ```swift
/// let (loss, (dW, db)) = valueAndGrad(loss, argnums: .both)(W, b)
/// ```
public func valueAndGrad<A: PyTree, B: PyTree, R>(
    _ f: @escaping (A, B) -> Tensor, argnums: Argnums<A, B, R>
) -> (A, B) -> (value: Tensor, grad: R) {
    { a, b in
        let la = treeLeaves(a), lb = treeLeaves(b)
        let wrtA = argnums.indices.contains(0), wrtB = argnums.indices.contains(1)
        if wrtA && !checkFloatInputs(la, "grad", argument: 0) { return (Tensor.poisoned, argnums.build(a, b)) }
        if wrtB && !checkFloatInputs(lb, "grad", argument: 1) { return (Tensor.poisoned, argnums.build(a, b)) }
        let primals = (wrtA ? la : []) + (wrtB ? lb : [])
        let lin = linearizeFlat({ xs in
            let na = wrtA ? treeUnflatten(like: a, Array(xs.prefix(la.count))) : a
            let nb = wrtB ? treeUnflatten(like: b, Array(xs.suffix(lb.count))) : b
            return [f(na, nb)]
        }, primals)
        let y = lin.outputs[0]
        guard checkScalarOutput(y, "grad") else { return (y, argnums.build(a, b)) }
        let g = lin.vjp([Tensor(1, dtype: y.dtype)])
        let ga = wrtA ? treeUnflatten(like: a, Array(g.prefix(la.count))) : nil
        let gb = wrtB ? treeUnflatten(like: b, Array(g.suffix(lb.count))) : nil
        return (y, argnums.build(ga, gb))
    }
}

/// Gradient of a scalar function of two pytrees (`jax.grad(f, argnums=...)`).
public func grad<A: PyTree, B: PyTree, R>(_ f: @escaping (A, B) -> Tensor, argnums: Argnums<A, B, R>) -> (A, B) -> R {
    let vg = valueAndGrad(f, argnums: argnums)
    return { vg($0, $1).grad }
}

/// Gradient with respect to the first of two arguments (JAX's default `argnums=0`).
public func grad<A: PyTree, B: PyTree>(_ f: @escaping (A, B) -> Tensor) -> (A, B) -> A {
    grad(f, argnums: .first)
}

/// Forward-mode derivative (`jax.jvp`): outputs and output tangents.
public func jvp<P: PyTree, Q: PyTree>(_ f: @escaping (P) -> Q, primals: P, tangents: P) -> (output: Q, tangent: Q) {
    let sp = treeStructure(primals), st = treeStructure(tangents)
    if let d = sp.firstDifference(from: st) {
        raise(FlockError("jvp: primal and tangent arguments must have the same tree structure; they differ at \(d)"))
        return (f(primals), f(primals))
    }
    var outTemplate: Q? = nil
    let (outs, touts) = jvpFlat({ xs in
        let q = f(treeUnflatten(like: primals, xs))
        outTemplate = q
        return treeLeaves(q)
    }, treeLeaves(primals), treeLeaves(tangents))
    guard let template = outTemplate else {
        // jvpFlat reported bad arguments; return placeholders shaped like f's output.
        let q = f(primals)
        return (q, q)
    }
    return (treeUnflatten(like: template, outs), treeUnflatten(like: template, touts))
}

/// Linearizes a pytree function; returns the linear map and the output tree.
func linearizeTree<P: PyTree, Q: PyTree>(_ f: @escaping (P) -> Q, _ primals: P) -> (Linearized, Q) {
    var outTemplate: Q? = nil
    let lin = linearizeFlat({ xs in
        let q = f(treeUnflatten(like: primals, xs))
        outTemplate = q
        return treeLeaves(q)
    }, treeLeaves(primals))
    return (lin, treeUnflatten(like: outTemplate!, lin.outputs))
}

/// Outputs and the pullback of `f` at `primals` (`jax.vjp`).
public func vjp<P: PyTree, Q: PyTree>(_ f: @escaping (P) -> Q, _ primals: P) -> (output: Q, pullback: (Q) -> P) {
    let (lin, out) = linearizeTree(f, primals)
    return (out, { ct in
        if let d = treeStructure(out).firstDifference(from: treeStructure(ct)) {
            raise(FlockError("vjp: cotangent structure must match the output's; they differ at \(d)"))
            return primals
        }
        return treeUnflatten(like: primals, lin.vjp(treeLeaves(ct)))
    })
}

/// Outputs and the linear map of `f` at `primals` (`jax.linearize`).
public func linearize<P: PyTree, Q: PyTree>(_ f: @escaping (P) -> Q, _ primals: P) -> (output: Q, jvp: (P) -> Q) {
    let (lin, out) = linearizeTree(f, primals)
    return (out, { t in treeUnflatten(like: out, lin.jvp(treeLeaves(t))) })
}

/// The Jacobian by forward mode (`jax.jacfwd`): shape `output.shape + input.shape`.
public func jacfwd(_ f: @escaping (Tensor) -> Tensor) -> (Tensor) -> Tensor {
    { x in
        let n = x.count
        let y = f(x)
        let columns = (0..<n).map { i -> Tensor in
            let basis = oneHotBasis(i, x)
            return jvpFlat({ [f($0[0])] }, [x], [basis]).tangents[0]
        }
        if n == 0 { return zeros(y.shape + x.shape, dtype: y.dtype) }
        return stack(columns, axis: -1).reshaped(y.shape + x.shape)
    }
}

/// The Jacobian by reverse mode (`jax.jacrev`): shape `output.shape + input.shape`.
public func jacrev(_ f: @escaping (Tensor) -> Tensor) -> (Tensor) -> Tensor {
    { x in
        let lin = linearizeFlat({ [f($0[0])] }, [x])
        let y = lin.outputs[0]
        let rows = (0..<y.count).map { i in lin.vjp([oneHotBasis(i, y)])[0] }
        if y.count == 0 { return zeros(y.shape + x.shape, dtype: x.dtype) }
        return stack(rows, axis: 0).reshaped(y.shape + x.shape)
    }
}

/// The Hessian (`jax.hessian` = jacfwd of jacrev).
public func hessian(_ f: @escaping (Tensor) -> Tensor) -> (Tensor) -> Tensor { jacfwd(jacrev(f)) }

/// The `i`-th standard basis tensor shaped like `x`.
func oneHotBasis(_ i: Int, _ x: Tensor) -> Tensor {
    let flat = bind1(.iota(.int32, shape: [x.count], dimension: 0))
    return (flat .== Tensor(Int32(i))).converted(to: x.dtype).reshaped(x.shape)
}

/// Stops gradients from flowing through `x` (`jax.lax.stop_gradient`).
public func stopGradient(_ x: Tensor) -> Tensor {
    x.dtype.isFloatingPoint ? bind1(.stopGradient, x) : x
}

/// `stopGradient` of every leaf of a pytree.
public func stopGradient<P: PyTree>(_ tree: P) -> P { treeMap(tree) { stopGradient($0) } }
