// Data-parallel training on every device of the job: run it with
//   ./launch -n 2 flock-data-parallel                 (2 ranks)
//   ./launch -n 2 --local-devices 2 flock-data-parallel (2 ranks × 2 threads)
//   swift run flock-data-parallel                     (1 process, 1 device)
// Every device holds its own shard of the data; each step averages the
// gradients over all devices with `pmean`, so every device keeps the same
// parameters, and the loss equals single-device training on all the data.
import Flock

try Distributed.initialize()
let devices = Distributed.deviceCount
let n = 512, d = 8
let keys = Random.split(Random.key(0), num: 2)
let trueW = Random.normal(keys[0], shape: [d])
let allX = Random.normal(keys[1], shape: [n, d])
let allY = (matmul(allX, trueW) .> 0).converted(to: .float32)

/// Binary cross-entropy from logits on one shard.
func loss(_ p: [Tensor], _ x: Tensor, _ y: Tensor) -> Tensor {
    let logits = matmul(x, p[0]) + p[1]
    return (softplus(logits) - y * logits).mean()
}

let losses = Distributed.onEachLocalDevice(axisName: "devices") { local -> [Float] in
    // This device's shard of the examples (the global device index picks it).
    let device = axisIndex("devices").item(Int32.self)
    let rows = n / devices, start = Int(device) * rows
    let x = allX[start..<(start + rows)], y = allY[start..<(start + rows)]
    let step = jit { (p: [Tensor]) -> [Tensor] in
        let (l, g) = valueAndGrad { (q: [Tensor]) in loss(q, x, y) }(p)
        let mean = pmean(g, axisName: "devices")  // the same averaged gradient on every device
        return [p[0] - 0.5 * mean[0], p[1] - 0.5 * mean[1], pmean(l, axisName: "devices")]
    }
    var p = [zeros([d]), Tensor(Float(0))]
    var history: [Float] = []
    for _ in 0..<100 {
        let out = step(p)
        p = [out[0], out[1]]
        history.append(out[2].item(Float.self))
    }
    return history
}

if Distributed.processIndex == 0 {
    let history = losses[0]
    print("\(Distributed.processCount) process(es) × \(Distributed.localDeviceCount) device(s): "
        + "loss \(history[0]) → \(history[history.count - 1]) after \(history.count) steps")
}
