// JAX's "automatic vectorization" and "automatic differentiation" tutorials in
// Flock. Run: swift run flock-tutorial
import Flock

func section(_ title: String) { print("\n== \(title)") }

// --- vmap: a 1-D convolution, batched three ways -----------------------------
section("vmap of a 1-D convolution")
func convolve(_ x: Tensor, _ w: Tensor) -> Tensor {
    let n = x.shape[0]
    return stack((1..<(n - 1)).map { i in dot(x[(i - 1)...(i + 1)], w) })
}
let x = arange(5).converted(to: .float32)
let w = Tensor([2, 3, 4] as [Float])
print("convolve(x, w) =", convolve(x, w))
let xs = stack([x, x + 1]), ws = stack([w, w * 2])
let batched = vmap(convolve)
print("vmap(convolve)(xs, ws) =", batched(xs, ws))
print("in/out axes 1 =", vmap(convolve, inAxes: (1, 1), outAxes: 1)(xs.T, ws.T))
print("w unbatched =", vmap(convolve, inAxes: (0, nil))(xs, w))
print("jit(vmap) =", jit { (v: [Tensor]) in [vmap(convolve)(v[0], v[1])] }([xs, ws])[0])
print("vmap(jit) =", vmap({ (a: Tensor, b: Tensor) in jit { (v: [Tensor]) in [convolve(v[0], v[1])] }([a, b])[0] })(xs, ws))

// --- grad: derivatives of tanh and of a polynomial ---------------------------
section("grad")
let dtanh = grad { (x: Tensor) in tanh(x) }
print("grad(tanh)(2) =", dtanh(Tensor(Float(2))))
print("grad(grad(tanh))(2) =", grad(dtanh)(Tensor(Float(2))))
print("grad(grad(grad(tanh)))(2) =", grad(grad(dtanh))(Tensor(Float(2))))
let poly = { (x: Tensor) in x * x * x + 2 * x * x - 3 * x + 1 }
var d = poly
for k in 1...4 {
    d = grad(d)
    print("d\(k)/dx\(k) (x³ + 2x² − 3x + 1) at 1 =", d(Tensor(Float(1))))
}

// --- logistic regression ----------------------------------------------------
section("logistic regression")
let inputs = Tensor([[0.52, 1.12, 0.77], [0.88, -1.08, 0.15], [0.52, 0.06, -1.30], [0.74, -2.49, 1.39]] as [[Float]])
let targets = Tensor([1, 1, 0, 1] as [Float])
func loss(_ W: Tensor, _ b: Tensor) -> Tensor {
    let preds = sigmoid(matmul(inputs, W) + b)
    return -log(preds * targets + (1 - preds) * (1 - targets)).sum()
}
let W = Tensor([0.1, -0.3, 0.7] as [Float]), b = Tensor(Float(0.4))
print("dloss/dW =", grad(loss, argnums: .first)(W, b))
print("dloss/db =", grad(loss, argnums: .second)(W, b))
let (dW, db) = grad(loss, argnums: .both)(W, b)
print("both:", dW, db)
let params: [String: Tensor] = ["W": W, "b": b]
print("dict of parameters:", grad { (p: [String: Tensor]) in loss(p["W"]!, p["b"]!) }(params))
let (value, g) = valueAndGrad(loss, argnums: .first)(W, b)
print("valueAndGrad:", value, g)

// --- checking gradients numerically -----------------------------------------
section("checkGrads")
do {
    try checkGrads({ [loss($0[0], $0[1])] }, [W, b], order: 2)
    print("finite differences agree with forward and reverse mode (order 2)")
} catch {
    print("gradient check failed:", error)
}

// --- per-example gradients ----------------------------------------------------
section("per-example gradients")
let perExample = vmap({ (xi: Tensor, ti: Tensor) -> Tensor in
    grad { (w: Tensor) in (sigmoid(dot(xi, w)) - ti) * (sigmoid(dot(xi, w)) - ti) }(W)
})
print(perExample(inputs, targets))
