package behaviour

import (
	"testing"
)

func TestShare(t *testing.T) {
	tests := []struct {
		name  string
		load  float64
		ready int
		want  float64
	}{
		{"spread over the ready pods", 300, 3, 100},
		{"scaling out lowers each pod's part", 300, 6, 50},
		{"no ready pod serves nothing", 300, 0, 0},
		{"no load", 0, 4, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Share(tt.load, tt.ready); got != tt.want {
				t.Errorf("Share(%v, %d) = %v, want %v", tt.load, tt.ready, got, tt.want)
			}
		})
	}
}

func TestParseLoad(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    float64
		wantErr bool
	}{
		{"absent is no load", "", 0, false},
		{"whole", "400", 400, false},
		{"fraction", "2.5", 2.5, false},
		{"negative", "-1", 0, true},
		{"text", "lots", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseLoad(tt.in)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("ParseLoad(%q) = %v, %v; want %v, error %v", tt.in, got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestResponse(t *testing.T) {
	app := App{Startup: Startup{Port: 8080, Readiness: "/ready", Liveness: "/healthz"}}
	ready := State{Ready: true, Live: true, Status: 200}
	overloaded := ready
	overloaded.Overloaded = true
	warming := State{Live: false, Status: 503, Waiting: "warming up"}
	liveWarming := State{Live: true, Status: 503, Waiting: "warming up"}
	tests := []struct {
		name string
		st   State
		path string
		want int
	}{
		{"ready app serves", ready, "/", 200},
		{"overloaded app fails requests", overloaded, "/checkout", 503},
		{"overloaded app still passes readiness", overloaded, "/ready", 200},
		{"overloaded app still passes liveness", overloaded, "/healthz", 200},
		{"warming app fails requests", warming, "/", 503},
		{"warming app fails liveness", warming, "/healthz", 503},
		{"warming app live while warming passes liveness", liveWarming, "/healthz", 200},
		{"warming app live while warming fails readiness", liveWarming, "/ready", 503},
		{"warming app live while warming fails requests", liveWarming, "/", 503},
		{"exited app answers 503", State{}, "/", 503},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := app.Response(tt.st, tt.path); got != tt.want {
				t.Errorf("Response(%s) = %d, want %d", tt.path, got, tt.want)
			}
		})
	}
}
