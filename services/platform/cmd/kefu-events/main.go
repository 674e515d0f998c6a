// Command kefu-events shows the suite's domain events from NATS JetStream.
//
//	kefu-events tail [--shop shop_demo] [--type 'order.*'] [--from-start] [--count N] [--nats URL]
//
// prints each event as one JSON line (the shop.events.v1.Envelope with its
// payload decoded), live by default or from the start of the stream with
// --from-start. --type filters by event type with NATS wildcards: 'order.*'
// (every order event), 'order.paid', '*.clock_breached'. NATS_URL (default
// the dev stack's nats://127.0.0.1:4223) or --nats names the server.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	eventsv1 "github.com/kefu-suite/kefu/proto/gen/shop/events/v1"
	"github.com/kefu-suite/kefu/services/platform/outbox"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout)
	stop()
	if err != nil && !errors.Is(err, context.Canceled) {
		fmt.Fprintln(os.Stderr, "kefu-events:", err)
		os.Exit(2)
	}
}

const usage = `usage: kefu-events tail [--shop SHOP] [--type TYPE] [--from-start] [--count N] [--nats URL]`

func run(ctx context.Context, args []string, out io.Writer) error {
	if len(args) == 0 || args[0] != "tail" {
		return errors.New(usage)
	}
	fs := flag.NewFlagSet("tail", flag.ContinueOnError)
	shop := fs.String("shop", "*", "shop id (default: every shop)")
	typ := fs.String("type", ">", "event type, NATS wildcards allowed: order.*, order.paid, *.clock_breached")
	fromStart := fs.Bool("from-start", false, "replay the stream from its first event, then follow")
	count := fs.Int("count", 0, "exit after this many events (0: follow until interrupted)")
	url := fs.String("nats", envOr("NATS_URL", "nats://127.0.0.1:4223"), "NATS server")
	wait := fs.Duration("wait", 0, "with --count: give up after this long (0: no limit)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	subject, err := Subject(*shop, *typ)
	if err != nil {
		return err
	}
	nc, err := nats.Connect(*url, nats.Name("kefu-events"), nats.Timeout(5*time.Second))
	if err != nil {
		return fmt.Errorf("nats %s: %w", *url, err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	if *wait > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *wait)
		defer cancel()
	}
	policy := jetstream.DeliverNewPolicy
	if *fromStart {
		policy = jetstream.DeliverAllPolicy
	}
	cons, err := js.OrderedConsumer(ctx, outbox.StreamName, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{subject}, DeliverPolicy: policy})
	if err != nil {
		return fmt.Errorf("stream %s: %w", outbox.StreamName, err)
	}
	it, err := cons.Messages()
	if err != nil {
		return err
	}
	go func() { <-ctx.Done(); it.Stop() }()
	json := protojson.MarshalOptions{UseProtoNames: true}
	for n := 0; *count == 0 || n < *count; n++ {
		msg, err := it.Next()
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return err
		}
		env := &eventsv1.Envelope{}
		if err := proto.Unmarshal(msg.Data(), env); err != nil {
			return fmt.Errorf("event on %s: %w", msg.Subject(), err)
		}
		b, err := json.Marshal(env)
		if err != nil {
			return err
		}
		if _, err := fmt.Fprintf(out, "%s\n", b); err != nil {
			return err
		}
	}
	return nil
}

// Subject is the NATS subject filter of a shop and an event type.
func Subject(shop, typ string) (string, error) {
	if shop == "" || strings.ContainsAny(shop, ". >") {
		return "", fmt.Errorf("--shop %q: one shop id, or * for all", shop)
	}
	if typ == "" || strings.Contains(typ, " ") || strings.Count(typ, ".") > 1 || (strings.Contains(typ, ">") && typ != ">" && !strings.HasSuffix(typ, ".>")) {
		return "", fmt.Errorf("--type %q: <aggregate>.<event> with NATS wildcards, e.g. order.*", typ)
	}
	return outbox.SubjectPrefix + "." + shop + "." + typ, nil
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
