import FlockCore
import FlockTransforms

/// A function of the step count (`optax.Schedule`): learning rates, weight
/// decay, anything that changes as training goes on.
///
/// A schedule maps an int32 step count tensor to a float32 scalar tensor, so
/// it runs inside a jitted train step. A float literal is a constant schedule:
///
/// ```swift
/// let constant: Schedule = 1e-3
/// let warm = Schedule.warmupCosineDecay(initValue: 0, peakValue: 1e-3, warmupSteps: 100, decaySteps: 1000)
/// warm.value(at: 100)   // 0.001
/// let optimizer = GradientTransformation.adam(learningRate: warm)
/// ```
public struct Schedule: Sendable, ExpressibleByFloatLiteral, ExpressibleByIntegerLiteral {
    let function: @Sendable (Tensor) -> Tensor
    /// The value when the schedule is a constant: transformations then keep no step count, as optax.
    public let constantValue: Double?

    /// A schedule from a function of the int32 step count.
    ///
    /// ```swift
    /// let halving = Schedule { count in 0.1 * pow(Tensor(Float(0.5)), count.converted(to: .float32)) }
    /// ```
    public init(_ function: @escaping @Sendable (_ count: Tensor) -> Tensor) {
        self.function = function
        constantValue = nil
    }

    init(constant value: Double) {
        function = { _ in Tensor(value, dtype: .float32) }
        constantValue = value
    }

    /// A constant schedule from a float literal: `learningRate: 1e-3`.
    public init(floatLiteral value: Double) { self.init(constant: value) }
    /// A constant schedule from an integer literal: `learningRate: 1`.
    public init(integerLiteral value: Int) { self.init(constant: Double(value)) }

    /// The schedule's value at `count` (an int32 scalar, possibly traced).
    public func callAsFunction(_ count: Tensor) -> Tensor {
        let v = function(count.dtype == .int32 ? count : count.converted(to: .int32))
        return v.dtype == .float32 ? v : v.converted(to: .float32)
    }

    /// The schedule's value at step `step`, evaluated now.
    public func value(at step: Int) -> Float {
        callAsFunction(Tensor(Int32(clamping: step))).item(Float.self)
    }

    /// The same value at every step (`optax.constant_schedule`).
    public static func constant(_ value: Double) -> Schedule { Schedule(constant: value) }

    /// `initValue` moving to `endValue` over `transitionSteps` steps as a
    /// polynomial of degree `power`, starting at step `transitionBegin`
    /// (`optax.polynomial_schedule`). A non-positive `transitionSteps` gives
    /// a constant `initValue`.
    public static func polynomial(
        initValue: Double, endValue: Double, power: Double, transitionSteps: Int, transitionBegin: Int = 0
    ) -> Schedule {
        if transitionSteps <= 0 { return .constant(initValue) }
        let begin = Swift.max(transitionBegin, 0)
        return Schedule { count in
            let c = clip(count - begin, min: Tensor(Int32(0)), max: Tensor(Int32(clamping: transitionSteps)))
            let frac = 1 - c.converted(to: .float32) / Double(transitionSteps)
            let p = power == 1 ? frac : pow(frac, power.weakTensor)
            return (initValue - endValue) * p + endValue
        }
    }

    /// A straight line from `initValue` to `endValue` over `transitionSteps`
    /// steps from `transitionBegin` (`optax.linear_schedule`).
    ///
    /// ```swift
    /// let warmup = Schedule.linear(initValue: 0, endValue: 1e-3, transitionSteps: 500)
    /// ```
    public static func linear(initValue: Double, endValue: Double, transitionSteps: Int, transitionBegin: Int = 0) -> Schedule {
        polynomial(initValue: initValue, endValue: endValue, power: 1, transitionSteps: transitionSteps, transitionBegin: transitionBegin)
    }

    /// Half a cosine from `initValue` down to `alpha·initValue` over
    /// `decaySteps`, then constant (`optax.cosine_decay_schedule`).
    ///
    /// `decaySteps` must be positive (an error otherwise, as in optax).
    public static func cosineDecay(initValue: Double, decaySteps: Int, alpha: Double = 0, exponent: Double = 1) -> Schedule {
        if decaySteps <= 0 {
            raise(FlockError("cosineDecay: decaySteps must be positive, got \(decaySteps)"))
            return .constant(initValue)
        }
        return Schedule { count in
            let c = minimum(count.converted(to: .float32), Tensor(Float(decaySteps)))
            let cosine = 0.5 * (1 + cos(Double.pi * c / Double(decaySteps)))
            let shaped = exponent == 1 ? cosine : pow(cosine, exponent.weakTensor)
            return initValue * ((1 - alpha) * shaped + alpha)
        }
    }

    /// A linear warmup from `initValue` to `peakValue` over `warmupSteps`,
    /// then a cosine decay to `endValue` at step `decaySteps` (counted from
    /// the start, warmup included) (`optax.warmup_cosine_decay_schedule`).
    ///
    /// ```swift
    /// let lr = Schedule.warmupCosineDecay(initValue: 0, peakValue: 3e-4, warmupSteps: 1_000, decaySteps: 50_000)
    /// ```
    public static func warmupCosineDecay(
        initValue: Double, peakValue: Double, warmupSteps: Int, decaySteps: Int, endValue: Double = 0, exponent: Double = 1
    ) -> Schedule {
        let alpha = peakValue == 0 ? 0 : endValue / peakValue
        return .joined([
            .linear(initValue: initValue, endValue: peakValue, transitionSteps: warmupSteps),
            .cosineDecay(initValue: peakValue, decaySteps: decaySteps - warmupSteps, alpha: alpha, exponent: exponent),
        ], boundaries: [warmupSteps])
    }

    /// `initValue · decayRate^((count − transitionBegin) / transitionSteps)`
    /// (`optax.exponential_decay`): constant before `transitionBegin`, in
    /// whole steps of `transitionSteps` when `staircase`, bounded by
    /// `endValue` (below when decaying, above when growing) if given. A
    /// non-positive `transitionSteps` or a zero `decayRate` gives a constant
    /// `initValue`, as in optax.
    public static func exponentialDecay(
        initValue: Double, transitionSteps: Int, decayRate: Double, transitionBegin: Int = 0,
        staircase: Bool = false, endValue: Double? = nil
    ) -> Schedule {
        if transitionSteps <= 0 || decayRate == 0 { return .constant(initValue) }
        let begin = Swift.max(transitionBegin, 0)
        return Schedule { count in
            let decreased = count - begin
            var p = decreased.converted(to: .float32) / Double(transitionSteps)
            if staircase { p = floor(p) }
            var v = `where`(decreased .<= Tensor(Int32(0)), Tensor(Float(initValue)), initValue * pow(decayRate.weakTensor, p))
            if let endValue {
                v = decayRate < 1 ? maximum(v, endValue.weakTensor) : minimum(v, endValue.weakTensor)
            }
            return v
        }
    }

    /// `initValue`, multiplied by `scale` from each boundary step on
    /// (`optax.piecewise_constant_schedule`); scales must be non-negative.
    ///
    /// ```swift
    /// let steps = Schedule.piecewiseConstant(initValue: 0.1, boundariesAndScales: [1000: 0.1, 2000: 0.1])
    /// ```
    public static func piecewiseConstant(initValue: Double, boundariesAndScales: [Int: Double] = [:]) -> Schedule {
        if let bad = boundariesAndScales.first(where: { $0.value < 0 }) {
            raise(FlockError("piecewiseConstant: scales must be non-negative, got \(bad.value) at boundary \(bad.key)"))
        }
        let sorted = boundariesAndScales.sorted { $0.key < $1.key }
        return Schedule { count in
            var v = Tensor(Float(initValue))
            for (threshold, scale) in sorted {
                // optax's arithmetic: indicator = max(0, sign(threshold − count)) in float32.
                let indicator = maximum(Tensor(Float(0)), sign((threshold - count).converted(to: .float32)))
                v = v * indicator + (1 - indicator) * scale * v
            }
            return v
        }
    }

    /// `schedules[0]` until `boundaries[0]`, then `schedules[1]` counting
    /// from that boundary, and so on (`optax.join_schedules`).
    public static func joined(_ schedules: [Schedule], boundaries: [Int]) -> Schedule {
        if schedules.count != boundaries.count + 1 {
            raise(FlockError("joined: \(schedules.count) schedules need \(schedules.count - 1) boundaries, got \(boundaries.count)"))
            return .constant(0)
        }
        return Schedule { count in
            var out = schedules[0](count)
            for (b, s) in zip(boundaries, schedules.dropFirst()) {
                out = `where`(count .< Tensor(Int32(clamping: b)), out, s(count - b))
            }
            return out
        }
    }
}
