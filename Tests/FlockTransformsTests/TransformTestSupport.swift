import Foundation
import FlockTestSupport
import Testing
@testable import FlockTransforms

/// Reference values produced by JAX (tools/make_transform_fixtures.py).
enum JAXReference {
    struct Entry: Decodable {
        let shape: [Int]
        let dtype: String
        let values: [Value]
    }
    typealias Value = FixtureNumber

    static let entries: [String: Entry] = {
        let url = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.appendingPathComponent("transforms.json")
        return try! JSONDecoder().decode([String: Entry].self, from: Data(contentsOf: url))
    }()

    /// The reference value `name` as a Tensor of `dtype`.
    static func tensor(_ name: String, dtype: DType = .float64) -> Tensor {
        guard let e = entries[name] else { fatalError("missing JAX reference '\(name)': regenerate fixtures") }
        return Tensor(e.values.map(\.double), shape: e.shape).converted(to: dtype)
    }
}
