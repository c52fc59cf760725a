// Command soak runs the soak test of `vigil run` (make soak): mixed load,
// a reload every minute, webhook and NATS outages, a SIGKILL and restart
// every ten minutes, then accounts for every marker alert. It prints the
// summary, writes it as JSON, and exits 1 if anything is unaccounted for.
//
//	go run ./scripts/soak -vigil bin/vigil -duration 1h -out bench/soak-DATE.json
package main

import (
	"flag"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/vigil-project/vigil/internal/soak"
)

func main() { os.Exit(run()) }

func run() int {
	bin := flag.String("vigil", "bin/vigil", "the vigil binary")
	duration := flag.Duration("duration", time.Hour, "how long the load runs")
	out := flag.String("out", "", "write the summary as JSON here")
	dir := flag.String("dir", "", "working directory (default: a new one under /var/tmp; kept)")
	flag.Parse()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if os.Geteuid() != 0 {
		fmt.Fprintln(os.Stderr, "soak: needs root (vigil run loads BPF programs)")
		return 2
	}
	if *dir == "" {
		d, err := os.MkdirTemp("/var/tmp", "vigil-soak-")
		if err != nil {
			fmt.Fprintln(os.Stderr, "soak:", err)
			return 2
		}
		*dir = d
	}
	sum, err := soak.Run(soak.Options{Vigil: *bin, Duration: *duration, Dir: *dir, Log: log})
	if err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
		return 2
	}
	sum.Print(os.Stdout)
	if *out != "" {
		if err := sum.WriteJSON(*out); err != nil {
			fmt.Fprintln(os.Stderr, "soak:", err)
			return 2
		}
		fmt.Println("soak: summary written to", *out)
	}
	if !sum.OK {
		return 1
	}
	return 0
}
