package s3

// ParseDelete exposes parseDelete's keys to the fuzz test.
func ParseDelete(b []byte) ([]string, error) {
	d, e := parseDelete(b)
	if e != nil {
		return nil, errorOf(e)
	}
	keys := make([]string, len(d.Objects))
	for i, o := range d.Objects {
		keys[i] = o.Key
	}
	return keys, nil
}

type errorOfS3 struct{ e *s3Error }

func (e errorOfS3) Error() string { return e.e.code + ": " + e.e.msg }

func errorOf(e *s3Error) error { return errorOfS3{e} }
