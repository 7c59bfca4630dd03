// Text from a trained CharTransformer, one character at a time.
import Flock

/// Samples continuations with one compiled forward pass of a fixed shape
/// `[1, context]`: the text so far is written left-aligned and padded, and
/// since attention is causal the logits at its last position do not see the padding.
struct Sampler {
    let forward: (CharTransformer, Tensor) -> Tensor
    let text: CharacterText
    let context: Int

    init(model: CharTransformer, text: CharacterText) {
        forward = jit(name: "train-lm.sample") { (m: CharTransformer, x: Tensor) in m(x) }
        (self.text, self.context) = (text, model.context)
    }

    /// `prompt` followed by `count` characters, each drawn from the model's
    /// distribution at `temperature` with `Random.foldIn(key, i)` (the most
    /// likely character when the temperature is 0).
    func sample(_ model: CharTransformer, prompt: [Int32], count: Int, temperature: Double, key: PRNGKey) -> String {
        var ids = prompt
        for i in 0..<count {
            let window = Array(ids.suffix(context))
            let padded = window + [Int32](repeating: 0, count: context - window.count)
            let logits = forward(model, Tensor(padded, shape: [1, context]))[0, window.count - 1]
            let next: Int32
            if temperature == 0 {
                next = logits.argmax().item(Int32.self)
            } else {
                next = Random.categorical(Random.foldIn(key, i), logits: logits / temperature).item(Int32.self)
            }
            ids.append(next)
        }
        return text.decode(ids)
    }
}
