// FlockOptim: optax-style optimisers — pure gradient transformations over
// pytrees, composed with `chain` — and learning-rate schedules.
import FlockCore
import FlockTransforms
