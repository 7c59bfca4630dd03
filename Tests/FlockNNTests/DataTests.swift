import Foundation
import FlockTestSupport
import Testing

import FlockCore
import FlockIO
@testable import FlockNN

// Oracles: epoch orders from jax.random.permutation(fold_in(key, epoch), n);
// per-process rows and masks computed by numpy from the documented plan
// (tools/make_data_fixtures.py); what numpy reads from the shipped digits
// file; and identities: the processes' parts of a batch make up the global
// batch whatever the process count, prefetching changes nothing.

private enum DataFixtures {
    struct File: Decodable {
        var permutations: [Permutation]
        var plans: [Plan]
        var digits: [String: Summary]
        var digitCounts: [String: [Int]]
    }
    struct Permutation: Decodable { var seed: Int; var epoch: Int; var n: Int; var order: [Int] }
    struct Plan: Decodable {
        var n: Int, batch: Int, processes: Int, devices: Int, remainder: String, seed: Int, epoch: Int, shuffle: Bool
        var perProcess: [Part]
    }
    struct Part: Decodable { var rows: [[Int]]; var mask: [[Int]] }
    struct Summary: Decodable { var dtype: String; var shape: [Int]; var crc32: UInt32 }

    static let file: File = {
        let url = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.appendingPathComponent("data/data.json")
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try! decoder.decode(File.self, from: Data(contentsOf: url))
    }()
}

/// The shipped digits file, found from this source file's location.
let digitsPath = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .appendingPathComponent("../../Examples/Data/digits.npz").standardized.path

/// A data set whose features are the row numbers (so a batch shows which rows it holds).
private func indexDataset(_ n: Int, width: Int = 3) throws -> Dataset {
    let x = (0..<n).flatMap { r in (0..<width).map { Float(r * 10 + $0) } }
    return try Dataset(features: Tensor(x, shape: [n, width]), labels: Tensor((0..<n).map(Int32.init)))
}

@Suite struct DataTests {
    @Test(arguments: DataFixtures.file.permutations.indices)
    func epochOrderMatchesJAX(case i: Int) throws {
        let p = DataFixtures.file.permutations[i]
        let data = try indexDataset(p.n)
        let loader = try DataLoader(
            data, globalBatchSize: 1, shuffle: PRNGKey(p.seed), remainder: .pad, processIndex: 0, processCount: 1,
            localDeviceCount: 1)
        #expect(loader.order(epoch: p.epoch) == p.order, "seed \(p.seed) epoch \(p.epoch) n \(p.n)")
    }

    @Test(arguments: DataFixtures.file.plans.indices)
    func batchesMatchThePlan(case i: Int) throws {
        let plan = DataFixtures.file.plans[i]
        let data = try indexDataset(plan.n)
        for (p, expected) in plan.perProcess.enumerated() {
            for prefetch in [0, 2] {
                let loader = try DataLoader(
                    data, globalBatchSize: plan.batch, shuffle: plan.shuffle ? PRNGKey(plan.seed) : nil,
                    remainder: plan.remainder == "drop" ? .drop : .pad, processIndex: p, processCount: plan.processes,
                    localDeviceCount: plan.devices, prefetch: prefetch)
                let batches = Array(loader.epoch(plan.epoch))
                #expect(batches.count == expected.rows.count)
                for (b, batch) in batches.enumerated() where b < expected.rows.count {
                    #expect(batch.rows == expected.rows[b], "process \(p) batch \(b)")
                    #expect(batch.mask.toArray(Float.self) == expected.mask[b].map(Float.init))
                    #expect(batch.realCount == expected.mask[b].reduce(0, +))
                    #expect(batch.labels.toArray(Int32.self) == expected.rows[b].map(Int32.init))
                    #expect(batch.features.toArray(Float.self) == expected.rows[b].flatMap { r in (0..<3).map { Float(r * 10 + $0) } })
                    let split = batch.splitForDevices()
                    #expect(split.features.shape == [plan.devices, plan.batch / plan.processes / plan.devices, 3])
                    #expect(split.mask.shape == [plan.devices, plan.batch / plan.processes / plan.devices])
                }
            }
        }
    }

    /// The global batch (the processes' parts concatenated) does not depend on the number of processes.
    @Test(arguments: [1, 2, 4, 8])
    func globalBatchIndependentOfProcessCount(processes: Int) throws {
        let data = try indexDataset(101)
        func globalBatches(_ processes: Int) throws -> [[Int]] {
            let parts = try (0..<processes).map { p in
                try Array(DataLoader(data, globalBatchSize: 16, shuffle: PRNGKey(3), remainder: .pad, processIndex: p,
                                     processCount: processes, localDeviceCount: 1).epoch(2))
            }
            return (0..<parts[0].count).map { b in parts.flatMap { $0[b].rows } }
        }
        let single = try globalBatches(1)
        #expect(try globalBatches(processes) == single)
        // Every example appears exactly once per epoch; padding only in the last batch.
        #expect(Set(single.flatMap { $0 }) == Set(0..<101))
        #expect(single.flatMap { $0 }.count == 7 * 16)
    }

    @Test func abandonedEpochStopsTheProducer() throws {
        let loader = try DataLoader(try indexDataset(1000), globalBatchSize: 10, shuffle: PRNGKey(0), processIndex: 0,
                                    processCount: 1, localDeviceCount: 1, prefetch: 3)
        for _ in 0..<50 {
            for batch in loader.epoch(0) where batch.index == 1 { break }
        }
        let first = loader.epoch(1).makeIterator()
        _ = first
        var it = loader.epoch(1).makeIterator()
        #expect(it.next()?.rows == loader.batch(0, order: loader.order(epoch: 1)).rows)
    }

    @Test func digitsFileMatchesNumpy() throws {
        let expected = DataFixtures.file
        for (features, labels) in [("x_train", "y_train"), ("x_test", "y_test")] {
            let data = try Dataset(npz: digitsPath, features: features, labels: labels,
                                   featureDType: .float32, labelDType: .int32, exampleShape: [64])
            let x = try data.features.concreteArray(for: "test"), y = try data.labels.concreteArray(for: "test")
            #expect(x.shape == expected.digits[features]!.shape && y.shape == expected.digits[labels]!.shape)
            #expect(CRC32.checksum(x.bytes) == expected.digits[features]!.crc32)
            #expect(CRC32.checksum(y.bytes) == expected.digits[labels]!.crc32)
            var counts = [Int](repeating: 0, count: 10)
            for label in y.toArray(Int32.self) { counts[Int(label)] += 1 }
            #expect(counts == expected.digitCounts[labels])
            #expect(x.toArray(Float.self).allSatisfy { (0...1).contains($0) && ($0 * 16).rounded() == $0 * 16 })
        }
    }

    @Test func shardsPartitionTheExamples() throws {
        let data = try indexDataset(10)
        let parts = try (0..<3).map { try data.shard(index: $0, count: 3).labels.toArray(Int32.self) }
        #expect(parts == [[0, 1, 2, 3], [4, 5, 6], [7, 8, 9]])
        expectFlockError("index 3 is not in 0..<3") { try data.shard(index: 3, count: 3) }
        expectFlockError("row 10 is out of range for 10 examples") { try data.rows([0, 10]) }
    }

    @Test func loadsIDXAndCSV() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("flock-data-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        // Two 2×2 images of unsigned bytes and their labels, in the MNIST layout.
        try Data([0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 2, 0, 51, 102, 255, 255, 0, 0, 0]).write(to: URL(fileURLWithPath: directory + "/x.idx"))
        try Data([0, 0, 8, 1, 0, 0, 0, 2, 7, 3]).write(to: URL(fileURLWithPath: directory + "/y.idx"))
        let idx = try Dataset(idxImages: directory + "/x.idx", labels: directory + "/y.idx")
        #expect(idx.features.shape == [2, 2, 2] && idx.features.dtype == .float32)
        #expect(idx.features.toArray(Float.self) == [0, 0.2, 0.4, 1, 1, 0, 0, 0])
        #expect(idx.labels.toArray(Int32.self) == [7, 3])
        try "a,label,b\n1.5,2,3\n4,0,5\n".write(toFile: directory + "/t.csv", atomically: true, encoding: .utf8)
        let csv = try Dataset(csv: directory + "/t.csv", labelColumn: "label")
        #expect(csv.features.toArray(Float.self) == [1.5, 3, 4, 5])
        #expect(csv.labels.toArray(Int32.self) == [2, 0])
        expectFlockError("has no column 'y'") { try Dataset(csv: directory + "/t.csv", labelColumn: "y") }
        try "a,label\n1,2.5\n".write(toFile: directory + "/f.csv", atomically: true, encoding: .utf8)
        expectFlockError("row 1 has label 2.5, not an int32 class index") { try Dataset(csv: directory + "/f.csv", labelIndex: 1) }
        try Data([0, 0, 8, 1, 0, 0, 0, 3, 7, 3, 1]).write(to: URL(fileURLWithPath: directory + "/z.idx"))
        expectFlockError("x.idx: features have 2 rows (shape [2, 2, 2]) but labels have 3") {
            try Dataset(idxImages: directory + "/x.idx", labels: directory + "/z.idx")
        }
    }

    @Test func badInputThrows() throws {
        let data = try indexDataset(10)
        expectFlockError("global batch size 6 is not divisible by the 4 devices (2 processes × 2 local devices); use a multiple of 4") {
            try DataLoader(data, globalBatchSize: 6, processIndex: 0, processCount: 2, localDeviceCount: 2)
        }
        expectFlockError("globalBatchSize must be positive, got 0") {
            try DataLoader(data, globalBatchSize: 0, processIndex: 0, processCount: 1, localDeviceCount: 1)
        }
        expectFlockError("the data set's 10 examples do not fill one global batch of 12") {
            try DataLoader(data, globalBatchSize: 12, processIndex: 0, processCount: 1, localDeviceCount: 1)
        }
        expectFlockError("process 2 of 2 with 1 local devices is not a valid job") {
            try DataLoader(data, globalBatchSize: 2, processIndex: 2, processCount: 2, localDeviceCount: 1)
        }
        expectFlockError("prefetch must be non-negative") {
            try DataLoader(data, globalBatchSize: 2, processIndex: 0, processCount: 1, localDeviceCount: 1, prefetch: -1)
        }
        expectFlockError("features have 2 rows (shape [2, 2]) but labels have 3 (shape [3])") {
            try Dataset(features: Tensor([[Float(1), 2], [3, 4]]), labels: Tensor([Int32(1), 2, 3]))
        }
        expectFlockError("need a leading example axis") { try Dataset(features: Tensor(Float(1)), labels: Tensor(Int32(1))) }
        expectFlockError("labels are float32 [2], expected int32") {
            try Dataset(features: Tensor([Float(1), 2]), labels: Tensor([Float(1), 2]), labelDType: .int32)
        }
        expectFlockError("digits.npz: features are float32 [1500, 64], expected float64") {
            try Dataset(npz: digitsPath, features: "x_train", labels: "y_train", featureDType: .float64)
        }
        expectFlockError("digits.npz: features have shape [1500, 64], expected [N] + [8, 8]") {
            try Dataset(npz: digitsPath, features: "x_train", labels: "y_train", exampleShape: [8, 8])
        }
        expectFlockError("has no array 'images' (it has x_test, x_train, y_test, y_train)") {
            try Dataset(npz: digitsPath, features: "images", labels: "y_train")
        }
        expectFlockError("features have 1500 rows (shape [1500, 64]) but labels have 297") {
            try Dataset(npz: digitsPath, features: "x_train", labels: "y_test")
        }
        expectFlockError("cannot read /nonexistent/d.npz") { try Dataset(npz: "/nonexistent/d.npz", features: "x", labels: "y") }
    }
}

@Suite struct DataShardTests {
    /// Each process reading its rows of .npy files gets what `shard` cuts from the whole data set.
    @Test(arguments: [1, 2, 3, 4])
    func npyRowsEqualShards(processes: Int) throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("flock-rows-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let whole = try Dataset(npz: digitsPath, features: "x_test", labels: "y_test")
        try saveNPY(whole.features, to: directory + "/x.npy")
        try saveNPY(whole.labels, to: directory + "/y.npy")
        for p in 0..<processes {
            let rows = Dataset.shardRows(whole.count, index: p, count: processes)
            let mine = try Dataset(npyFeatures: directory + "/x.npy", labels: directory + "/y.npy", rows: rows)
            let expected = try whole.shard(index: p, count: processes)
            #expect(mine.features.toArray(Float.self) == expected.features.toArray(Float.self))
            #expect(mine.labels.toArray(Int32.self) == expected.labels.toArray(Int32.self))
        }
        #expect((0..<processes).map { Dataset.shardRows(297, index: $0, count: processes).count }.reduce(0, +) == 297)
    }
}
