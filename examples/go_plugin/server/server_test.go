package server

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

type reply struct {
	status  int
	headers http.Header
	body    map[string]any
}

func call(t *testing.T, method, url, key, body string, header ...string) reply {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatalf("%s %s: not a JSON object: %s", method, url, data)
	}
	return reply{resp.StatusCode, resp.Header, m}
}

func start(t *testing.T, opts Options) string {
	srv := httptest.NewServer(New(opts))
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestSyncRunAndReplay(t *testing.T) {
	base := start(t, Options{})
	body := `{"params": {"x": 1, "y": [true]}, "mode": "sync"}`
	first := call(t, "POST", base+"/v1/tasks/echo/runs", "k1", body)
	if first.status != 200 || first.body["state"] != "succeeded" {
		t.Fatalf("got %d %v", first.status, first.body)
	}
	if r, _ := json.Marshal(first.body["result"]); string(r) != `{"x":1,"y":[true]}` {
		t.Fatalf("result %s", r)
	}
	// The same body with its keys in another order is the same request.
	again := call(t, "POST", base+"/v1/tasks/echo/runs", "k1", `{"mode": "sync", "params": {"y": [true], "x": 1}}`)
	if again.status != 200 || again.body["run_id"] != first.body["run_id"] {
		t.Fatalf("replay: %d %v", again.status, again.body)
	}
	other := call(t, "POST", base+"/v1/tasks/echo/runs", "k1", `{"params": {"x": 2}}`)
	if other.status != 422 || other.body["detail"] != "the Idempotency-Key 'k1' was used for task 'echo' with another body" ||
		other.headers.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("other body: %d %v", other.status, other.body)
	}
	// Keys are scoped per task: k1 on sleep is a new run.
	if r := call(t, "POST", base+"/v1/tasks/sleep/runs", "k1", `{"params": {"seconds": 0}}`); r.status != 200 || r.body["run_id"] == first.body["run_id"] {
		t.Fatalf("per-task scope: %d %v", r.status, r.body)
	}
}

func TestAsyncRunIsCancelled(t *testing.T) {
	base := start(t, Options{})
	r := call(t, "POST", base+"/v1/tasks/sleep/runs", "k", `{"params": {"seconds": 60}, "mode": "async"}`)
	id, _ := r.body["run_id"].(string)
	if r.status != 202 || r.headers.Get("Location") != "/v1/runs/"+id || r.headers.Get("Retry-After") == "" {
		t.Fatalf("got %d %v %v", r.status, r.headers, r.body)
	}
	if p := call(t, "GET", base+"/v1/runs/"+id, "", ""); p.status != 200 || p.body["state"] != "running" {
		t.Fatalf("poll: %d %v", p.status, p.body)
	}
	c := call(t, "POST", base+"/v1/runs/"+id+"/cancel", "", "")
	if c.status != 202 || c.body["state"] != "cancelled" || c.body["finished_at"] == nil {
		t.Fatalf("cancel: %d %v", c.status, c.body)
	}
	if c := call(t, "POST", base+"/v1/runs/"+id+"/cancel", "", ""); c.status != 200 || c.body["state"] != "cancelled" {
		t.Fatalf("second cancel: %d %v", c.status, c.body)
	}
}

func TestSyncRunThatOutlivesItsWaitAnswers202(t *testing.T) {
	base := start(t, Options{})
	r := call(t, "POST", base+"/v1/tasks/sleep/runs", "k", `{"params": {"seconds": 0.5}, "timeout_ms": 20}`)
	if r.status != 202 || r.body["state"] != "running" {
		t.Fatalf("got %d %v", r.status, r.body)
	}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		p := call(t, "GET", base+"/v1/runs/"+r.body["run_id"].(string), "", "")
		if p.body["state"] == "succeeded" {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("the run never ended")
}

func TestRunTimeoutEndsTimedOut(t *testing.T) {
	base := start(t, Options{RunTimeout: 50 * time.Millisecond})
	r := call(t, "POST", base+"/v1/tasks/sleep/runs", "k", `{"params": {"seconds": 60}, "timeout_ms": 5000}`)
	errDoc, _ := r.body["error"].(map[string]any)
	if r.status != 200 || r.body["state"] != "timed_out" || errDoc["code"] != "DEADLINE_EXCEEDED" {
		t.Fatalf("got %d %v", r.status, r.body)
	}
}

func TestTaskPanicFailsOnlyItsRun(t *testing.T) {
	base := start(t, Options{})
	r := call(t, "POST", base+"/v1/tasks/echo/runs", "k", `{"params": {"panic": "boom"}}`)
	errDoc, _ := r.body["error"].(map[string]any)
	if r.status != 200 || r.body["state"] != "failed" || errDoc["code"] != "INTERNAL" || errDoc["detail"] != "panic: boom" {
		t.Fatalf("got %d %v", r.status, r.body)
	}
	if h := call(t, "GET", base+"/v1/health", "", ""); h.status != 200 {
		t.Fatalf("health %d", h.status)
	}
}

func TestFullServerAnswers503(t *testing.T) {
	base := start(t, Options{MaxRuns: 1})
	call(t, "POST", base+"/v1/tasks/sleep/runs", "a", `{"params": {"seconds": 60}, "mode": "async"}`)
	r := call(t, "POST", base+"/v1/tasks/sleep/runs", "b", `{"params": {"seconds": 1}, "mode": "async"}`)
	if r.status != 503 || r.body["retryable"] != true || r.body["code"] != "UNAVAILABLE" || r.body["detail"] != "1 runs are active, the limit is 1" {
		t.Fatalf("got %d %v", r.status, r.body)
	}
	if h := call(t, "GET", base+"/v1/health", "", ""); h.status != 503 {
		t.Fatalf("health %d", h.status)
	}
}

func TestBadRequests(t *testing.T) {
	base := start(t, Options{Token: "s3cret"})
	auth := []string{"Authorization", "Bearer s3cret"}
	cases := []struct {
		method, path, key, body string
		header                  []string
		status                  int
		detail                  string
	}{
		{"GET", "/tasks", "", "", nil, 401, "this server needs a bearer token (no Authorization header)"},
		{"GET", "/tasks", "", "", []string{"Authorization", "Bearer nope"}, 401, "this server needs a bearer token (the bearer token is wrong)"},
		{"GET", "/tasks/nope", "", "", auth, 404, "no task 'nope' on this server"},
		{"POST", "/v1/tasks/nope/runs", "k", "{}", auth, 404, "no task 'nope' on this server"},
		{"POST", "/v1/tasks/echo/runs", "", "{}", auth, 400, "POST /v1/tasks/{id}/runs needs an Idempotency-Key header"},
		{"POST", "/v1/tasks/echo/runs", "k", "{", auth, 400, "the body is not JSON (unexpected end of JSON input)"},
		{"POST", "/v1/tasks/echo/runs", "k", `{"mode": "later"}`, auth, 400, `mode must be "sync" or "async", not "later"`},
		{"POST", "/v1/tasks/sleep/runs", "k", `{"params": {}}`, auth, 422, "task 'sleep': params.seconds must be a number from 0 to 86400"},
		{"GET", "/v1/runs/nope", "", "", auth, 404, "no run 'nope' on this server"},
		{"DELETE", "/v1/info", "", "", auth, 405, "DELETE /v1/info is not supported"},
	}
	for _, c := range cases {
		r := call(t, c.method, base+c.path, c.key, c.body, c.header...)
		if r.status != c.status || r.body["detail"] != c.detail || r.body["status"] != float64(c.status) ||
			r.headers.Get("Content-Type") != "application/problem+json" {
			t.Errorf("%s %s: got %d %v", c.method, c.path, r.status, r.body)
		}
	}
	if r := call(t, "GET", base+"/v1/info", "", "", auth...); r.status != 200 || r.body["runtime"] != "go" {
		t.Errorf("info with the token: %d %v", r.status, r.body)
	}
}
