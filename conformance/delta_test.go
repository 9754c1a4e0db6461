package conformance

import (
	"slices"
	"testing"

	msgraphgocore "github.com/microsoftgraph/msgraph-sdk-go-core"
	"github.com/microsoftgraph/msgraph-sdk-go/models"
	"github.com/microsoftgraph/msgraph-sdk-go/users"
)

// TestUsersDeltaAfterALicenseChange follows users/delta as Graph documents
// it: the first round pages with @odata.nextLink to an @odata.deltaLink;
// after a license change, the deltaLink returns the user with its new
// assignedLicenses.
func TestUsersDeltaAfterALicenseChange(t *testing.T) {
	g := newGraph(t)
	e5 := g.skuID(t, "SPE_E5")
	u := g.newUser(t, uniq(t, "delta"), "US")

	first := must[users.DeltaGetResponseable](t, "users/delta")(g.Users().Delta().GetAsDeltaGetResponse(ctx(t),
		&users.DeltaRequestBuilderGetRequestConfiguration{QueryParameters: &users.DeltaRequestBuilderGetQueryParameters{
			Select: []string{"id", "displayName", "assignedLicenses"}}}))
	it := must[*msgraphgocore.PageIterator[models.Userable]](t, "page iterator")(
		msgraphgocore.NewPageIterator[models.Userable](first, g.adapter, users.CreateDeltaGetResponseFromDiscriminatorValue))
	n := 0
	if err := it.Iterate(ctx(t), func(models.Userable) bool { n++; return true }); err != nil {
		t.Fatalf("first delta round: %s", describe(err))
	}
	link := it.GetOdataDeltaLink()
	if n < 250 || link == nil || *link == "" {
		t.Fatalf("first delta round: %d users, deltaLink %v", n, link)
	}

	must[models.Userable](t, "assignLicense")(g.assignUser(t, *u.GetId(), assigned(e5)))

	next := must[users.DeltaGetResponseable](t, "deltaLink")(g.Users().Delta().WithUrl(*link).GetAsDeltaGetResponse(ctx(t), nil))
	var changed models.Userable
	for _, v := range next.GetValue() {
		if v.GetId() != nil && *v.GetId() == *u.GetId() {
			changed = v
		}
	}
	if changed == nil {
		t.Fatalf("the user whose license changed is not in the delta (%d changes)", len(next.GetValue()))
	}
	var skus []string
	for _, a := range changed.GetAssignedLicenses() {
		skus = append(skus, a.GetSkuId().String())
	}
	if !slices.Contains(skus, e5.String()) {
		t.Fatalf("delta's assignedLicenses %v lack SPE_E5", skus)
	}
	if next.GetOdataDeltaLink() == nil && next.GetOdataNextLink() == nil {
		t.Fatal("the delta round has neither @odata.deltaLink nor @odata.nextLink")
	}
}
