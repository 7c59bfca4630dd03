/// An immutable n-dimensional array, the value every Flock function consumes and produces.
///
/// A `Tensor` is a value: operations return new tensors and never change their
/// inputs. Under a transform (`grad`, `vmap`, `jit`) a tensor may be a *tracer*
/// that stands for a value; the same code runs either way.
///
/// ```swift
/// let x = Tensor([1, 2, 3] as [Float])
/// let y = x * 2 + 1           // literals are weakly typed: y stays float32
/// print(y)                    // Array([3., 5., 7.], dtype=float32)
/// ```
public struct Tensor: Sendable {
    enum Storage: @unchecked Sendable {
        case concrete(DenseArray)
        case traced(Tracer)
        case poisoned(FlockError)
    }

    let storage: Storage
    /// Whether this value came from a Swift literal (JAX's `weak_type`).
    public let weakType: Bool

    /// Wraps a concrete array.
    package init(concrete array: DenseArray, weakType: Bool = false) {
        storage = .concrete(array)
        self.weakType = weakType
    }

    /// Wraps a tracer (for interpreters).
    @_spi(Engine) public init(tracer: Tracer) {
        storage = .traced(tracer)
        weakType = tracer.aval.weakType
    }

    init(poisoned error: FlockError) {
        storage = .poisoned(error)
        weakType = false
    }

    /// The abstract value: shape, dtype and weak type.
    public var aval: AbstractValue {
        switch storage {
        case .concrete(let a): AbstractValue(shape: a.shape, dtype: a.dtype, weakType: weakType)
        case .traced(let t): t.aval
        case .poisoned: AbstractValue(shape: [], dtype: .float32)
        }
    }

    /// The size of each dimension (`[]` for a scalar), known while tracing too.
    public var shape: [Int] {
        switch storage {
        case .concrete(let a): a.shape
        case .traced(let t): t.aval.shape
        case .poisoned: []
        }
    }

    /// The element type, known while tracing too.
    public var dtype: DType {
        switch storage {
        case .concrete(let a): a.dtype
        case .traced(let t): t.aval.dtype
        case .poisoned: .float32
        }
    }

    /// Number of dimensions.
    public var rank: Int { shape.count }
    /// Number of elements.
    public var count: Int { shape.reduce(1, *) }

    /// The tracer behind this tensor, if it is traced.
    @_spi(Engine) public var tracer: Tracer? {
        if case .traced(let t) = storage { return t }
        return nil
    }

    /// The concrete array, or an error naming `operation` when this tensor is
    /// traced (its value is not known while tracing) or poisoned.
    package func concreteArray(for operation: @autoclosure () -> String) throws -> DenseArray {
        switch storage {
        case .concrete(let a):
            if a.isDeleted { throw Tensor.deletedError(operation()) }
            return a
        case .poisoned(let e): throw e
        case .traced(let t):
            throw FlockError(
                "\(operation()): the concrete value of a traced tensor \(t.aval) is not available while tracing; "
                    + "use cond/select (or `where`) for value-dependent control flow, or mark the argument static")
        }
    }

    /// The error for reading an array whose buffer was donated.
    static func deletedError(_ operation: String) -> FlockError {
        FlockError("\(operation): this array was donated to a jitted function (donateArgnums) and its buffer may have been "
                   + "reused; it can no longer be read. Use the function's outputs, or do not donate the argument")
    }

    /// Whether this tensor's array was donated to a jitted function and may no
    /// longer be read (`jax.Array.is_deleted()`).
    public var isDeleted: Bool {
        if case .concrete(let a) = storage { return a.isDeleted }
        return false
    }

    /// Concrete array, reporting a traced/poisoned value through ``raise(_:)``.
    func concreteOrRaise(_ operation: String) -> DenseArray? {
        do { return try concreteArray(for: operation) } catch {
            if case .poisoned = storage { return nil }
            raise(error as! FlockError)
            return nil
        }
    }

    /// Whether the value is concrete (not a tracer, not poisoned).
    public var isConcrete: Bool {
        if case .concrete = storage { return true }
        return false
    }

    /// Whether the value is concrete with abstract value `aval` (shape, dtype
    /// and weak type): one check for a jitted call's signature, without the
    /// copies that reading ``shape`` and ``dtype`` one by one makes.
    public func isConcrete(with aval: AbstractValue) -> Bool {
        guard case .concrete(let a) = storage else { return false }
        return weakType == aval.weakType && a.dtype == aval.dtype && a.shape == aval.shape
    }
}

// MARK: - Creation from Swift values

extension Tensor {
    /// A tensor holding `values` with `shape` (default: one dimension).
    ///
    /// ```swift
    /// let m = Tensor([1, 2, 3, 4] as [Float], shape: [2, 2])
    /// ```
    public init<T: TensorElement>(_ values: [T], shape: [Int]? = nil) {
        let s = shape ?? [values.count]
        if checkedElementCount(s, itemSize: T.dtype.byteSize) != values.count {
            raise(FlockError("Tensor.init: \(values.count) values cannot have shape \(s)"))
            self.init(poisoned: FlockError("Tensor.init: bad shape"))
            return
        }
        self.init(concrete: Tensor.canonicalized(DenseArray(values, shape: s)))
    }

    /// A rank-0 tensor of a Swift scalar (strongly typed: `Tensor(Float(2))` is float32).
    public init<T: TensorElement>(_ value: T) {
        self.init(concrete: Tensor.canonicalized(DenseArray([value], shape: [])))
    }

    /// `a` in its canonical dtype: 64-bit integers become 32-bit without x64,
    /// silently, as `jnp.asarray` of a numpy int64 array does.
    package static func canonicalized(_ a: DenseArray) -> DenseArray {
        let c = a.dtype.canonical
        return c == a.dtype ? a : convertArray(a, to: c)
    }

    /// A rank-0 tensor converted to `dtype`, optionally weakly typed.
    public init(_ value: Double, dtype: DType, weakType: Bool = false) {
        self.init(concrete: Tensor.scalarArray(value, dtype: dtype), weakType: weakType)
    }

    /// Nested Swift arrays (2-D).
    public init<T: TensorElement>(_ rows: [[T]]) {
        let cols = rows.first?.count ?? 0
        if rows.contains(where: { $0.count != cols }) {
            raise(FlockError("Tensor.init: ragged nested array (row lengths \(rows.map(\.count)))"))
            self.init(poisoned: FlockError("Tensor.init: ragged"))
            return
        }
        self.init(rows.flatMap { $0 }, shape: [rows.count, cols])
    }

    static func scalarArray(_ value: Double, dtype: DType) -> DenseArray {
        switch dtype {
        case .bool: return DenseArray([value != 0], shape: [])
        case .float32: return DenseArray([Float(value)], shape: [])
        case .float64: return DenseArray([value], shape: [])
        default:
            // Integers in Int64's range wrap into the dtype (numpy's `astype` of
            // a Python int); other values convert as arrays do.
            if dtype.isInteger, value.rounded(.towardZero) == value, abs(value) < 0x1p63 {
                return convertArray(DenseArray([Int64(value)], shape: []), to: dtype)
            }
            return convertArray(DenseArray([value], shape: []), to: dtype)
        }
    }
}

extension Tensor: ExpressibleByFloatLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral {
    /// A weakly typed float scalar, like a Python float in JAX: float32, or
    /// float64 with x64 (``Configuration/enableX64``).
    public init(floatLiteral value: Double) {
        self.init(weakFloat: value)
    }

    /// A weakly typed float scalar: float64 with x64; otherwise float32,
    /// remembering `value` exactly for promotion to float64 (which Flock
    /// always has, so `x64array * 0.3` keeps every digit).
    init(weakFloat value: Double) {
        if Configuration.enableX64 {
            self.init(concrete: DenseArray([value], shape: []), weakType: true)
            return
        }
        let a = Tensor.scalarArray(value, dtype: .float32)
        a.buffer.exactScalar = value
        self.init(concrete: a, weakType: true)
    }
    /// A weakly typed integer scalar, like a Python int in JAX: int32 (the
    /// value wraps), or int64 with x64 (``Configuration/enableX64``).
    public init(integerLiteral value: Int) {
        if Configuration.enableX64 {
            self.init(concrete: DenseArray([Int64(value)], shape: []), weakType: true)
            return
        }
        self.init(concrete: DenseArray([Int32(truncatingIfNeeded: value)], shape: []), weakType: true)
    }
    /// A bool scalar.
    public init(booleanLiteral value: Bool) {
        self.init(value)
    }
}

// MARK: - Reading values back

extension Tensor {
    /// The elements as Swift values of type `T`, converting from the tensor's dtype.
    ///
    /// Fails with a clear error when the tensor is traced (inside `jit`/`grad`/`vmap`).
    public func toArray<T: TensorElement>(_: T.Type = T.self) -> [T] {
        guard let a = concreteOrRaise("toArray") else { return [] }
        if a.dtype == T.dtype { return a.toArray(T.self) }
        // A concrete value converts concretely, even while a transform is tracing.
        return convertArray(a, to: T.dtype).toArray(T.self)
    }

    /// The single element of a one-element tensor, converted to `T`.
    public func item<T: TensorElement>(_: T.Type = T.self) -> T {
        guard concreteOrRaise("item") != nil else { return Tensor.placeholder(T.self) }
        let values: [T] = toArray()
        if values.count != 1 {
            if isConcrete {
                raise(FlockError("item: expected a tensor with one element, got shape \(shape)"))
            }
            return Tensor.placeholder(T.self)
        }
        return values[0]
    }

    /// The single element as a `Double`, whatever the dtype.
    public func item() -> Double { item(Double.self) }

    /// The truth value of a one-element tensor.
    ///
    /// Fails while tracing: Swift control flow cannot depend on a traced value;
    /// use `cond`/`select` instead.
    public var boolValue: Bool { item(Bool.self) }

    static func placeholder<T: TensorElement>(_: T.Type) -> T {
        switch T.dtype {
        case .bool: false as! T
        case .int8: Int8(0) as! T
        case .uint8: UInt8(0) as! T
        case .int16: Int16(0) as! T
        case .uint16: UInt16(0) as! T
        case .int32: Int32(0) as! T
        case .uint32: UInt32(0) as! T
        case .int64: Int64(0) as! T
        case .uint64: UInt64(0) as! T
        case .float16: Float16.nan as! T
        case .bfloat16: BFloat16(Float.nan) as! T
        case .float32: Float.nan as! T
        case .float64: Double.nan as! T
        }
    }
}
