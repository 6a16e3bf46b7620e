package expand

import (
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/meshintent/meshintent/api/v1alpha1"
)

func TestRedistribute(t *testing.T) {
	d := func(ws ...int) []v1alpha1.Destination {
		out := make([]v1alpha1.Destination, len(ws))
		for i, w := range ws {
			out[i] = v1alpha1.Destination{Version: fmt.Sprintf("v%d", i+1), Weight: int32(w)}
		}
		return out
	}
	tests := []struct {
		ds        []v1alpha1.Destination
		suspended []string
		want      []int
	}{
		{d(70, 20, 10), nil, []int{70, 20, 10}},
		{d(70, 20, 10), []string{"v3"}, []int{78, 22, 0}},
		{d(80, 15, 5), []string{"v3"}, []int{84, 16, 0}},
		{d(34, 33, 33), []string{"v1"}, []int{0, 50, 50}},
		{d(10, 10, 10, 70), []string{"v4"}, []int{34, 33, 33, 0}},
		{d(100, 0, 0), []string{"v1"}, []int{0, 50, 50}},
		{d(1, 1, 1, 97), []string{"v4"}, []int{34, 33, 33, 0}},
	}
	for _, tt := range tests {
		s := map[string]bool{}
		for _, v := range tt.suspended {
			s[v] = true
		}
		got := redistribute(tt.ds, s)
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("redistribute(%v, %v) (-want +got):\n%s", tt.ds, tt.suspended, diff)
		}
		sum := 0
		for _, w := range got {
			sum += w
		}
		if sum != 100 {
			t.Errorf("redistribute(%v, %v) sums to %d", tt.ds, tt.suspended, sum)
		}
	}
}
