package hitron

import (
	"strconv"
	"strings"
)

// This file reads getLinkStatus.asp: the Ethernet ports.

// LinkPort is one row of getLinkStatus.asp.
type LinkPort struct {
	Port  string
	Up    Value
	Speed Value // bytes per second
}

// linkJSON is the page's JSON shape (only the fields read).
type linkJSON struct {
	Status flex `json:"LinkStatus"`
	Speed  flex `json:"LinkSpeed"`
}

// parseLinkPage reads the page into d.
func parseLinkPage(d *Data, body []byte, maxRows int) error {
	rows, err := decodeRows[linkJSON](body, maxRows)
	if err != nil {
		return err
	}
	d.Links = make([]LinkPort, 0, len(rows))
	for i, r := range rows {
		lp := LinkPort{Port: strconv.Itoa(i + 1)}
		switch strings.ToLower(r.Status.String()) {
		case "up":
			lp.Up = Some(1)
		case "down":
			lp.Up = Some(0)
		}
		if v := ParseNumber(strings.TrimSuffix(strings.ToLower(r.Speed.String()), "mbps")); v.Valid {
			lp.Speed = Some(v.V * 1e6 / 8)
		}
		d.Links = append(d.Links, lp)
	}
	return nil
}
