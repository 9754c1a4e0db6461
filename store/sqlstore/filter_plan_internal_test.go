package sqlstore

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"allot/odata"
	"allot/store"
)

// TestFilterByIDsUsesTheGUIDIndex: on SQLite, a list of users filtered by
// id (id eq … or id in (…), alone or and-ed with more) looks the ids up in
// the GUID index instead of walking every user of the tenant in id order
// for the ORDER BY and LIMIT; other filters keep the id-order walk.
func TestFilterByIDsUsesTheGUIDIndex(t *testing.T) {
	s, err := OpenSQLite(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	ten, err := s.CreateTenant(ctx, "Plans", "NAM", "US")
	if err != nil {
		t.Fatal(err)
	}
	users := make([]LoadUser, 20000)
	for i := range users {
		users[i] = LoadUser{UserPrincipalName: fmt.Sprintf("u%05d@plans.test", i), UsageLocation: "US"}
	}
	if _, err := s.LoadUsers(ctx, ten.ID, users); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		filter string
		index  bool
	}{
		{"id in ('0b3f9c56-3c1a-4a4e-9d1e-2f8b1d6a7c01', '5d590522-3423-401d-a0c6-819ab1d18e4d')", true},
		{"id eq '0b3f9c56-3c1a-4a4e-9d1e-2f8b1d6a7c01'", true},
		{"accountEnabled eq true and id in ('0b3f9c56-3c1a-4a4e-9d1e-2f8b1d6a7c01')", true},
		{"accountEnabled eq true", false},
		{"id in (" + strings.Repeat("'0b3f9c56-3c1a-4a4e-9d1e-2f8b1d6a7c01', ", 14) + "'5d590522-3423-401d-a0c6-819ab1d18e4d')", true},
	} {
		f, err := odata.ParseFilter(c.filter)
		if err != nil {
			t.Fatal(err)
		}
		_, page, order, _, args, err := s.listWhere(userResource, "u", ten.ID, store.ListOptions{Filter: f, Top: 100})
		if err != nil {
			t.Fatal(err)
		}
		rows, err := s.DB().Query(`EXPLAIN QUERY PLAN SELECT `+userCols+` FROM users u WHERE `+page+order+` LIMIT 101`, args...)
		if err != nil {
			t.Fatal(err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		rows.Close()
		p := strings.Join(plan, "; ")
		if uses := strings.Contains(p, "(guid="); uses != c.index {
			t.Errorf("%s: plan %q, want the GUID index: %v", c.filter, p, c.index)
		}
	}
}
