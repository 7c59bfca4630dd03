/// A Swift tuple of pytrees as one pytree (JAX's tuple node): Swift tuples
/// cannot conform to protocols, so transforms that return a tuple wrap it
/// here to flatten and rebuild it with the other pytree machinery.
package struct TupleTree<each Element: PyTree>: PyTree {
    package let elements: (repeat each Element)

    // Takes the elements one by one: an initialiser taking the tuple
    // `(repeat each Element)` crashes Swift 6.3's SIL generation.
    package init(_ elements: repeat each Element) { self.elements = (repeat each elements) }

    package func flattenLeaves(into leaves: inout [Tensor]) {
        for e in repeat each elements { e.flattenLeaves(into: &leaves) }
    }

    package func rebuilt(from leaves: inout ArraySlice<Tensor>) -> TupleTree {
        TupleTree(repeat (each elements).rebuilt(from: &leaves))
    }

    /// A `tuple of n` node, then each element under `[i]` (as JAX prints a tuple's paths).
    package func describeStructure(path: String, into nodes: inout [String]) {
        var count = 0
        for _ in repeat each elements { count += 1 }
        nodes.append("\(path.isEmpty ? "." : path): tuple of \(count)")
        var i = 0
        for e in repeat each elements {
            e.describeStructure(path: "\(path)[\(i)]", into: &nodes)
            i += 1
        }
    }

    /// A tuple node and each element.
    package func appendStructure(to key: inout TreeStructureKey) {
        var count = 0
        for _ in repeat each elements { count += 1 }
        key.tokens.append(.tuple(count))
        for e in repeat each elements { e.appendStructure(to: &key) }
    }
}
