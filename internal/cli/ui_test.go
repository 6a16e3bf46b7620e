package cli

import "testing"

func TestCheckLoopback(t *testing.T) {
	tests := []struct {
		address  string
		anyIface bool
		wantErr  bool
	}{
		{"127.0.0.1:8090", false, false},
		{"[::1]:8090", false, false},
		{"localhost:8090", false, false},
		{"0.0.0.0:8090", false, true},
		{":8090", false, true},
		{"192.168.1.10:8090", false, true},
		{"0.0.0.0:8090", true, false},
		{"no-port", false, true},
	}
	for _, tt := range tests {
		err := checkLoopback(tt.address, tt.anyIface)
		if (err != nil) != tt.wantErr {
			t.Errorf("checkLoopback(%q, %v) = %v, want error %v", tt.address, tt.anyIface, err, tt.wantErr)
		}
	}
}
