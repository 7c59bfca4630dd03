// train-lm's data: a text as character ids, split into training and validation
// parts, and the random windows a step trains on.
import Flock
import Foundation

/// A text encoded one id per Unicode scalar, with the vocabulary of the scalars it uses.
struct CharacterText {
    /// The distinct characters, sorted; a character's id is its index here.
    let vocabulary: [Unicode.Scalar]
    /// The whole text as ids.
    let ids: [Int32]
    let index: [Unicode.Scalar: Int32]

    /// Reads `path`; an unreadable file is a `FlockError` naming it.
    init(contentsOf path: String) throws {
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw FlockError("train-lm: cannot read \(path): \(error.localizedDescription)")
        }
        vocabulary = Array(Set(text.unicodeScalars)).sorted { $0.value < $1.value }
        let index = Dictionary(uniqueKeysWithValues: vocabulary.enumerated().map { ($1, Int32($0)) })
        self.index = index
        ids = text.unicodeScalars.map { index[$0]! }  // every scalar of the text is in the vocabulary built from it
    }

    /// The ids of `string`, or nil when it has a character the text does not.
    func encode(_ string: String) -> [Int32]? {
        let ids = string.unicodeScalars.map { index[$0] }
        return ids.contains(nil) ? nil : ids.map { $0! }
    }

    /// The characters of `ids`.
    func decode(_ ids: [Int32]) -> String {
        var s = String.UnicodeScalarView()
        s.append(contentsOf: ids.map { vocabulary[Int($0)] })
        return String(s)
    }
}

/// Inputs and next-character targets, `[rows, context]` each, of the windows
/// of `ids` starting at `starts`.
func windows(of ids: ArraySlice<Int32>, starts: [Int], context: Int) -> (inputs: Tensor, targets: Tensor) {
    var x: [Int32] = [], y: [Int32] = []
    x.reserveCapacity(starts.count * context)
    y.reserveCapacity(starts.count * context)
    for s in starts {
        let base = ids.startIndex + s
        x.append(contentsOf: ids[base..<base + context])
        y.append(contentsOf: ids[base + 1..<base + context + 1])
    }
    return (Tensor(x, shape: [starts.count, context]), Tensor(y, shape: [starts.count, context]))
}
