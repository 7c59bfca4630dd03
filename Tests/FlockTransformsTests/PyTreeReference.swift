import Foundation
import FlockTestSupport
@testable import FlockTransforms

/// Reference values for pytree-shaped transforms, produced by JAX
/// (tools/make_pytree_fixtures.py): inputs `in.*`, outputs named by case and
/// the leaf's keystr.
enum PyTreeReference {
    struct Entry: Decodable {
        let shape: [Int]
        let values: [FixtureNumber]
    }
    struct File: Decodable {
        let arrays: [String: Entry]
        let keystr: [String: [String]]
    }

    static let file: File = {
        let url = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.appendingPathComponent("pytrees.json")
        return try! JSONDecoder().decode(File.self, from: Data(contentsOf: url))
    }()

    /// The reference array `name` as float32 (inputs and outputs are float32 in JAX).
    static func tensor(_ name: String) -> Tensor {
        guard let e = file.arrays[name] else { fatalError("missing JAX reference '\(name)': rerun tools/make_pytree_fixtures.py") }
        return Tensor(e.values.map(\.double), shape: e.shape).converted(to: .float32)
    }

    /// The input `in.name`.
    static func input(_ name: String) -> Tensor { tensor("in." + name) }

    /// The parameters `{"w": [3, 2], "b": [2]}` every case uses.
    static var params: [String: Tensor] { ["w": input("w"), "b": input("b")] }
}
