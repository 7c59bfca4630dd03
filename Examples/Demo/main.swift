// Flock's demo (the README's "main job" until the distributed training example
// lands): a small logistic-regression model trained with grad and jit, with a
// JAX-identical PRNG and an .npz checkpoint.
import Flock

let key = Random.key(0)
let keys = Random.split(key, num: 3)
let n = 256, d = 8
let trueW = Random.normal(keys[0], shape: [d])
let X = Random.normal(keys[1], shape: [n, d])
let y = (matmul(X, trueW) .> 0).converted(to: .float32)

func loss(_ w: Tensor, _ b: Tensor) -> Tensor {
    let logits = matmul(X, w) + b
    // Binary cross-entropy from logits, computed stably.
    return (softplus(logits) - y * logits).mean()
}

let step = jit { (p: [Tensor]) -> [Tensor] in
    let (l, (gw, gb)) = valueAndGrad(loss, argnums: .both)(p[0], p[1])
    return [p[0] - 0.5 * gw, p[1] - 0.5 * gb, l]
}
var w = zeros([d]), b = Tensor(Float(0))
for epoch in 0..<200 {
    let out = step([w, b])
    (w, b) = (out[0], out[1])
    if epoch % 50 == 0 || epoch == 199 { print("epoch \(epoch): loss \(out[2].item(Float.self))") }
}
let accuracy = ((matmul(X, w) + b .> 0).converted(to: .float32) .== y).converted(to: .float32).mean()
print("training accuracy:", accuracy)
print("cosine(w, trueW):", (w * trueW).sum() / (sqrt((w * w).sum()) * sqrt((trueW * trueW).sum())))
let path = "/tmp/flock-demo-params.npz"
try saveNPZ(["w": w, "b": b], to: path)
let restored = try loadNPZ(path)
print("checkpoint round trip:", restored["w"]!.toArray(Float.self) == w.toArray(Float.self) ? "ok" : "MISMATCH")
