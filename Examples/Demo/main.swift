import Flock
let x = Tensor([1, 2, 3] as [Float])
let f = { (x: Tensor) -> Tensor in cond(x.sum() .> 0, { (v: Tensor) in (v * v).sum() }, { (v: Tensor) in v.sum() }, x) }
print(f(x), grad(f)(x), grad(f)(-x))
let cumprod = { (x: Tensor) -> Tensor in scan({ (c: Tensor, v: Tensor) in (c * v, c * v) }, initial: Tensor(Float(1)), xs: x).1.sum() }
print(cumprod(x), grad(cumprod)(x))   // 1+2+6 = 9; d/dx = [1+2+6, 1+3, 2] = [9, 4, 2]
let w = { (x: Tensor) -> Tensor in whileLoop(condition: { (c: Tensor) in c.sum() .< 100 }, body: { $0 * 2 }, initial: x).sum() }
print(w(x), jvp(w, primals: x, tangents: onesLike(x)))
let clipped = customVJP({ $0 * 3 }, forward: { ($0 * 3, []) }, backward: { _, g in clip(g * 3, min: -1, max: 1) })
print(grad { clipped($0).sum() }(x))
let ck = checkpoint { (v: Tensor) in sin(v) * v }
print(grad { ck($0).sum() }(x), grad { (sin($0) * $0).sum() }(x))
let jf = jit { (v: Tensor) in tanh(v) * 0.5 + 0.5 }
print(jf(x), grad { jf($0).sum() }(x), makeJaxpr { (v: Tensor) in tanh(v) * 0.5 + 0.5 }(x))
let fl = forLoop(0, 5, body: { i, c in c + i.converted(to: .float32) }, initial: Tensor(Float(0)))
print(fl, grad { (v: Tensor) in forLoop(0, 3, body: { _, c in c * v }, initial: Tensor(Float(1))) }(Tensor(Float(2))))
print(grad(grad { (v: Tensor) in scan({ (c: Tensor, e: Tensor) in (c * v + e, c) }, initial: v, xs: x).0 })(Tensor(Float(2))))
