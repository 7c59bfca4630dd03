// FlockOptim: optax-style optimisers — pure gradient transformations over
// pytrees, composed with `chain` — and learning-rate schedules.
@_exported import FlockCore
@_exported import FlockTransforms
