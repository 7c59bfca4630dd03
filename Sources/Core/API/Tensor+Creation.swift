// Array creation, as jax.numpy: zeros, ones, full, arange, linspace, eye.

/// An array of `shape` filled with `value` converted to `dtype`.
///
/// ```swift
/// let x = full([2, 3], 7.5)           // float32
/// ```
public func full(_ shape: [Int], _ value: Double, dtype: DType = .float32) -> Tensor {
    filled(shape, value, dtype: dtype, operation: "full")
}

/// ``full(_:_:dtype:)`` with the name errors give: the shape is checked
/// (negative or too large) and its array must fit in memory
/// (``checkAllocation(_:operation:)``).
func filled(_ shape: [Int], _ value: Double, dtype requested: DType, operation: String) -> Tensor {
    let dtype = requested.canonicalRequest(in: operation)
    do {
        try validateShape(shape, dtype: dtype, operation: operation)
        try checkAllocation(AbstractValue(shape: shape, dtype: dtype), operation: operation)
    } catch {
        raise(error as! FlockError)
        return Tensor(poisoned: error as! FlockError)
    }
    return Tensor(value, dtype: dtype).broadcast(to: shape)
}

/// A bool array of `shape` filled with `value`.
public func full(_ shape: [Int], _ value: Bool) -> Tensor {
    full(shape, value ? 1 : 0, dtype: .bool)
}

/// An array of `shape` filled with `value` (a tensor, broadcast).
public func full(_ shape: [Int], _ value: Tensor) -> Tensor { value.broadcast(to: shape) }

/// Zeros of `shape` (`jnp.zeros`).
public func zeros(_ shape: [Int], dtype: DType = .float32) -> Tensor { filled(shape, 0, dtype: dtype, operation: "zeros") }
/// Ones of `shape` (`jnp.ones`).
public func ones(_ shape: [Int], dtype: DType = .float32) -> Tensor { filled(shape, 1, dtype: dtype, operation: "ones") }
/// Zeros shaped and typed like `x`.
public func zerosLike(_ x: Tensor) -> Tensor { zeros(x.shape, dtype: x.dtype) }
/// Ones shaped and typed like `x`.
public func onesLike(_ x: Tensor) -> Tensor { ones(x.shape, dtype: x.dtype) }

/// Evenly spaced values in `[start, stop)` (`jnp.arange`). With no dtype, the
/// result is int32 when all arguments are whole numbers, else float32.
public func arange(_ start: Double, _ stop: Double, step: Double = 1, dtype: DType? = nil) -> Tensor {
    guard step != 0 else {
        raise(FlockError("arange: step must not be zero"))
        return Tensor(poisoned: FlockError("arange"))
    }
    let count = Swift.max(0, Int(((stop - start) / step).rounded(.up)))
    let isInt = [start, stop, step].allSatisfy { $0 == $0.rounded() }
    let dt = dtype?.canonicalRequest(in: "arange") ?? (isInt ? .int32 : .float32)
    let base = bind1(.iota(dt.isFloatingPoint ? .float64 : .int32, shape: [count], dimension: 0))
    if dt.isFloatingPoint {
        return (base * Tensor(step, dtype: .float64) + Tensor(start, dtype: .float64)).converted(to: dt)
    }
    return (base * Tensor(Int32(step)) + Tensor(Int32(start))).converted(to: dt)
}

/// `0, 1, …, stop − 1` (`jnp.arange(stop)`), int32 unless `dtype` says otherwise.
public func arange(_ stop: Int, dtype: DType = .int32) -> Tensor {
    bind1(.iota(dtype.canonicalRequest(in: "arange"), shape: [Swift.max(stop, 0)], dimension: 0))
}

/// `num` evenly spaced values from `start` to `stop` (`jnp.linspace`).
public func linspace(_ start: Double, _ stop: Double, count num: Int = 50, endpoint: Bool = true, dtype: DType = .float32) -> Tensor {
    guard num >= 0 else {
        raise(FlockError("linspace: number of samples must be non-negative, got \(num)"))
        return Tensor(poisoned: FlockError("linspace"))
    }
    let div = Double(endpoint ? num - 1 : num)
    let step = div > 0 ? (stop - start) / div : 0
    // Computed in float64 like numpy, then cast; the endpoint is exact.
    var values = (0..<num).map { start + Double($0) * step }
    if endpoint && num > 1 { values[num - 1] = stop }
    return Tensor(values).converted(to: dtype)
}

/// An `n × m` matrix with ones on diagonal `k` (`jnp.eye`).
public func eye(_ n: Int, _ m: Int? = nil, k: Int = 0, dtype: DType = .float32) -> Tensor {
    let cols = m ?? n
    let rows = bind1(.iota(.int32, shape: [n, cols], dimension: 0))
    let colsIota = bind1(.iota(.int32, shape: [n, cols], dimension: 1))
    return (rows + Tensor(Int32(k)) .== colsIota).converted(to: dtype)
}

/// The identity matrix of size `n` (`jnp.identity`).
public func identity(_ n: Int, dtype: DType = .float32) -> Tensor { eye(n, dtype: dtype) }
