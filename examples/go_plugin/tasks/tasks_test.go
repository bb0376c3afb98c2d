package tasks

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func prepare(t *testing.T, id, params string) Runner {
	t.Helper()
	r, err := ByID(id).Prepare([]byte(params))
	if err != nil {
		t.Fatalf("%s %s: %v", id, params, err)
	}
	return r
}

func asJSON(t *testing.T, v any) map[string]any {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestSha256FileHashesTheWholeFile(t *testing.T) {
	content := []byte(strings.Repeat("cascadence ", 300000)) // > one 1 MiB chunk
	path := filepath.Join(t.TempDir(), "data.bin")
	if err := os.WriteFile(path, content, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := prepare(t, "sha256_file", `{"path":"`+path+`"}`)(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(content)
	got := asJSON(t, out)
	if got["sha256"] != hex.EncodeToString(sum[:]) || got["bytes"] != float64(len(content)) || got["path"] != path {
		t.Fatalf("got %v", got)
	}
}

func TestSha256FileFailures(t *testing.T) {
	dir := t.TempDir()
	_, err := prepare(t, "sha256_file", `{"path":"`+dir+`/missing"}`)(context.Background(), nil)
	var te *Error
	if !errors.As(err, &te) || te.Code != NotFound || te.Detail != "no file '"+dir+"/missing'" {
		t.Fatalf("missing file: %v", err)
	}
	_, err = prepare(t, "sha256_file", `{"path":"`+dir+`"}`)(context.Background(), nil)
	if !errors.As(err, &te) || te.Code != InvalidArgument || te.Detail != "'"+dir+"' is a directory" {
		t.Fatalf("directory: %v", err)
	}
}

func TestBadParamsAreRefusedWhenPrepared(t *testing.T) {
	cases := []struct{ id, params, reason string }{
		{"sha256_file", `{}`, "params.path is required"},
		{"sha256_file", `{"path": 3}`, "params.path must be a non-empty string"},
		{"sha256_file", `[1]`, "params must be a JSON object, not an array"},
		{"fetch", `{"url": "ftp://x/y"}`, `params.url must be an http:// or https:// URL, not "ftp://x/y"`},
		{"sleep", `{"seconds": -1}`, "params.seconds must be a number from 0 to 86400"},
		{"sleep", `{"seconds": "1"}`, "params.seconds must be a number from 0 to 86400"},
		{"echo", `{nope`, "params are not JSON"},
	}
	for _, c := range cases {
		_, err := ByID(c.id).Prepare([]byte(c.params))
		var ip *InvalidParams
		if !errors.As(err, &ip) || ip.Reason != c.reason {
			t.Errorf("%s %s: got %v, want %q", c.id, c.params, err, c.reason)
		}
	}
}

func TestFetchReportsStatusSizeAndHash(t *testing.T) {
	body := "hello from a local server\n"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/missing" {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write([]byte(body))
	}))
	defer srv.Close()
	out, err := prepare(t, "fetch", `{"url":"`+srv.URL+`/data"}`)(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(body))
	got := asJSON(t, out)
	if got["status"] != float64(200) || got["bytes"] != float64(len(body)) || got["sha256"] != hex.EncodeToString(sum[:]) {
		t.Fatalf("got %v", got)
	}
	out, err = prepare(t, "fetch", `{"url":"`+srv.URL+`/missing"}`)(context.Background(), nil)
	if err != nil || asJSON(t, out)["status"] != float64(404) {
		t.Fatalf("404: %v %v", out, err)
	}
}

func TestFetchStopsWhenCancelled(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := prepare(t, "fetch", `{"url":"`+srv.URL+`"}`)(ctx, nil)
		done <- err
	}()
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("got %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("fetch did not stop")
	}
}

func TestSleepEndsOrIsCancelled(t *testing.T) {
	out, err := prepare(t, "sleep", `{"seconds": 0.01}`)(context.Background(), nil)
	if err != nil || asJSON(t, out)["slept"] != 0.01 {
		t.Fatalf("got %v %v", out, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := prepare(t, "sleep", `{"seconds": 3600}`)(ctx, nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v", err)
	}
}

func TestEchoReturnsItsParamsOrPanics(t *testing.T) {
	out, err := prepare(t, "echo", `{"a": [1, "two"]}`)(context.Background(), nil)
	if err != nil || string(out.(json.RawMessage)) != `{"a": [1, "two"]}` {
		t.Fatalf("got %s %v", out, err)
	}
	defer func() {
		if v := recover(); v != "boom" {
			t.Fatalf("recovered %v", v)
		}
	}()
	_, _ = prepare(t, "echo", `{"panic": "boom"}`)(context.Background(), nil)
}
