/// A concrete row-major array: a buffer, a shape and a dtype.
///
/// The eval kernels consume and produce these. Reshaping shares the buffer.
package struct DenseArray: @unchecked Sendable {
    /// The storage, shared by arrays that reshape it.
    @usableFromInline package let buffer: Buffer
    /// The size of each dimension, row-major.
    package let shape: [Int]
    /// The element type.
    package let dtype: DType
    /// The buffer's generation when this array was made (see ``isDeleted``).
    let generation: UInt32

    /// Views `buffer` as an array of `shape` and `dtype`; the buffer must hold at least
    /// as many bytes as that needs and must not be written afterwards.
    package init(buffer: Buffer, shape: [Int], dtype: DType) {
        self.buffer = buffer
        self.shape = shape
        self.dtype = dtype
        generation = buffer.generation
    }

    /// Whether the buffer was donated to a jitted function since this array
    /// was made: its contents may have been overwritten (`jax.Array.is_deleted`).
    package var isDeleted: Bool { generation != buffer.generation }

    /// A fresh, uninitialised array; the caller must fill every element.
    package init(uninitializedShape shape: [Int], dtype: DType) {
        let count = shape.reduce(1, *)
        self.init(buffer: .allocate(byteCount: count * dtype.byteSize), shape: shape, dtype: dtype)
    }

    /// Builds an array by writing its elements through a typed pointer.
    package init<T: TensorElement>(
        shape: [Int], of _: T.Type = T.self,
        fill: (UnsafeMutableBufferPointer<T>) throws -> Void
    ) rethrows {
        self.init(uninitializedShape: shape, dtype: T.dtype)
        try fill(mutablePointer(T.self))
    }

    /// Copies Swift scalars into a new array.
    package init<T: TensorElement>(_ values: [T], shape: [Int]) {
        precondition(values.count == shape.reduce(1, *), "DenseArray: \(values.count) values for shape \(shape)")
        self.init(uninitializedShape: shape, dtype: T.dtype)
        let p = mutablePointer(T.self)
        values.withUnsafeBufferPointer { src in
            if let base = src.baseAddress, !src.isEmpty { p.baseAddress!.update(from: base, count: src.count) }
        }
    }

    /// The number of elements.
    package var count: Int { shape.reduce(1, *) }
    /// The number of dimensions.
    package var rank: Int { shape.count }
    /// The size of the elements in bytes.
    package var byteCount: Int { count * dtype.byteSize }

    /// Typed read-only view of the elements.
    @inlinable
    package func pointer<T>(_: T.Type) -> UnsafeBufferPointer<T> {
        UnsafeBufferPointer(start: buffer.pointer.assumingMemoryBound(to: T.self), count: count)
    }

    /// Typed writable view; only for kernels filling a fresh array.
    @inlinable
    package func mutablePointer<T>(_: T.Type) -> UnsafeMutableBufferPointer<T> {
        UnsafeMutableBufferPointer(start: buffer.pointer.assumingMemoryBound(to: T.self), count: count)
    }

    /// The elements as a Swift array (the dtype must match `T`).
    package func toArray<T: TensorElement>(_: T.Type = T.self) -> [T] {
        precondition(T.dtype == dtype, "DenseArray: requested \(T.dtype) elements from a \(dtype) array")
        return Array(pointer(T.self))
    }

    /// The same elements viewed with another shape of equal size.
    package func reshaped(_ newShape: [Int]) -> DenseArray {
        DenseArray(buffer: buffer, shape: newShape, dtype: dtype)
    }

    /// Element `i` (flat, row-major) converted to Double.
    package func double(at i: Int) -> Double {
        switch dtype {
        case .bool: pointer(Bool.self)[i] ? 1 : 0
        case .int8: Double(pointer(Int8.self)[i])
        case .uint8: Double(pointer(UInt8.self)[i])
        case .int16: Double(pointer(Int16.self)[i])
        case .uint16: Double(pointer(UInt16.self)[i])
        case .int32: Double(pointer(Int32.self)[i])
        case .uint32: Double(pointer(UInt32.self)[i])
        case .int64: Double(pointer(Int64.self)[i])
        case .uint64: Double(pointer(UInt64.self)[i])
        case .float16: Double(pointer(Float16.self)[i])
        case .bfloat16: Double(pointer(BFloat16.self)[i])
        case .float32: Double(pointer(Float.self)[i])
        case .float64: pointer(Double.self)[i]
        }
    }

    /// Raw bytes of the elements.
    package var bytes: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: buffer.pointer, count: byteCount)
    }
}

/// Row-major strides (in elements) of a shape.
@inlinable
package func rowMajorStrides(_ shape: [Int]) -> [Int] {
    var strides = [Int](repeating: 1, count: shape.count)
    var s = 1
    for i in stride(from: shape.count - 1, through: 0, by: -1) {
        strides[i] = s
        s *= shape[i]
    }
    return strides
}
