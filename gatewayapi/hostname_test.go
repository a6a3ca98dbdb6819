package gatewayapi

import (
	"slices"
	"testing"
)

func TestIntersect(t *testing.T) {
	cases := []struct {
		name     string
		listener string
		route    []string
		want     []string
	}{
		{"no hostnames anywhere: any host", "", nil, []string{AnyHost}},
		{"route without hostnames takes the listener's", "*.example.com", nil, []string{"*.example.com"}},
		{"listener without hostname takes the route's", "", []string{"a.test", "*.b.test"}, []string{"a.test", "*.b.test"}},
		{"exact inside wildcard listener", "*.example.com", []string{"foo.example.com"}, []string{"foo.example.com"}},
		{"multi-label exact inside wildcard listener", "*.example.com", []string{"a.b.example.com"}, []string{"a.b.example.com"}},
		{"apex is not inside the wildcard", "*.example.com", []string{"example.com"}, nil},
		{"wildcard route narrows to exact listener", "foo.example.com", []string{"*.example.com"}, []string{"foo.example.com"}},
		{"narrower wildcard route kept", "*.example.com", []string{"*.a.example.com"}, []string{"*.a.example.com"}},
		{"broader wildcard route narrowed to listener", "*.a.example.com", []string{"*.example.com"}, []string{"*.a.example.com"}},
		{"only the intersecting hostnames survive", "*.example.com", []string{"foo.example.com", "foo.other.org"}, []string{"foo.example.com"}},
		{"disjoint", "foo.example.com", []string{"bar.example.com"}, nil},
		{"suffix without a dot boundary", "*.example.com", []string{"fooexample.com"}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := Intersect(tc.listener, tc.route); !slices.Equal(got, tc.want) {
				t.Errorf("Intersect(%q, %q) = %q, want %q", tc.listener, tc.route, got, tc.want)
			}
		})
	}
}
