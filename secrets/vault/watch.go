package vault

import (
	"context"
	"time"

	"github.com/hashicorp/vault/api"
	"go.uber.org/zap"
)

// Re-login back-off after the watcher gives up and a login fails.
const (
	minRelogin = time.Second
	maxRelogin = 30 * time.Second
)

// watch keeps the current token alive with a LifetimeWatcher and logs in
// again when the watcher stops (renewal failed or the max TTL is near). A
// login made elsewhere (after a 403 in Fetch) restarts it on the new token.
func (p *Provider) watch() {
	defer close(p.watchDone)
	for {
		select {
		case <-p.kick: // a pending restart is served by this iteration
		default:
		}
		p.mu.Lock()
		sec, gen, last := p.authSec, p.gen, p.lastLogin
		p.mu.Unlock()

		var (
			w       *api.LifetimeWatcher
			doneCh  <-chan error
			renewCh <-chan *api.RenewOutput
		)
		if sec != nil && sec.Auth != nil && sec.Auth.LeaseDuration > 0 {
			var err error
			w, err = p.client.NewLifetimeWatcher(&api.LifetimeWatcherInput{
				Secret:    sec,
				Increment: sec.Auth.LeaseDuration,
			})
			if err != nil {
				p.log.Warn("Cannot watch the Vault token", zap.String("err", p.scrub(err.Error())))
			} else {
				go w.Start()
				doneCh, renewCh = w.DoneCh(), w.RenewCh()
			}
		}
		relogin := p.waitWatcher(w, doneCh, renewCh)
		if w != nil {
			w.Stop()
		}
		switch relogin {
		case stopWatching:
			return
		case restartWatcher:
			continue
		}
		// A token near its end (non-renewable, max TTL) would otherwise be
		// replaced by the same token in a tight loop.
		if wait := time.Until(last.Add(minRelogin)); wait > 0 {
			select {
			case <-p.stop:
				return
			case <-time.After(wait):
			}
		}
		if !p.reloginLoop(gen) {
			return
		}
	}
}

type watchOutcome int

const (
	stopWatching watchOutcome = iota
	restartWatcher
	needLogin
)

func (p *Provider) waitWatcher(w *api.LifetimeWatcher, doneCh <-chan error, renewCh <-chan *api.RenewOutput) watchOutcome {
	for {
		select {
		case <-p.stop:
			return stopWatching
		case <-p.kick:
			return restartWatcher
		case out := <-renewCh:
			if out != nil && out.Secret != nil && out.Secret.Auth != nil {
				ttl := time.Duration(out.Secret.Auth.LeaseDuration) * time.Second
				p.metrics.renewals.Inc()
				p.metrics.setExpiry(ttl)
				p.log.Debug("Renewed Vault token", zap.Duration("ttl", ttl))
			}
		case err := <-doneCh:
			if err != nil {
				p.log.Warn("Vault token renewal failed; logging in again", zap.String("err", p.scrub(err.Error())))
			} else {
				p.log.Info("Vault token reached the end of its renewable life; logging in again")
			}
			return needLogin
		}
	}
}

// reloginLoop logs in with back-off until it succeeds (true) or the
// provider closes (false).
func (p *Provider) reloginLoop(gen uint64) bool {
	wait := minRelogin
	for {
		select {
		case <-p.stop:
			return false
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), p.cfg.Timeout+time.Second)
		err := p.login(ctx, gen)
		cancel()
		if err == nil {
			return true
		}
		select {
		case <-p.stop:
			return false
		case <-time.After(wait):
		}
		wait = min(wait*2, maxRelogin)
	}
}
