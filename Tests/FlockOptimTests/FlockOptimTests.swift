import FlockOptim
import FlockTestSupport
import Testing
