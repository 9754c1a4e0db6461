package scim

// Cross-check of PATCH semantics against an independent implementation:
// scim-patch (npm, pinned in testdata/patchref/package.json), run with
// node. Each case applies the same operations to the same resource
// document with allot's applyPatch and with scim-patch; the results must
// be the same document, or both must refuse. Cases where allot departs
// from scim-patch on purpose (what Entra sends) are listed with why.
//
// The test needs node and npm; it installs the pinned package into
// testdata/patchref/node_modules once (npm ci), and skips, saying so, when
// either is missing or the install fails.

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"testing"
)

type patchCase struct {
	name string
	res  doc
	ops  []any
}

func refUser() doc {
	return doc{"schemas": []any{userSchema, enterpriseSchema}, "id": "u1", "userName": "adele@contoso.com",
		"displayName": "Adele Vance", "active": true, "title": "Engineer",
		"name":           doc{"givenName": "Adele", "familyName": "Vance"},
		"emails":         []any{doc{"value": "adele@contoso.com", "type": "work", "primary": true}, doc{"value": "adele@home.example", "type": "home"}},
		enterpriseSchema: doc{"department": "Sales", "employeeNumber": "42"}}
}

func refGroup() doc {
	return doc{"schemas": []any{groupSchema}, "id": "g1", "displayName": "Sales",
		"members": []any{doc{"value": "u1"}, doc{"value": "u2"}, doc{"value": "u3"}}}
}

func op(o, path string, value any) any {
	m := map[string]any{"op": o}
	if path != "" {
		m["path"] = path
	}
	if value != nil {
		m["value"] = value
	}
	return m
}

var patchCases = []patchCase{
	{"add a new simple attribute", refUser(), []any{op("add", "nickName", "Ady")}},
	{"add over an existing simple attribute replaces it", refUser(), []any{op("add", "title", "Lead")}},
	{"replace a simple attribute", refUser(), []any{op("replace", "title", "Lead")}},
	{"remove a simple attribute", refUser(), []any{op("remove", "title", nil)}},
	{"replace a sub-attribute", refUser(), []any{op("replace", "name.familyName", "Smith")}},
	{"add a sub-attribute", refUser(), []any{op("add", "name.middleName", "J")}},
	{"remove a sub-attribute", refUser(), []any{op("remove", "name.givenName", nil)}},
	{"replace a complex attribute keeps the sub-attributes not given", refUser(), []any{op("replace", "name", map[string]any{"familyName": "Smith"})}},
	{"replace through a value filter", refUser(), []any{op("replace", `emails[type eq "work"].value`, "a.vance@contoso.com")}},
	{"remove through a value filter", refUser(), []any{op("remove", `emails[type eq "home"]`, nil)}},
	{"remove a sub-attribute through a value filter", refUser(), []any{op("remove", `emails[type eq "work"].primary`, nil)}},
	{"add without a path", refUser(), []any{op("add", "", map[string]any{"nickName": "Ady", "title": "Lead"})}},
	{"replace without a path", refUser(), []any{op("replace", "", map[string]any{"displayName": "A. Vance", "active": false})}},
	{"replace without a path, a complex value merges", refUser(), []any{op("replace", "", map[string]any{"name": map[string]any{"givenName": "Ady"}})}},
	{"an enterprise attribute by its URN path", refUser(), []any{op("replace", enterpriseSchema+":department", "Marketing")}},
	{"add an enterprise attribute by its URN path", refUser(), []any{op("add", enterpriseSchema+":costCenter", "4130")}},
	{"remove an enterprise attribute by its URN path", refUser(), []any{op("remove", enterpriseSchema+":employeeNumber", nil)}},
	{"operations apply in order", refUser(), []any{op("replace", "title", "A"), op("replace", "title", "B"), op("remove", "nickName", nil)}},
	{"add members appends the new ones", refGroup(), []any{op("add", "members", []any{map[string]any{"value": "u4"}, map[string]any{"value": "u5"}})}},
	{"remove one member by a value filter", refGroup(), []any{op("remove", `members[value eq "u2"]`, nil)}},
	{"remove members by a filter matching none leaves them", refGroup(), []any{op("remove", `members[value eq "u9"]`, nil)}},
	{"remove all members", refGroup(), []any{op("remove", "members", nil)}},
	{"replace members", refGroup(), []any{op("replace", "members", []any{map[string]any{"value": "u7"}})}},
	{"rename a group", refGroup(), []any{op("replace", "displayName", "Sales EMEA")}},
	{"Entra: a capitalised op", refUser(), []any{op("Replace", "title", "Lead")}},
	{"Entra: remove members listed in the value", refGroup(), []any{op("Remove", "members", []any{map[string]any{"value": "u1"}, map[string]any{"value": "u3"}})}},
	{"Entra: add a work email to a user without emails", noEmails(), []any{op("Add", `emails[type eq "work"].value`, "adele@contoso.com")}},
	{"refused: remove without a path", refUser(), []any{op("remove", "", nil)}},
	{"refused: add without a path and a non-object value", refUser(), []any{op("add", "", "x")}},
}

func noEmails() doc {
	d := refUser()
	delete(d, "emails")
	return d
}

// departure is a case where allot reads a PATCH otherwise than scim-patch,
// on purpose: why, and what allot's result must be instead.
type departure struct {
	why   string
	check func(d doc) bool
}

var departures = map[string]departure{
	"replace without a path, a complex value merges": {
		"RFC 7644 §3.5.2.3 merges the sub-attributes of a complex attribute a replace targets (scim-patch does too, with a path); " +
			"allot reads a path-less replace of an attribute as that attribute's replace, so name keeps familyName",
		func(d doc) bool {
			n, _ := d["name"].(doc)
			return n["givenName"] == "Ady" && n["familyName"] == "Vance"
		},
	},
}

func TestPatchAgreesWithAnIndependentImplementation(t *testing.T) {
	dir, err := filepath.Abs(filepath.Join("testdata", "patchref"))
	if err != nil {
		t.Fatal(err)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed: the PATCH cross-check with scim-patch needs it")
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "scim-patch")); err != nil {
		npm, err := exec.LookPath("npm")
		if err != nil {
			t.Skip("npm is not installed: cannot install scim-patch for the PATCH cross-check")
		}
		cmd := exec.Command(npm, "ci", "--no-audit", "--no-fund", "--ignore-scripts")
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Skipf("npm ci in %s failed, no PATCH cross-check: %v\n%s", dir, err, out)
		}
	}
	var in []map[string]any
	for _, c := range patchCases {
		in = append(in, map[string]any{"resource": c.res, "operations": c.ops})
	}
	b, _ := json.Marshal(in)
	cmd := exec.Command(node, filepath.Join(dir, "apply.js"))
	cmd.Dir = dir
	cmd.Stdin = bytes.NewReader(b)
	raw, err := cmd.Output()
	if err != nil {
		t.Fatalf("scim-patch: %v", err)
	}
	var ref []struct {
		Result doc    `json:"result"`
		Error  string `json:"error"`
	}
	if err := json.Unmarshal(raw, &ref); err != nil || len(ref) != len(patchCases) {
		t.Fatalf("scim-patch answered %d results (%v): %s", len(ref), err, raw)
	}
	for i, c := range patchCases {
		t.Run(c.name, func(t *testing.T) {
			body := doc{"schemas": []any{patchSchema}, "Operations": roundTrip(c.ops)}
			ours, oerr := func() (doc, error) {
				ops, err := readPatch(body)
				if err != nil {
					return nil, err
				}
				return applyPatch(roundTripDoc(c.res), ops)
			}()
			theirs := ref[i]
			if dep, ok := departures[c.name]; ok {
				if oerr != nil || !dep.check(ours) {
					t.Fatalf("allot: %v, %s; want what allot documents: %s", oerr, mustJSON(ours), dep.why)
				}
				if theirs.Error == "" && reflect.DeepEqual(canonJSON(ours), canonJSON(theirs.Result)) {
					t.Errorf("listed as a departure, but allot and scim-patch agree now: drop it from departures")
				}
				t.Logf("a departure from scim-patch (%s): %s", theirs.Error, dep.why)
				return
			}
			switch {
			case (oerr == nil) != (theirs.Error == ""):
				t.Errorf("allot: %v; scim-patch: %q", oerr, theirs.Error)
			case oerr == nil:
				a, b := canonJSON(ours), canonJSON(theirs.Result)
				if !reflect.DeepEqual(a, b) {
					t.Errorf("allot gives\n  %s\nscim-patch gives\n  %s", mustJSON(a), mustJSON(b))
				}
			}
		})
	}
}

// roundTrip makes v as json.Decoder with UseNumber reads a request body.
func roundTrip(v any) any {
	b, _ := json.Marshal(v)
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var out any
	dec.Decode(&out)
	return out
}

func roundTripDoc(d doc) doc { return roundTrip(d).(doc) }

// canonJSON reads v back from JSON, so that both sides compare as plain
// JSON values (numbers as float64).
func canonJSON(v any) any {
	b, _ := json.Marshal(v)
	var out any
	json.Unmarshal(b, &out)
	return out
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
