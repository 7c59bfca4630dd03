// Printing the layout of a sharded array: which device (on which process)
// holds which block — the information of `jax.debug.visualize_array_sharding`.

extension ShardedArray: CustomStringConvertible {
    /// The global type, the sharding, and one line per distinct block with the
    /// devices holding it:
    ///
    /// ```
    /// ShardedArray(f32[8,4], mesh=Mesh('x': 2, 'y': 2), spec=PartitionSpec('x', None))
    ///   [0:4, 0:4] on devices 0, 1 (process 0)
    ///   [4:8, 0:4] on devices 2, 3 (process 1)
    /// ```
    public var description: String {
        var lines = ["ShardedArray(\(aval), mesh=\(mesh), spec=\(spec))"]
        for (index, devices) in blockHolders() {
            let ranges = index.isEmpty ? "[]" : "[" + index.map { "\($0.lowerBound):\($0.upperBound)" }.joined(separator: ", ") + "]"
            let processes = Set(devices.map { $0 / Distributed.localDeviceCount }).sorted()
            lines.append("  \(ranges) on device\(devices.count == 1 ? "" : "s") \(devices.map(String.init).joined(separator: ", "))"
                + " (process\(processes.count == 1 ? "" : "es") \(processes.map(String.init).joined(separator: ", ")))")
        }
        return lines.joined(separator: "\n")
    }

    /// A drawing of the blocks of a rank-1 or rank-2 array, each cell naming
    /// the devices that hold it (rows are dimension 0):
    ///
    /// ```
    /// ┌───────┬───────┐
    /// │   0   │   1   │
    /// ├───────┼───────┤
    /// │   2   │   3   │
    /// └───────┴───────┘
    /// ```
    ///
    /// Higher ranks get ``description``.
    public var layoutDiagram: String {
        guard rank <= 2 else { return description }
        let counts = sharding.shardCounts(rank: rank)
        let (rows, cols) = rank == 2 ? (counts[0], counts[1]) : (1, counts.first ?? 1)
        var cells = [[String]](repeating: [String](repeating: "", count: cols), count: rows)
        for (p, d) in mesh.devices.enumerated() {
            let g = sharding.block(ofPosition: p, shape: counts).map(\.lowerBound)
            let (r, c) = rank == 2 ? (g[0], g[1]) : (0, g.first ?? 0)
            cells[r][c] += (cells[r][c].isEmpty ? "" : ",") + "\(d)"
        }
        let width = cells.flatMap { $0 }.map(\.count).max()! + 4
        func centered(_ s: String) -> String {
            let left = (width - s.count) / 2
            return String(repeating: " ", count: left) + s + String(repeating: " ", count: width - s.count - left)
        }
        let bar = String(repeating: "─", count: width)
        func rule(_ l: String, _ m: String, _ r: String) -> String { l + Array(repeating: bar, count: cols).joined(separator: m) + r }
        var lines = [rule("┌", "┬", "┐")]
        for (i, row) in cells.enumerated() {
            lines.append("│" + row.map(centered).joined(separator: "│") + "│")
            lines.append(i == rows - 1 ? rule("└", "┴", "┘") : rule("├", "┼", "┤"))
        }
        return lines.joined(separator: "\n")
    }

    /// Every distinct block (in the order of its first device) and the devices holding it.
    private func blockHolders() -> [([Range<Int>], [Int])] {
        var order: [[Range<Int>]] = [], holders: [[Range<Int>]: [Int]] = [:]
        for (p, d) in mesh.devices.enumerated().sorted(by: { $0.element < $1.element }) {
            let b = sharding.block(ofPosition: p, shape: shape)
            if holders[b] == nil { order.append(b) }
            holders[b, default: []].append(d)
        }
        return order.map { ($0, holders[$0]!) }
    }
}
