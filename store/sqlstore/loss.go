package sqlstore

import (
	"fmt"
	"slices"
	"strings"

	"allot"
	"allot/licensing"
)

// remove records that the transaction takes the grant of product (0: every
// product) from source away on purpose: losses through it are explicit.
func (t *tx) remove(source, product int64) {
	if t.removed == nil {
		t.removed = licensing.Removed{}
	}
	t.removed[[2]int64{source, product}] = true
}

// losses lists who a plan takes which product from, with names, and
// whether the transaction's own removals explain each loss.
func (t *tx) losses(b *batch, plan *licensing.Plan) ([]allot.Loss, error) {
	ls := plan.ExplicitLosses(t.removed)
	return ls, t.nameLosses(b.cat, ls)
}

// nameLosses fills in the user and product names of losses.
func (t *tx) nameLosses(cat *licensing.Catalog, ls []allot.Loss) error {
	var ids []int64
	for _, l := range ls {
		if !slices.Contains(ids, l.UserID) {
			ids = append(ids, l.UserID)
		}
	}
	names, err := t.userNames(ids)
	if err != nil {
		return err
	}
	for i := range ls {
		l := &ls[i]
		l.UserGUID, l.UserPrincipalName = names[l.UserID][0], names[l.UserID][1]
		if p := cat.Product(l.ProductID); p != nil {
			l.SkuID, l.SkuPartNumber = p.SkuID, p.SkuPartNumber
		}
	}
	return nil
}

// refuseLoss returns the error that refuses a change because of the side
// effects in losses (rule 11), or nil when there are none. what names the
// change for the message.
func refuseLoss(losses []allot.Loss, what string) error {
	side := licensing.SideEffects(losses)
	if len(side) == 0 {
		return nil
	}
	users := map[int64]bool{}
	perProduct := map[string]int{}
	var parts []string
	for _, l := range side {
		users[l.UserID] = true
		if perProduct[l.SkuPartNumber] == 0 {
			parts = append(parts, l.SkuPartNumber)
		}
		perProduct[l.SkuPartNumber]++
	}
	slices.Sort(parts)
	var lines []string
	for _, p := range parts {
		lines = append(lines, fmt.Sprintf("%s from %d", p, perProduct[p]))
	}
	var who []string
	for _, l := range side[:min(len(side), 5)] {
		who = append(who, fmt.Sprintf("%s (%s)", l.UserPrincipalName, l.SkuPartNumber))
	}
	more := ""
	if len(side) > 5 {
		more = fmt.Sprintf(" and %d more", len(side)-5)
	}
	return &allot.Error{Code: allot.ELicenseLoss, Err: &allot.LossError{Losses: side},
		Message: fmt.Sprintf("%s would take licenses away from %s: %s (%s%s). Preview it with POST /allot/v1/preview; to go ahead, confirm it (confirmLicenseLoss: true, or ?confirmLicenseLoss=true; on the CLI --yes).",
			what, people(len(users)), strings.Join(lines, ", "), strings.Join(who, ", "), more)}
}

// checkGroupLoss refuses a change of group g's intents, already made in the
// transaction, when it would take licenses from its members as a side
// effect (rule 11): the members are recomputed under the new intents
// without writing anything. Only prerequisites make such losses, so a
// tenant without them needs no check.
func (t *tx) checkGroupLoss(tenantID int64, g *allot.Group, products []*allot.Product, what string) error {
	if !anyPrerequisite(products) {
		return nil
	}
	users, err := t.groupUsers(g.ID)
	if err != nil {
		return err
	}
	return t.checkUsersLoss(tenantID, users, products, what)
}

// checkUsersLoss recomputes users under the transaction's intents, writes
// nothing, and refuses the side-effect losses it finds.
func (t *tx) checkUsersLoss(tenantID int64, users []int64, products []*allot.Product, what string) error {
	if len(users) == 0 {
		return nil
	}
	b, err := t.loadBatch(tenantID, users, products, noLock)
	if err != nil {
		return err
	}
	losses, err := t.losses(b, licensing.Recompute(b.snap))
	if err != nil {
		return err
	}
	return refuseLoss(losses, what)
}

func anyPrerequisite(products []*allot.Product) bool {
	for _, p := range products {
		if len(p.Rules.RequiresAnyOf) > 0 {
			return true
		}
	}
	return false
}

// groupUsers returns every user in group g, transitively.
func (t *tx) groupUsers(g int64) ([]int64, error) {
	var users []int64
	err := t.s.expand(t.ctx, t.tx, g, func(typ int, id int64) {
		if typ == 0 {
			users = append(users, id)
		}
	})
	return users, err
}

// people says "1 person" or "N people".
func people(n int) string {
	if n == 1 {
		return "1 person"
	}
	return fmt.Sprintf("%d people", n)
}

// checkMemberLoss refuses a membership removal, already made in the
// transaction, that would take from the member's users more than what came
// through the group: an add-on they keep from elsewhere whose prerequisite
// the group granted (rule 11).
func (t *tx) checkMemberLoss(tenantID int64, g *allot.Group, typ int, mid int64) error {
	products, err := t.products(tenantID)
	if err != nil || !anyPrerequisite(products) {
		return err
	}
	users := []int64{mid}
	if typ != 0 {
		if users, err = t.groupUsers(mid); err != nil {
			return err
		}
	}
	return t.checkUsersLoss(tenantID, users, products, fmt.Sprintf("Removing this member from group '%s'", g.DisplayName))
}
