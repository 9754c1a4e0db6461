package client

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
)

// SeatPoint is one interval of a product's seat history.
type SeatPoint struct {
	DateTime          string `json:"dateTime"`
	EnabledUnits      int    `json:"enabledUnits"`
	ConsumedUnits     int    `json:"consumedUnits"`
	WaitingUnits      int    `json:"waitingUnits"`
	AvailableUnits    int    `json:"availableUnits"`
	PeakConsumedUnits int    `json:"peakConsumedUnits"`
}

// SeatHistory reads a product's seat history (GET
// /allot/v1/reports/seatHistory), following @odata.nextLink; from and to
// are dates or RFC 3339 times ("" for the server's defaults).
func (c *Client) SeatHistory(ctx context.Context, sku, interval, from, to string) ([]SeatPoint, error) {
	q := url.Values{"skuId": {sku}}
	for k, v := range map[string]string{"interval": interval, "from": from, "to": to} {
		if v != "" {
			q.Set(k, v)
		}
	}
	var out []SeatPoint
	path := "/allot/v1/reports/seatHistory?" + q.Encode()
	for path != "" {
		var page struct {
			Value []SeatPoint `json:"value"`
			Next  string      `json:"@odata.nextLink"`
		}
		if _, err := c.Do(ctx, "GET", path, nil, &page); err != nil {
			return nil, err
		}
		out = append(out, page.Value...)
		path = page.Next
	}
	return out, nil
}

// StreamCSV GETs a report as text/csv and copies it to w as it arrives
// (constant memory whatever its size). An error answer is decoded as usual.
func (c *Client) StreamCSV(ctx context.Context, path string, w io.Writer) error {
	req, err := http.NewRequestWithContext(ctx, "GET", c.BaseURL+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "text/csv")
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	if c.UserAgent != "" {
		req.Header.Set("User-Agent", c.UserAgent)
	}
	resp, err := c.httpClient().Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return &Error{Message: fmt.Sprintf("Cannot reach the allot server at %s: %v", c.BaseURL, unwrapURLError(err))}
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 400 {
		data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		return decodeError(resp, data)
	}
	if _, err := io.Copy(w, resp.Body); err != nil {
		return fmt.Errorf("the report was cut off: %w", err)
	}
	return nil
}
