// Functional indexed updates, as JAX's `x.at[idx].set(v)` / `.add(v)` / ….

/// The elements of a tensor selected by an index expression, for functional
/// updates: `x.at(1..., 0).set(5)` returns a new tensor; `x` is unchanged.
///
/// Negative indices count from the end. Out-of-bounds indices follow the
/// `mode` of each method (``IndexMode``): the updates drop them by default,
/// as JAX does.
public struct IndexedTensor: Sendable {
    let base: Tensor
    let indices: [TensorIndex]

    /// The selected elements (`x.at[idx].get(mode=…, fill_value=…)`).
    ///
    /// - Parameters:
    ///   - mode: `.promiseInBounds` (the default, as `base[indices]`: clamps on
    ///     CPU), `.clip`, or `.fill`/`.drop` (out-of-bounds reads give `fillValue`).
    ///   - fillValue: nil is NaN for floats, the minimum of signed and the
    ///     maximum of unsigned integers, true for bool.
    public func get(mode: IndexMode = .promiseInBounds, fillValue: Double? = nil) -> Tensor {
        guard let m = mode.primitiveMode("at.get") else { return poison }
        return base.index(indices, mode: m, fillValue: fillValue)
    }

    /// `base` with the selected elements replaced by `values` (broadcast to the
    /// selection). With repeated indices the last update wins.
    public func set(_ values: Tensor, mode: IndexMode = .drop) -> Tensor { scatter(.replace, values, mode, "at.set") }

    /// `base` with `values` added at the selected elements; repeated indices accumulate.
    public func add(_ values: Tensor, mode: IndexMode = .drop) -> Tensor { scatter(.add, values, mode, "at.add") }

    /// `base` with `values` subtracted at the selected elements; repeated indices accumulate.
    public func subtract(_ values: Tensor, mode: IndexMode = .drop) -> Tensor { scatter(.add, -values, mode, "at.subtract") }

    /// `base` with the selected elements multiplied by `values`; repeated
    /// indices multiply. Not differentiable with respect to `values`, as in JAX.
    public func multiply(_ values: Tensor, mode: IndexMode = .drop) -> Tensor { scatter(.mul, values, mode, "at.multiply") }

    /// `base` with each selected element replaced by its minimum with `values`.
    public func min(_ values: Tensor, mode: IndexMode = .drop) -> Tensor { scatter(.min, values, mode, "at.min") }

    /// `base` with each selected element replaced by its maximum with `values`.
    public func max(_ values: Tensor, mode: IndexMode = .drop) -> Tensor { scatter(.max, values, mode, "at.max") }

    private func scatter(_ op: ScatterOp, _ values: Tensor, _ mode: IndexMode, _ name: String) -> Tensor {
        guard let m = mode.primitiveMode(name) else { return poison }
        let v = values.converted(to: base.dtype, weak: base.weakType)
        if let rows = rowIndices() {
            // x[idx, :, …]: one window of trailing dimensions per index.
            let n = base.shape[0]
            let i = rows.converted(to: .int32)
            let idx = `where`(i .< Tensor(Int32(0)), i + Tensor(Int32(n)), i)
            let window = Array(base.shape.dropFirst())
            let dn = ScatterDimensionNumbers(
                updateWindowDims: Array(rows.rank..<(rows.rank + window.count)), insertedWindowDims: [0],
                scatterDimsToOperandDims: [0])
            guard let updates = fitted(v, rows.shape + window, name) else { return poison }
            return bind1(.scatter(op, dn, mode: m), base, idx.expandingDims(-1), updates)
        }
        // Any other index expression: scatter over the flattened array at the
        // selection's flat positions; positions out of bounds are -1 (dropped)
        // unless clipping.
        let positions = bind1(.iota(.int32, shape: [base.count], dimension: 0)).reshaped(base.shape)
            .index(indices, mode: m == .clip ? .clip : .fillOrDrop, fillValue: -1)
        let dn = ScatterDimensionNumbers(updateWindowDims: [], insertedWindowDims: [0], scatterDimsToOperandDims: [0])
        guard let updates = fitted(v, positions.shape, name)?.flattened() else { return poison }
        let flat = bind1(
            .scatter(op, dn, mode: m == .clip ? .clip : .fillOrDrop), base.flattened(), positions.flattened().expandingDims(1),
            updates)
        return flat.reshaped(base.shape)
    }

    /// `values` broadcast to the selection's shape, or nil after reporting that they do not fit.
    private func fitted(_ values: Tensor, _ selection: [Int], _ name: String) -> Tensor? {
        guard (try? broadcastShapes(values.shape, selection)) == selection else {
            raise(FlockError(
                "\(name): values of shape \(values.shape) cannot be broadcast to the selection's shape \(selection) "
                    + "(array of shape \(base.shape))"))
            return nil
        }
        return values.broadcast(to: selection)
    }

    /// The index array when the expression is `[idx]` or `[idx, .all, …]`.
    private func rowIndices() -> Tensor? {
        guard base.rank >= 1, case .array(let t)? = indices.first, t.dtype.isInteger, t.dtype != .bool else { return nil }
        for i in indices.dropFirst() {
            switch i {
            case .slice(nil, nil, 1), .remainingAxes: continue
            default: return nil
            }
        }
        return t
    }
}

extension Tensor {
    /// An indexed view for functional updates (`jax.Array.at`).
    ///
    /// ```swift
    /// let y = x.at(0, 1...).set(0)        // x with row 0 from column 1 zeroed
    /// let z = x.at(Tensor([0, 0] as [Int32])).add(1)   // repeated indices accumulate
    /// let w = x.at(Tensor([1, 10] as [Int32])).set(5)  // index 10 is out of bounds: dropped
    /// ```
    public func at(_ indices: any TensorIndexConvertible...) -> IndexedTensor {
        IndexedTensor(base: self, indices: indices.map(\.tensorIndex))
    }
}
