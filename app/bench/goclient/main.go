// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT

// lhttp-goclient: the chat-like workloads of lhttp-bench (docs/BENCHMARKS.md, "Chat-like
// workloads") from a client of another make — Go and gorilla/websocket — so that the
// figures do not come only from our own client. It speaks LHTTP (lhttpd-qt) or the NATS
// client protocol over WebSocket (nats-server's WebSocket listener), and measures:
//
//	-mode paced    S subscribers in rooms, P publishers each at rate/P msg/s (scheduled
//	               sends; latency counts from the scheduled time), M messages each
//	-mode connect  S clients connect (64 handshakes in flight) and subscribe; the time until
//	               every one is known subscribed, and the server's CPU and write calls
//
// The layout is lhttp-bench's: subscriber i joins room `room.<i mod rooms>`, message k of
// publisher p goes to room (p + k*P) mod rooms, 64-byte bodies "T<16 hex ns>-<4 hex
// publisher>-<8 hex sequence per room>" padded with dots, connections spread over
// 127.0.0.x source addresses (1,000 per address). A subscriber is known subscribed when a
// probe ("P<n>") reaches it: once all are open, probe rounds go to the rooms that still have
// a subscriber without one, each round 100 ms after the last one stopped arriving.
//
// The last line of the output is `RESULT {json}` (lhttp-bench compare reads it).
// Build: app/bench/goclient/build.sh (offline, against Debian's golang-github-gorilla-
// websocket-dev).
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gorilla/websocket"
)

const (
	minPayload      = 31
	probeInterval   = 100 * time.Millisecond
	perfAttachDelay = 300 * time.Millisecond
	quietPeriod     = 300 * time.Millisecond
)

var (
	mode          = flag.String("mode", "paced", "paced or connect")
	serverURL     = flag.String("url", "ws://127.0.0.1:8081/", "the server's WebSocket URL")
	protocol      = flag.String("protocol", "lhttp", "lhttp or nats")
	subscribers   = flag.Int("subscribers", 1000, "subscriber connections")
	rooms         = flag.Int("rooms", 0, "rooms (0: one channel, room)")
	publishers    = flag.Int("publishers", 1, "publisher connections")
	rate          = flag.Float64("rate", 100, "total paced rate, messages/s over all publishers")
	messages      = flag.Int("messages", 1000, "messages per publisher")
	payload       = flag.Int("payload", 64, "body bytes per message (at least 31)")
	serverPid     = flag.Int("server-pid", 0, "the server's pid: its CPU time and write calls")
	perSource     = flag.Int("per-source", 1000, "connections per 127.0.0.x source address")
	connectWindow = flag.Int("connect-window", 64, "handshakes in flight")
	countWrites   = flag.String("count-writes", "auto", "auto (perf if it works) or off")
	stallSeconds  = flag.Float64("stall", 15, "give up when nothing arrives for this long")
)

var epoch = time.Now()

// nowNs is monotonic nanoseconds since the start; stamps never leave this process.
func nowNs() int64 { return int64(time.Since(epoch)) }

func roomCount() int {
	if *rooms > 0 {
		return *rooms
	}
	return 1
}

func roomName(room int) string {
	if *rooms > 0 {
		return "room." + strconv.Itoa(room)
	}
	return "room"
}

func roomOfSubscriber(i int) int { return i % roomCount() }

func roomOfMessage(p, k int) int {
	return int((int64(p) + int64(k)*int64(*publishers)) % int64(roomCount()))
}

// ---- the wire: one connection and what it speaks ----

type conn struct {
	ws      *websocket.Conn
	writeMu sync.Mutex // publishers write from their goroutine and answer PING from the reader
	pending []byte     // NATS: protocol bytes not parsed yet
}

func (c *conn) send(text []byte) error {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	return c.ws.WriteMessage(websocket.TextMessage, text)
}

// sourceFor spreads connections over 127.0.0.2, .3, … for loopback targets.
func sourceFor(n int, host string) net.Addr {
	ip := net.ParseIP(host)
	if host != "localhost" && (ip == nil || !ip.IsLoopback() || ip.To4() == nil) {
		return nil
	}
	return &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(2+(n / *perSource)%253))}
}

func dial(n int, target string) (*conn, error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, err
	}
	nd := &net.Dialer{Timeout: 30 * time.Second}
	if src := sourceFor(n, u.Hostname()); src != nil {
		nd.LocalAddr = src
	}
	d := websocket.Dialer{
		NetDial:          nd.Dial,
		HandshakeTimeout: 30 * time.Second,
		ReadBufferSize:   4096,
		WriteBufferSize:  4096,
	}
	ws, _, err := d.Dial(target, nil)
	if err != nil {
		return nil, err
	}
	if tcp, ok := ws.UnderlyingConn().(*net.TCPConn); ok {
		tcp.SetNoDelay(true)
		tcp.SetLinger(0) // close with RST: rounds of 10,000 leave no TIME_WAIT behind
	}
	return &conn{ws: ws}, nil
}

// ---- counters and subscribers ----

type counters struct {
	opened, failed, closed, ready atomic.Int64
	delivered, outOfOrder, errors atomic.Int64
	published, publishersDone     atomic.Int64
	lastDelivery                  atomic.Int64
	nonData                       atomic.Int64
	firstError                    atomic.Value
}

var stats counters

func noteError(format string, args ...interface{}) {
	stats.errors.Add(1)
	stats.firstError.CompareAndSwap(nil, fmt.Sprintf(format, args...))
}

type subscriber struct {
	c         *conn
	room      int
	next      []uint32 // per publisher
	ready     atomic.Bool
	latencies []int64
	mu        sync.Mutex // guards latencies while the controller takes them
}

func hexValue(b []byte) (uint64, bool) {
	var v uint64
	for _, c := range b {
		switch {
		case c >= '0' && c <= '9':
			v = v<<4 | uint64(c-'0')
		case c >= 'a' && c <= 'f':
			v = v<<4 | uint64(c-'a'+10)
		default:
			return 0, false
		}
	}
	return v, true
}

// deliver handles one message body that reached subscriber s at `now`.
func (s *subscriber) deliver(body []byte, now int64) {
	if len(body) >= minPayload && body[0] == 'T' {
		sent, ok1 := hexValue(body[1:17])
		pub, ok2 := hexValue(body[18:22])
		seq, ok3 := hexValue(body[23:31])
		if ok1 && ok2 && ok3 && int(pub) < len(s.next) {
			s.mu.Lock()
			s.latencies = append(s.latencies, now-int64(sent))
			s.mu.Unlock()
			if uint32(seq) != s.next[pub] {
				stats.outOfOrder.Add(1)
			}
			s.next[pub] = uint32(seq) + 1
			stats.delivered.Add(1)
			for {
				last := stats.lastDelivery.Load()
				if now <= last || stats.lastDelivery.CompareAndSwap(last, now) {
					break
				}
			}
			return
		}
	}
	if len(body) > 0 && body[0] == 'P' && !s.ready.Load() {
		s.ready.Store(true)
		stats.ready.Add(1)
	}
	stats.nonData.Add(1)
}

var errorReply = []byte("LHTTP/1.0 error")

// readNats parses NATS protocol lines from the byte stream (a WebSocket message may hold
// several lines, and a line or payload may continue in the next one).
func readNats(c *conn, data []byte, s *subscriber, now int64) {
	in := data
	if len(c.pending) > 0 {
		c.pending = append(c.pending, data...)
		in = c.pending
	}
	pos := 0
	for pos < len(in) {
		eol := bytes.Index(in[pos:], []byte("\r\n"))
		if eol < 0 {
			break
		}
		line := in[pos : pos+eol]
		if bytes.HasPrefix(line, []byte("MSG ")) {
			n, err := strconv.Atoi(string(line[bytes.LastIndexByte(line, ' ')+1:]))
			if err != nil || n < 0 {
				noteError("bad NATS line %q", line)
				pos = len(in)
				break
			}
			start := pos + eol + 2
			if len(in)-start < n+2 {
				break
			}
			if s != nil {
				s.deliver(in[start:start+n], now)
			}
			pos = start + n + 2
			continue
		}
		pos += eol + 2
		switch {
		case bytes.Equal(line, []byte("PING")):
			c.send([]byte("PONG\r\n"))
		case bytes.HasPrefix(line, []byte("-ERR")):
			noteError("NATS: %s", line)
		}
	}
	rest := in[pos:]
	if len(rest) == 0 {
		c.pending = c.pending[:0]
	} else {
		c.pending = append([]byte(nil), rest...)
	}
}

// readLoop reads until the connection ends; s is nil for a publisher.
func readLoop(c *conn, s *subscriber, closing *atomic.Bool) {
	for {
		_, data, err := c.ws.ReadMessage()
		now := nowNs()
		if err != nil {
			if !closing.Load() {
				stats.closed.Add(1)
				stats.firstError.CompareAndSwap(nil, "connection closed: "+err.Error())
			}
			return
		}
		if *protocol == "nats" {
			readNats(c, data, s, now)
			continue
		}
		if bytes.HasPrefix(data, errorReply) {
			noteError("error reply: %.200s", data)
			continue
		}
		if s == nil {
			continue
		}
		body := []byte(nil)
		if i := bytes.Index(data, []byte("\r\n\r\n")); i >= 0 {
			body = data[i+4:]
		}
		s.deliver(body, now)
	}
}

// ---- server CPU and write calls ----

func serverCPUSeconds(pid int) float64 {
	if pid <= 0 {
		return -1
	}
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil {
		return -1
	}
	var ns int64
	for _, t := range tasks {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/schedstat", pid, t.Name()))
		if err != nil {
			continue
		}
		f := strings.Fields(string(b))
		if len(f) > 0 {
			v, _ := strconv.ParseInt(f[0], 10, 64)
			ns += v
		}
	}
	return float64(ns) / 1e9
}

func selfCPUSeconds() float64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}

// writeCounter runs `perf stat` on the server's write-type system calls, as lhttp-bench
// does: write and writev on sockets (descriptors that are not sockets when it starts are
// filtered out and counted apart: event-loop wake-ups), sendmsg, sendto.
type writeCounter struct {
	cmd    *exec.Cmd
	dir    string
	events []bool // per event in output order: true when it counts non-socket writes
}

func startWriteCounter(pid int) *writeCounter {
	if pid <= 0 || *countWrites == "off" {
		return nil
	}
	perf, err := exec.LookPath("perf")
	if err != nil {
		return nil
	}
	var socketOnly, otherOnly []string
	fdDir := fmt.Sprintf("/proc/%d/fd", pid)
	entries, _ := os.ReadDir(fdDir)
	for _, e := range entries {
		target, err := os.Readlink(filepath.Join(fdDir, e.Name()))
		if err == nil && !strings.HasPrefix(target, "socket:") {
			socketOnly = append(socketOnly, "fd != "+e.Name())
			otherOnly = append(otherOnly, "fd == "+e.Name())
		}
	}
	w := &writeCounter{}
	w.dir, err = os.MkdirTemp("", "lhttp-goclient")
	if err != nil {
		return nil
	}
	args := []string{"stat", "-x,"}
	for _, call := range []string{"write", "writev"} {
		args = append(args, "-e", "syscalls:sys_enter_"+call)
		w.events = append(w.events, false)
		if len(otherOnly) > 0 {
			args = append(args, "--filter", strings.Join(socketOnly, " && "),
				"-e", "syscalls:sys_enter_"+call, "--filter", strings.Join(otherOnly, " || "))
			w.events = append(w.events, true)
		}
	}
	for _, call := range []string{"sendmsg", "sendto"} {
		args = append(args, "-e", "syscalls:sys_enter_"+call)
		w.events = append(w.events, false)
	}
	args = append(args, "-o", filepath.Join(w.dir, "perf.csv"), "-p", strconv.Itoa(pid))
	w.cmd = exec.Command(perf, args...)
	w.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	if err := w.cmd.Start(); err != nil {
		os.RemoveAll(w.dir)
		return nil
	}
	time.Sleep(perfAttachDelay)
	return w
}

// stop returns the socket writes and the other writes; -1, -1 when not counted.
func (w *writeCounter) stop() (int64, int64) {
	if w == nil {
		return -1, -1
	}
	defer os.RemoveAll(w.dir)
	w.cmd.Process.Signal(os.Interrupt)
	w.cmd.Wait()
	b, err := os.ReadFile(filepath.Join(w.dir, "perf.csv"))
	if err != nil {
		return -1, -1
	}
	var sockets, other int64
	i := 0
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Split(line, ",")
		if strings.HasPrefix(line, "#") || len(f) < 3 || !strings.Contains(f[2], "sys_enter_") || i >= len(w.events) {
			continue
		}
		n, _ := strconv.ParseInt(f[0], 10, 64) // "<not counted>" reads as 0
		if w.events[i] {
			other += n
		} else {
			sockets += n
		}
		i++
	}
	if i == 0 {
		return -1, -1
	}
	return sockets, other
}

// ---- the run ----

type result struct {
	Mode                   string  `json:"mode"`
	Protocol               string  `json:"protocol"`
	Subscribers            int     `json:"subscribers"`
	Rooms                  int     `json:"rooms"`
	Publishers             int     `json:"publishers"`
	Rate                   float64 `json:"rate"`
	Messages               int     `json:"messages"`
	Complete               bool    `json:"complete"`
	Problems               string  `json:"problems"`
	Expected               int64   `json:"expected"`
	Delivered              int64   `json:"delivered"`
	OutOfOrder             int64   `json:"out_of_order"`
	Seconds                float64 `json:"seconds"`
	DeliveriesPerSecond    float64 `json:"deliveries_per_s"`
	P50Ms                  float64 `json:"p50_ms"`
	P99Ms                  float64 `json:"p99_ms"`
	MaxMs                  float64 `json:"max_ms"`
	ClientCPUPercent       float64 `json:"client_cpu_pct"`
	ServerCPUSeconds       float64 `json:"server_cpu_s"`
	ServerCPUPercent       float64 `json:"server_cpu_pct"`
	ServerNsPerDelivery    float64 `json:"server_ns_per_delivery"`
	Writes                 int64   `json:"writes"`
	OtherWrites            int64   `json:"other_writes"`
	WritesPerDelivery      float64 `json:"writes_per_delivery"`
	OtherWritesPerDelivery float64 `json:"other_writes_per_delivery"`
	WritesSource           string  `json:"writes_source"`
	ConnectSeconds         float64 `json:"connect_s"`
	ReadySeconds           float64 `json:"ready_s"`
	SetupServerCPUSeconds  float64 `json:"setup_server_cpu_s"`
	SetupWrites            int64   `json:"setup_writes"`
}

func waitUntil(done func() bool, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for !done() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(2 * time.Millisecond)
	}
	return true
}

func percentile(sorted []int64, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(float64(len(sorted))*p/100 + 0.999999)
	if rank < 1 {
		rank = 1
	}
	if rank > len(sorted) {
		rank = len(sorted)
	}
	return float64(sorted[rank-1]) / 1e6
}

// publishMessage is one message to `room` in the protocol spoken, its body stamped.
func publishMessage(room int, stamp int64, publisher int, seq uint32) []byte {
	size := *payload
	if size < minPayload {
		size = minPayload
	}
	body := make([]byte, size)
	copy(body, fmt.Sprintf("T%016x-%04x-%08x", stamp, publisher, seq))
	for i := minPayload; i < size; i++ {
		body[i] = '.'
	}
	return frameFor(room, body)
}

func frameFor(room int, body []byte) []byte {
	if *protocol == "nats" {
		return append(append([]byte(fmt.Sprintf("PUB %s %d\r\n", roomName(room), len(body))), body...), "\r\n"...)
	}
	return append([]byte("LHTTP/1.0 bench\r\npublish:"+roomName(room)+"\r\n\r\n"), body...)
}

func main() {
	flag.Parse()
	r := result{Mode: *mode, Protocol: *protocol, Subscribers: *subscribers, Rooms: *rooms,
		Publishers: *publishers, Rate: *rate, Messages: *messages, Writes: -1, OtherWrites: -1,
		WritesPerDelivery: -1, OtherWritesPerDelivery: -1, SetupWrites: -1, ServerCPUSeconds: -1,
		ServerNsPerDelivery: -1, ServerCPUPercent: -1, SetupServerCPUSeconds: -1, WritesSource: "n/a"}
	err := run(&r)
	if err != nil {
		r.Complete = false
		r.Problems = err.Error()
	}
	printResult(&r)
	if !r.Complete {
		os.Exit(1)
	}
}

func hello(subscriberRoom int, isSubscriber bool) []byte {
	if *protocol == "nats" {
		h := "CONNECT {\"verbose\":false,\"pedantic\":false}\r\n"
		if isSubscriber {
			h += "SUB " + roomName(subscriberRoom) + " 1\r\n"
		}
		return []byte(h)
	}
	if isSubscriber {
		return []byte("LHTTP/1.0 bench\r\nsubscribe:" + roomName(subscriberRoom) + "\r\n\r\n")
	}
	return []byte("LHTTP/1.0 bench\r\n\r\n") // a valid message: not closed as idle
}

func run(r *result) error {
	if *subscribers < 1 || *publishers < 1 || (*mode == "paced" && (*messages < 1 || *rate <= 0)) {
		return errors.New("need subscribers, publishers, messages and a rate")
	}
	var closing atomic.Bool
	measureSetup := *mode == "connect"
	var writes *writeCounter
	if measureSetup {
		writes = startWriteCounter(*serverPid)
	}
	cpuStart := serverCPUSeconds(*serverPid)
	setupStart := time.Now()

	// Connect: at most connectWindow handshakes in flight.
	subs := make([]*subscriber, *subscribers)
	pubs := make([]*conn, *publishers)
	subURL := *serverURL
	pubURL := *serverURL
	if strings.Contains(pubURL, "?") {
		pubURL += "&bench=pub"
	} else {
		pubURL += "?bench=pub"
	}
	window := make(chan struct{}, *connectWindow)
	var wg sync.WaitGroup
	open := func(n int, isSubscriber bool) {
		defer wg.Done()
		defer func() { <-window }()
		target := pubURL
		room := 0
		if isSubscriber {
			room = roomOfSubscriber(n)
			target = subURL
			if *rooms > 0 {
				sep := "?"
				if strings.Contains(target, "?") {
					sep = "&"
				}
				target += sep + "room=" + roomName(room)
			}
		}
		c, err := dial(n, target)
		if err != nil {
			stats.failed.Add(1)
			stats.firstError.CompareAndSwap(nil, "connect: "+err.Error())
			return
		}
		stats.opened.Add(1)
		var s *subscriber
		if isSubscriber {
			s = &subscriber{c: c, room: room, next: make([]uint32, *publishers)}
			subs[n] = s
		} else {
			pubs[n-*subscribers] = c
		}
		if err := c.send(hello(room, isSubscriber)); err != nil {
			noteError("send: %v", err)
		}
		go readLoop(c, s, &closing)
	}
	for i := 0; i < *subscribers; i++ {
		window <- struct{}{}
		wg.Add(1)
		go open(i, true)
	}
	wg.Wait()
	r.ConnectSeconds = time.Since(setupStart).Seconds()
	for i := 0; i < *publishers; i++ {
		window <- struct{}{}
		wg.Add(1)
		go open(*subscribers+i, false)
	}
	wg.Wait()
	defer func() {
		closing.Store(true)
		for _, s := range subs {
			if s != nil {
				s.c.ws.Close()
			}
		}
		for _, p := range pubs {
			if p != nil {
				p.ws.Close()
			}
		}
	}()
	if n := stats.failed.Load(); n > 0 {
		return fmt.Errorf("%d connections failed; first error: %v", n, stats.firstError.Load())
	}

	// Subscribed: a probe published after the subscribe reached every subscriber. A round
	// goes to the rooms that still have a subscriber without one, once the last round has
	// stopped arriving (no subscriber became ready for probeInterval).
	probe := 0
	readySeen := int64(-1)
	readyChanged := time.Now()
	ok := waitUntil(func() bool {
		n := stats.ready.Load()
		if n >= int64(*subscribers) {
			return true
		}
		if n != readySeen {
			readySeen = n
			readyChanged = time.Now()
			if probe > 0 {
				return false
			}
		}
		if probe > 0 && time.Since(readyChanged) < probeInterval {
			return false
		}
		unready := make([]bool, roomCount())
		for _, s := range subs {
			if !s.ready.Load() {
				unready[s.room] = true
			}
		}
		probe++
		body := []byte("P" + strconv.Itoa(probe))
		for room, u := range unready {
			if u {
				pubs[0].send(frameFor(room, body))
			}
		}
		readyChanged = time.Now()
		return false
	}, 60*time.Second+time.Duration(*subscribers)*20*time.Millisecond)
	if !ok {
		return fmt.Errorf("only %d of %d subscribers received a probe; first error: %v",
			stats.ready.Load(), *subscribers, stats.firstError.Load())
	}
	r.ReadySeconds = time.Since(setupStart).Seconds()
	if cpuEnd := serverCPUSeconds(*serverPid); cpuStart >= 0 && cpuEnd >= 0 {
		r.SetupServerCPUSeconds = cpuEnd - cpuStart
	}
	if measureSetup {
		if writes != nil {
			r.WritesSource = "perf"
		}
		r.SetupWrites, _ = writes.stop()
		r.Complete = stats.errors.Load() == 0 && stats.closed.Load() == 0
		if !r.Complete {
			r.Problems = fmt.Sprint(stats.firstError.Load())
		}
		return nil
	}
	// Let setup traffic die down.
	seen := stats.nonData.Load()
	quietSince := time.Now()
	waitUntil(func() bool {
		if n := stats.nonData.Load(); n != seen {
			seen = n
			quietSince = time.Now()
		}
		return time.Since(quietSince) > quietPeriod
	}, time.Minute)
	if stats.errors.Load() > 0 {
		return fmt.Errorf("errors during setup: %v", stats.firstError.Load())
	}

	// The measured phase.
	members := make([]int64, roomCount())
	for i := 0; i < *subscribers; i++ {
		members[roomOfSubscriber(i)]++
	}
	for p := 0; p < *publishers; p++ {
		for k := 0; k < *messages; k++ {
			r.Expected += members[roomOfMessage(p, k)]
		}
	}
	writes = startWriteCounter(*serverPid)
	if writes != nil {
		r.WritesSource = "perf"
	}
	clientStart := selfCPUSeconds()
	cpuStart = serverCPUSeconds(*serverPid)
	t0 := nowNs()
	perPublisher := *rate / float64(*publishers)
	for p := 0; p < *publishers; p++ {
		go func(p int) {
			c := pubs[p]
			seq := make([]uint32, roomCount())
			for k := 0; k < *messages; k++ {
				// Message k is due at t0 + (k + p/P) / rate; it carries that time.
				due := t0 + int64((float64(k)+float64(p)/float64(*publishers))*1e9/perPublisher)
				if wait := due - nowNs(); wait > 0 {
					time.Sleep(time.Duration(wait))
				}
				room := roomOfMessage(p, k)
				if err := c.send(publishMessage(room, due, p, seq[room])); err != nil {
					noteError("publish: %v", err)
					return
				}
				seq[room]++
				stats.published.Add(1)
			}
			stats.publishersDone.Add(1)
		}(p)
	}
	progress := int64(0)
	progressAt := time.Now()
	waitUntil(func() bool {
		d := stats.delivered.Load()
		if n := d + stats.published.Load(); n != progress {
			progress = n
			progressAt = time.Now()
		}
		if d >= r.Expected && stats.publishersDone.Load() >= int64(*publishers) {
			return true
		}
		return time.Since(progressAt).Seconds() > *stallSeconds
	}, time.Duration(float64(*messages)/perPublisher*float64(time.Second))+2*time.Minute)
	tEnd := nowNs()
	cpuEnd := serverCPUSeconds(*serverPid)
	clientEnd := selfCPUSeconds()
	r.Writes, r.OtherWrites = writes.stop()

	var all []int64
	for _, s := range subs {
		s.mu.Lock()
		all = append(all, s.latencies...)
		s.mu.Unlock()
	}
	sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
	r.Delivered = stats.delivered.Load()
	r.OutOfOrder = stats.outOfOrder.Load()
	last := stats.lastDelivery.Load()
	if last <= t0 {
		last = tEnd
	}
	r.Seconds = float64(last-t0) / 1e9
	if r.Seconds > 0 {
		r.DeliveriesPerSecond = float64(r.Delivered) / r.Seconds
	}
	r.P50Ms = percentile(all, 50)
	r.P99Ms = percentile(all, 99)
	r.MaxMs = percentile(all, 100)
	wall := float64(tEnd-t0) / 1e9
	r.ClientCPUPercent = 100 * (clientEnd - clientStart) / wall
	if cpuStart >= 0 && cpuEnd >= 0 {
		r.ServerCPUSeconds = cpuEnd - cpuStart
		r.ServerCPUPercent = 100 * r.ServerCPUSeconds / wall
		if r.Delivered > 0 {
			r.ServerNsPerDelivery = r.ServerCPUSeconds * 1e9 / float64(r.Delivered)
		}
	}
	if r.Writes >= 0 && r.Delivered > 0 {
		r.WritesPerDelivery = float64(r.Writes) / float64(r.Delivered)
		r.OtherWritesPerDelivery = float64(r.OtherWrites) / float64(r.Delivered)
	}
	r.Complete = r.Delivered == r.Expected && r.OutOfOrder == 0 && stats.errors.Load() == 0 &&
		stats.closed.Load() == 0
	if !r.Complete {
		r.Problems = fmt.Sprintf("%d of %d delivered, %d out of order, %d errors, %d closed; first error: %v",
			r.Delivered, r.Expected, r.OutOfOrder, stats.errors.Load(), stats.closed.Load(),
			stats.firstError.Load())
	}
	return nil
}

func printResult(r *result) {
	layout := ""
	if r.Rooms > 0 {
		layout = fmt.Sprintf(" in %d rooms", r.Rooms)
	}
	if r.Mode == "connect" {
		fmt.Printf("go client, connect: %d subscribers%s (%s) open in %.2f s, all subscribed in %.2f s\n",
			r.Subscribers, layout, r.Protocol, r.ConnectSeconds, r.ReadySeconds)
		fmt.Printf("server cpu: %.2f s (%.0f us per connection)   write calls: %d (%s)\n",
			r.SetupServerCPUSeconds, r.SetupServerCPUSeconds*1e6/float64(r.Subscribers),
			r.SetupWrites, r.WritesSource)
	} else {
		fmt.Printf("go client, paced: %d subscribers%s x %d publishers x %d messages, %.0f msg/s (%s)\n",
			r.Subscribers, layout, r.Publishers, r.Messages, r.Rate, r.Protocol)
		fmt.Printf("delivered: %d of %d in %.3f s = %.0f msg/s\n", r.Delivered, r.Expected,
			r.Seconds, r.DeliveriesPerSecond)
		fmt.Printf("latency from the scheduled send time: p50 %.2f ms  p99 %.2f ms  max %.2f ms\n",
			r.P50Ms, r.P99Ms, r.MaxMs)
		fmt.Printf("client cpu %.0f%%   server cpu %.2f s (%.0f ns per delivery, %.1f%% of one core)\n",
			r.ClientCPUPercent, r.ServerCPUSeconds, r.ServerNsPerDelivery, r.ServerCPUPercent)
		fmt.Printf("server write calls to sockets: %d = %.3f per delivery (%s); other: %.3f per delivery\n",
			r.Writes, r.WritesPerDelivery, r.WritesSource, r.OtherWritesPerDelivery)
	}
	if r.Problems != "" {
		fmt.Printf("  problem: %s\n", r.Problems)
	}
	j, _ := json.Marshal(r)
	fmt.Printf("RESULT %s\n", j)
}
