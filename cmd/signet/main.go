// Command signet is the signet server and its command-line tools.
//
//	signet serve       run the API server
//	signet bootstrap   create an org and its first user
//	signet rotate-key  start signing tokens with a new key
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	m := &Main{Stdout: os.Stdout, Stderr: os.Stderr, Env: os.LookupEnv}
	os.Exit(m.Run(ctx, os.Args[1:]))
}
