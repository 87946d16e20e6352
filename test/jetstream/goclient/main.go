// A nats.go 1.22.1 client exercising KeyValue, ObjectStore, pull, push and ordered consumers;
// test/jetstream/goclient.test.ts runs it against tsnats and nats-server and compares the output.
package main

import (
	"bytes"
	"fmt"
	"os"
	"time"

	"github.com/nats-io/nats.go"
)

func check(err error, what string) {
	if err != nil {
		fmt.Printf("FAIL %s: %v\n", what, err)
		os.Exit(1)
	}
}

func main() {
	nc, err := nats.Connect(os.Args[1])
	check(err, "connect")
	defer nc.Close()
	js, err := nc.JetStream()
	check(err, "js")
	kv, err := js.CreateKeyValue(&nats.KeyValueConfig{Bucket: "gokv", History: 5})
	check(err, "create kv")
	_, err = kv.Put("a", []byte("1"))
	check(err, "put")
	_, err = kv.Put("a", []byte("2"))
	check(err, "put2")
	e, err := kv.Get("a")
	check(err, "get")
	fmt.Println("get", string(e.Value()), e.Revision())
	_, err = kv.Create("a", []byte("x"))
	fmt.Println("create existing:", err)
	_, err = kv.Update("a", []byte("3"), 2)
	check(err, "update")
	check(kv.Delete("a"), "delete")
	_, err = kv.Get("a")
	fmt.Println("get deleted:", err)
	kv.Put("b", []byte("b"))
	kv.Put("c", []byte("c"))
	keys, err := kv.Keys()
	check(err, "keys")
	fmt.Println("keys", keys)
	h, err := kv.History("a")
	check(err, "history")
	fmt.Println("history", len(h))
	w, err := kv.WatchAll()
	check(err, "watch")
	n := 0
	for u := range w.Updates() {
		if u == nil {
			break
		}
		n++
	}
	fmt.Println("watch initial", n)
	go func() { time.Sleep(100 * time.Millisecond); kv.Put("d", []byte("d")) }()
	select {
	case u := <-w.Updates():
		fmt.Println("watch update", u.Key())
	case <-time.After(3 * time.Second):
		fmt.Println("FAIL watch update timeout")
	}
	w.Stop()
	obs, err := js.CreateObjectStore(&nats.ObjectStoreConfig{Bucket: "goobj"})
	check(err, "create obj")
	data := bytes.Repeat([]byte("0123456789"), 100000)
	_, err = obs.PutBytes("big", data)
	check(err, "obj put")
	got, err := obs.GetBytes("big")
	check(err, "obj get")
	fmt.Println("obj roundtrip", bytes.Equal(got, data))
	lst, err := obs.List()
	check(err, "obj list")
	fmt.Println("obj list", len(lst))
	check(obs.Delete("big"), "obj delete")
	// pull + push durable
	js.AddStream(&nats.StreamConfig{Name: "GS", Subjects: []string{"gs.>"}})
	for i := 0; i < 10; i++ {
		js.Publish("gs.x", []byte("m"))
	}
	sub, err := js.PullSubscribe("gs.x", "gd")
	check(err, "pull sub")
	ms, err := sub.Fetch(5)
	check(err, "fetch")
	for _, m := range ms {
		check(m.AckSync(), "acksync")
	}
	fmt.Println("fetched", len(ms))
	cnt := 0
	psub, err := js.Subscribe("gs.x", func(m *nats.Msg) { cnt++; m.Ack() }, nats.Durable("push1"), nats.DeliverAll())
	check(err, "push sub")
	time.Sleep(300 * time.Millisecond)
	psub.Unsubscribe()
	fmt.Println("pushed", cnt)
	osub, err := js.SubscribeSync("gs.x", nats.OrderedConsumer())
	check(err, "ordered")
	oc := 0
	for {
		_, err := osub.NextMsg(300 * time.Millisecond)
		if err != nil {
			break
		}
		oc++
	}
	fmt.Println("ordered", oc)
	fmt.Println("OK")
}
