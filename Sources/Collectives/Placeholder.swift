import CMPI
@_exported import FlockCore
