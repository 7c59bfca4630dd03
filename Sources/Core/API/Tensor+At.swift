// Functional indexed updates, as JAX's `x.at[idx].set(v)` / `.add(v)`.

/// The elements of a tensor selected by an index expression, for functional
/// updates: `x.at(1..., 0).set(5)` returns a new tensor; `x` is unchanged.
public struct IndexedTensor: Sendable {
    let base: Tensor
    let indices: [TensorIndex]

    /// The selected elements (same as `base[indices]`).
    public func get() -> Tensor { base.index(indices) }

    /// Flat positions of the selected elements, shaped like `get()`: any index
    /// expression becomes a scatter over the flattened array.
    private func positions() -> Tensor {
        bind1(.iota(.int32, shape: [base.count], dimension: 0)).reshaped(base.shape).index(indices)
    }

    /// `base` with `values` (broadcast to the selection) added at the selected
    /// positions; repeated indices accumulate.
    public func add(_ values: Tensor) -> Tensor {
        let pos = positions()
        let v = values.converted(to: base.dtype, weak: base.weakType)
        let updates = v.broadcast(to: pos.shape).flattened()
        let dn = ScatterDimensionNumbers(updateWindowDims: [], insertedWindowDims: [0], scatterDimsToOperandDims: [0])
        let flat = bind1(.scatterAdd(dn), base.flattened(), pos.flattened().expandingDims(1), updates)
        return flat.reshaped(base.shape)
    }

    /// `base` with the selected positions replaced by `values` (broadcast). With
    /// repeated indices the result is unspecified, as in JAX.
    public func set(_ values: Tensor) -> Tensor {
        let pos = positions()
        let dn = ScatterDimensionNumbers(updateWindowDims: [], insertedWindowDims: [0], scatterDimsToOperandDims: [0])
        let idx = pos.flattened().expandingDims(1)
        // 1 where an element is selected, then keep base elsewhere.
        let hit = bind1(.scatterAdd(dn), zeros([base.count], dtype: .int32), idx, ones([pos.count], dtype: .int32))
        let v = values.converted(to: base.dtype, weak: base.weakType).broadcast(to: pos.shape).flattened()
        let placed = bind1(.scatterAdd(dn), zeros([base.count], dtype: base.dtype), idx, v)
        return `where`(hit .> Tensor(Int32(0)), placed, base.flattened()).reshaped(base.shape)
    }
}

extension Tensor {
    /// An indexed view for functional updates (`jax.Array.at`).
    ///
    /// ```swift
    /// let y = x.at(0, 1...).set(0)        // x with row 0 from column 1 zeroed
    /// let z = x.at(Tensor([0, 0] as [Int32])).add(1)   // repeated indices accumulate
    /// ```
    public func at(_ indices: any TensorIndexConvertible...) -> IndexedTensor {
        IndexedTensor(base: self, indices: indices.map(\.tensorIndex))
    }
}
