// Command server is the Go example's remote plugin server (protocol v1 of
// docs/plugins.md): `server --listen 127.0.0.1:0 [--token T]`.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"cascadence.dev/examples/go_plugin/server"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:8700", "`HOST:PORT` to listen on (port 0 picks a free one)")
	token := flag.String("token", os.Getenv("CRONYX_TOKEN"), "bearer token every request must carry (default $CRONYX_TOKEN; empty: none)")
	maxRuns := flag.Int("max-runs", 1024, "runs active at once; past it POST answers 503")
	runTimeout := flag.Duration("run-timeout", time.Hour, "a run still going after this long ends timed_out (0: never)")
	flag.Parse()
	if flag.NArg() != 0 {
		fmt.Fprintf(os.Stderr, "error: unexpected argument %q (see --help)\n", flag.Arg(0))
		os.Exit(2)
	}
	if *maxRuns < 1 {
		fmt.Fprintln(os.Stderr, "error: bad --max-runs (it must be at least 1)")
		os.Exit(2)
	}

	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintf(os.Stderr, "error: cannot listen on %s (%v)\n", *listen, err)
		os.Exit(2)
	}
	// The first line of stdout is the contract with whoever started us.
	fmt.Printf("listening on http://%s\n", ln.Addr())
	_ = os.Stdout.Sync()

	srv := &http.Server{
		Handler:           server.New(server.Options{Token: *token, MaxRuns: *maxRuns, RunTimeout: *runTimeout}),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    64 << 10,
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintf(os.Stderr, "error: serving stopped (%v)\n", err)
		os.Exit(1)
	}
}
