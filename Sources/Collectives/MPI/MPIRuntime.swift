import CMPI
@_exported import FlockCore

#if canImport(Glibc)
import Glibc
#endif

// MPI from Swift: handles, return codes and datatypes.
//
// Open MPI's handles import as `OpaquePointer?`, which is not `Sendable`.
// Flock initialises MPI with MPI_THREAD_MULTIPLE, so a handle may be used from
// any thread: `MPIComm` wraps one as a Sendable value.

/// An MPI communicator handle that may cross threads (MPI_THREAD_MULTIPLE).
struct MPIComm: @unchecked Sendable {
    let raw: MPI_Comm
}

/// The text of an MPI error code.
func mpiErrorString(_ code: Int32) -> String {
    var buffer = [CChar](repeating: 0, count: Int(cmpi_max_error_string()) + 1)
    var length: Int32 = 0
    guard MPI_Error_string(code, &buffer, &length) == MPI_SUCCESS else { return "unknown MPI error" }
    return String(decoding: buffer.prefix(Int(length)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

/// Throws a ``FlockError`` naming `operation` unless `code` is MPI_SUCCESS.
@inline(__always)
func mpiCheck(_ code: Int32, _ operation: @autoclosure () -> String) throws {
    if code != MPI_SUCCESS {
        throw FlockError("\(operation()): MPI error \(code): \(mpiErrorString(code))")
    }
}

/// The MPI datatype of one element of `dtype` (bool travels as bytes).
func mpiDatatype(_ dtype: DType) -> MPI_Datatype {
    switch dtype {
    case .float32: cmpi_float()
    case .float64: cmpi_double()
    case .int32: cmpi_int32()
    case .uint32: cmpi_uint32()
    case .int64: cmpi_int64()
    case .uint64: cmpi_uint64()
    case .bool, .int8, .uint8, .int16, .uint16, .float16, .bfloat16: cmpi_byte()  // evaluated widened; only moved
    }
}

/// The MPI reduction for `op` (communicators validate `op` first).
func mpiOp(_ op: ReduceOp) -> MPI_Op {
    switch op {
    case .sum: cmpi_op_sum()
    case .max: cmpi_op_max()
    case .min: cmpi_op_min()
    case .prod: cmpi_op_prod()
    case .and, .or: preconditionFailure("mpiOp: logical reductions are rejected by CollectiveOperation.validate")
    }
}

/// Whether MPI is initialised and not yet finalised.
var mpiIsActive: Bool {
    var initialized: Int32 = 0, finalized: Int32 = 0
    MPI_Initialized(&initialized)
    MPI_Finalized(&finalized)
    return initialized != 0 && finalized == 0
}

/// An element count as MPI's `int`, or an error for operands too large for one call.
/// (`operation` is built only for the error: describing a signature costs more than a small collective.)
func mpiCount(_ n: Int, _ operation: @autoclosure () -> String) throws -> Int32 {
    guard n <= Int(Int32.max) else {
        throw FlockError("\(operation()): \(n) elements exceed MPI's limit of \(Int32.max) per call; split the operand")
    }
    return Int32(n)
}
