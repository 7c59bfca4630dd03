import Flock
let x = Tensor(Float(2))
let j = makeJaxpr({ (v: [Tensor]) in [v[0] .< 100] })([x])
for v in [Float(4), 7, 11.5, 50] { print(v, evalJaxpr(j, [Tensor(v)])) }
let b = makeJaxpr({ (v: [Tensor]) in [v[0] * 1.5 + 1] })([x])
var c = Tensor(Float(4))
for _ in 0..<4 { c = evalJaxpr(b, [c])[0]; print(c, evalJaxpr(j, [c])) }
