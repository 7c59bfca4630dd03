import Foundation
import FlockTestSupport
import Testing

import FlockCore
@testable import FlockIO

/// Every dtype against files numpy wrote (tools/make_dtype_fixtures.py:
/// Fixtures/dtypes/<dtype>.npy, bfloat16 through ml_dtypes, which numpy
/// saves as '<V2'): Flock reads numpy's values, and writes the same bytes.
@Suite struct NPYDTypeTests {
    struct Entry: Decodable { let shape: [Int]; let values: [String] }

    static let directory = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.appendingPathComponent("dtypes")
    static let entries: [String: Entry] = try! JSONDecoder().decode(
        [String: Entry].self, from: Data(contentsOf: directory.appendingPathComponent("values.json")))

    @Test(arguments: DType.allCases)
    func readsNumpysFileAndWritesItsBytes(dtype: DType) throws {
        let path = Self.directory.appendingPathComponent("\(dtype).npy").path
        let entry = Self.entries[dtype.rawValue]!
        let t = try loadNPY(path)
        #expect(t.shape == entry.shape)
        // Without x64 numpy's int64/uint64 load as int32/uint32 (as jnp.asarray): the low bits.
        #expect(t.dtype == dtype.canonical)
        switch t.dtype {
        case .int32 where dtype == .int64:
            #expect(t.toArray(Int32.self) == entry.values.map { Int32(truncatingIfNeeded: Int64($0)!) })
        case .uint32 where dtype == .uint64:
            #expect(t.toArray(UInt32.self) == entry.values.map { UInt32(truncatingIfNeeded: UInt64($0)!) })
        case .int64: #expect(t.toArray(Int64.self) == entry.values.map { Int64($0)! })
        case .uint64: #expect(t.toArray(UInt64.self) == entry.values.map { UInt64($0)! })
        case .bool: #expect(t.toArray(Bool.self) == entry.values.map { $0 == "1" })
        default:
            // Every value of these dtypes is exact as a Double; NaN compares as NaN, zeros by sign.
            let got = t.toArray(Double.self), want = entry.values.map { Double($0)! }
            #expect(zip(got, want).allSatisfy { $0.isNaN ? $1.isNaN : ($0 == $1 && $0.sign == $1.sign) },
                    "\(dtype): \(got) vs \(want)")
        }
        if t.dtype == dtype {
            #expect(try encodeNPY(t) == Array(Data(contentsOf: URL(fileURLWithPath: path))), "\(dtype): bytes differ from numpy's")
        }
    }
}
