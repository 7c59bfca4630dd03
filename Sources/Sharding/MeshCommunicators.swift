import Synchronization

/// The communicators that bind a mesh's axis names on this process's devices.
///
/// Along each mesh axis, the devices that differ only in their coordinate on
/// that axis form a *group*, numbered by that coordinate; on a device, the axis
/// name is bound to its group's communicator, so `psum(x, axisName: "x")`
/// sums over the group and a collective over several names composes them
/// (row-major, as `NamedSharding` numbers blocks). A group is served by
///
/// - an ``InProcessGroup`` when all its devices belong to this process,
/// - an `MPI_Comm_split` sub-communicator when each of its processes holds one
///   of its devices,
/// - a ``HierarchicalGroup`` over such a sub-communicator when each of its
///   processes holds the same number (> 1) of its devices, consecutively.
///
/// Other layouts (say, a group with two devices of one process and one of
/// another) are reported as errors. Communicators are built once per mesh —
/// the splits are collective, so every process builds them at the same call.
final class MeshCommunicators: Sendable {
    let mesh: Mesh
    /// `communicators[i][k]`: local device `i`'s communicator for mesh axis `k`.
    let communicators: [[any CollectiveTransport]]

    private init(mesh: Mesh, communicators: [[any CollectiveTransport]]) {
        self.mesh = mesh
        self.communicators = communicators
    }

    private static let cache = Mutex<[Mesh: MeshCommunicators]>([:])

    /// The communicators of `mesh`, built on first use (collectively).
    static func of(_ mesh: Mesh) throws -> MeshCommunicators {
        try cache.withLock { (built: inout [Mesh: MeshCommunicators]) throws -> MeshCommunicators in
            if let m = built[mesh] { return m }
            let m = MeshCommunicators(mesh: mesh, communicators: try makeCommunicators(mesh))
            built[mesh] = m
            return m
        }
    }

    /// The named axes of local device `local`: one frame per mesh axis.
    func frames(local: Int) -> [AxisFrame] {
        zip(mesh.axisNames, communicators[local]).map { AxisFrame(name: $0, size: $1.size, binding: .communicator($1)) }
    }

    /// One group of devices along a mesh axis.
    private struct Group {
        let axis: Int
        /// Mesh positions, by coordinate along the axis.
        let members: [Int]
        /// The processes holding the members, in member order, each once.
        let processes: [Int]
        /// Members per process.
        let perProcess: Int
    }

    private static func groups(_ mesh: Mesh) throws -> [Group] {
        var out: [Group] = []
        for axis in mesh.shape.indices {
            var byRest: [[Int]: [Int]] = [:]
            var order: [[Int]] = []
            for p in 0..<mesh.size {
                var rest = mesh.coordinates(ofPosition: p)
                rest[axis] = -1
                if byRest[rest] == nil { order.append(rest) }
                byRest[rest, default: []].append(p)  // row-major: the coordinate on `axis` increases
            }
            for rest in order {
                let members = byRest[rest]!
                let owners = members.map(mesh.process(ofPosition:))
                var processes: [Int] = []
                for o in owners where processes.last != o { processes.append(o) }
                let per = members.count / processes.count
                guard Set(processes).count == processes.count, members.count % processes.count == 0,
                    owners.enumerated().allSatisfy({ $0.element == processes[$0.offset / per] })
                else {
                    throw FlockError(
                        "shardMap: mesh axis '\(mesh.axisNames[axis])' of \(mesh) groups devices \(members.map { mesh.devices[$0] }) "
                            + "which belong to processes \(owners); each group of an axis must hold the same number of devices of "
                            + "each of its processes, consecutively (list the mesh's devices process by process)")
                }
                out.append(Group(axis: axis, members: members, processes: processes, perProcess: per))
            }
        }
        return out
    }

    private static func makeCommunicators(_ mesh: Mesh) throws -> [[any CollectiveTransport]] {
        try mesh.checkCoversJob(for: "shardMap")
        let groups = try groups(mesh)
        let L = Distributed.localDeviceCount, me = Distributed.processIndex
        var comms = [[(any CollectiveTransport)?]](repeating: Array(repeating: nil, count: mesh.shape.count), count: L)
        func local(_ position: Int) -> Int { mesh.devices[position] % L }

        for g in groups where g.processes == [me] {
            let group = InProcessGroup(size: g.members.count)
            for (j, p) in g.members.enumerated() { comms[local(p)][g.axis] = group.members[j] }
        }
        // Groups across processes: one MPI_Comm_split per round, each round a set of
        // groups over disjoint processes (every process computes the same rounds).
        let cross = groups.filter { $0.processes.count > 1 }
        if !cross.isEmpty {
            guard let world = Distributed.processes as? MPICommunicator else {
                throw FlockError("shardMap: \(mesh) spans several processes but the job does not use MPI")
            }
            var rounds: [[Int]] = [], used: [Set<Int>] = []
            for (i, g) in cross.enumerated() {
                if let r = used.firstIndex(where: { $0.isDisjoint(with: g.processes) }) {
                    rounds[r].append(i)
                    used[r].formUnion(g.processes)
                } else {
                    rounds.append([i])
                    used.append(Set(g.processes))
                }
            }
            for round in rounds {
                let mine = round.first { cross[$0].processes.contains(me) }
                let q = mine.map { cross[$0].processes.firstIndex(of: me)! } ?? 0
                let sub = try world.split(color: mine, key: q)
                guard let i = mine, let sub else { continue }
                let g = cross[i], c = g.perProcess
                let ours = g.members[(q * c)..<((q + 1) * c)]
                if c == 1 {
                    comms[local(ours.first!)][g.axis] = sub
                } else {
                    let group = HierarchicalGroup(localSize: c, processes: sub)
                    for (k, p) in ours.enumerated() { comms[local(p)][g.axis] = group.members[k] }
                }
            }
        }
        return comms.map { $0.map { $0! } }
    }
}
