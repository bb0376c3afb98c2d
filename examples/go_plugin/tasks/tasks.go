// Package tasks holds the work of the Go example: the same code runs behind
// the remote plugin server (cmd/server) and the native c-shared plugin
// (native/). A task is prepared once from its params (bad params are
// refused there: a 422 remotely, a configuration error natively) and the
// prepared Runner runs any number of times, concurrently.
package tasks

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"sort"
	"time"
)

// Code is a status name of the native ABI, also the `code` of the remote
// protocol's errors (docs/plugins.md).
type Code string

const (
	InvalidArgument  Code = "INVALID_ARGUMENT"
	NotFound         Code = "NOT_FOUND"
	Cancelled        Code = "CANCELLED"
	DeadlineExceeded Code = "DEADLINE_EXCEEDED"
	Unavailable      Code = "UNAVAILABLE"
	Internal         Code = "INTERNAL"
	Unsupported      Code = "UNSUPPORTED"
)

// Error is a run that failed: it becomes the run's {title, detail, code}.
type Error struct {
	Code   Code
	Title  string
	Detail string
}

func (e *Error) Error() string { return e.Title + ": " + e.Detail }

// InvalidParams is returned by Prepare when params can never work.
type InvalidParams struct{ Reason string }

func (e *InvalidParams) Error() string { return e.Reason }

// Runner is one prepared task: input is the task's input JSON
// ({"task", "input", "dependencies"}), the result is marshalled to JSON.
// It returns ctx.Err() (or an error wrapping it) when ctx ends first.
type Runner func(ctx context.Context, input []byte) (any, error)

// Task is one task of the example.
type Task struct {
	ID          string
	Description string
	Params      json.RawMessage // a JSON Schema, informative
	Prepare     func(params []byte) (Runner, error)
}

// All is every task, in the order they are listed.
var All = []*Task{
	{
		ID:          "echo",
		Description: "Returns its params as its output (cheap: for benchmarks); params {\"panic\": MESSAGE} panics instead",
		Params:      json.RawMessage(`{}`),
		Prepare:     prepareEcho,
	},
	{
		ID:          "fetch",
		Description: "HTTP GET of params.url: the status, the body's size and its SHA-256",
		Params:      json.RawMessage(`{"type":"object","required":["url"],"properties":{"url":{"type":"string","format":"uri"}}}`),
		Prepare:     prepareFetch,
	},
	{
		ID:          "sha256_file",
		Description: "SHA-256 and size of a file",
		Params:      json.RawMessage(`{"type":"object","required":["path"],"properties":{"path":{"type":"string"}}}`),
		Prepare:     prepareSha256File,
	},
	{
		ID:          "sleep",
		Description: "Waits params.seconds, cancellable",
		Params:      json.RawMessage(`{"type":"object","required":["seconds"],"properties":{"seconds":{"type":"number","minimum":0,"maximum":86400}}}`),
		Prepare:     prepareSleep,
	},
}

// ByID finds a task, or nil.
func ByID(id string) *Task {
	for _, t := range All {
		if t.ID == id {
			return t
		}
	}
	return nil
}

// object decodes params that must be a JSON object (empty text counts as {}).
func object(params []byte) (map[string]json.RawMessage, error) {
	params = bytes.TrimSpace(params)
	if len(params) == 0 {
		return map[string]json.RawMessage{}, nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(params, &m); err != nil || m == nil {
		return nil, &InvalidParams{"params must be a JSON object, not " + jsonType(params)}
	}
	return m, nil
}

func jsonType(text []byte) string {
	text = bytes.TrimSpace(text)
	if len(text) == 0 {
		return "nothing"
	}
	switch text[0] {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	default:
		return "a number"
	}
}

func stringParam(m map[string]json.RawMessage, name string) (string, error) {
	raw, ok := m[name]
	if !ok {
		return "", &InvalidParams{"params." + name + " is required"}
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil || s == "" {
		return "", &InvalidParams{"params." + name + " must be a non-empty string"}
	}
	return s, nil
}

func prepareEcho(params []byte) (Runner, error) {
	params = bytes.TrimSpace(params)
	if len(params) == 0 {
		params = []byte("null")
	}
	if !json.Valid(params) {
		return nil, &InvalidParams{"params are not JSON"}
	}
	var probe struct {
		Panic *string `json:"panic"`
	}
	if params[0] == '{' && json.Unmarshal(params, &probe) == nil && probe.Panic != nil {
		message := *probe.Panic
		// Shows what a bug in a task does: the panic fails the run (INTERNAL
		// with the message) and nothing else.
		return func(context.Context, []byte) (any, error) { panic(message) }, nil
	}
	out := json.RawMessage(bytes.Clone(params))
	return func(context.Context, []byte) (any, error) { return out, nil }, nil
}

func prepareFetch(params []byte) (Runner, error) {
	m, err := object(params)
	if err != nil {
		return nil, err
	}
	raw, err := stringParam(m, "url")
	if err != nil {
		return nil, err
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, &InvalidParams{fmt.Sprintf("params.url must be an http:// or https:// URL, not %q", raw)}
	}
	target := u.String()
	return func(ctx context.Context, _ []byte) (any, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
		if err != nil {
			return nil, &Error{InvalidArgument, "bad request", err.Error()}
		}
		resp, err := fetchClient.Do(req)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, &Error{Unavailable, "fetch failed", fmt.Sprintf("GET %s: %v", target, unwrapURLError(err))}
		}
		defer resp.Body.Close()
		digest := sha256.New()
		n, err := io.Copy(digest, resp.Body)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, &Error{Unavailable, "fetch failed", fmt.Sprintf("GET %s: reading the body: %v", target, err)}
		}
		// Any status is a result (as curl without -f): the caller decides.
		return map[string]any{"status": resp.StatusCode, "bytes": n, "sha256": hex.EncodeToString(digest.Sum(nil))}, nil
	}, nil
}

// fetchClient has no overall timeout of its own: the run's context (the
// host's timeout, a cancel) bounds every request.
var fetchClient = &http.Client{Transport: &http.Transport{
	Proxy:                 nil, // tests fetch from loopback; a proxy from the environment would only get in the way
	MaxIdleConnsPerHost:   8,
	IdleConnTimeout:       30 * time.Second,
	ResponseHeaderTimeout: 0,
}}

func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

func prepareSha256File(params []byte) (Runner, error) {
	m, err := object(params)
	if err != nil {
		return nil, err
	}
	path, err := stringParam(m, "path")
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context, _ []byte) (any, error) {
		f, err := os.Open(path)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil, &Error{NotFound, "file not found", fmt.Sprintf("no file '%s'", path)}
			}
			return nil, &Error{Unavailable, "cannot read the file", err.Error()}
		}
		defer f.Close()
		if info, err := f.Stat(); err == nil && info.IsDir() {
			return nil, &Error{InvalidArgument, "not a file", fmt.Sprintf("'%s' is a directory", path)}
		}
		digest := sha256.New()
		buf := make([]byte, 1<<20)
		var size int64
		for {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			n, err := f.Read(buf)
			digest.Write(buf[:n])
			size += int64(n)
			if err == io.EOF {
				break
			}
			if err != nil {
				return nil, &Error{Unavailable, "cannot read the file", err.Error()}
			}
		}
		return map[string]any{"path": path, "sha256": hex.EncodeToString(digest.Sum(nil)), "bytes": size}, nil
	}, nil
}

const maxSleepSeconds = 86400

func prepareSleep(params []byte) (Runner, error) {
	m, err := object(params)
	if err != nil {
		return nil, err
	}
	var seconds float64
	raw, ok := m["seconds"]
	if !ok || json.Unmarshal(raw, &seconds) != nil || seconds < 0 || seconds > maxSleepSeconds {
		return nil, &InvalidParams{fmt.Sprintf("params.seconds must be a number from 0 to %d", maxSleepSeconds)}
	}
	slept := json.RawMessage(bytes.TrimSpace(raw))
	return func(ctx context.Context, _ []byte) (any, error) {
		timer := time.NewTimer(time.Duration(seconds * float64(time.Second)))
		defer timer.Stop()
		select {
		case <-timer.C:
			return map[string]any{"slept": slept}, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}, nil
}

// IDs lists the task ids, sorted (for messages).
func IDs() []string {
	ids := make([]string, 0, len(All))
	for _, t := range All {
		ids = append(ids, t.ID)
	}
	sort.Strings(ids)
	return ids
}
