package main

import (
	"context"
	"log/slog"
	"os"
	"time"

	"github.com/spf13/cobra"

	"allot"
	"allot/reconcile"
	"allot/store/sqlstore"
)

// retentionFlag is --deleted-retention: how long deleted users stay in
// deleted items before they are purged (env ALLOT_DELETED_RETENTION).
type retentionFlag struct {
	d   time.Duration
	err error
}

func (r *retentionFlag) add(cmd *cobra.Command) {
	r.d = reconcile.DefaultRetention
	if v := os.Getenv("ALLOT_DELETED_RETENTION"); v != "" {
		if r.d, r.err = time.ParseDuration(v); r.err != nil {
			r.err = allot.Errorf(allot.EInvalid, "ALLOT_DELETED_RETENTION '%s' is not a duration such as 720h.", v)
		}
	}
	cmd.Flags().DurationVar(&r.d, "deleted-retention", r.d, "how long a deleted user can be restored before it is deleted for good (env ALLOT_DELETED_RETENTION)")
}

// start checks the retention and runs the purger until ctx ends; done
// closes when it has stopped.
func (r *retentionFlag) start(ctx context.Context, st *sqlstore.Store, log *slog.Logger) (done chan struct{}, err error) {
	if r.err != nil {
		return nil, r.err
	}
	if r.d <= 0 {
		return nil, allot.Errorf(allot.EInvalid, "--deleted-retention must be more than 0 (for example 720h, the default).")
	}
	p := reconcile.NewPurger(st, log, r.d)
	if r.d < 2*p.Every {
		p.Every = max(r.d/2, time.Second)
	}
	done = make(chan struct{})
	go func() {
		defer close(done)
		p.Run(ctx)
	}()
	return done, nil
}
