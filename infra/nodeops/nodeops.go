// Package nodeops performs EKS managed-node-group operations on any
// Kubernetes cluster whose nodes carry the eks.amazonaws.com/nodegroup
// label: list a group's nodes, cordon, uncordon and drain them. Drains use
// the eviction API through kubectl's drain library, so they honour
// PodDisruptionBudgets exactly as `kubectl drain` does.
package nodeops

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sort"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"
	"k8s.io/kubectl/pkg/drain"

	"github.com/gameday-sre/gameday/internal/domain/eks"
)

// Nodes returns the nodes of a node group, sorted by name.
func Nodes(ctx context.Context, cs kubernetes.Interface, group string) ([]corev1.Node, error) {
	list, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{
		LabelSelector: labels.Set{eks.NodeGroupLabel: group}.String(),
	})
	if err != nil {
		return nil, fmt.Errorf("list nodes of %s: %w", group, err)
	}
	nodes := list.Items
	sort.Slice(nodes, func(i, j int) bool { return nodes[i].Name < nodes[j].Name })
	return nodes, nil
}

func helper(ctx context.Context, cs kubernetes.Interface, timeout time.Duration, log *slog.Logger) *drain.Helper {
	return &drain.Helper{
		Ctx:                 ctx,
		Client:              cs,
		Force:               true, // bare pods are deleted, as managed node groups do
		GracePeriodSeconds:  -1,
		IgnoreAllDaemonSets: true,
		DeleteEmptyDirData:  true,
		Timeout:             timeout,
		Out:                 io.Discard,
		ErrOut:              io.Discard,
		OnPodDeletedOrEvicted: func(pod *corev1.Pod, usingEviction bool) {
			log.Debug("pod evicted", "namespace", pod.Namespace, "pod", pod.Name, "eviction", usingEviction)
		},
	}
}

// Cordon marks every node of the group (un)schedulable.
func Cordon(ctx context.Context, cs kubernetes.Interface, group string, unschedulable bool) error {
	nodes, err := Nodes(ctx, cs, group)
	if err != nil {
		return err
	}
	h := helper(ctx, cs, 0, slog.New(slog.DiscardHandler))
	for i := range nodes {
		if err := drain.RunCordonOrUncordon(h, &nodes[i], unschedulable); err != nil {
			return fmt.Errorf("cordon %s: %w", nodes[i].Name, err)
		}
	}
	return nil
}

// Drain cordons every node of the group and evicts its pods, honouring
// PodDisruptionBudgets, within timeout.
func Drain(ctx context.Context, cs kubernetes.Interface, group string, timeout time.Duration, log *slog.Logger) error {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := Cordon(ctx, cs, group, true); err != nil {
		return err
	}
	nodes, err := Nodes(ctx, cs, group)
	if err != nil {
		return err
	}
	for _, n := range nodes {
		if err := DrainNode(ctx, cs, n.Name, timeout, log); err != nil {
			return err
		}
	}
	return nil
}

// DrainTimeout bounds the drain of each node a scale-down takes out of
// service, on every backend.
const DrainTimeout = 5 * time.Minute

// Retire cordons one node and evicts its pods, honouring
// PodDisruptionBudgets, within timeout: what a managed node group does to
// a node it scales in, before it terminates the instance.
func Retire(ctx context.Context, cs kubernetes.Interface, node string, timeout time.Duration, log *slog.Logger) error {
	n, err := cs.CoreV1().Nodes().Get(ctx, node, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("retire %s: %w", node, err)
	}
	if err := drain.RunCordonOrUncordon(helper(ctx, cs, 0, slog.New(slog.DiscardHandler)), n, true); err != nil {
		return fmt.Errorf("cordon %s: %w", node, err)
	}
	return DrainNode(ctx, cs, node, timeout, log)
}

// DrainNode evicts a cordoned node's pods, honouring
// PodDisruptionBudgets, within timeout.
func DrainNode(ctx context.Context, cs kubernetes.Interface, node string, timeout time.Duration, log *slog.Logger) error {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := drain.RunNodeDrain(helper(ctx, cs, timeout, log), node); err != nil {
		return fmt.Errorf("drain %s: %w", node, err)
	}
	return nil
}

// HasTaint reports whether a node carries a taint with key.
func HasTaint(n *corev1.Node, key string) bool {
	return slices.ContainsFunc(n.Spec.Taints, func(t corev1.Taint) bool { return t.Key == key })
}

// IsReady reports whether a node's Ready condition is True.
func IsReady(n *corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}
