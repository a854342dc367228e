package ctisim

import (
	"slices"
	"testing"
)

func TestDeviceIndex(t *testing.T) {
	type mon struct{ id string }
	a, b, c := &mon{"1"}, &mon{"2"}, &mon{"3"}
	tests := []struct {
		name string
		do   func(x DeviceIndex[*mon])
		want map[string][]*mon
	}{
		{"add keeps start order", func(x DeviceIndex[*mon]) { x.Add("201", a); x.Add("201", b); x.Add("202", c) },
			map[string][]*mon{"201": {a, b}, "202": {c}}},
		{"remove one of two", func(x DeviceIndex[*mon]) { x.Add("201", a); x.Add("201", b); x.Remove("201", a) },
			map[string][]*mon{"201": {b}}},
		{"remove the last forgets the device", func(x DeviceIndex[*mon]) { x.Add("201", a); x.Remove("201", a) },
			map[string][]*mon{}},
		{"remove an unknown monitor", func(x DeviceIndex[*mon]) { x.Add("201", a); x.Remove("201", b); x.Remove("203", a) },
			map[string][]*mon{"201": {a}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x := make(DeviceIndex[*mon])
			tt.do(x)
			if len(x) != len(tt.want) {
				t.Fatalf("devices %d, want %d", len(x), len(tt.want))
			}
			for dev, want := range tt.want {
				if !slices.Equal(x[dev], want) {
					t.Errorf("%s: %v, want %v", dev, x[dev], want)
				}
			}
		})
	}
}
