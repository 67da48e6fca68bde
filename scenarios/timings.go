package scenarios

import (
	"fmt"
	"time"
)

// Timings are the control-plane and kubelet periods that shape how fast
// an incident unfolds. Each is a real setting of a real component, and
// must lie within what real clusters are configured with: the validator
// refuses a value outside that range. An unset one takes gameday's
// default. `gameday describe` and the report show the values a game
// used.
type Timings struct {
	// HPASyncPeriod is how often the HorizontalPodAutoscaler controller
	// acts (kube-controller-manager
	// --horizontal-pod-autoscaler-sync-period). 5s to 1m; default 5s.
	HPASyncPeriod Duration `yaml:"hpaSyncPeriod"`
	// MetricsResolution is the window each figure of the metrics API
	// covers, and so how long after a pod turns Ready before an HPA
	// counts its CPU (metrics-server --metric-resolution). 10s to 1m;
	// default 15s.
	MetricsResolution Duration `yaml:"metricsResolution"`
	// NodeMonitorGracePeriod is how long a node may go without reporting
	// before it is marked NotReady (kube-controller-manager
	// --node-monitor-grace-period). 20s to 5m; default 40s.
	NodeMonitorGracePeriod Duration `yaml:"nodeMonitorGracePeriod"`
	// EvictionPressureTransitionPeriod is how long a kubelet keeps a
	// pressure condition (DiskPressure, MemoryPressure) after the
	// pressure ends (KubeletConfiguration
	// evictionPressureTransitionPeriod). 10s to 5m; default 30s.
	EvictionPressureTransitionPeriod Duration `yaml:"evictionPressureTransitionPeriod"`
	// CrashLoopBackOffMax is the longest the kubelet waits between
	// restarts of a crashing container (KubeletConfiguration
	// crashLoopBackOff.maxContainerRestartPeriod). 1s to 5m; default 5m.
	CrashLoopBackOffMax Duration `yaml:"crashLoopBackOffMax"`
	// VolumeStatsAggPeriod is how often the kubelet measures volumes, and
	// so how soon an emptyDir sizeLimit or an ephemeral-storage limit
	// acts (KubeletConfiguration volumeStatsAggPeriod). 10s to 5m;
	// default 10s.
	VolumeStatsAggPeriod Duration `yaml:"volumeStatsAggPeriod"`
}

// Timing is one of Timings, with its range: the one place that says
// what real clusters run it with.
type Timing struct {
	// Name is the YAML key (hpaSyncPeriod).
	Name string
	// Setting is the component's own name for it
	// ("kube-controller-manager --horizontal-pod-autoscaler-sync-period").
	Setting string
	// Min, Max and Default bound and default the value.
	Min, Max, Default time.Duration

	field func(*Timings) *Duration
}

// TimingTable lists every timing, in the order of Timings' fields.
var TimingTable = []Timing{
	{"hpaSyncPeriod", "kube-controller-manager --horizontal-pod-autoscaler-sync-period", 5 * time.Second, time.Minute, 5 * time.Second,
		func(t *Timings) *Duration { return &t.HPASyncPeriod }},
	{"metricsResolution", "metrics-server --metric-resolution", 10 * time.Second, time.Minute, 15 * time.Second,
		func(t *Timings) *Duration { return &t.MetricsResolution }},
	{"nodeMonitorGracePeriod", "kube-controller-manager --node-monitor-grace-period", 20 * time.Second, 5 * time.Minute, 40 * time.Second,
		func(t *Timings) *Duration { return &t.NodeMonitorGracePeriod }},
	{"evictionPressureTransitionPeriod", "kubelet evictionPressureTransitionPeriod", 10 * time.Second, 5 * time.Minute, 30 * time.Second,
		func(t *Timings) *Duration { return &t.EvictionPressureTransitionPeriod }},
	{"crashLoopBackOffMax", "kubelet crashLoopBackOff.maxContainerRestartPeriod", time.Second, 5 * time.Minute, 5 * time.Minute,
		func(t *Timings) *Duration { return &t.CrashLoopBackOffMax }},
	{"volumeStatsAggPeriod", "kubelet volumeStatsAggPeriod", 10 * time.Second, 5 * time.Minute, 10 * time.Second,
		func(t *Timings) *Duration { return &t.VolumeStatsAggPeriod }},
}

// Of is the timing's value in t.
func (tm Timing) Of(t Timings) time.Duration { return tm.field(&t).Duration }

// DefaultTimings sets every unset timing to its default.
func DefaultTimings(t *Timings) {
	for _, tm := range TimingTable {
		if d := tm.field(t); d.IsZero() {
			d.Duration = tm.Default
		}
	}
}

// checkTimings refuses a timing outside its range.
func (v *Checker) checkTimings() {
	t := &v.s.Spec.Environment.Cluster.Timings
	for _, tm := range TimingTable {
		if d := tm.field(t).Duration; d < tm.Min || d > tm.Max {
			v.errs.add("spec.environment.cluster.timings."+tm.Name, "%s is outside what real clusters run %s with: %s to %s",
				Duration{d}, tm.Setting, Duration{tm.Min}, Duration{tm.Max})
		}
	}
}

// Summary lists the timings as "name value" pairs, for describe and the
// report.
func (t Timings) Summary() []string {
	out := make([]string, len(TimingTable))
	for i, tm := range TimingTable {
		out[i] = fmt.Sprintf("%s %s", tm.Name, Duration{tm.Of(t)})
	}
	return out
}
