extension Tensor {
    /// This tensor converted to `dtype` (numpy's `astype`); the result is strongly typed.
    ///
    /// Floats convert to integers by truncation toward zero, saturating at the
    /// integer range (NaN → 0); numbers convert to bool as `x != 0`.
    /// Without x64 (``Configuration/enableX64``) a 64-bit integer dtype is
    /// canonicalised to its 32-bit type with JAX's warning, as `astype` does.
    public func converted(to dtype: DType) -> Tensor {
        converted(to: dtype.canonicalRequest(in: "astype"), weak: false)
    }

    /// Conversion that also sets the weak-type flag (used by type promotion).
    public func converted(to dtype: DType, weak: Bool) -> Tensor {
        if dtype == self.dtype && weak == weakType { return self }
        if case .concrete(let a) = storage, !a.isDeleted {
            if dtype == a.dtype { return Tensor(concrete: a, weakType: weak) }
            if dtype == .float64, let exact = a.buffer.exactScalar { return Tensor(exact, dtype: .float64, weakType: weak) }
            // A concrete scalar (typically a promoted literal) is converted now,
            // whatever the interpreter: it is a constant, not part of the program.
            if a.count == 1 { return Tensor(concrete: convertArray(a, to: dtype), weakType: weak) }
        }
        return bind1(.convert(dtype, weakType: weak), self)
    }

    /// Reinterprets the bits of a dtype as another dtype of the same size (`lax.bitcast_convert_type`).
    public func bitcast(to dtype: DType) -> Tensor { bind1(.bitcast(dtype), self) }
}

/// numpy's broadcasting: the common shape of `a` and `b`, or an error naming both.
public func broadcastShapes(_ a: [Int], _ b: [Int]) throws -> [Int] {
    let n = Swift.max(a.count, b.count)
    var out = [Int](repeating: 1, count: n)
    for i in 0..<n {
        let x = i < n - a.count ? 1 : a[i - (n - a.count)]
        let y = i < n - b.count ? 1 : b[i - (n - b.count)]
        if x != y && x != 1 && y != 1 {
            throw FlockError("incompatible shapes for broadcasting: \(a) and \(b)")
        }
        out[i] = x == 1 ? y : x
    }
    return out
}

extension Tensor {
    /// This tensor broadcast to `shape` by numpy's rules (`jnp.broadcast_to`).
    public func broadcast(to shape: [Int]) -> Tensor {
        if self.shape == shape { return self }
        let lead = shape.count - rank
        guard lead >= 0, (try? broadcastShapes(self.shape, shape)) == shape else {
            raise(FlockError("broadcast_to: cannot broadcast shape \(self.shape) to \(shape)"))
            return Tensor(poisoned: FlockError("broadcast_to"))
        }
        return bind1(.broadcastInDim(shape: shape, broadcastDimensions: Array(lead..<shape.count)), self)
    }
}

/// Promotes and broadcasts operands of an elementwise operation named `op`.
/// Rank-0 operands are left unbroadcast: the primitives accept scalars.
func promotedOperands(_ op: String, _ a: Tensor, _ b: Tensor) -> (Tensor, Tensor)? {
    let (dtype, weak) = promoteTypes(a.dtype, weak: a.weakType, b.dtype, weak: b.weakType)
    var x = a.converted(to: dtype, weak: weak)
    var y = b.converted(to: dtype, weak: weak)
    if x.shape != y.shape && x.rank > 0 && y.rank > 0 {
        guard let shape = try? broadcastShapes(x.shape, y.shape) else {
            raise(FlockError("\(op): incompatible shapes for broadcasting: \(a.shape) and \(b.shape)"))
            return nil
        }
        x = x.broadcast(to: shape)
        y = y.broadcast(to: shape)
    }
    return (x, y)
}

/// Applies a binary primitive with promotion and broadcasting.
func elementwise(_ op: BinaryOp, _ a: Tensor, _ b: Tensor) -> Tensor {
    if let r = eagerBinaryFastPath(op, a, b) { return r }
    guard let (x, y) = promotedOperands(op.rawValue, a, b) else { return Tensor(poisoned: FlockError(op.rawValue)) }
    return bind1(.binary(op), x, y)
}

func comparison(_ op: CompareOp, _ a: Tensor, _ b: Tensor) -> Tensor {
    guard let (x, y) = promotedOperands(op.rawValue, a, b) else { return Tensor(poisoned: FlockError(op.rawValue)) }
    return bind1(.compare(op), x, y)
}

/// Floating-point version of `x` for functions like `exp` (ints and bools become float32).
package func floatingOperand(_ x: Tensor) -> Tensor {
    x.dtype.isFloatingPoint ? x : x.converted(to: .float32, weak: x.weakType)
}
