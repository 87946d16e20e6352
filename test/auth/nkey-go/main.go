// nats.go as an nkey client for test/auth/nkey-go.test.ts: connects to $URL with the seed in the
// file named by $SEED_FILE (nats.NkeyOptionFromSeed), does a request/reply round trip, and prints
// "ok" or "error: <nats.go's error>".
package main

import (
	"fmt"
	"os"
	"time"

	"github.com/nats-io/nats.go"
)

func main() {
	opt, err := nats.NkeyOptionFromSeed(os.Getenv("SEED_FILE"))
	if err != nil {
		fmt.Println("error:", err)
		return
	}
	nc, err := nats.Connect(os.Getenv("URL"), opt, nats.NoReconnect(), nats.Timeout(3*time.Second))
	if err != nil {
		fmt.Println("error:", err)
		return
	}
	defer nc.Close()
	sub, err := nc.Subscribe("svc.echo", func(m *nats.Msg) { m.Respond(m.Data) })
	if err != nil {
		fmt.Println("error:", err)
		return
	}
	defer sub.Unsubscribe()
	r, err := nc.Request("svc.echo", []byte("ping"), 3*time.Second)
	if err != nil {
		fmt.Println("error:", err)
		return
	}
	if string(r.Data) != "ping" {
		fmt.Println("error: bad reply", string(r.Data))
		return
	}
	fmt.Println("ok")
}
