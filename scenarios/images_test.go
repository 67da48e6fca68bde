package scenarios

import (
	"slices"
	"testing"
)

func TestImages(t *testing.T) {
	s, err := LoadBuiltin("ecr-imagepullbackoff")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"123456789012.dkr.ecr.us-east-1.amazonaws.com/shop/checkout:1.8.2", // the Deployment
		"123456789012.dkr.ecr.us-east-1.amazonaws.com/shop/checkout:1.9.0", // the fault's setImage
		"docker.io/library/redis:7.2-alpine",
		"registry.k8s.io/kube-state-metrics/kube-state-metrics:v2.13.0",
	}
	if got := s.Images(); !slices.Equal(got, want) {
		t.Errorf("Images() =\n%q\nwant\n%q", got, want)
	}
}
