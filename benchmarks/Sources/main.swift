import Flock
