package main

import (
	"context"
	"crypto/tls"
	"log/slog"
	"os"
	"os/signal"
	"sync"
	"syscall"

	"allot"
	"allot/httpapi"
)

// network parses --trusted-proxies and --public-url.
func (cfg serveConfig) network() (httpapi.Network, error) {
	var n httpapi.Network
	var err error
	if n.TrustedProxies, err = httpapi.ParseProxies(cfg.trustedProxies); err != nil {
		return n, err
	}
	if cfg.publicURL != "" {
		if n.PublicURL, err = httpapi.ParsePublicURL(cfg.publicURL); err != nil {
			return n, err
		}
	}
	return n, nil
}

// certs holds the TLS certificate, reloaded from its files on SIGHUP.
type certs struct {
	certFile, keyFile string
	mu                sync.RWMutex
	cert              *tls.Certificate
}

// loadCerts loads --tls-cert and --tls-key (nil, nil when neither is set).
func loadCerts(certFile, keyFile string) (*certs, error) {
	if certFile == "" && keyFile == "" {
		return nil, nil
	}
	if certFile == "" || keyFile == "" {
		return nil, allot.Errorf(allot.EInvalid, "--tls-cert and --tls-key go together: give both, or neither for plain HTTP.")
	}
	c := &certs{certFile: certFile, keyFile: keyFile}
	return c, c.load()
}

func (c *certs) load() error {
	cert, err := tls.LoadX509KeyPair(c.certFile, c.keyFile)
	if err != nil {
		return allot.Errorf(allot.EInvalid, "--tls-cert/--tls-key: %v", err)
	}
	c.mu.Lock()
	c.cert = &cert
	c.mu.Unlock()
	return nil
}

func (c *certs) get(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.cert, nil
}

// reloadOn reloads the certificate on each SIGHUP until ctx ends; a file
// that does not load keeps the previous certificate (and is logged).
func (c *certs) reloadOn(ctx context.Context, log *slog.Logger) {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGHUP)
	defer signal.Stop(ch)
	for {
		select {
		case <-ctx.Done():
			return
		case <-ch:
			if err := c.load(); err != nil {
				log.Error("reloading the TLS certificate failed; keeping the previous one", "err", err)
				continue
			}
			log.Info("TLS certificate reloaded", "cert", c.certFile)
		}
	}
}
