@_exported import FlockCollectives
@_exported import FlockTransforms

/// Meshes over the devices of the running job.
///
/// Global device `d` is local device `d % L` of process `d / L` (`L` local
/// devices per process, see ``Distributed``). The sharded-array machinery runs
/// on meshes that hold every device of the job exactly once.
extension Mesh {
    /// A mesh of `shape` over every device of the job, in device order
    /// (`jax.make_mesh`): the product of `shape` must be ``Distributed/deviceCount``.
    ///
    /// ```swift
    /// let mesh = try Mesh.overAllDevices(shape: [Distributed.deviceCount], axisNames: ["data"])
    /// ```
    public static func overAllDevices(shape: [Int], axisNames: [String]) throws -> Mesh {
        let mesh = try Mesh(shape: shape, axisNames: axisNames)
        try mesh.checkCoversJob(for: "Mesh.overAllDevices")
        return mesh
    }

    /// Throws unless the mesh holds every device of the job exactly once.
    func checkCoversJob(for operation: String) throws {
        let count = Distributed.deviceCount
        guard devices.count == count, Set(devices) == Set(0..<count) else {
            throw FlockError(
                "\(operation): \(self) has \(devices.count) devices \(devices.count <= 16 ? "\(devices) " : "")but the job has "
                    + "\(count) (\(Distributed.processCount) processes × \(Distributed.localDeviceCount) local devices); "
                    + "a mesh must hold every device exactly once")
        }
    }

    /// Mesh positions of this process's local devices, in local device order.
    var localPositions: [Int] {
        let L = Distributed.localDeviceCount, first = Distributed.processIndex * L
        return (first..<(first + L)).map { d in devices.firstIndex(of: d)! }
    }

    /// The process that owns the device at mesh position `position`.
    func process(ofPosition position: Int) -> Int { devices[position] / Distributed.localDeviceCount }
}
