// JAX's "automatic vectorization" and "automatic differentiation" tutorials in
// Flock, printing what JAX prints. Run: swift run -c release tutorial
// (`--prng legacy` reproduces the numbers of JAX's documentation, which was
// written before JAX made its PRNG partitionable).
import ArgumentParser
import Flock
import Foundation

@main
struct Tutorial: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tutorial",
        abstract: "JAX's vmap and autodiff tutorials, translated to Flock, with JAX-style output.",
        discussion: """
            Prints each tutorial step's result as JAX does. With `--prng legacy` the random
            initial parameters of the logistic-regression example (and so its gradients and
            loss) equal those printed in JAX's documentation. `--check` compares every
            printed result with JAX's (Examples/Tutorial/jax-values.json, written by
            tools/make_tutorial_values.py) and fails if one differs.
            """)

    enum PRNG: String, ExpressibleByArgument, CaseIterable {
        case partitionable, legacy
    }

    @Option(help: "The threefry counter scheme: 'partitionable' (JAX's default today) or 'legacy' (jax_threefry_partitionable=False).")
    var prng: PRNG = .partitionable

    @Option(help: ArgumentHelp("Compare the results with JAX's values in this JSON file.", valueName: "jax-values.json"))
    var check: String?

    func run() throws {
        RandomConfig.threefryPartitionable = prng == .partitionable
        var results = Results()
        vectorization(&results)
        differentiation(&results)
        try gradientCheck()
        perExampleGradients(&results)
        if let check { try results.compare(withJAXValuesIn: check, mode: prng.rawValue) }
    }
}

/// Prints results as `label = value` and remembers them for `--check`.
struct Results {
    var values: [(label: String, value: Tensor)] = []

    mutating func show(_ label: String, _ value: Tensor) {
        print(label, "=", value)
        values.append((label, value))
    }

    /// Fails (a one-line error, exit status 1) unless every result is within
    /// float32 rounding of JAX's.
    func compare(withJAXValuesIn path: String, mode: String) throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        guard let file = try JSONSerialization.jsonObject(with: data) as? [String: Any],
              let expected = file[mode] as? [String: [Double]] else {
            throw ValidationError("\(path): no values for --prng \(mode)")
        }
        for (label, value) in values {
            guard let want = expected[label] else { throw ValidationError("\(path): no JAX value for '\(label)'") }
            let got = value.converted(to: .float32).reshaped([-1]).toArray(Float.self)
            let close = got.count == want.count && zip(got, want).allSatisfy { abs(Double($0) - $1) <= 1e-5 + 2e-5 * abs($1) }
            if !close { throw ValidationError("'\(label)': Flock gives \(got), JAX \(want)") }
        }
        print("\nall \(values.count) results equal JAX's (--prng \(mode))")
    }
}

func section(_ title: String) { print("\n== \(title)") }

// --- vmap: a 1-D convolution, batched several ways ---------------------------
func convolve(_ x: Tensor, _ w: Tensor) -> Tensor {
    let n = x.shape[0]
    return stack((1..<(n - 1)).map { i in dot(x[(i - 1)...(i + 1)], w) })
}

func vectorization(_ r: inout Results) {
    section("vmap of a 1-D convolution")
    let x = arange(5).converted(to: .float32)
    let w = Tensor([2, 3, 4] as [Float])
    r.show("convolve(x, w)", convolve(x, w))
    let xs = stack([x, x + 1]), ws = stack([w, w * 2])
    r.show("vmap(convolve)(xs, ws)", vmap(convolve)(xs, ws))
    r.show("in/out axes 1", vmap(convolve, inAxes: (1, 1), outAxes: 1)(xs.T, ws.T))
    r.show("w unbatched", vmap(convolve, inAxes: (0, nil))(xs, w))
    r.show("jit(vmap)", jit { (v: [Tensor]) in [vmap(convolve)(v[0], v[1])] }([xs, ws])[0])
    r.show("vmap(jit)", vmap({ (a: Tensor, b: Tensor) in jit { (v: [Tensor]) in [convolve(v[0], v[1])] }([a, b])[0] })(xs, ws))
}

// --- grad: derivatives of tanh and of a polynomial ---------------------------
func differentiation(_ r: inout Results) {
    section("grad")
    let dtanh = grad { (x: Tensor) in tanh(x) }
    r.show("grad(tanh)(2)", dtanh(Tensor(Float(2))))
    r.show("grad(grad(tanh))(2)", grad(dtanh)(Tensor(Float(2))))
    r.show("grad(grad(grad(tanh)))(2)", grad(grad(dtanh))(Tensor(Float(2))))
    let poly = { (x: Tensor) in x * x * x + 2 * x * x - 3 * x + 1 }
    var d = poly
    for k in 1...4 {
        d = grad(d)
        r.show("d\(k)/dx\(k) (x³ + 2x² − 3x + 1) at 1", d(Tensor(Float(1))))
    }

    // The logistic regression of JAX's autodiff tutorial: random initial
    // parameters from key 0, gradients with respect to each.
    section("logistic regression")
    let keys = Random.split(Random.key(0), num: 3)
    let W = Random.normal(keys[1], shape: [3]), b = Random.normal(keys[2], shape: [])
    r.show("W", W)
    r.show("b", b)
    r.show("loss", loss(W, b))
    r.show("dloss/dW", grad(loss, argnums: .first)(W, b))
    r.show("dloss/db", grad(loss, argnums: .second)(W, b))
    let params: [String: Tensor] = ["W": W, "b": b]
    print("grad over a dictionary of parameters:", grad { (p: [String: Tensor]) in loss(p["W"]!, p["b"]!) }(params))
    let (value, g) = valueAndGrad(loss, argnums: .first)(W, b)
    r.show("valueAndGrad value", value)
    r.show("valueAndGrad dW", g)
}

let inputs = Tensor([[0.52, 1.12, 0.77], [0.88, -1.08, 0.15], [0.52, 0.06, -1.30], [0.74, -2.49, 1.39]] as [[Float]])
let targets = Tensor([1, 1, 0, 1] as [Float])

/// The tutorial's sigmoid, written with tanh as in JAX's documentation.
func tutorialSigmoid(_ x: Tensor) -> Tensor { 0.5 * (tanh(x / 2) + 1) }

/// Negative log-likelihood of the targets under a logistic model.
func loss(_ W: Tensor, _ b: Tensor) -> Tensor {
    let preds = tutorialSigmoid(matmul(inputs, W) + b)
    return -log(preds * targets + (1 - preds) * (1 - targets)).sum()
}

// --- checking gradients numerically -----------------------------------------
func gradientCheck() throws {
    section("checkGrads")
    let W = Tensor([0.1, -0.3, 0.7] as [Float]), b = Tensor(Float(0.4))
    try checkGrads({ [loss($0[0], $0[1])] }, [W, b], order: 2)
    print("finite differences agree with forward and reverse mode (order 2)")
}

// --- per-example gradients ----------------------------------------------------
func perExampleGradients(_ r: inout Results) {
    section("per-example gradients")
    let W = Tensor([0.1, -0.3, 0.7] as [Float])
    let perExample = vmap({ (xi: Tensor, ti: Tensor) -> Tensor in
        grad { (w: Tensor) in (sigmoid(dot(xi, w)) - ti) * (sigmoid(dot(xi, w)) - ti) }(W)
    })
    r.show("per-example gradients", perExample(inputs, targets))
}
