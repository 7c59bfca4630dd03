import Testing
import FlockTestSupport
@testable import FlockTransforms

/// JAX's autodiff tutorial, compared with JAX's own numbers.
@Suite struct TutorialTests {
    @Test func tanhDerivatives() {
        let x = Tensor(Float(2))
        var d: (Tensor) -> Tensor = { tanh($0) }
        for k in 1...3 {
            d = grad(d)
            expectClose(d(x), JAXReference.tensor("tutorial.tanh.d\(k)", dtype: .float32), rtol: 1e-5, "d\(k) tanh")
        }
    }

    @Test func polynomialDerivatives() {
        let p: (Tensor) -> Tensor = { x in x * x * x + 2 * x * x - 3 * x + 1 }
        var d = p
        for k in 1...4 {
            d = grad(d)
            expectClose(d(Tensor(Float(1))), JAXReference.tensor("tutorial.poly.d\(k)", dtype: .float32), "d\(k) poly")
        }
    }

    let inputs = Tensor([[0.52, 1.12, 0.77], [0.88, -1.08, 0.15], [0.52, 0.06, -1.30], [0.74, -2.49, 1.39]] as [[Float]])
    let targets = Tensor([true, true, false, true])
    let W = Tensor([0.1, -0.3, 0.7] as [Float])
    let b = Tensor(Float(0.4))

    func loss(_ W: Tensor, _ b: Tensor) -> Tensor {
        let preds = sigmoid(matmul(inputs, W) + b)
        let t = targets.converted(to: .float32)
        let labelProbs = preds * t + (1 - preds) * (1 - t)
        return -log(labelProbs).sum()
    }

    @Test func logisticRegressionGradients() {
        expectClose(loss(W, b), JAXReference.tensor("tutorial.logreg.loss", dtype: .float32), "loss")
        expectClose(grad(loss, argnums: .first)(W, b), JAXReference.tensor("tutorial.logreg.dW", dtype: .float32), "dW")
        expectClose(grad(loss, argnums: .second)(W, b), JAXReference.tensor("tutorial.logreg.db", dtype: .float32), "db")
        let (dW, db) = grad(loss, argnums: .both)(W, b)
        expectClose(dW, JAXReference.tensor("tutorial.logreg.both.dW", dtype: .float32), "both dW")
        expectClose(db, JAXReference.tensor("tutorial.logreg.both.db", dtype: .float32), "both db")
        let (value, g) = valueAndGrad(loss, argnums: .first)(W, b)
        expectClose(value, JAXReference.tensor("tutorial.logreg.loss", dtype: .float32), "valueAndGrad value")
        expectClose(g, JAXReference.tensor("tutorial.logreg.dW", dtype: .float32), "valueAndGrad grad")
    }

    @Test func dictionaryOfParameters() {
        let g = grad { (p: [String: Tensor]) in loss(p["W"]!, p["b"]!) }(["W": W, "b": b])
        expectClose(g["W"]!, JAXReference.tensor("tutorial.logreg.dict.W", dtype: .float32), "dict W")
        expectClose(g["b"]!, JAXReference.tensor("tutorial.logreg.dict.b", dtype: .float32), "dict b")
    }

    @Test func finiteDifferencesAgreeWithGradients() throws {
        try checkGrads({ xs in [loss(xs[0], xs[1])] }, [W, b], order: 2)
    }

    /// The README's training step (kept in step with it): jit with donation
    /// trains exactly as the same step run eagerly.
    @Test func readmeTrainingStep() {
        typealias Params = [String: Tensor]
        func loss(_ p: Params, _ x: Tensor, _ y: Tensor) -> Tensor {
            let h = relu(matmul(x, p["w1"]!) + p["b1"]!)
            return ((matmul(h, p["w2"]!) - y) * (matmul(h, p["w2"]!) - y)).mean()
        }
        let body = { (p: Params, batch: [Tensor]) -> Params in
            let g = grad { (q: Params) in loss(q, batch[0], batch[1]) }(p)
            return treeMap(p, g) { $0 - 0.01 * $1 }
        }
        let step = jit(donateArgnums: [0], body)
        let initial: Params = ["w1": Random.normal(Random.key(0), shape: [8, 16]) * 0.3, "b1": zeros([16]),
                               "w2": Random.normal(Random.key(1), shape: [16, 1]) * 0.3]
        let x = Random.normal(Random.key(2), shape: [32, 8]), y = x.sum(axes: [1], keepDims: true)
        var params = treeMap(initial) { $0 * 1 }  // copies: the originals are not donated
        var eager = initial
        for _ in 0..<100 {
            params = step(params, [x, y])
            eager = body(eager, [x, y])
        }
        let before = loss(initial, x, y).item(Float.self), after = loss(params, x, y).item(Float.self)
        #expect(after < before / 4, "loss \(before) → \(after)")
        for k in ["w1", "b1", "w2"] { expectClose(params[k]!, eager[k]!, rtol: 1e-4, atol: 1e-5, k) }
    }
}
