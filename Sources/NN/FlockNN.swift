// FlockNN: the training library's models (modules as pytrees of parameters),
// initialisers, losses and metrics, data sets and checkpoints.
@_exported import FlockCore
@_exported import FlockTransforms
