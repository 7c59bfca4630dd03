// Orthogonal initialisation (jax.nn.initializers.orthogonal, via
// jax.random.orthogonal): the Q factor of a normal matrix, with JAX's sign
// convention q · sign(diag(r)), which makes the distribution uniform (Haar).

extension Initializer {
    /// Orthogonal matrices (`jax.nn.initializers.orthogonal`): the axis
    /// `columnAxis` holds the columns, the other axes are flattened into rows;
    /// the result has orthonormal rows or columns, whichever are fewer, times `scale`.
    ///
    /// The QR factorisation is a Householder QR on the host in Double precision,
    /// so the values agree with JAX's LAPACK factorisation to rounding (not bit
    /// for bit). It needs concrete values: call it outside `jit`.
    ///
    /// ```swift
    /// let w = Initializer.orthogonal()(PRNGKey(0), [64, 64])   // wᵀw = I
    /// ```
    public static func orthogonal(scale: Double = 1, columnAxis: Int = -1) -> Initializer {
        Initializer { key, shape, dtype in
            guard shape.count >= 2 else {
                raise(FlockError("orthogonal: the shape needs rank ≥ 2, got \(shape)"))
                return .poisoned
            }
            guard dtype.isFloatingPoint else {
                raise(FlockError("orthogonal: dtype must be float32 or float64, got \(dtype)"))
                return .poisoned
            }
            let axis = columnAxis < 0 ? columnAxis + shape.count : columnAxis
            guard axis >= 0, axis < shape.count else {
                raise(FlockError("orthogonal: columnAxis \(columnAxis) is out of range for shape \(shape)"))
                return .poisoned
            }
            if shape.contains(0) { return FlockCore.zeros(shape, dtype: dtype) }
            let columns = shape[axis], rows = shape.reduce(1, *) / columns
            let (tall, wide) = (Swift.max(rows, columns), Swift.min(rows, columns))
            let z = Random.normal(key, shape: [tall, wide], dtype: dtype).toArray(Double.self)
            var q = Tensor(signCorrectedQ(z, rows: tall, columns: wide), shape: [tall, wide]).converted(to: dtype)
            if rows < columns { q = q.transposed() }
            var rest = shape
            rest.remove(at: axis)
            q = q.reshaped(rest + [columns]).movedAxis(from: -1, to: axis)
            return Tensor(scale, dtype: dtype) * q
        }
    }
}

/// Q · diag(sign(diag(R))) of the thin QR factorisation of the row-major
/// `rows` × `columns` matrix `a` (rows ≥ columns), by Householder reflections.
/// The product is unique for a full-rank matrix, so it does not depend on the
/// reflections' sign convention.
func signCorrectedQ(_ a: [Double], rows m: Int, columns n: Int) -> [Double] {
    var a = a
    var reflectors: [[Double]] = []
    var taus: [Double] = []
    var diagonal: [Double] = []
    for k in 0..<n {
        let alpha = a[k * n + k]
        var tailSquares = 0.0
        for i in (k + 1)..<m { tailSquares += a[i * n + k] * a[i * n + k] }
        let tailNorm = tailSquares.squareRoot()
        var v = [Double](repeating: 0, count: m - k)
        v[0] = 1
        guard tailNorm != 0 else {
            reflectors.append(v)
            taus.append(0)
            diagonal.append(alpha)
            continue
        }
        let beta = -(alpha * alpha + tailNorm * tailNorm).squareRoot() * (alpha < 0 ? -1 : 1)
        for i in (k + 1)..<m { v[i - k] = a[i * n + k] / (alpha - beta) }
        let tau = (beta - alpha) / beta
        // A[k..., k...] -= tau · v · (vᵀ A[k..., k...])
        for j in k..<n {
            var w = 0.0
            for i in k..<m { w += v[i - k] * a[i * n + j] }
            for i in k..<m { a[i * n + j] -= tau * v[i - k] * w }
        }
        reflectors.append(v)
        taus.append(tau)
        diagonal.append(beta)
    }
    // Q = H₀ H₁ … H₍ₙ₋₁₎ applied to the first n columns of the identity.
    var q = [Double](repeating: 0, count: m * n)
    for j in 0..<n { q[j * n + j] = 1 }
    for k in stride(from: n - 1, through: 0, by: -1) where taus[k] != 0 {
        let v = reflectors[k], tau = taus[k]
        for j in 0..<n {
            var w = 0.0
            for i in k..<m { w += v[i - k] * q[i * n + j] }
            for i in k..<m { q[i * n + j] -= tau * v[i - k] * w }
        }
    }
    for j in 0..<n {
        let sign: Double = diagonal[j] > 0 ? 1 : (diagonal[j] < 0 ? -1 : 0)
        for i in 0..<m { q[i * n + j] *= sign }
    }
    return q
}
