// Package jsonpath walks decoded JSON bodies (map[string]any / []any), as
// the end-to-end tests and the chaos run read the REST API's answers.
package jsonpath

// Get walks a decoded JSON body: Get(b, "order", "lines", 0, "line_id");
// nil when any step is absent.
func Get(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, _ := v.(map[string]any)
			v = m[k]
		case int:
			a, _ := v.([]any)
			if k < 0 || k >= len(a) {
				return nil
			}
			v = a[k]
		}
	}
	return v
}

// Str is Get as a string ("" when absent or not a string; the API writes
// int64 and money as strings).
func Str(v any, path ...any) string {
	s, _ := Get(v, path...).(string)
	return s
}
