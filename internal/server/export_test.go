package server

// FailRecording makes every later attempt of s to record a deploy fail
// with err (a data directory that cannot be written).
func FailRecording(s *Server, err error) { s.recordFailure = err }
