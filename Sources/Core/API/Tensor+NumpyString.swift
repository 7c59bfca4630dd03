// numpy's `str` of an array (what `jax.debug.print` shows for an argument):
// the nested brackets of the repr without its commas, and a scalar as
// Python prints the number.

extension Tensor {
    /// The value as numpy's `str` writes it: `[1. 2. 3.]`, `2.5`, `True`.
    package var numpyString: String {
        guard case .concrete(let a) = storage, !a.isDeleted else { return description }
        if a.rank == 0 {
            if a.dtype == .bool { return toArray(Bool.self)[0] ? "True" : "False" }
            if a.dtype.isFloatingPoint {
                let v = toArray(Double.self)[0]
                if v.isNaN { return "nan" }
                if v.isInfinite { return v < 0 ? "-inf" : "inf" }
                return a.dtype == .float32 ? "\(Float(v))" : "\(v)"
            }
            return formatArray(a, indent: 0)
        }
        return formatArray(a, indent: 0).replacingAll(",\n", with: "\n").replacingAll(", ", with: " ")
    }
}

extension String {
    /// `self` with every occurrence of `target` replaced (no Foundation).
    fileprivate func replacingAll(_ target: String, with replacement: String) -> String {
        split(separator: target, omittingEmptySubsequences: false).joined(separator: replacement)
    }
}
