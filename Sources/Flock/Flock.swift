// The umbrella module: `import Flock` brings in the whole library.
@_exported import FlockCore
@_exported import FlockIO
@_exported import FlockCompiler
@_exported import FlockTransforms
@_exported import FlockCollectives
@_exported import FlockSharding
@_exported import FlockNN
@_exported import FlockOptim
