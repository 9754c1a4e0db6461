package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"allot"
	"allot/client"
)

// cliConfig is what `allot login` keeps in the user's config directory.
type cliConfig struct {
	URL        string `json:"url"`
	Token      string `json:"token"`
	TenantID   string `json:"tenantId,omitempty"`
	TenantName string `json:"tenantName,omitempty"`
	Role       string `json:"role,omitempty"`
}

// configPath returns os.UserConfigDir()/allot/config.json.
func configPath() (string, error) {
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", allot.Errorf(allot.EInvalid, "Cannot find your config directory (%v); set ALLOT_URL and ALLOT_TOKEN instead.", err)
	}
	return filepath.Join(dir, "allot", "config.json"), nil
}

// loadConfig reads the config file; a missing file is an empty config.
func loadConfig() (*cliConfig, string, error) {
	p, err := configPath()
	if err != nil {
		return nil, "", err
	}
	data, err := os.ReadFile(p)
	if errors.Is(err, os.ErrNotExist) {
		return &cliConfig{}, p, nil
	}
	if err != nil {
		return nil, p, allot.Errorf(allot.EInvalid, "Cannot read %s: %v", p, err)
	}
	var c cliConfig
	if err := json.Unmarshal(data, &c); err != nil {
		return nil, p, allot.Errorf(allot.EInvalid, "%s is not valid JSON (%v); run 'allot login' again or delete the file.", p, err)
	}
	return &c, p, nil
}

// saveConfig writes the config file with mode 0600 (directory 0700),
// replacing it atomically.
func saveConfig(c *cliConfig) (string, error) {
	p, err := configPath()
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return p, fmt.Errorf("create %s: %w", filepath.Dir(p), err)
	}
	data, _ := json.MarshalIndent(c, "", "  ")
	f, err := os.CreateTemp(filepath.Dir(p), ".config-*.json")
	if err != nil {
		return p, err
	}
	defer os.Remove(f.Name())
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return p, err
	}
	if _, err := f.Write(append(data, '\n')); err != nil {
		f.Close()
		return p, err
	}
	if err := f.Close(); err != nil {
		return p, err
	}
	return p, os.Rename(f.Name(), p)
}

// normalizeURL checks a server URL and drops a trailing slash.
func normalizeURL(raw string) (string, error) {
	raw = strings.TrimSpace(raw)
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", allot.Errorf(allot.EInvalid, "'%s' is not a server URL; give it with the scheme, for example https://allot.example.com or http://127.0.0.1:8080.", raw)
	}
	return strings.TrimRight(u.String(), "/"), nil
}

// clientFromEnv returns a client for the server and token of ALLOT_URL and
// ALLOT_TOKEN, or else of the config file.
func clientFromEnv() (*client.Client, error) {
	c, _, err := loadConfig()
	if err != nil && os.Getenv("ALLOT_URL") == "" {
		return nil, err
	}
	if c == nil {
		c = &cliConfig{}
	}
	base, tok := c.URL, c.Token
	if v := os.Getenv("ALLOT_URL"); v != "" {
		base = v
	}
	if v := os.Getenv("ALLOT_TOKEN"); v != "" {
		tok = v
	}
	if base == "" || tok == "" {
		return nil, allot.Errorf(allot.EUnauthorized, "Not signed in: run 'allot login --url URL', or set ALLOT_URL and ALLOT_TOKEN.")
	}
	u, err := normalizeURL(base)
	if err != nil {
		return nil, err
	}
	cl := client.New(u, strings.TrimSpace(tok))
	cl.UserAgent = "allot-cli"
	return cl, nil
}
