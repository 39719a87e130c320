package hitron

import "strings"

// This file reads getConnectInfo.asp: the LAN clients.

// ConnectedClient is one row of getConnectInfo.asp.
type ConnectedClient struct {
	Interface string
	Online    bool
}

// connectJSON is the page's JSON shape (only the fields read).
type connectJSON struct {
	Interface flex `json:"interface"`
	Online    flex `json:"online"`
}

// parseConnectPage reads the page into d.
func parseConnectPage(d *Data, body []byte, maxRows int) error {
	rows, err := decodeRows[connectJSON](body, maxRows)
	if err != nil {
		return err
	}
	d.HasConnects = true
	d.Clients = make([]ConnectedClient, 0, len(rows))
	for _, r := range rows {
		d.Clients = append(d.Clients, ConnectedClient{
			Interface: r.Interface.String(),
			Online:    strings.EqualFold(r.Online.String(), "active"),
		})
	}
	return nil
}
