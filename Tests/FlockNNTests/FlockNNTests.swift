import FlockNN
import FlockTestSupport
import Testing
