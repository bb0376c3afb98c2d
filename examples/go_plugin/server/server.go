// Package server is the remote plugin protocol v1 of docs/plugins.md over
// the tasks package: discovery, info, health, runs (sync and async, with
// idempotency keys), polling and cancellation, RFC 9457 problem documents.
package server

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"cascadence.dev/examples/go_plugin/tasks"
)

const (
	// ProtocolVersion is the one version of the remote protocol spoken here.
	ProtocolVersion = 1
	maxBodyBytes    = 1 << 20
	// keepRuns: idempotency keys and their runs live at least this long.
	keepRuns = 24 * time.Hour
)

// Options configure a Server.
type Options struct {
	Token      string        // bearer token every request must carry; empty: none
	MaxRuns    int           // runs active at once; past it POST answers 503
	RunTimeout time.Duration // a run still going after this long ends timed_out; 0: never
	SyncWait   time.Duration // how long a sync request waits when timeout_ms is 0 or absent
	Name       string        // for /v1/info
	Version    string
}

var (
	errCancelled = errors.New("the run was cancelled")
	errTimedOut  = errors.New("the run timed out")
)

type runError struct {
	Title  string     `json:"title"`
	Detail string     `json:"detail"`
	Code   tasks.Code `json:"code"`
}

// document is the run document of the protocol.
type document struct {
	RunID      string          `json:"run_id"`
	TaskID     string          `json:"task_id"`
	State      string          `json:"state"`
	Result     json.RawMessage `json:"result"`
	Error      *runError       `json:"error"`
	StartedAt  string          `json:"started_at"`
	FinishedAt *string         `json:"finished_at"`
}

type run struct {
	doc         document // guarded by Server.mu
	fingerprint [32]byte
	key         runKey
	ended       time.Time
	cancel      context.CancelCauseFunc
	done        chan struct{}
}

type runKey struct{ task, key string }

// Server is an http.Handler speaking the protocol.
type Server struct {
	opts      Options
	mu        sync.Mutex
	runs      map[string]*run
	keys      map[runKey]*run
	active    int
	lastSweep time.Time
}

// New makes a server; zero options take their defaults.
func New(opts Options) *Server {
	if opts.MaxRuns <= 0 {
		opts.MaxRuns = 1024
	}
	if opts.SyncWait <= 0 {
		opts.SyncWait = 10 * time.Second
	}
	if opts.Name == "" {
		opts.Name = "go-example"
	}
	if opts.Version == "" {
		opts.Version = "1.0.0"
	}
	return &Server{opts: opts, runs: map[string]*run{}, keys: map[runKey]*run{}, lastSweep: time.Now()}
}

// problem is an RFC 9457 problem document with the protocol's extensions.
type problem struct {
	Type      string     `json:"type"`
	Title     string     `json:"title"`
	Status    int        `json:"status"`
	Detail    string     `json:"detail"`
	Code      tasks.Code `json:"code"`
	Retryable bool       `json:"retryable"`
	headers   map[string]string
}

func (p *problem) Error() string { return p.Detail }

func newProblem(status int, title string, code tasks.Code, detail string) *problem {
	return &problem{Type: "about:blank", Title: title, Status: status, Detail: detail, Code: code}
}

func writeJSON(w http.ResponseWriter, status int, contentType string, body any, headers map[string]string) {
	data, err := json.Marshal(body)
	if err != nil {
		status, contentType = http.StatusInternalServerError, "application/problem+json"
		data, _ = json.Marshal(newProblem(status, "internal error", tasks.Internal, err.Error()))
	}
	h := w.Header()
	h["Content-Type"] = []string{contentType}
	h["Content-Length"] = []string{fmt.Sprint(len(data))}
	for k, v := range headers {
		h.Set(k, v)
	}
	w.WriteHeader(status)
	_, _ = w.Write(data)
}

func writeProblem(w http.ResponseWriter, p *problem) {
	writeJSON(w, p.Status, "application/problem+json", p, p.headers)
}

// ServeHTTP routes one request; a panic answers 500 and the server goes on.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			writeProblem(w, newProblem(500, "internal error", tasks.Internal, fmt.Sprintf("panic: %v", v)))
		}
	}()
	status, body, headers, err := s.route(r)
	if err != nil {
		var p *problem
		if !errors.As(err, &p) {
			p = newProblem(500, "internal error", tasks.Internal, err.Error())
		}
		writeProblem(w, p)
		return
	}
	writeJSON(w, status, "application/json", body, headers)
}

func (s *Server) checkToken(r *http.Request) error {
	if s.opts.Token == "" {
		return nil
	}
	auth := r.Header.Get("Authorization")
	want := "Bearer " + s.opts.Token
	if subtle.ConstantTimeCompare([]byte(auth), []byte(want)) == 1 {
		return nil
	}
	why := "the bearer token is wrong"
	if auth == "" {
		why = "no Authorization header"
	}
	p := newProblem(401, "unauthorized", tasks.InvalidArgument, "this server needs a bearer token ("+why+")")
	p.headers = map[string]string{"WWW-Authenticate": `Bearer realm="cascadence-plugin"`}
	return p
}

func allow(r *http.Request, methods ...string) error {
	for _, m := range methods {
		if r.Method == m || (m == http.MethodGet && r.Method == http.MethodHead) {
			return nil
		}
	}
	p := newProblem(405, "method not allowed", tasks.Unsupported, r.Method+" "+r.URL.Path+" is not supported")
	p.headers = map[string]string{"Allow": strings.Join(methods, ", ")}
	return p
}

func (s *Server) route(r *http.Request) (int, any, map[string]string, error) {
	if err := s.checkToken(r); err != nil {
		return 0, nil, nil, err
	}
	path := r.URL.Path
	var parts []string
	for _, p := range strings.Split(path, "/") {
		if p != "" {
			parts = append(parts, p)
		}
	}
	n := len(parts)
	switch {
	case n == 1 && parts[0] == "tasks":
		if err := allow(r, http.MethodGet); err != nil {
			return 0, nil, nil, err
		}
		list := make([]map[string]string, 0, len(tasks.All))
		for _, t := range tasks.All {
			list = append(list, map[string]string{"id": t.ID, "name": t.ID, "description": t.Description})
		}
		return 200, list, nil, nil
	case n == 2 && parts[0] == "tasks":
		if err := allow(r, http.MethodGet); err != nil {
			return 0, nil, nil, err
		}
		t, err := findTask(parts[1])
		if err != nil {
			return 0, nil, nil, err
		}
		return 200, map[string]any{"id": t.ID, "name": t.ID, "description": t.Description, "params": t.Params}, nil, nil
	case n == 2 && parts[0] == "v1" && parts[1] == "info":
		if err := allow(r, http.MethodGet); err != nil {
			return 0, nil, nil, err
		}
		return 200, map[string]any{"protocol_versions": []int{ProtocolVersion}, "name": s.opts.Name,
			"version": s.opts.Version, "runtime": "go"}, nil, nil
	case n == 2 && parts[0] == "v1" && parts[1] == "health":
		if err := allow(r, http.MethodGet); err != nil {
			return 0, nil, nil, err
		}
		s.mu.Lock()
		full := s.active >= s.opts.MaxRuns
		s.mu.Unlock()
		if full {
			p := newProblem(503, "server busy", tasks.Unavailable, "every run slot is taken")
			p.Retryable = true
			return 0, nil, nil, p
		}
		return 200, map[string]string{"status": "ok"}, nil, nil
	case n == 4 && parts[0] == "v1" && parts[1] == "tasks" && parts[3] == "runs":
		if err := allow(r, http.MethodPost); err != nil {
			return 0, nil, nil, err
		}
		return s.startRun(r, parts[2])
	case n == 3 && parts[0] == "v1" && parts[1] == "runs":
		if err := allow(r, http.MethodGet); err != nil {
			return 0, nil, nil, err
		}
		rn, err := s.findRun(parts[2])
		if err != nil {
			return 0, nil, nil, err
		}
		doc := s.snapshot(rn)
		if terminal(doc.State) {
			return 200, doc, nil, nil
		}
		return 200, doc, map[string]string{"Retry-After": "1"}, nil
	case n == 4 && parts[0] == "v1" && parts[1] == "runs" && parts[3] == "cancel":
		if err := allow(r, http.MethodPost); err != nil {
			return 0, nil, nil, err
		}
		rn, err := s.findRun(parts[2])
		if err != nil {
			return 0, nil, nil, err
		}
		return s.cancelRun(rn)
	}
	return 0, nil, nil, newProblem(404, "not found", tasks.NotFound, "no route "+path)
}

func findTask(id string) (*tasks.Task, error) {
	if t := tasks.ByID(id); t != nil {
		return t, nil
	}
	return nil, newProblem(404, "unknown task", tasks.NotFound, fmt.Sprintf("no task '%s' on this server", id))
}

func (s *Server) findRun(id string) (*run, error) {
	s.mu.Lock()
	rn := s.runs[id]
	s.mu.Unlock()
	if rn == nil {
		return nil, newProblem(404, "unknown run", tasks.NotFound, fmt.Sprintf("no run '%s' on this server", id))
	}
	return rn, nil
}

func terminal(state string) bool {
	return state == "succeeded" || state == "failed" || state == "cancelled" || state == "timed_out"
}

func (s *Server) snapshot(rn *run) document {
	s.mu.Lock()
	defer s.mu.Unlock()
	return rn.doc
}

type runRequest struct {
	Params    json.RawMessage `json:"params"`
	Input     json.RawMessage `json:"input"`
	Mode      *string         `json:"mode"`
	TimeoutMS *float64        `json:"timeout_ms"`
}

func badBody(detail string) *problem {
	return newProblem(400, "bad request body", tasks.InvalidArgument, detail)
}

// fingerprint is the SHA-256 of the body's canonical JSON (keys sorted,
// numbers as written), so a retry that only reorders keys is the same body.
func fingerprint(body []byte) ([32]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return [32]byte{}, err
	}
	canon, err := json.Marshal(v)
	if err != nil {
		return [32]byte{}, err
	}
	return sha256.Sum256(canon), nil
}

func (s *Server) startRun(r *http.Request, taskID string) (int, any, map[string]string, error) {
	t, err := findTask(taskID)
	if err != nil {
		return 0, nil, nil, err
	}
	key := strings.TrimSpace(r.Header.Get("Idempotency-Key"))
	if key == "" {
		return 0, nil, nil, newProblem(400, "missing Idempotency-Key", tasks.InvalidArgument,
			"POST /v1/tasks/{id}/runs needs an Idempotency-Key header")
	}
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(http.MaxBytesReader(nil, r.Body, maxBodyBytes)); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return 0, nil, nil, newProblem(413, "body too large", tasks.InvalidArgument,
				fmt.Sprintf("the body is over the limit of %d bytes", maxBodyBytes))
		}
		return 0, nil, nil, badBody("cannot read the body: " + err.Error())
	}
	body := bytes.TrimSpace(buf.Bytes())
	if len(body) == 0 {
		body = []byte("{}")
	}
	var req runRequest
	if err := json.Unmarshal(body, &req); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) && typeErr.Field == "" {
			return 0, nil, nil, badBody("the body must be a JSON object")
		}
		if errors.As(err, &typeErr) {
			return 0, nil, nil, badBody(fmt.Sprintf("%s has the wrong type (%s)", typeErr.Field, typeErr.Value))
		}
		return 0, nil, nil, badBody("the body is not JSON (" + err.Error() + ")")
	}
	if body[0] != '{' {
		return 0, nil, nil, badBody("the body must be a JSON object")
	}
	mode := "sync"
	if req.Mode != nil {
		mode = *req.Mode
	}
	if mode != "sync" && mode != "async" {
		return 0, nil, nil, badBody(fmt.Sprintf("mode must be \"sync\" or \"async\", not %q", mode))
	}
	wait := s.opts.SyncWait
	if req.TimeoutMS != nil {
		if *req.TimeoutMS < 0 {
			return 0, nil, nil, badBody("timeout_ms must be a number >= 0")
		}
		if *req.TimeoutMS > 0 {
			wait = time.Duration(*req.TimeoutMS * float64(time.Millisecond))
		}
	}
	fp, err := fingerprint(body)
	if err != nil {
		return 0, nil, nil, badBody("the body is not JSON (" + err.Error() + ")")
	}
	params := []byte(req.Params)
	if len(params) == 0 || string(params) == "null" {
		params = []byte("{}")
	}
	runner, err := t.Prepare(params)
	if err != nil {
		return 0, nil, nil, newProblem(422, "invalid params", tasks.InvalidArgument,
			fmt.Sprintf("task '%s': %s", taskID, err.Error()))
	}
	input := []byte(req.Input)
	if len(input) == 0 {
		input = []byte("null")
	}

	rn, err := s.admit(runKey{taskID, key}, fp, runner, input)
	if err != nil {
		return 0, nil, nil, err
	}
	if mode == "sync" {
		timer := time.NewTimer(wait)
		select {
		case <-rn.done:
		case <-timer.C:
		case <-r.Context().Done():
		}
		timer.Stop()
	}
	doc := s.snapshot(rn)
	if terminal(doc.State) {
		return 200, doc, nil, nil
	}
	return 202, doc, map[string]string{"Location": "/v1/runs/" + doc.RunID, "Retry-After": "1"}, nil
}

// admit replays the run of a known key, or starts one: the key check, the
// capacity check and the registration under one lock, so two concurrent
// requests with the same key start one run.
func (s *Server) admit(key runKey, fp [32]byte, runner tasks.Runner, input []byte) (*run, error) {
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweep(now)
	if rn := s.keys[key]; rn != nil {
		if rn.fingerprint != fp {
			return nil, newProblem(422, "idempotency key reused", tasks.InvalidArgument,
				fmt.Sprintf("the Idempotency-Key '%s' was used for task '%s' with another body", key.key, key.task))
		}
		return rn, nil
	}
	if s.active >= s.opts.MaxRuns {
		p := newProblem(503, "server busy", tasks.Unavailable,
			fmt.Sprintf("%d runs are active, the limit is %d", s.active, s.opts.MaxRuns))
		p.Retryable = true
		return nil, p
	}
	ctx, cancel := context.WithCancelCause(context.Background())
	rn := &run{
		doc:         document{RunID: newRunID(), TaskID: key.task, State: "running", Result: json.RawMessage("null"), StartedAt: nowISO()},
		fingerprint: fp,
		key:         key,
		cancel:      cancel,
		done:        make(chan struct{}),
	}
	s.runs[rn.doc.RunID] = rn
	s.keys[key] = rn
	s.active++
	go s.execute(ctx, rn, runner, input)
	return rn, nil
}

// execute runs one task to its end and records the outcome.
func (s *Server) execute(ctx context.Context, rn *run, runner tasks.Runner, input []byte) {
	if s.opts.RunTimeout > 0 {
		timer := time.AfterFunc(s.opts.RunTimeout, func() { rn.cancel(errTimedOut) })
		defer timer.Stop()
	}
	result, err := safeRun(ctx, runner, input)
	var out json.RawMessage = json.RawMessage("null")
	var failure *runError
	state := "succeeded"
	var te *tasks.Error
	switch {
	case errors.As(err, &te):
		state, failure = "failed", &runError{te.Title, te.Detail, te.Code}
	case context.Cause(ctx) == errTimedOut:
		state, failure = "timed_out", &runError{"timed out", fmt.Sprintf("the run took longer than the server's %s limit", s.opts.RunTimeout), tasks.DeadlineExceeded}
	case context.Cause(ctx) == errCancelled:
		// A run that finished its work after the cancel still counts as
		// cancelled: the client has stopped waiting for it.
		state, failure = "cancelled", &runError{"cancelled", "the run was cancelled", tasks.Cancelled}
	case err != nil:
		state, failure = "failed", &runError{"internal error", err.Error(), tasks.Internal}
	default:
		data, merr := json.Marshal(result)
		if merr != nil {
			state, failure = "failed", &runError{"internal error", "the result is not JSON: " + merr.Error(), tasks.Internal}
		} else {
			out = data
		}
	}
	finished := nowISO()
	s.mu.Lock()
	rn.doc.State, rn.doc.Result, rn.doc.Error, rn.doc.FinishedAt = state, out, failure, &finished
	rn.ended = time.Now()
	s.active--
	s.mu.Unlock()
	rn.cancel(nil) // frees the context
	close(rn.done)
}

// safeRun turns a panic in a task into an INTERNAL failure of its run.
func safeRun(ctx context.Context, runner tasks.Runner, input []byte) (result any, err error) {
	defer func() {
		if v := recover(); v != nil {
			result, err = nil, &tasks.Error{Code: tasks.Internal, Title: "internal error", Detail: fmt.Sprintf("panic: %v", v)}
		}
	}()
	return runner(ctx, input)
}

func newRunID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

func nowISO() string {
	return time.Now().UTC().Format("2006-01-02T15:04:05.000Z")
}

func (s *Server) cancelRun(rn *run) (int, any, map[string]string, error) {
	s.mu.Lock()
	done := terminal(rn.doc.State)
	s.mu.Unlock()
	if done {
		return 200, s.snapshot(rn), nil, nil
	}
	rn.cancel(errCancelled)
	// The tasks here stop within microseconds: a short wait lets the answer
	// show the final state most of the time.
	timer := time.NewTimer(time.Second)
	select {
	case <-rn.done:
	case <-timer.C:
	}
	timer.Stop()
	return 202, s.snapshot(rn), map[string]string{"Location": "/v1/runs/" + rn.doc.RunID}, nil
}

// sweep forgets the runs that ended more than keepRuns ago; s.mu is held.
func (s *Server) sweep(now time.Time) {
	if now.Sub(s.lastSweep) < time.Minute {
		return
	}
	s.lastSweep = now
	for id, rn := range s.runs {
		if !rn.ended.IsZero() && now.Sub(rn.ended) > keepRuns {
			delete(s.runs, id)
			delete(s.keys, rn.key)
		}
	}
}
