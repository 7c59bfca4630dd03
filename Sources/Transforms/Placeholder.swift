@_exported import FlockCore
