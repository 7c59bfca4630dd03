import Foundation
import FlockOptim
import FlockTestSupport
import Testing

/// Fixtures/optim.json (tools/make_optim_fixtures.py): optax's updates,
/// params and states for transformations described by small JSON specs.
enum OptaxReference {
    nonisolated(unsafe) static let root: [String: Any] = {
        let url = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.appendingPathComponent("optim.json")
        return try! JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
    }()

    static var optimizers: [[String: Any]] { root["optimizers"] as! [[String: Any]] }
    static var schedules: [[String: Any]] { root["schedules"] as! [[String: Any]] }
    static var optimizerNames: [String] { optimizers.map { $0["name"] as! String } }
    static var scheduleNames: [String] { schedules.map { $0["name"] as! String } }

    static func optimizer(_ name: String) -> [String: Any] { optimizers.first { $0["name"] as! String == name }! }
    static func schedule(_ name: String) -> [String: Any] { schedules.first { $0["name"] as! String == name }! }

    /// An encoded array as a Tensor of its dtype.
    static func tensor(_ e: Any) -> Tensor {
        let e = e as! [String: Any]
        let shape = e["shape"] as! [Int]
        let values: [Double] = (e["values"] as! [Any]).map { v in
            if let d = v as? Double { return d }
            if let n = v as? NSNumber { return n.doubleValue }
            return FixtureNumber.special(named: v as! String)
        }
        let dtype: DType = switch e["dtype"] as! String {
        case "int32": .int32
        case "bool": .bool
        case "float64": .float64
        default: .float32
        }
        return Tensor(values, shape: shape).converted(to: dtype)
    }

    static func tree(_ e: Any) -> [String: Tensor] { (e as! [String: Any]).mapValues(tensor) }

    // MARK: Specs

    static func double(_ spec: [String: Any], _ key: String) -> Double? { (spec[key] as? NSNumber)?.doubleValue }
    static func int(_ spec: [String: Any], _ key: String) -> Int? { (spec[key] as? NSNumber)?.intValue }
    static func bool(_ spec: [String: Any], _ key: String) -> Bool? { (spec[key] as? NSNumber)?.boolValue }

    static func schedule(spec: Any?) -> Schedule? {
        guard let spec else { return nil }
        if let n = spec as? NSNumber { return .constant(n.doubleValue) }
        let s = spec as! [String: Any]
        let d = { (k: String) in double(s, k)! }
        let i = { (k: String) in int(s, k)! }
        switch s["schedule"] as! String {
        case "constant": return .constant(d("value"))
        case "linear":
            return .linear(initValue: d("init_value"), endValue: d("end_value"), transitionSteps: i("transition_steps"),
                           transitionBegin: int(s, "transition_begin") ?? 0)
        case "polynomial":
            return .polynomial(initValue: d("init_value"), endValue: d("end_value"), power: d("power"),
                               transitionSteps: i("transition_steps"), transitionBegin: int(s, "transition_begin") ?? 0)
        case "cosine_decay":
            return .cosineDecay(initValue: d("init_value"), decaySteps: i("decay_steps"), alpha: double(s, "alpha") ?? 0,
                                exponent: double(s, "exponent") ?? 1)
        case "warmup_cosine_decay":
            return .warmupCosineDecay(initValue: d("init_value"), peakValue: d("peak_value"), warmupSteps: i("warmup_steps"),
                                      decaySteps: i("decay_steps"), endValue: double(s, "end_value") ?? 0, exponent: double(s, "exponent") ?? 1)
        case "exponential_decay":
            return .exponentialDecay(initValue: d("init_value"), transitionSteps: i("transition_steps"), decayRate: d("decay_rate"),
                                     transitionBegin: int(s, "transition_begin") ?? 0, staircase: bool(s, "staircase") ?? false,
                                     endValue: double(s, "end_value"))
        case "piecewise_constant":
            let bs = (s["boundaries_and_scales"] as! [String: NSNumber])
            return .piecewiseConstant(initValue: d("init_value"), boundariesAndScales: Dictionary(uniqueKeysWithValues: bs.map { (Int($0.key)!, $0.value.doubleValue) }))
        case let other: fatalError("unknown schedule \(other) in the fixtures")
        }
    }

    static func mask(_ name: Any?) -> (@Sendable (LeafInfo) -> Bool)? {
        guard let name = name as? String else { return nil }
        precondition(name == "ndim>1")
        return { $0.shape.count > 1 }
    }

    /// The transformation a spec describes, built with Flock's API.
    static func build(_ s: [String: Any]) -> GradientTransformation {
        let lr = { schedule(spec: s["learning_rate"])! }
        let d = { (k: String, dflt: Double) in double(s, k) ?? dflt }
        switch s["kind"] as! String {
        case "chain": return .chain((s["items"] as! [[String: Any]]).map(build))
        case "multi_steps":
            return .multiSteps(build(s["inner"] as! [String: Any]), everyK: int(s, "every_k_schedule")!,
                               useGradMean: bool(s, "use_grad_mean") ?? true)
        case "masked_decay": return .masked(.addDecayedWeights(.constant(d("weight_decay", 0))), where: mask(s["where"])!)
        case "sgd": return .sgd(learningRate: lr(), momentum: double(s, "momentum"), nesterov: bool(s, "nesterov") ?? false)
        case "adam":
            return .adam(learningRate: lr(), b1: d("b1", 0.9), b2: d("b2", 0.999), eps: d("eps", 1e-8), epsRoot: d("eps_root", 0),
                         nesterov: bool(s, "nesterov") ?? false)
        case "adamw":
            return .adamw(learningRate: lr(), b1: d("b1", 0.9), b2: d("b2", 0.999), eps: d("eps", 1e-8), epsRoot: d("eps_root", 0),
                          weightDecay: schedule(spec: s["weight_decay"]) ?? 1e-4, mask: mask(s["mask"]), nesterov: bool(s, "nesterov") ?? false)
        case "adagrad":
            return .adagrad(learningRate: lr(), initialAccumulatorValue: d("initial_accumulator_value", 0.1), eps: d("eps", 1e-7))
        case "rmsprop":
            return .rmsprop(learningRate: lr(), decay: d("decay", 0.9), eps: d("eps", 1e-8), initialScale: d("initial_scale", 0),
                            epsInSqrt: bool(s, "eps_in_sqrt") ?? true, centered: bool(s, "centered") ?? false,
                            momentum: double(s, "momentum"), nesterov: bool(s, "nesterov") ?? false,
                            biasCorrection: bool(s, "bias_correction") ?? false)
        case "lion":
            return .lion(learningRate: lr(), b1: d("b1", 0.9), b2: d("b2", 0.99), weightDecay: schedule(spec: s["weight_decay"]) ?? 1e-3,
                         mask: mask(s["mask"]))
        case "lamb":
            return .lamb(learningRate: lr(), b1: d("b1", 0.9), b2: d("b2", 0.999), eps: d("eps", 1e-6), epsRoot: d("eps_root", 0),
                         weightDecay: schedule(spec: s["weight_decay"]) ?? 0, mask: mask(s["mask"]))
        case "clip": return .clip(d("max_delta", 0))
        case "clip_by_global_norm": return .clipByGlobalNorm(d("max_norm", 0))
        case "scale_by_adam": return .scaleByAdam(b1: d("b1", 0.9), b2: d("b2", 0.999), eps: d("eps", 1e-8), epsRoot: d("eps_root", 0))
        case "scale_by_learning_rate": return .scaleByLearningRate(lr(), flipSign: bool(s, "flip_sign") ?? true)
        case "scale_by_trust_ratio":
            return .scaleByTrustRatio(minNorm: d("min_norm", 0), trustCoefficient: d("trust_coefficient", 1), eps: d("eps", 0))
        case "trace": return .trace(decay: d("decay", 0), nesterov: bool(s, "nesterov") ?? false)
        case "scale": return .scale(d("step_size", 1))
        case let other: fatalError("unknown transformation \(other) in the fixtures")
        }
    }
}

