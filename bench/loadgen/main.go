// Command loadgen is tsnats' load generator for bench/run.ts: a small compiled NATS client
// (the official nats.go) so that the client is not the bottleneck when comparing tsnats with
// nats-server. It only ever talks to the URL it is given (the benchmark passes loopback URLs).
//
// Every mode prints exactly one JSON object on stdout (idle mode: a "ready" line first) and
// exits 0; errors go to stderr with exit status 2 (usage) or 1 (run failure).
//
//	loadgen pub       -url nats://127.0.0.1:4222 -size 16 -pubs 1 -dur 3s
//	loadgen pubsub    -url ... -size 16 -pubs 1 -subs 4 [-queue q] -dur 3s [-drain 2s]
//	loadgen reqrep    -url ... -size 128 -dur 3s [-repurl URL: the responder elsewhere]
//	loadgen handshake -url tls://127.0.0.1:4443 -ca ca.pem -conc 4 -dur 3s
//	loadgen idle      -url ... -n 10000 -conc 100     (holds the connections until stdin closes)
//	loadgen jspub     -url ... -size 16 -window 1000 -dur 3s   (JetStream publish; -window 0 = sync, latency;
//	                                                           -n N: exactly N async publishes)
//	loadgen jsconsume -url ... -size 16 -n 100000 -batch 500   (pull consumer, explicit acks)
//	loadgen jsordered -url ... -size 16 -n 100000              (ordered push consumer replay)
//	loadgen jskv      -url ... -size 100 -keys 1000 -dur 3s    (KV put rate, then get rate)
//
// TLS: a tls:// URL plus -ca <file> (the server certificate must name 127.0.0.1). Go's TLS
// client always sends the status_request extension, so a stapling server staples on every
// handshake; handshake mode counts the handshakes that carried a staple.
//
// Built by bench/lib/loadgen.ts in GOPATH mode against Debian's golang-github-nats-io-go-nats-dev.
package main

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
)

type common struct {
	url      string
	caFile   string
	certFile string
	keyFile  string
	size     int
	dur      time.Duration
	subject  string
	compress bool
}

func (c *common) register(fs *flag.FlagSet) {
	fs.StringVar(&c.url, "url", nats.DefaultURL, "server URL (nats://, tls://, ws:// or wss://)")
	fs.StringVar(&c.caFile, "ca", "", "CA certificate file for tls:// and wss:// URLs")
	fs.StringVar(&c.certFile, "cert", "", "client certificate (PEM, may hold the chain) for mTLS")
	fs.StringVar(&c.keyFile, "key", "", "client key (PEM) for mTLS")
	fs.BoolVar(&c.compress, "wscompress", false, "websocket: ask for permessage-deflate")
	fs.IntVar(&c.size, "size", 16, "payload size in bytes")
	fs.DurationVar(&c.dur, "dur", 3*time.Second, "how long to publish / request / connect")
	fs.StringVar(&c.subject, "subj", "bench.s", "subject")
}

// lingerDialer closes sockets with an RST (SO_LINGER 0) so that thousands of short-lived
// benchmark connections leave no TIME_WAIT entries behind on the loopback port range.
type lingerDialer struct{ d net.Dialer }

func (l *lingerDialer) Dial(network, address string) (net.Conn, error) {
	c, err := l.d.Dial(network, address)
	if err == nil {
		if tc, ok := c.(*net.TCPConn); ok {
			_ = tc.SetLinger(0)
			_ = tc.SetNoDelay(true)
		}
	}
	return c, err
}

var asyncErrors atomic.Int64
var firstAsyncErr atomic.Value // string

func noteErr(err error) {
	if err == nil {
		return
	}
	asyncErrors.Add(1)
	firstAsyncErr.CompareAndSwap(nil, err.Error())
}

func (c *common) tlsConfig() (*tls.Config, error) {
	if c.caFile == "" {
		return nil, errors.New("a tls:// URL needs -ca")
	}
	pem, err := os.ReadFile(c.caFile)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("no certificate in %s", c.caFile)
	}
	u, err := url.Parse(c.url)
	if err != nil {
		return nil, err
	}
	cfg := &tls.Config{RootCAs: pool, ServerName: u.Hostname(), MinVersion: tls.VersionTLS12}
	if c.certFile != "" {
		pair, err := tls.LoadX509KeyPair(c.certFile, c.keyFile)
		if err != nil {
			return nil, err
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	return cfg, nil
}

func (c *common) connect(name string, extra ...nats.Option) (*nats.Conn, error) {
	opts := []nats.Option{
		nats.Name(name),
		nats.NoReconnect(),
		nats.Timeout(10 * time.Second),
		nats.SetCustomDialer(&lingerDialer{d: net.Dialer{Timeout: 10 * time.Second}}),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) { noteErr(err) }),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) { noteErr(err) }),
	}
	if strings.HasPrefix(c.url, "tls://") || strings.HasPrefix(c.url, "wss://") {
		cfg, err := c.tlsConfig()
		if err != nil {
			return nil, err
		}
		opts = append(opts, nats.Secure(cfg))
	}
	if c.compress {
		opts = append(opts, nats.Compression(true))
	}
	opts = append(opts, extra...)
	return nats.Connect(c.url, opts...)
}

func emit(v any) {
	if s, ok := firstAsyncErr.Load().(string); ok {
		if m, ok := v.(map[string]any); ok {
			m["async_errors"] = asyncErrors.Load()
			m["first_async_error"] = s
		}
	}
	b, _ := json.Marshal(v)
	fmt.Println(string(b))
}

func fail(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "loadgen: "+format+"\n", a...)
	os.Exit(1)
}

func tlsVersionName(v uint16) string {
	switch v {
	case tls.VersionTLS12:
		return "TLS 1.2"
	case tls.VersionTLS13:
		return "TLS 1.3"
	}
	return fmt.Sprintf("0x%04x", v)
}

func secs(d time.Duration) float64 { return d.Seconds() }

// publishFor publishes `payload` on `subj` as fast as the connection allows until `deadline`,
// then flushes (PING/PONG: the server has processed everything). Returns the count and elapsed
// time including the flush.
func publishFor(nc *nats.Conn, subj string, payload []byte, start, deadline time.Time) (int64, time.Duration, error) {
	var n int64
	for {
		for i := 0; i < 256; i++ {
			if err := nc.Publish(subj, payload); err != nil {
				return n, time.Since(start), err
			}
			n++
		}
		if !time.Now().Before(deadline) {
			break
		}
	}
	err := nc.FlushTimeout(60 * time.Second)
	return n, time.Since(start), err
}

// ---------------------------------------------------------------------------------------------
// pub / pubsub
// ---------------------------------------------------------------------------------------------

type subCounter struct {
	n     atomic.Int64
	first atomic.Int64 // unix nanos of the first message
	last  atomic.Int64 // unix nanos of the latest message
}

func runPubSub(args []string, withSubs bool) {
	fs := flag.NewFlagSet("pubsub", flag.ExitOnError)
	var c common
	c.register(fs)
	pubs := fs.Int("pubs", 1, "publisher connections")
	subs := fs.Int("subs", 0, "subscriber connections")
	queue := fs.String("queue", "", "queue group name for the subscribers")
	drain := fs.Duration("drain", 3*time.Second, "after publishing, wait this long without progress for the subscribers")
	maxWait := fs.Duration("maxwait", 30*time.Second, "after publishing, wait at most this long for the subscribers in all")
	subURL := fs.String("suburl", "", "server URL for the subscribers (default: -url), e.g. another node of a cluster; a comma-separated list spreads them round-robin (subscriber i on URL i mod n)")
	_ = fs.Parse(args)
	if !withSubs {
		*subs = 0
	}
	pubURL := c.url
	subURLs := []string{c.url}
	if *subURL != "" {
		subURLs = strings.Split(*subURL, ",")
	}
	payload := make([]byte, c.size)
	for i := range payload {
		payload[i] = byte('a' + i%26)
	}

	counters := make([]*subCounter, *subs)
	subConns := make([]*nats.Conn, *subs)
	for i := 0; i < *subs; i++ {
		c.url = subURLs[i%len(subURLs)]
		nc, err := c.connect(fmt.Sprintf("bench-sub-%d", i))
		if err != nil {
			fail("subscriber connect: %v", err)
		}
		subConns[i] = nc
		sc := &subCounter{}
		counters[i] = sc
		h := func(_ *nats.Msg) {
			now := time.Now().UnixNano()
			if sc.n.Add(1) == 1 {
				sc.first.Store(now)
			}
			sc.last.Store(now)
		}
		var s *nats.Subscription
		if *queue != "" {
			s, err = nc.QueueSubscribe(c.subject, *queue, h)
		} else {
			s, err = nc.Subscribe(c.subject, h)
		}
		if err != nil {
			fail("subscribe: %v", err)
		}
		_ = s.SetPendingLimits(-1, -1) // never drop on the client side
		if err := nc.FlushTimeout(10 * time.Second); err != nil {
			fail("subscriber flush: %v", err)
		}
	}
	c.url = pubURL
	if *subURL != "" {
		// Interest travels to the publisher's node over the route: give it time to arrive.
		time.Sleep(500 * time.Millisecond)
	}
	pubConns := make([]*nats.Conn, *pubs)
	for i := range pubConns {
		nc, err := c.connect(fmt.Sprintf("bench-pub-%d", i), nats.NoEcho())
		if err != nil {
			fail("publisher connect: %v", err)
		}
		pubConns[i] = nc
	}

	sent := make([]int64, *pubs)
	elapsed := make([]time.Duration, *pubs)
	var wg sync.WaitGroup
	var pubErr atomic.Value
	start := time.Now()
	deadline := start.Add(c.dur)
	for i, nc := range pubConns {
		wg.Add(1)
		go func(i int, nc *nats.Conn) {
			defer wg.Done()
			n, el, err := publishFor(nc, c.subject, payload, start, deadline)
			sent[i], elapsed[i] = n, el
			if err != nil {
				pubErr.CompareAndSwap(nil, err.Error())
			}
		}(i, nc)
	}
	wg.Wait()
	pubEnd := time.Now()
	var totalSent int64
	var maxElapsed time.Duration
	for i := range sent {
		totalSent += sent[i]
		if elapsed[i] > maxElapsed {
			maxElapsed = elapsed[i]
		}
	}

	// Expected deliveries: every subscriber gets everything, or the queue group shares it.
	var expected int64
	if *subs > 0 {
		if *queue != "" {
			expected = totalSent
		} else {
			expected = totalSent * int64(*subs)
		}
	}
	received := func() int64 {
		var t int64
		for _, sc := range counters {
			t += sc.n.Load()
		}
		return t
	}
	if *subs > 0 {
		lastProgress := time.Now()
		prev := received()
		for prev < expected {
			time.Sleep(5 * time.Millisecond)
			cur := received()
			if cur != prev {
				prev, lastProgress = cur, time.Now()
			} else if time.Since(lastProgress) > *drain {
				break
			}
			if time.Since(pubEnd) > *maxWait {
				break
			}
		}
	}
	totalRecv := received()
	subsClosed := 0
	for _, nc := range subConns {
		if !nc.IsConnected() {
			subsClosed++ // the server dropped it (a slow consumer, typically)
		}
	}
	var first, last int64
	perSub := make([]float64, 0, *subs)
	for _, sc := range counters {
		f, l, n := sc.first.Load(), sc.last.Load(), sc.n.Load()
		if n == 0 {
			perSub = append(perSub, 0)
			continue
		}
		if first == 0 || f < first {
			first = f
		}
		if l > last {
			last = l
		}
		// A subscriber's rate is measured from the publishers' start to its last message.
		span := float64(l-start.UnixNano()) / 1e9
		if span > 0 {
			perSub = append(perSub, float64(n)/span)
		}
	}
	subSpan := 0.0
	if last > 0 {
		subSpan = float64(last-start.UnixNano()) / 1e9
	}
	res := map[string]any{
		"mode":         "pubsub",
		"size":         c.size,
		"pubs":         *pubs,
		"subs":         *subs,
		"queue":        *queue,
		"sent":         totalSent,
		"pub_secs":     secs(maxElapsed),
		"pub_rate":     float64(totalSent) / secs(maxElapsed),
		"pub_mib_s":    float64(totalSent) * float64(c.size) / secs(maxElapsed) / (1 << 20),
		"expected":     expected,
		"received":     totalRecv,
		"lost":         expected - totalRecv,
		"subs_closed":  subsClosed,
		"sub_secs":     subSpan,
		"sub_rate":     0.0,
		"per_sub_rate": perSub,
		"wall_secs":    secs(time.Since(start)),
		"publish_secs": secs(pubEnd.Sub(start)),
	}
	if *subs == 0 {
		res["mode"] = "pub"
	}
	if totalRecv > 0 && subSpan > 0 {
		res["sub_rate"] = float64(totalRecv) / subSpan
		res["sub_mib_s"] = float64(totalRecv) * float64(c.size) / subSpan / (1 << 20)
	}
	if s, ok := pubErr.Load().(string); ok {
		res["pub_error"] = s
	}
	for _, nc := range pubConns {
		nc.Close()
	}
	for _, nc := range subConns {
		nc.Close()
	}
	emit(res)
}

// ---------------------------------------------------------------------------------------------
// reqrep
// ---------------------------------------------------------------------------------------------

func runReqRep(args []string) {
	fs := flag.NewFlagSet("reqrep", flag.ExitOnError)
	var c common
	c.register(fs)
	timeout := fs.Duration("timeout", 2*time.Second, "per-request timeout")
	repURL := fs.String("repurl", "", "server URL for the responder (default: -url), e.g. another account's user for a service import")
	_ = fs.Parse(args)
	payload := make([]byte, c.size)

	rc := c
	if *repURL != "" {
		rc.url = *repURL
	}
	rep, err := rc.connect("bench-responder")
	if err != nil {
		fail("responder connect: %v", err)
	}
	defer rep.Close()
	if _, err := rep.Subscribe(c.subject, func(m *nats.Msg) {
		if err := m.Respond(m.Data); err != nil {
			noteErr(err)
		}
	}); err != nil {
		fail("responder subscribe: %v", err)
	}
	if err := rep.FlushTimeout(10 * time.Second); err != nil {
		fail("responder flush: %v", err)
	}
	req, err := c.connect("bench-requester")
	if err != nil {
		fail("requester connect: %v", err)
	}
	defer req.Close()
	// Warm up (creates the client's response subscription).
	for i := 0; i < 100; i++ {
		if _, err := req.Request(c.subject, payload, *timeout); err != nil {
			fail("warm-up request: %v", err)
		}
	}
	lat := make([]time.Duration, 0, 1<<16)
	var failures int64
	var firstFailure string
	start := time.Now()
	deadline := start.Add(c.dur)
	for time.Now().Before(deadline) {
		t0 := time.Now()
		_, err := req.Request(c.subject, payload, *timeout)
		if err != nil {
			failures++
			if firstFailure == "" {
				firstFailure = err.Error()
			}
			if failures > 10 {
				break
			}
			continue
		}
		lat = append(lat, time.Since(t0))
	}
	el := time.Since(start)
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	pct := func(p float64) float64 {
		if len(lat) == 0 {
			return 0
		}
		i := int(p * float64(len(lat)-1))
		return float64(lat[i].Nanoseconds()) / 1e3
	}
	var sum time.Duration
	for _, d := range lat {
		sum += d
	}
	res := map[string]any{
		"mode":     "reqrep",
		"size":     c.size,
		"requests": len(lat),
		"failures": failures,
		"secs":     secs(el),
		"rate":     float64(len(lat)) / secs(el),
		"p50_us":   pct(0.50),
		"p90_us":   pct(0.90),
		"p99_us":   pct(0.99),
		"max_us":   pct(1.0),
		"avg_us":   0.0,
	}
	if len(lat) > 0 {
		res["avg_us"] = float64(sum.Nanoseconds()) / float64(len(lat)) / 1e3
	}
	if firstFailure != "" {
		res["first_failure"] = firstFailure
	}
	emit(res)
}

// ---------------------------------------------------------------------------------------------
// handshake: full NATS connects over TLS (INFO, TLS handshake, CONNECT, PING/PONG), then close
// ---------------------------------------------------------------------------------------------

// rawTLSConnect does one full NATS-over-TLS connect by hand: read INFO, TLS handshake (with
// status_request, as every Go TLS client), CONNECT + PING, wait for PONG, close with RST. It is
// much lighter on the client's CPU than nats.Connect, so on a small machine more of the CPU goes
// to the server under test.
func rawTLSConnect(addr string, cfg *tls.Config) (tls.ConnectionState, error) {
	var st tls.ConnectionState
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return st, err
	}
	defer c.Close()
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
		_ = tc.SetNoDelay(true)
	}
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	// The server sends nothing after INFO until the ClientHello, so a buffered read is safe.
	br := bufio.NewReaderSize(c, 4096)
	line, err := br.ReadString('\n')
	if err != nil {
		return st, err
	}
	if !strings.HasPrefix(line, "INFO ") || br.Buffered() != 0 {
		return st, fmt.Errorf("expected a lone INFO line, got %q", strings.TrimSpace(line))
	}
	t := tls.Client(c, cfg)
	if err := t.Handshake(); err != nil {
		return st, err
	}
	st = t.ConnectionState()
	if _, err := io.WriteString(t, "CONNECT {\"verbose\":false,\"pedantic\":false,\"tls_required\":true,\"lang\":\"go\",\"version\":\"loadgen\",\"protocol\":1}\r\nPING\r\n"); err != nil {
		return st, err
	}
	tr := bufio.NewReaderSize(t, 4096)
	for {
		line, err := tr.ReadString('\n')
		if err != nil {
			return st, err
		}
		switch {
		case strings.HasPrefix(line, "PONG"):
			return st, nil
		case strings.HasPrefix(line, "-ERR"):
			return st, errors.New(strings.TrimSpace(line))
		}
	}
}

func runHandshake(args []string) {
	fs := flag.NewFlagSet("handshake", flag.ExitOnError)
	var c common
	c.register(fs)
	conc := fs.Int("conc", 4, "concurrent connectors")
	client := fs.String("client", "raw", "raw (hand-written NATS connect, light) or natsgo (nats.Connect)")
	_ = fs.Parse(args)
	if !strings.HasPrefix(c.url, "tls://") {
		fail("handshake mode needs a tls:// URL")
	}
	u, err := url.Parse(c.url)
	if err != nil {
		fail("bad url: %v", err)
	}
	var connect func() (tls.ConnectionState, error)
	switch *client {
	case "natsgo":
		connect = func() (tls.ConnectionState, error) {
			nc, err := c.connect("bench-handshake")
			if err != nil {
				return tls.ConnectionState{}, err
			}
			defer nc.Close()
			return nc.TLSConnectionState()
		}
	case "raw":
		// The first connect verifies the chain in full; later ones skip the (client-side, costly)
		// chain building and only check that the server presents the very same leaf certificate.
		full, err := c.tlsConfig()
		if err != nil {
			fail("%v", err)
		}
		st, err := rawTLSConnect(u.Host, full)
		if err != nil {
			fail("first TLS connect to %s: %v", u.Host, err)
		}
		leaf := st.PeerCertificates[0].Raw
		fast := &tls.Config{
			InsecureSkipVerify: true, // replaced by the exact-leaf check below
			ServerName:         full.ServerName,
			MinVersion:         full.MinVersion,
			Certificates:       full.Certificates,
			VerifyConnection: func(cs tls.ConnectionState) error {
				if len(cs.PeerCertificates) == 0 || !bytes.Equal(cs.PeerCertificates[0].Raw, leaf) {
					return errors.New("server certificate differs from the verified one")
				}
				return nil
			},
		}
		connect = func() (tls.ConnectionState, error) { return rawTLSConnect(u.Host, fast) }
	default:
		fail("unknown -client %q", *client)
	}

	var ok, stapled, failed atomic.Int64
	var firstErr atomic.Value
	var versions sync.Map
	start := time.Now()
	deadline := start.Add(c.dur)
	var wg sync.WaitGroup
	for w := 0; w < *conc; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				st, err := connect()
				if err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
					if failed.Load() > 100 {
						return
					}
					continue
				}
				if len(st.OCSPResponse) > 0 {
					stapled.Add(1)
				}
				versions.Store(tlsVersionName(st.Version), true)
				ok.Add(1)
			}
		}()
	}
	wg.Wait()
	el := time.Since(start)
	var vs []string
	versions.Range(func(k, _ any) bool { vs = append(vs, k.(string)); return true })
	sort.Strings(vs)
	res := map[string]any{
		"mode":         "handshake",
		"client":       *client,
		"conc":         *conc,
		"connects":     ok.Load(),
		"stapled":      stapled.Load(),
		"failed":       failed.Load(),
		"secs":         secs(el),
		"rate":         float64(ok.Load()) / secs(el),
		"tls_versions": vs,
	}
	if s, ok := firstErr.Load().(string); ok {
		res["first_error"] = s
	}
	emit(res)
}

// ---------------------------------------------------------------------------------------------
// idle: many raw protocol connections (CONNECT + PING/PONG), held until stdin closes
// ---------------------------------------------------------------------------------------------

func idleConn(addr string) (net.Conn, *bufio.Reader, error) {
	c, err := net.DialTimeout("tcp", addr, 20*time.Second)
	if err != nil {
		return nil, nil, err
	}
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	r := bufio.NewReaderSize(c, 512)
	line, err := r.ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "INFO ") {
		c.Close()
		if err == nil {
			err = fmt.Errorf("expected INFO, got %q", strings.TrimSpace(line))
		}
		return nil, nil, err
	}
	if _, err := io.WriteString(c, "CONNECT {\"verbose\":false,\"pedantic\":false,\"lang\":\"go\",\"version\":\"loadgen\",\"protocol\":1}\r\nPING\r\n"); err != nil {
		c.Close()
		return nil, nil, err
	}
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			c.Close()
			return nil, nil, err
		}
		switch {
		case strings.HasPrefix(line, "PONG"):
			_ = c.SetDeadline(time.Time{})
			return c, r, nil
		case strings.HasPrefix(line, "PING"):
			_, _ = io.WriteString(c, "PONG\r\n")
		case strings.HasPrefix(line, "-ERR"):
			c.Close()
			return nil, nil, errors.New(strings.TrimSpace(line))
		}
	}
}

func runIdle(args []string) {
	fs := flag.NewFlagSet("idle", flag.ExitOnError)
	var c common
	c.register(fs)
	n := fs.Int("n", 1000, "connections")
	conc := fs.Int("conc", 100, "concurrent connection attempts")
	hold := fs.Bool("hold", true, "hold the connections until stdin reaches EOF (else close at once)")
	_ = fs.Parse(args)
	u, err := url.Parse(c.url)
	if err != nil || u.Scheme != "nats" {
		fail("idle mode needs a nats:// URL")
	}
	addr := u.Host

	var mu sync.Mutex
	conns := make([]net.Conn, 0, *n)
	var failed atomic.Int64
	var firstErr atomic.Value
	jobs := make(chan struct{}, *n)
	for i := 0; i < *n; i++ {
		jobs <- struct{}{}
	}
	close(jobs)
	start := time.Now()
	var wg sync.WaitGroup
	for w := 0; w < *conc; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range jobs {
				conn, r, err := idleConn(addr)
				if err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
					continue
				}
				mu.Lock()
				conns = append(conns, conn)
				mu.Unlock()
				// Answer the server's keepalive PINGs while idle.
				go func() {
					for {
						line, err := r.ReadString('\n')
						if err != nil {
							return
						}
						if strings.HasPrefix(line, "PING") {
							_, _ = io.WriteString(conn, "PONG\r\n")
						}
					}
				}()
			}
		}()
	}
	wg.Wait()
	res := map[string]any{
		"mode":      "idle",
		"requested": *n,
		"connected": len(conns),
		"failed":    failed.Load(),
		"secs":      secs(time.Since(start)),
		"ready":     true,
	}
	if s, ok := firstErr.Load().(string); ok {
		res["first_error"] = s
	}
	emit(res)
	if *hold {
		_, _ = io.Copy(io.Discard, os.Stdin)
	}
	for _, conn := range conns {
		conn.Close()
	}
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: loadgen pub|pubsub|reqrep|handshake|idle|version [flags]")
		os.Exit(2)
	}
	args := os.Args[2:]
	switch os.Args[1] {
	case "pub":
		runPubSub(args, false)
	case "pubsub":
		runPubSub(args, true)
	case "reqrep":
		runReqRep(args)
	case "handshake":
		runHandshake(args)
	case "idle":
		runIdle(args)
	case "jspub":
		runJsPub(args)
	case "jsconsume":
		runJsConsume(args)
	case "jsordered":
		runJsOrdered(args)
	case "jskv":
		runJsKv(args)
	case "version":
		emit(map[string]any{"go": runtime.Version(), "nats_go": nats.Version})
	default:
		fmt.Fprintf(os.Stderr, "loadgen: unknown mode %q\n", os.Args[1])
		os.Exit(2)
	}
}

// ---- JetStream ----

func jsSetup(c *common, nc *nats.Conn, stream, storage string, window int) nats.JetStreamContext {
	opts := []nats.JSOpt{}
	if window > 0 {
		opts = append(opts, nats.PublishAsyncMaxPending(window))
	}
	js, err := nc.JetStream(opts...)
	if err != nil {
		fail("jetstream: %v", err)
	}
	st := nats.FileStorage
	if storage == "memory" {
		st = nats.MemoryStorage
	}
	_ = js.DeleteStream(stream)
	if _, err := js.AddStream(&nats.StreamConfig{Name: stream, Subjects: []string{c.subject}, Storage: st}); err != nil {
		fail("add stream: %v", err)
	}
	return js
}

func runJsPub(args []string) {
	fs := flag.NewFlagSet("jspub", flag.ExitOnError)
	var c common
	c.register(fs)
	window := fs.Int("window", 1000, "async publishes in flight (0 = synchronous publishes, latency)")
	storage := fs.String("storage", "file", "file or memory")
	stream := fs.String("stream", "BENCH", "stream name")
	count := fs.Int64("n", 0, "publish exactly this many messages (async), ignoring -dur (0 = run for -dur)")
	_ = fs.Parse(args)
	nc, err := c.connect("loadgen-jspub")
	if err != nil {
		fail("connect: %v", err)
	}
	defer nc.Close()
	js := jsSetup(&c, nc, *stream, *storage, *window)
	payload := make([]byte, c.size)
	start := time.Now()
	deadline := start.Add(c.dur)
	var n int64
	if *window == 0 {
		lat := make([]time.Duration, 0, 1<<16)
		for time.Now().Before(deadline) {
			t0 := time.Now()
			if _, err := js.Publish(c.subject, payload); err != nil {
				fail("publish: %v", err)
			}
			lat = append(lat, time.Since(t0))
			n++
		}
		el := time.Since(start)
		sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
		pct := func(p float64) float64 { return float64(lat[int(float64(len(lat)-1)*p)].Microseconds()) }
		emit(map[string]any{"mode": "jspub", "published": n, "secs": secs(el), "pub_rate": float64(n) / secs(el), "p50_us": pct(0.5), "p99_us": pct(0.99)})
		return
	}
	for (*count > 0 && n < *count) || (*count == 0 && time.Now().Before(deadline)) {
		for i := 0; i < 100 && (*count == 0 || n < *count); i++ {
			if _, err := js.PublishAsync(c.subject, payload); err != nil {
				noteErr(err)
				continue
			}
			n++
		}
	}
	select {
	case <-js.PublishAsyncComplete():
	case <-time.After(120 * time.Second):
		fail("async publishes not acknowledged within 120 s (%d pending)", js.PublishAsyncPending())
	}
	el := time.Since(start)
	emit(map[string]any{"mode": "jspub", "published": n, "secs": secs(el), "pub_rate": float64(n) / secs(el)})
}

func runJsConsume(args []string) {
	fs := flag.NewFlagSet("jsconsume", flag.ExitOnError)
	var c common
	c.register(fs)
	count := fs.Int("n", 100000, "messages stored, then consumed")
	batch := fs.Int("batch", 500, "fetch batch size")
	storage := fs.String("storage", "file", "file or memory")
	stream := fs.String("stream", "BENCHC", "stream name")
	_ = fs.Parse(args)
	nc, err := c.connect("loadgen-jsconsume")
	if err != nil {
		fail("connect: %v", err)
	}
	defer nc.Close()
	js := jsSetup(&c, nc, *stream, *storage, 4000)
	payload := make([]byte, c.size)
	for i := 0; i < *count; i++ {
		if _, err := js.PublishAsync(c.subject, payload); err != nil {
			fail("publish: %v", err)
		}
	}
	select {
	case <-js.PublishAsyncComplete():
	case <-time.After(120 * time.Second):
		fail("prefill not acknowledged")
	}
	sub, err := js.PullSubscribe(c.subject, "bench", nats.AckExplicit(), nats.BindStream(*stream))
	if err != nil {
		fail("pull subscribe: %v", err)
	}
	start := time.Now()
	got := 0
	for got < *count {
		msgs, err := sub.Fetch(*batch, nats.MaxWait(10*time.Second))
		if err != nil {
			fail("fetch after %d: %v", got, err)
		}
		for _, m := range msgs {
			if err := m.Ack(); err != nil {
				noteErr(err)
			}
			got++
		}
	}
	_ = nc.Flush()
	el := time.Since(start)
	emit(map[string]any{"mode": "jsconsume", "received": got, "secs": secs(el), "sub_rate": float64(got) / secs(el)})
}

func runJsOrdered(args []string) {
	fs := flag.NewFlagSet("jsordered", flag.ExitOnError)
	var c common
	c.register(fs)
	count := fs.Int("n", 100000, "messages stored, then replayed")
	stream := fs.String("stream", "BENCHO", "stream name")
	_ = fs.Parse(args)
	nc, err := c.connect("loadgen-jsordered")
	if err != nil {
		fail("connect: %v", err)
	}
	defer nc.Close()
	js := jsSetup(&c, nc, *stream, "file", 4000)
	payload := make([]byte, c.size)
	for i := 0; i < *count; i++ {
		if _, err := js.PublishAsync(c.subject, payload); err != nil {
			fail("publish: %v", err)
		}
	}
	select {
	case <-js.PublishAsyncComplete():
	case <-time.After(120 * time.Second):
		fail("prefill not acknowledged")
	}
	done := make(chan struct{})
	var got atomic.Int64
	start := time.Now()
	sub, err := js.Subscribe(c.subject, func(m *nats.Msg) {
		if got.Add(1) == int64(*count) {
			close(done)
		}
	}, nats.OrderedConsumer(), nats.BindStream(*stream))
	if err != nil {
		fail("ordered subscribe: %v", err)
	}
	select {
	case <-done:
	case <-time.After(120 * time.Second):
		fail("ordered consumer got %d of %d", got.Load(), *count)
	}
	el := time.Since(start)
	_ = sub.Unsubscribe()
	emit(map[string]any{"mode": "jsordered", "received": got.Load(), "secs": secs(el), "sub_rate": float64(got.Load()) / secs(el)})
}

func runJsKv(args []string) {
	fs := flag.NewFlagSet("jskv", flag.ExitOnError)
	var c common
	c.register(fs)
	keys := fs.Int("keys", 1000, "distinct keys")
	bucket := fs.String("bucket", "BENCHKV", "bucket name")
	_ = fs.Parse(args)
	nc, err := c.connect("loadgen-jskv")
	if err != nil {
		fail("connect: %v", err)
	}
	defer nc.Close()
	js, err := nc.JetStream()
	if err != nil {
		fail("jetstream: %v", err)
	}
	_ = js.DeleteKeyValue(*bucket)
	kv, err := js.CreateKeyValue(&nats.KeyValueConfig{Bucket: *bucket})
	if err != nil {
		fail("create kv: %v", err)
	}
	val := make([]byte, c.size)
	start := time.Now()
	deadline := start.Add(c.dur)
	var puts int64
	for time.Now().Before(deadline) {
		if _, err := kv.Put(fmt.Sprintf("k%d", puts%int64(*keys)), val); err != nil {
			fail("put: %v", err)
		}
		puts++
	}
	putEl := time.Since(start)
	start = time.Now()
	deadline = start.Add(c.dur)
	var gets int64
	for time.Now().Before(deadline) {
		if _, err := kv.Get(fmt.Sprintf("k%d", gets%int64(*keys))); err != nil {
			fail("get: %v", err)
		}
		gets++
	}
	getEl := time.Since(start)
	emit(map[string]any{"mode": "jskv", "puts": puts, "put_rate": float64(puts) / secs(putEl), "gets": gets, "get_rate": float64(gets) / secs(getEl)})
}
