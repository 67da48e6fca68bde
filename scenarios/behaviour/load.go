package behaviour

import (
	"fmt"
	"strconv"
)

// LoadAnnotation is the Service annotation that says how much traffic the
// Service gets, in requests a second: the setLoad step writes it, and
// both executors spread it over the Service's ready pods (Share).
const LoadAnnotation = "gameday.dev/load"

// ParseLoad reads a LoadAnnotation value; an absent one is no load.
func ParseLoad(v string) (float64, error) {
	if v == "" {
		return 0, nil
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f < 0 {
		return 0, fmt.Errorf("load %q: not a number of requests a second", v)
	}
	return f, nil
}

// Share is one pod's part of a Service's load: the load spread evenly
// over its ready pods, so that scaling out lowers each pod's CPU. A
// Service with no ready pod serves nothing.
func Share(load float64, readyPods int) float64 {
	if readyPods <= 0 {
		return 0
	}
	return load / float64(readyPods)
}
