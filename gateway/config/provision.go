package config

// Provisioning configures the settings files phones and softphones fetch
// (46xxsettings.txt, seed 003) and the per-user provisioning endpoints.
type Provisioning struct {
	// Listen is an extra HTTPS listener, host:port, that serves only the
	// settings files (/46xxsettings.txt, /46xxspecials.txt), with the
	// certificate of the HTTPS side; IP Office uses 411 when "Use
	// preferred phone ports" is on (seed 003 ch. 2). The files are also
	// served on http.listen. Default: "" (none).
	Listen string `yaml:"listen"`

	// HTTPListen is a plain HTTP listener, host:port, serving only the
	// settings files, for phones that cannot fetch them over HTTPS (seed
	// 003: 80, or 8411 with preferred phone ports). The files carry no
	// secrets, but plain HTTP can be altered on the way: leave it off
	// unless phones need it. Default: "" (off).
	HTTPListen string `yaml:"http_listen"`

	// Host is the name clients reach the gateway at, written into the
	// settings file (SIP_CONTROLLER_LIST, SETTINGS_FILE_URL) and the web
	// phone URL of the QR codes; seed 003 asks for an FQDN, not an IP
	// address. Default: sip.public_address, else the first domain.
	Host string `yaml:"host"`

	// SettingsCheckInterval is SETTINGS_CHECK_INTERVAL, the days between
	// a client's re-reads of the settings file, 1 to 30. Default: 1 (as
	// IP Office, seed 003 ch. 12).
	SettingsCheckInterval int `yaml:"settings_check_interval"`

	// AvayaClientsOnly serves the settings files only to clients whose
	// User-Agent starts with "Avaya" (IP Office's "Avaya HTTP Clients
	// Only", seed 003 ch. 19); others get 403. Default: false.
	AvayaClientsOnly bool `yaml:"avaya_clients_only"`
}

// Directory configures the directory search of the attendant API (issue
// 14, seed 004).
type Directory struct {
	// SearchMaxResults caps the entries one search returns ("search max
	// results", seed 004), 1 to 500. Default: 100.
	SearchMaxResults int `yaml:"search_max_results"`
}

// MaxDirectoryResults is the largest directory.search_max_results.
const MaxDirectoryResults = 500

func defaultProvisioning() Provisioning { return Provisioning{SettingsCheckInterval: 1} }

func defaultDirectory() Directory { return Directory{SearchMaxResults: 100} }

// ProvisioningHost returns provisioning.host, else sip.public_address,
// else the first domain.
func (c *Config) ProvisioningHost() string {
	switch {
	case c.Provisioning.Host != "":
		return c.Provisioning.Host
	case c.SIP.PublicAddress != "":
		return c.SIP.PublicAddress
	case len(c.Domain) > 0:
		return c.Domain[0]
	}
	return "localhost"
}

func (d *decoder) validateProvisioning(c *Config) {
	p := &c.Provisioning
	var socks []bound
	if c.HTTP.Listen != "" {
		if host, port, err := parseHostPort(c.HTTP.Listen); err == nil {
			socks = append(socks, newBound("http.listen", c.HTTP.Listen, "tcp", host, port))
		}
	}
	for _, k := range []struct{ key, v string }{{"provisioning.listen", p.Listen}, {"provisioning.http_listen", p.HTTPListen}} {
		if k.v == "" {
			continue
		}
		host, port, err := parseHostPort(k.v)
		if err != nil {
			d.errorf(k.key, "%q: %v", k.v, err)
			continue
		}
		b := newBound(k.key, k.v, "tcp", host, port)
		for _, a := range socks {
			if a.overlaps(b) {
				d.errorf(k.key, "%s uses TCP port %d, as does %s (%s)", k.v, port, a.key, a.desc)
				break
			}
		}
		socks = append(socks, b)
	}
	if (p.Listen != "" || p.HTTPListen != "") && c.HTTP.Listen == "" {
		d.errorf("provisioning.listen", "needs http.listen: the settings files are served by the HTTPS side")
	}
	if p.Host != "" && !validHost(p.Host) {
		d.errorf("provisioning.host", "%q is not a valid host name or IP address", p.Host)
	}
	if p.SettingsCheckInterval < 1 || p.SettingsCheckInterval > 30 {
		d.errorf("provisioning.settings_check_interval", "%d is out of range: must be from 1 to 30 (days)", p.SettingsCheckInterval)
	}
	if n := c.Directory.SearchMaxResults; n < 1 || n > MaxDirectoryResults {
		d.errorf("directory.search_max_results", "%d is out of range: must be from 1 to %d", n, MaxDirectoryResults)
	}
}
