package embedded

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	listerscorev1 "k8s.io/client-go/listers/core/v1"
	apiregistrationv1 "k8s.io/kube-aggregator/pkg/apis/apiregistration/v1"
	aggregator "k8s.io/kube-aggregator/pkg/client/clientset_generated/clientset"
	metricsv1beta1 "k8s.io/metrics/pkg/apis/metrics/v1beta1"

	"github.com/gameday-sre/gameday/internal/domain/eks"
)

// The metrics-server add-on, as EKS installs it: a Deployment and a
// Service in kube-system, and the APIService that sends metrics.k8s.io
// to them.
const (
	metricsNamespace = "kube-system"
	metricsName      = "metrics-server"
	metricsImage     = "registry.k8s.io/metrics-server/metrics-server:v0.7.2"
	metricsGroup     = "metrics.k8s.io"
	metricsVersion   = "v1beta1"
	// frontProxyUser is the API server's identity towards aggregated API
	// servers (--proxy-client-cert-file).
	frontProxyUser = "front-proxy-client"
)

// Node overhead: what the kubelet, containerd and the system use on a
// node besides its pods, as kubectl top nodes shows it.
const (
	nodeSystemCPU    = 45        // millicores
	nodeSystemMemory = 420 << 20 // bytes
)

// metricsAPI serves metrics.k8s.io from the behaviour model: each running
// container's CPU and memory are its app's (with the load its Services
// spread over it), each node's the sum of its pods' plus the system's. It
// is reached as an aggregated API server through the metrics-server
// Service: while that Service has no ready endpoint the APIService is
// unavailable, and `kubectl top` says "Metrics API not available", as
// on EKS when the add-on is down.
type metricsAPI struct {
	env    *Env
	client kubernetes.Interface
	srv    *http.Server
	stopCh chan struct{}

	pods  listerscorev1.PodLister
	nodes listerscorev1.NodeLister

	mu       sync.Mutex
	verdicts map[string]verdict // SubjectAccessReview answers, by request
}

// verdict is a cached authorisation answer.
type verdict struct {
	allowed bool
	reason  string
	until   time.Time
}

// startMetrics installs the metrics-server add-on and serves its API.
func (e *Env) startMetrics(ctx context.Context) (*metricsAPI, error) {
	serving, err := e.pki.issue("metrics-server", "metrics-server", nil, []net.IP{net.ParseIP("127.0.0.1")},
		[]string{metricsName + "." + metricsNamespace + ".svc", metricsName + "." + metricsNamespace + ".svc.cluster.local"})
	if err != nil {
		return nil, err
	}
	cert, err := tls.X509KeyPair(serving.certPEM, serving.keyPEM)
	if err != nil {
		return nil, fmt.Errorf("metrics-server certificate: %w", err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(e.pki.caPEM)
	m := &metricsAPI{env: e, client: e.client, stopCh: make(chan struct{}), verdicts: map[string]verdict{}}
	f := informers.NewSharedInformerFactory(e.client, 0)
	m.pods = f.Core().V1().Pods().Lister()
	m.nodes = f.Core().V1().Nodes().Lister()
	f.Start(m.stopCh)
	for typ, ok := range f.WaitForCacheSync(ctx.Done()) {
		if !ok {
			close(m.stopCh)
			return nil, fmt.Errorf("metrics-server: %v informer did not sync", typ)
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		close(m.stopCh)
		return nil, fmt.Errorf("metrics-server: %w", err)
	}
	m.srv = &http.Server{
		Handler:           m,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          serverLog("metrics-server"),
		// Only the API server's front proxy identity gets in; the user it
		// acts for is authorised per request.
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}, ClientCAs: pool, ClientAuth: tls.RequireAndVerifyClientCert, MinVersion: tls.VersionTLS12},
	}
	go func() { _ = m.srv.Serve(tls.NewListener(ln, m.srv.TLSConfig)) }()
	ip, err := e.installMetricsServer(ctx)
	if err != nil {
		m.stop()
		return nil, err
	}
	e.router.route(net.JoinHostPort(ip, "443"), ln.Addr().String())
	return m, nil
}

// stop stops serving.
func (m *metricsAPI) stop() {
	_ = m.srv.Close()
	close(m.stopCh)
}

// installMetricsServer creates the add-on's objects and returns the
// Service's cluster IP.
func (e *Env) installMetricsServer(ctx context.Context) (string, error) {
	runLabels := map[string]string{eks.RunIDLabel: e.RunID, "k8s-app": metricsName}
	selector := map[string]string{"k8s-app": metricsName}
	one := int32(1)
	dep := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: metricsName, Namespace: metricsNamespace, Labels: runLabels},
		Spec: appsv1.DeploymentSpec{
			Replicas: &one,
			Selector: &metav1.LabelSelector{MatchLabels: selector},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: runLabels},
				Spec: corev1.PodSpec{
					PriorityClassName: "system-cluster-critical",
					Containers: []corev1.Container{{
						Name:  metricsName,
						Image: metricsImage,
						Args:  []string{"--cert-dir=/tmp", "--secure-port=10250", "--kubelet-preferred-address-types=InternalIP,ExternalIP,Hostname", "--kubelet-use-node-status-port", "--metric-resolution=15s"},
						Ports: []corev1.ContainerPort{{Name: "https", ContainerPort: 10250, Protocol: corev1.ProtocolTCP}},
						Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
							corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("200Mi"),
						}},
						ReadinessProbe: &corev1.Probe{
							ProbeHandler:  corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/readyz", Port: intstr.FromString("https"), Scheme: corev1.URISchemeHTTPS}},
							PeriodSeconds: 10, FailureThreshold: 3,
						},
					}},
				},
			},
		},
	}
	if _, err := e.client.AppsV1().Deployments(metricsNamespace).Create(ctx, dep, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return "", fmt.Errorf("metrics-server deployment: %w", err)
	}
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: metricsName, Namespace: metricsNamespace, Labels: runLabels},
		Spec: corev1.ServiceSpec{
			Selector: selector,
			Ports:    []corev1.ServicePort{{Name: "https", Port: 443, TargetPort: intstr.FromString("https"), Protocol: corev1.ProtocolTCP}},
		},
	}
	got, err := e.client.CoreV1().Services(metricsNamespace).Create(ctx, svc, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		got, err = e.client.CoreV1().Services(metricsNamespace).Get(ctx, metricsName, metav1.GetOptions{})
	}
	if err != nil {
		return "", fmt.Errorf("metrics-server service: %w", err)
	}
	reader := &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: "system:aggregated-metrics-reader", Labels: map[string]string{
			eks.RunIDLabel: e.RunID, "k8s-app": metricsName,
			"rbac.authorization.k8s.io/aggregate-to-view":  "true",
			"rbac.authorization.k8s.io/aggregate-to-edit":  "true",
			"rbac.authorization.k8s.io/aggregate-to-admin": "true",
		}},
		Rules: []rbacv1.PolicyRule{{APIGroups: []string{metricsGroup}, Resources: []string{"pods", "nodes"}, Verbs: []string{"get", "list", "watch"}}},
	}
	if _, err := e.client.RbacV1().ClusterRoles().Create(ctx, reader, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return "", fmt.Errorf("metrics reader role: %w", err)
	}
	ac, err := aggregator.NewForConfig(e.admin)
	if err != nil {
		return "", fmt.Errorf("apiregistration client: %w", err)
	}
	port := int32(443)
	api := &apiregistrationv1.APIService{
		ObjectMeta: metav1.ObjectMeta{Name: metricsVersion + "." + metricsGroup, Labels: runLabels},
		Spec: apiregistrationv1.APIServiceSpec{
			Group: metricsGroup, Version: metricsVersion,
			Service:              &apiregistrationv1.ServiceReference{Namespace: metricsNamespace, Name: metricsName, Port: &port},
			CABundle:             e.pki.caPEM,
			GroupPriorityMinimum: 100, VersionPriority: 100,
		},
	}
	if _, err := ac.ApiregistrationV1().APIServices().Create(ctx, api, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return "", fmt.Errorf("metrics APIService: %w", err)
	}
	return got.Spec.ClusterIP, nil
}

// ServeHTTP serves metrics.k8s.io: discovery, and node and pod metrics.
func (m *metricsAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 || r.TLS.PeerCertificates[0].Subject.CommonName != frontProxyUser {
		m.status(w, http.StatusUnauthorized, "Unauthorized", "only the API server's front proxy may call")
		return
	}
	path := strings.TrimSuffix(r.URL.Path, "/")
	switch path {
	case "/healthz", "/readyz", "/livez":
		_, _ = w.Write([]byte("ok"))
		return
	case "/apis":
		m.write(w, &metav1.APIGroupList{TypeMeta: metav1.TypeMeta{Kind: "APIGroupList", APIVersion: "v1"}, Groups: []metav1.APIGroup{metricsAPIGroup()}})
		return
	case "/apis/" + metricsGroup:
		g := metricsAPIGroup()
		g.TypeMeta = metav1.TypeMeta{Kind: "APIGroup", APIVersion: "v1"}
		m.write(w, &g)
		return
	case "/apis/" + metricsGroup + "/" + metricsVersion:
		m.write(w, &metav1.APIResourceList{
			TypeMeta:     metav1.TypeMeta{Kind: "APIResourceList", APIVersion: "v1"},
			GroupVersion: metricsGroup + "/" + metricsVersion,
			APIResources: []metav1.APIResource{
				{Name: "nodes", Kind: "NodeMetrics", Verbs: metav1.Verbs{"get", "list"}},
				{Name: "pods", Kind: "PodMetrics", Namespaced: true, Verbs: metav1.Verbs{"get", "list"}},
			},
		})
		return
	}
	rest, ok := strings.CutPrefix(path, "/apis/"+metricsGroup+"/"+metricsVersion+"/")
	if !ok || r.Method != http.MethodGet {
		m.status(w, http.StatusNotFound, "NotFound", "the server could not find the requested resource")
		return
	}
	parts := strings.Split(rest, "/")
	var namespace, res, name string
	switch {
	case len(parts) <= 2 && (parts[0] == "nodes" || parts[0] == "pods"):
		res = parts[0]
		if len(parts) == 2 {
			name = parts[1]
		}
	case len(parts) >= 3 && len(parts) <= 4 && parts[0] == "namespaces" && parts[2] == "pods":
		namespace, res = parts[1], "pods"
		if len(parts) == 4 {
			name = parts[3]
		}
	default:
		m.status(w, http.StatusNotFound, "NotFound", "the server could not find the requested resource")
		return
	}
	if res == "nodes" && namespace != "" {
		m.status(w, http.StatusNotFound, "NotFound", "nodes are not namespaced")
		return
	}
	verb := "list"
	if name != "" {
		verb = "get"
	}
	if ok, why := m.authorize(r, verb, res, namespace, name); !ok {
		m.status(w, http.StatusForbidden, "Forbidden", fmt.Sprintf("%s.%s is forbidden: User %q cannot %s resource %q in API group %q: %s",
			res, metricsGroup, r.Header.Get("X-Remote-User"), verb, res, metricsGroup, why))
		return
	}
	sel := labels.Everything()
	if s := r.URL.Query().Get("labelSelector"); s != "" {
		var err error
		if sel, err = labels.Parse(s); err != nil {
			m.status(w, http.StatusBadRequest, "BadRequest", "labelSelector: "+err.Error())
			return
		}
	}
	now := time.Now()
	listMeta := func(kind string) metav1.TypeMeta {
		return metav1.TypeMeta{Kind: kind, APIVersion: metricsGroup + "/" + metricsVersion}
	}
	if res == "nodes" {
		items := m.nodeMetrics(sel, name, now)
		writeItems(m, w, "nodemetrics", name, items, &metricsv1beta1.NodeMetricsList{TypeMeta: listMeta("NodeMetricsList"), Items: items})
		return
	}
	items := m.podMetrics(sel, namespace, name, now)
	writeItems(m, w, "podmetrics", name, items, &metricsv1beta1.PodMetricsList{TypeMeta: listMeta("PodMetricsList"), Items: items})
}

// writeItems answers a get (name set: the one item, or 404) or a list.
func writeItems[T any](m *metricsAPI, w http.ResponseWriter, resource, name string, items []T, list any) {
	if name == "" {
		m.write(w, list)
		return
	}
	if len(items) == 0 {
		m.status(w, http.StatusNotFound, "NotFound", fmt.Sprintf("%s.%s %q not found", resource, metricsGroup, name))
		return
	}
	m.write(w, &items[0])
}

func metricsAPIGroup() metav1.APIGroup {
	v := metav1.GroupVersionForDiscovery{GroupVersion: metricsGroup + "/" + metricsVersion, Version: metricsVersion}
	return metav1.APIGroup{Name: metricsGroup, Versions: []metav1.GroupVersionForDiscovery{v}, PreferredVersion: v}
}

// authorize asks the API server whether the user the front proxy acts
// for may do verb on the metrics resource, as metrics-server does through
// its delegated authoriser. Answers are kept for ten seconds.
func (m *metricsAPI) authorize(r *http.Request, verb, res, namespace, name string) (bool, string) {
	user, groups := r.Header.Get("X-Remote-User"), r.Header.Values("X-Remote-Group")
	if user == "" {
		return false, "no user"
	}
	key := strings.Join([]string{user, strings.Join(groups, ","), verb, res, namespace, name}, "\x00")
	m.mu.Lock()
	v, ok := m.verdicts[key]
	m.mu.Unlock()
	if ok && time.Now().Before(v.until) {
		return v.allowed, v.reason
	}
	sar := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
		User: user, Groups: groups,
		ResourceAttributes: &authorizationv1.ResourceAttributes{Group: metricsGroup, Version: metricsVersion, Resource: res, Namespace: namespace, Name: name, Verb: verb},
	}}
	got, err := m.client.AuthorizationV1().SubjectAccessReviews().Create(r.Context(), sar, metav1.CreateOptions{})
	if err != nil {
		return false, "authorisation failed: " + err.Error()
	}
	v = verdict{allowed: got.Status.Allowed, reason: got.Status.Reason, until: time.Now().Add(10 * time.Second)}
	m.mu.Lock()
	m.verdicts[key] = v
	m.mu.Unlock()
	return v.allowed, v.reason
}

// podMetrics are the metrics of the running pods that match, from their
// containers' models: a pod appears once every container of it runs.
func (m *metricsAPI) podMetrics(sel labels.Selector, namespace, name string, now time.Time) []metricsv1beta1.PodMetrics {
	var pods []*corev1.Pod
	var err error
	if namespace == "" {
		pods, err = m.pods.List(sel)
	} else {
		pods, err = m.pods.Pods(namespace).List(sel)
	}
	if err != nil {
		return nil
	}
	live := m.env.liveContainers()
	var out []metricsv1beta1.PodMetrics
	for _, p := range pods {
		if (name != "" && p.Name != name) || p.Status.Phase != corev1.PodRunning {
			continue
		}
		pm, ok := podUsage(p, live[string(p.UID)], m.env.loads.of(p.Namespace, p.Name), now, m.env.p.Timings.MetricsResolution)
		if ok {
			out = append(out, pm)
		}
	}
	return out
}

// podUsage is a pod's metrics from its running containers' models, and
// false when a container has no running model.
// Each figure covers window, as metrics-server's resolution reports it.
func podUsage(p *corev1.Pod, live map[string]running, load float64, now time.Time, window time.Duration) (metricsv1beta1.PodMetrics, bool) {
	pm := metricsv1beta1.PodMetrics{
		ObjectMeta: metav1.ObjectMeta{Name: p.Name, Namespace: p.Namespace, Labels: p.Labels, CreationTimestamp: metav1.NewTime(now)},
		Timestamp:  metav1.NewTime(now),
		Window:     metav1.Duration{Duration: window},
	}
	for _, c := range p.Spec.Containers {
		r, ok := live[c.Name]
		if !ok {
			return pm, false
		}
		in := r.in
		in.Load = load
		st := r.app.StateAt(in, now.Sub(r.t0))
		pm.Containers = append(pm.Containers, metricsv1beta1.ContainerMetrics{Name: c.Name, Usage: corev1.ResourceList{
			corev1.ResourceCPU:    *resource.NewMilliQuantity(st.CPU, resource.DecimalSI),
			corev1.ResourceMemory: *resource.NewQuantity(st.Memory, resource.BinarySI),
		}})
	}
	return pm, len(pm.Containers) > 0
}

// nodeMetrics are the metrics of the embedded nodes that match: their
// pods' use plus the system's.
func (m *metricsAPI) nodeMetrics(sel labels.Selector, name string, now time.Time) []metricsv1beta1.NodeMetrics {
	nodes, err := m.nodes.List(sel)
	if err != nil {
		return nil
	}
	ours := map[string]bool{}
	for _, n := range m.env.nodeNames() {
		ours[n] = true
	}
	cpu, mem := map[string]int64{}, map[string]int64{}
	for _, pm := range m.podMetrics(labels.Everything(), "", "", now) {
		p, err := m.pods.Pods(pm.Namespace).Get(pm.Name)
		if err != nil {
			continue
		}
		for _, c := range pm.Containers {
			cpu[p.Spec.NodeName] += c.Usage.Cpu().MilliValue()
			mem[p.Spec.NodeName] += c.Usage.Memory().Value()
		}
	}
	var out []metricsv1beta1.NodeMetrics
	for _, n := range nodes {
		if (name != "" && n.Name != name) || !ours[n.Name] {
			continue
		}
		out = append(out, metricsv1beta1.NodeMetrics{
			ObjectMeta: metav1.ObjectMeta{Name: n.Name, Labels: n.Labels, CreationTimestamp: metav1.NewTime(now)},
			Timestamp:  metav1.NewTime(now),
			Window:     metav1.Duration{Duration: m.env.p.Timings.MetricsResolution},
			Usage: corev1.ResourceList{
				corev1.ResourceCPU:    *resource.NewMilliQuantity(nodeSystemCPU+cpu[n.Name], resource.DecimalSI),
				corev1.ResourceMemory: *resource.NewQuantity(nodeSystemMemory+mem[n.Name], resource.BinarySI),
			},
		})
	}
	return out
}

// liveContainers are the running containers' models on every node, by
// pod UID and container name.
func (e *Env) liveContainers() map[string]map[string]running {
	e.mu.Lock()
	var nodes []*hollowNode
	for _, g := range e.groups {
		nodes = append(nodes, g.nodes...)
	}
	e.mu.Unlock()
	out := map[string]map[string]running{}
	for _, n := range nodes {
		if n.runtime == nil {
			continue
		}
		for uid, cs := range n.runtime.exec.byPod() {
			if out[uid] == nil {
				out[uid] = map[string]running{}
			}
			for name, r := range cs {
				out[uid][name] = r
			}
		}
	}
	return out
}

func (m *metricsAPI) write(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func (m *metricsAPI) status(w http.ResponseWriter, code int, reason, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(&metav1.Status{
		TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"},
		Status:   metav1.StatusFailure, Message: msg, Reason: metav1.StatusReason(reason), Code: int32(code),
	})
}
