package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/switchboard-gw/switchboard/gateway/app"
	"github.com/switchboard-gw/switchboard/gateway/config"
)

// pidFile is the file in data_dir holding the running gateway's process
// id, written by serve at start and removed at a clean stop.
const pidFile = "switchboard.pid"

// reloadWait bounds how long `switchboard reload` waits for the result.
const reloadWait = 60 * time.Second

// writePIDFile writes data_dir/switchboard.pid; the function it returns
// removes it if it still holds this process's id.
func writePIDFile(dataDir string) (remove func(), err error) {
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data_dir: %w", err)
	}
	path := filepath.Join(dataDir, pidFile)
	me := strconv.Itoa(os.Getpid())
	if err := os.WriteFile(path, []byte(me+"\n"), 0o644); err != nil {
		return nil, fmt.Errorf("pid file: %w", err)
	}
	return func() {
		if b, err := os.ReadFile(path); err == nil && strings.TrimSpace(string(b)) == me {
			_ = os.Remove(path)
		}
	}, nil
}

// cmdReload asks the gateway serving the config's data_dir to reload: it
// sends SIGHUP to the process in data_dir/switchboard.pid and waits for
// the result the gateway writes to data_dir/last-reload.json.
func cmdReload(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("reload", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", "", "configuration file of the running gateway (it names data_dir)")
	if err := fs.Parse(args); err != nil || fs.NArg() != 0 {
		fmt.Fprintln(stderr, "usage: switchboard reload [--config FILE]")
		return 2
	}
	dataDir, err := dataDirOf(*cfgPath)
	if err != nil {
		fmt.Fprintf(stderr, "switchboard reload: %v\n", err)
		return 1
	}
	pid, err := readPID(filepath.Join(dataDir, pidFile))
	if err != nil {
		fmt.Fprintf(stderr, "switchboard reload: no running gateway for data_dir %s: %v\n", dataDir, err)
		return 1
	}
	resultPath := filepath.Join(dataDir, app.ReloadResultFile)
	sent := time.Now()
	if err := syscall.Kill(pid, syscall.SIGHUP); err != nil {
		fmt.Fprintf(stderr, "switchboard reload: signal process %d: %v\n", pid, err)
		return 1
	}
	deadline := sent.Add(reloadWait)
	for {
		if res, err := readResult(resultPath); err == nil && !res.Time.Before(sent) {
			return printResult(res, stdout, stderr)
		}
		if time.Now().After(deadline) {
			fmt.Fprintf(stderr, "switchboard reload: signal sent to process %d, no result in %s after %v (see the gateway's log)\n", pid, resultPath, reloadWait)
			return 1
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// dataDirOf is the data_dir of the config at path. A file with errors is
// still read for its data_dir alone: the running gateway then refuses the
// reload, keeps its config and reports the errors (here, in its log and
// in GET /api/v1/config).
func dataDirOf(path string) (string, error) {
	cfg, err := loadConfig(path)
	if err == nil {
		return cfg.DataDir, nil
	}
	b, rerr := os.ReadFile(path)
	if rerr != nil {
		return "", err
	}
	var top struct {
		DataDir string `yaml:"data_dir"`
	}
	_ = yaml.Unmarshal(b, &top) // a partly broken file may still name it
	if top.DataDir == "" {
		top.DataDir = config.Default().DataDir
	}
	return top.DataDir, nil
}

func readPID(path string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 1 {
		return 0, fmt.Errorf("%s: not a process id", path)
	}
	if err := syscall.Kill(pid, 0); err != nil && !errors.Is(err, syscall.EPERM) {
		return 0, fmt.Errorf("process %d from %s is not running (a stale pid file)", pid, path)
	}
	// A stale file's pid may belong to another program by now: where /proc
	// tells, signal only a process running "serve".
	if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid)); err == nil {
		if !slices.Contains(strings.Split(string(b), "\x00"), "serve") {
			return 0, fmt.Errorf("process %d from %s is not a gateway (a stale pid file)", pid, path)
		}
	}
	return pid, nil
}

func readResult(path string) (app.ReloadResult, error) {
	var res app.ReloadResult
	b, err := os.ReadFile(path)
	if err != nil {
		return res, err
	}
	return res, json.Unmarshal(b, &res)
}

// printResult reports a reload: 0 when it applied, 1 when refused or
// partly failed.
func printResult(res app.ReloadResult, stdout, stderr io.Writer) int {
	for _, k := range res.NeedsRestart {
		fmt.Fprintf(stdout, "%s changed: needs a restart\n", k)
	}
	if !res.OK {
		if len(res.Applied) == 0 {
			fmt.Fprintf(stderr, "reload refused, the running config is kept:\n%s\n", res.Error)
		} else {
			fmt.Fprintf(stderr, "reload partly applied (%s):\n%s\n", strings.Join(res.Applied, ", "), res.Error)
		}
		return 1
	}
	if len(res.Applied) == 0 {
		fmt.Fprintln(stdout, "reloaded: no live setting changed (users and bans re-read from the store)")
	} else {
		fmt.Fprintf(stdout, "reloaded: %s\n", strings.Join(res.Applied, ", "))
	}
	for _, n := range res.Notes {
		fmt.Fprintf(stdout, "  %s\n", n)
	}
	return 0
}
