// Decodes what a server sends in its system account into nats-server 2.9.10's own Go types
// (github.com/nats-io/nats-server/v2/server), rejecting unknown fields: a field tsnats names or
// types differently from nats-server fails here. Prints one line per check: "ok <what>" or
// "FAIL <what>: <error>". Environment: URL, USER, PASS, SERVER_ID.
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// Fields tsnats adds on purpose (e.g. /varz config_digest, from newer nats-server versions),
// comma separated in ALLOW_EXTRA: removed from the top level of `data` before the strict decode.
func strict(data []byte, v interface{}) error {
	if extra := os.Getenv("ALLOW_EXTRA"); extra != "" {
		var m map[string]json.RawMessage
		if json.Unmarshal(data, &m) == nil {
			for _, k := range strings.Split(extra, ",") {
				delete(m, k)
			}
			data, _ = json.Marshal(m)
		}
	}
	d := json.NewDecoder(bytes.NewReader(data))
	d.DisallowUnknownFields()
	return d.Decode(v)
}

func report(what string, err error) {
	if err != nil {
		fmt.Printf("FAIL %s: %v\n", what, err)
	} else {
		fmt.Printf("ok %s\n", what)
	}
}

type apiResp struct {
	Server *server.ServerInfo `json:"server"`
	Data   json.RawMessage    `json:"data,omitempty"`
	Error  *server.ApiError   `json:"error,omitempty"`
}

func main() {
	nc, err := nats.Connect(os.Getenv("URL"), nats.UserInfo(os.Getenv("USER"), os.Getenv("PASS")))
	if err != nil {
		fmt.Println("FAIL connect:", err)
		os.Exit(1)
	}
	defer nc.Close()
	id := os.Getenv("SERVER_ID")

	// Events: watch, then make a connect, a disconnect and an auth failure happen.
	events := make(chan *nats.Msg, 100)
	sub, _ := nc.ChanSubscribe("$SYS.>", events)
	nc.Flush()
	if c, err := nats.Connect(os.Getenv("URL"), nats.UserInfo("a", "a"), nats.Name("go-a")); err == nil {
		c.Publish("foo", []byte("hello"))
		c.Flush()
		c.Close()
	}
	nats.Connect(os.Getenv("URL"), nats.UserInfo("a", "wrong"))
	seen := map[string]bool{}
	deadline := time.After(5 * time.Second)
loop:
	for {
		select {
		case m := <-events:
			var err error
			var what string
			switch {
			case m.Subject == "$SYS.ACCOUNT.A.CONNECT":
				what = "CONNECT"
				var e server.ConnectEventMsg
				err = strict(m.Data, &e)
			case m.Subject == "$SYS.ACCOUNT.A.DISCONNECT":
				what = "DISCONNECT"
				var e server.DisconnectEventMsg
				err = strict(m.Data, &e)
				if err == nil && (e.Reason != "Client Closed" || e.Sent.Msgs != 1 || e.Client.Name != "go-a") {
					err = fmt.Errorf("unexpected values %+v", e)
				}
			case m.Subject == "$SYS.SERVER."+id+".CLIENT.AUTH.ERR":
				what = "AUTH.ERR"
				var e server.DisconnectEventMsg
				err = strict(m.Data, &e)
			case m.Subject == "$SYS.ACCOUNT.A.SERVER.CONNS":
				what = "CONNS"
				var e server.AccountNumConns
				err = strict(m.Data, &e)
			case m.Subject == "$SYS.SERVER."+id+".STATSZ":
				what = "STATSZ event"
				var e server.ServerStatsMsg
				err = strict(m.Data, &e)
			default:
				continue
			}
			if !seen[what] {
				seen[what] = true
				report(what, err)
			}
			if len(seen) == 5 {
				break loop
			}
		case <-deadline:
			break loop
		}
	}
	sub.Unsubscribe()
	for _, w := range []string{"CONNECT", "DISCONNECT", "AUTH.ERR", "CONNS", "STATSZ event"} {
		if !seen[w] {
			fmt.Printf("FAIL %s: not received\n", w)
		}
	}

	// Requests: the envelope and each endpoint's data type.
	req := func(subject string, body string, data interface{}) {
		m, err := nc.Request(subject, []byte(body), 2*time.Second)
		if err != nil {
			report(subject, err)
			return
		}
		var r apiResp
		if err := strict(m.Data, &r); err != nil {
			report(subject, err)
			return
		}
		if r.Error != nil {
			report(subject, fmt.Errorf("error %d %s", r.Error.Code, r.Error.Description))
			return
		}
		report(subject, strict(r.Data, data))
	}
	req("$SYS.REQ.SERVER.PING.VARZ", "", &server.Varz{})
	req("$SYS.REQ.SERVER.PING.CONNZ", `{"subscriptions_detail":true,"auth":true}`, &server.Connz{})
	req("$SYS.REQ.SERVER.PING.SUBSZ", `{"subscriptions":true}`, &server.Subsz{})
	req("$SYS.REQ.SERVER.PING.ROUTEZ", "", &server.Routez{})
	req("$SYS.REQ.SERVER.PING.GATEWAYZ", "", &server.Gatewayz{})
	req("$SYS.REQ.SERVER.PING.LEAFZ", "", &server.Leafz{})
	req("$SYS.REQ.SERVER.PING.ACCOUNTZ", "", &server.Accountz{})
	req("$SYS.REQ.SERVER.PING.JSZ", "", &server.JSInfo{})
	req("$SYS.REQ.SERVER.PING.HEALTHZ", "", &server.HealthStatus{})
	req("$SYS.REQ.SERVER."+id+".ACCOUNTZ", `{"account":"SYS"}`, &server.Accountz{})
	req("$SYS.REQ.ACCOUNT.A.INFO", "", &server.AccountInfo{})
	req("$SYS.REQ.ACCOUNT.A.CONNZ", "", &server.Connz{})
	req("$SYS.REQ.ACCOUNT.PING.STATZ", "", &server.AccountStatz{})
	// STATSZ is a ServerStatsMsg, not an envelope.
	if m, err := nc.Request("$SYS.REQ.SERVER.PING", nil, 2*time.Second); err != nil {
		report("$SYS.REQ.SERVER.PING", err)
	} else {
		var s server.ServerStatsMsg
		report("$SYS.REQ.SERVER.PING", strict(m.Data, &s))
	}
}
