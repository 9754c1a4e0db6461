package sqlstore

import (
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"allot"
	"allot/licensing"
	"allot/membershiprule"
	"allot/store"
)

// Dynamic membership groups: a group with a rule (rule_state On or Paused)
// has the members its rule selects, computed here and written through the
// same marks as any membership change (markMembershipChanges), so that
// licensing follows. A rule is evaluated over every user of the tenant
// when it is set, changed or turned On (recomputeRule), and for one user
// when the user is created or changes an attribute the rule reads
// (applyDynamicRules), in the transaction of that change.

// ruleChunk is how many users a full evaluation loads at a time.
const ruleChunk = 2000

// compiledRule is a parsed rule with the properties it reads.
type compiledRule struct {
	rule  *membershiprule.Rule
	reads []string
	// sql is the rule as a condition on users rows, when the database can
	// decide it (rulesql.go); nil otherwise.
	sql *ruleSQL
}

// errDynamicMembers is Graph's answer to adding or removing a member of a
// dynamic group by hand.
func refuseDynamicMembers(g *allot.Group) error {
	if !g.Dynamic() {
		return nil
	}
	return allot.Errorf(allot.EForbidden, "Insufficient privileges to complete the operation. The members of dynamic group '%s' are computed by its membershipRule; they cannot be added or removed by hand.", g.DisplayName)
}

// parseRule parses a membership rule into a refusal that says where and
// what was expected.
func parseRule(src string) (*membershiprule.Rule, error) {
	r, err := membershiprule.Parse(src)
	var se *membershiprule.SyntaxError
	if errors.As(err, &se) {
		return nil, allot.Errorf(allot.EInvalid, "Invalid membershipRule: %s.", se.Error())
	}
	return r, err
}

// compiled returns the parsed form of a stored rule, parsed once per text.
func (s *Store) compiled(src string) (*compiledRule, error) {
	if c, ok := s.rules.Load(src); ok {
		return c.(*compiledRule), nil
	}
	r, err := parseRule(src)
	if err != nil {
		return nil, err
	}
	c := &compiledRule{rule: r, reads: membershiprule.Reads(r)}
	if q, ok := translateRule(r, s.engine); ok {
		c.sql = q
	}
	s.rules.Store(src, c)
	return c, nil
}

// RuleSpec is what a create or a patch says about a group's rule.
type RuleSpec struct {
	// Dynamic is groupTypes: true with DynamicMembership, false with [];
	// nil when not given.
	Dynamic *bool
	Rule    *string
	State   *string
}

// checkRuleState normalizes membershipRuleProcessingState.
func checkRuleState(s string) (string, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "on":
		return allot.RuleOn, nil
	case "paused":
		return allot.RulePaused, nil
	}
	return "", allot.Errorf(allot.EInvalid, "Invalid value '%s' for membershipRuleProcessingState: it is On or Paused.", s)
}

// applyRuleSpec sets g's rule fields from spec (without writing them) and
// tells whether the members must be computed again.
func applyRuleSpec(g *allot.Group, spec RuleSpec) (recompute bool, changes []allot.Change, err error) {
	oldRule, oldState := g.MembershipRule, g.RuleState
	if spec.Dynamic != nil && !*spec.Dynamic {
		if spec.Rule != nil && *spec.Rule != "" {
			return false, nil, allot.Errorf(allot.EInvalid, "membershipRule needs groupTypes [\"DynamicMembership\"].")
		}
		// An assigned group keeps the members it had.
		g.MembershipRule, g.RuleState = "", ""
	} else {
		dynamic := g.Dynamic() || (spec.Dynamic != nil && *spec.Dynamic)
		if !dynamic && (spec.Rule != nil || spec.State != nil) {
			return false, nil, allot.Errorf(allot.EInvalid, "membershipRule and membershipRuleProcessingState need groupTypes [\"DynamicMembership\"].")
		}
		if !dynamic {
			return false, nil, nil
		}
		if spec.Rule != nil {
			g.MembershipRule = strings.TrimSpace(*spec.Rule)
		}
		if g.MembershipRule == "" {
			return false, nil, allot.Errorf(allot.EInvalid, "A dynamic group (groupTypes [\"DynamicMembership\"]) needs a membershipRule.")
		}
		if _, err := parseRule(g.MembershipRule); err != nil {
			return false, nil, err
		}
		if g.RuleState == "" {
			g.RuleState = allot.RuleOn
		}
		if spec.State != nil {
			if g.RuleState, err = checkRuleState(*spec.State); err != nil {
				return false, nil, err
			}
		}
	}
	if g.MembershipRule != oldRule {
		changes = append(changes, allot.Change{Property: "membershipRule", Old: oldRule, New: g.MembershipRule})
	}
	if g.RuleState != oldState {
		changes = append(changes, allot.Change{Property: "membershipRuleProcessingState", Old: oldState, New: g.RuleState})
	}
	recompute = g.RuleState == allot.RuleOn && (g.MembershipRule != oldRule || oldState != allot.RuleOn)
	return recompute, changes, nil
}

// setGroupRule applies spec to g (locked by the transaction), stores it
// and, when the rule is new, changed or turned On, computes the members.
// Unless confirm, a new evaluation that would take licenses from members
// (those who leave lose what the group granted) is refused (rule 11): the
// admin changed a rule, not named the people who lose.
func (t *tx) setGroupRule(tenantID int64, a allot.Actor, g *allot.Group, spec RuleSpec, confirm bool) ([]allot.Change, error) {
	recompute, changes, err := applyRuleSpec(g, spec)
	if err != nil || len(changes) == 0 {
		return nil, err
	}
	if _, err := t.exec(`UPDATE dir_groups SET membership_rule = ?, rule_state = ? WHERE id = ?`, g.MembershipRule, g.RuleState, g.ID); err != nil {
		return nil, err
	}
	if !recompute {
		return changes, nil
	}
	add, remove, err := t.recomputeRule(tenantID, a, g)
	if err != nil || confirm {
		return changes, err
	}
	return changes, t.checkRuleLoss(tenantID, g, append(add, remove...))
}

// checkRuleLoss refuses a rule evaluation, already written in the
// transaction, that takes licenses from the users who joined or left g,
// when g or a group containing it assigns licenses (otherwise membership
// of g grants nothing). The users are recomputed in pieces, writing nothing.
func (t *tx) checkRuleLoss(tenantID int64, g *allot.Group, users []int64) error {
	if len(users) == 0 {
		return nil
	}
	parents, err := t.ancestors(tenantID, g.ID)
	if err != nil {
		return err
	}
	licensed, err := t.licensedAmong(append(parents, g.ID))
	if err != nil || len(licensed) == 0 {
		return err
	}
	products, err := t.products(tenantID)
	if err != nil {
		return err
	}
	var losses []allot.Loss
	for start := 0; start < len(users); start += 25000 {
		b, err := t.loadBatch(tenantID, users[start:min(start+25000, len(users))], products, noLock)
		if err != nil {
			return err
		}
		ls, err := t.losses(b, licensing.Recompute(b.snap))
		if err != nil {
			return err
		}
		losses = append(losses, ls...)
	}
	return refuseLoss(losses, fmt.Sprintf("Changing the membership rule of group '%s'", g.DisplayName))
}

// recomputeRule evaluates g's rule over every user of the tenant and
// writes the difference to g's direct user members; it returns who joined
// and who left.
func (t *tx) recomputeRule(tenantID int64, a allot.Actor, g *allot.Group) (add, remove []int64, err error) {
	c, err := t.s.compiled(g.MembershipRule)
	if err != nil {
		return nil, nil, err
	}
	want, err := t.ruleMatches(tenantID, c)
	if err != nil {
		return nil, nil, err
	}
	have, err := t.directUserMembers(g.ID)
	if err != nil {
		return nil, nil, err
	}
	for id := range want {
		if !have[id] {
			add = append(add, id)
		}
	}
	for id := range have {
		if !want[id] {
			remove = append(remove, id)
		}
	}
	slices.Sort(add)
	slices.Sort(remove)
	// Not on purpose: who leaves loses through the group only with the
	// admin's confirmation (setGroupRule).
	if err := t.writeRuleMembers(tenantID, g, add, remove, false); err != nil {
		return nil, nil, err
	}
	if t.preview {
		t.recordRuleDiff(g, len(want), add, remove)
	}
	return add, remove, t.audit(tenantID, a, allot.AuditEvent{Category: "GroupManagement", Activity: allot.ActUpdateGroup, TargetKind: "Group",
		TargetID: g.GUID, TargetName: g.DisplayName, ResultReason: "Membership rule evaluated over every user: " + g.MembershipRule,
		Changes: []allot.Change{{Property: "membersAddedByRule", New: fmt.Sprint(len(add))}, {Property: "membersRemovedByRule", New: fmt.Sprint(len(remove))}}})
}

// ruleMatches returns the users of the tenant that satisfy c. When the
// database can decide the rule (rulesql.go), it selects the matching users
// whose values are ASCII, and only the others are read and evaluated here.
func (t *tx) ruleMatches(tenantID int64, c *compiledRule) (map[int64]bool, error) {
	if c.sql == nil {
		return t.ruleMatchesRead(tenantID, c, "")
	}
	// The unary + makes it one pass over the table, not a lookup per row
	// through the tenant's index.
	rows, err := t.query(`SELECT id FROM users WHERE +tenant_id = ? AND NOT (`+c.sql.nonASCII()+`) AND (`+c.sql.cond+`)`,
		append([]any{tenantID}, c.sql.args...)...)
	ids, err := collect(rows, err, scanInt64)
	if err != nil {
		return nil, err
	}
	want, err := t.ruleMatchesRead(tenantID, c, c.sql.nonASCII())
	if err != nil {
		return nil, err
	}
	for _, id := range ids {
		want[id] = true
	}
	return want, nil
}

// ruleMatchesRead reads the tenant's users (those that also satisfy the
// SQL condition extra, when given) in chunks and returns those that satisfy
// c by membershiprule.Eval.
func (t *tx) ruleMatchesRead(tenantID int64, c *compiledRule, extra string) (map[int64]bool, error) {
	plans := slices.Contains(c.reads, "assignedPlans")
	// Only the columns the rule reads are read (the others come as empty
	// constants).
	cols := ruleCols(c.reads)
	if extra != "" {
		extra = " AND (" + extra + ")"
	}
	want := map[int64]bool{}
	for after := int64(0); ; {
		if err := t.check(); err != nil {
			return nil, err
		}
		// The unary + walks users in id order, not through the tenant's
		// name index and a sort per chunk (as ListUsers does).
		users, err := t.ruleUsersCols(cols, `+tenant_id = ? AND id > ?`+extra+` ORDER BY id LIMIT ?`, tenantID, after, ruleChunk)
		if err != nil {
			return nil, err
		}
		if len(users) == 0 {
			return want, nil
		}
		after = users[len(users)-1].ID
		ins, err := t.ruleInputs(tenantID, users, plans)
		if err != nil {
			return nil, err
		}
		for i, u := range users {
			if membershiprule.Eval(c.rule, ins[i]) {
				want[u.ID] = true
			}
		}
	}
}

// ruleUsers loads the users a condition selects.
func (t *tx) ruleUsers(cond string, args ...any) ([]*allot.User, error) {
	return t.ruleUsersCols(strings.ReplaceAll(userCols, "u.", ""), cond, args...)
}

// ruleUsersCols loads the users a condition selects, with the columns cols
// (userCols' shape, see ruleCols).
func (t *tx) ruleUsersCols(cols, cond string, args ...any) ([]*allot.User, error) {
	rows, err := t.query(`SELECT `+cols+` FROM users WHERE `+cond, args...)
	return collect(rows, err, func(r *sql.Rows) (*allot.User, error) { return scanUser(r) })
}

// ruleColumn is the users column of each property a rule reads as a
// column of its own; the others are in the profile.
var ruleColumn = map[string]string{"userPrincipalName": "upn", "displayName": "display_name", "givenName": "given_name",
	"surname": "surname", "mail": "mail", "jobTitle": "job_title", "department": "department", "usageLocation": "usage_location",
	"accountEnabled": "account_enabled"}

// ruleCols is userCols (without the alias) for a rule reading the
// properties reads: a column the rule does not read is an empty constant,
// so that a full evaluation reads and decodes only what the rule needs (id
// and GUID always).
func ruleCols(reads []string) string {
	need := map[string]bool{"id": true, "tenant_id": true, "guid": true, "created_at": true}
	for _, p := range reads {
		if col, ok := ruleColumn[p]; ok {
			need[col] = true
		} else if p != "assignedPlans" {
			need["profile"] = true
		}
	}
	var out []string
	for _, col := range strings.Split(strings.ReplaceAll(userCols, "u.", ""), ",") {
		col = strings.TrimSpace(col)
		switch {
		case need[col]:
			out = append(out, col)
		case col == "account_enabled":
			out = append(out, "0")
		case col == "profile":
			out = append(out, "'{}'")
		default:
			out = append(out, "''")
		}
	}
	return strings.Join(out, ", ")
}

// directUserMembers returns the users that are direct members of group g.
func (t *tx) directUserMembers(g int64) (map[int64]bool, error) {
	rows, err := t.query(`SELECT member_id FROM memberships WHERE group_id = ? AND member_type = 0`, g)
	ids, err := collect(rows, err, scanInt64)
	if err != nil {
		return nil, err
	}
	out := make(map[int64]bool, len(ids))
	for _, id := range ids {
		out[id] = true
	}
	return out, nil
}

// writeRuleMembers adds and removes direct user members of g with one
// statement each (the ids as one JSON array on SQLite, one array on
// PostgreSQL), records them for the groups delta feed, and marks them as
// AddMember and RemoveMember do. onPurpose makes what leavers had through g
// an explicit loss (a user's own attributes moved it out), as RemoveMember
// does.
func (t *tx) writeRuleMembers(tenantID int64, g *allot.Group, add, remove []int64, onPurpose bool) error {
	if len(add) > 0 {
		last, err := t.nextSeqs(len(add))
		if err != nil {
			return err
		}
		list, arg := t.idList(add)
		// add holds no member the transaction read. On PostgreSQL a
		// concurrent insert of one of them (a restore) fails this one with
		// a unique violation, and the store runs the write again (retry.go):
		// no ON CONFLICT, whose speculative insertion writes one more WAL
		// record per row (a third of a large rule's membership time).
		conflict := ` ON CONFLICT (member_type, member_id, group_id) DO NOTHING`
		if t.s.engine == Postgres {
			conflict = ""
		}
		if _, err := t.exec(`INSERT INTO memberships (group_id, seq, member_type, member_id, tenant_id)
			SELECT ?, ? + x.o, 0, x.m, ? FROM `+list+` WHERE true`+conflict, g.ID, last-int64(len(add)), tenantID, arg); err != nil {
			return err
		}
	}
	if len(remove) > 0 {
		list, arg := t.idList(remove)
		if _, err := t.exec(`DELETE FROM memberships WHERE group_id = ? AND member_type = 0 AND member_id IN (SELECT x.m FROM `+list+`)`,
			g.ID, arg); err != nil {
			return err
		}
	}
	if len(remove) > 0 && onPurpose {
		// What members had through the group goes because the rule says so.
		parents, err := t.ancestors(tenantID, g.ID)
		if err != nil {
			return err
		}
		for _, src := range append(parents, g.ID) {
			t.remove(src, 0)
		}
	}
	t.recordMemberList(tenantID, g, add, Present)
	t.recordMemberList(tenantID, g, remove, RemovedDeleted)
	return t.markMembershipChanges(tenantID, g.ID, append(append([]int64{}, add...), remove...))
}

// idList is a table expression x(m, o) of ids, o counting from 1 in order,
// and the one argument it binds.
func (t *tx) idList(ids []int64) (string, any) {
	if t.s.engine == Postgres {
		return `unnest(?::bigint[]) WITH ORDINALITY AS x(m, o)`, ids
	}
	b := make([]byte, 0, 8*len(ids)+2)
	b = append(b, '[')
	for i, id := range ids {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, id, 10)
	}
	return `(SELECT value AS m, key + 1 AS o FROM json_each(?)) AS x`, string(append(b, ']'))
}

// ruleInputs gives each user's properties as rules read them; with plans,
// also the service plans the user's active licenses enable.
func (t *tx) ruleInputs(tenantID int64, users []*allot.User, plans bool) ([]membershiprule.User, error) {
	out := make([]membershiprule.User, len(users))
	for i, u := range users {
		out[i] = ruleInput(u)
	}
	if !plans || len(users) == 0 {
		return out, nil
	}
	products, err := t.products(tenantID)
	if err != nil {
		return nil, err
	}
	byID := map[int64]*allot.Product{}
	for _, p := range products {
		byID[p.ID] = p
	}
	index := map[int64]int{}
	ids := make([]int64, len(users))
	for i, u := range users {
		index[u.ID], ids[i] = i, u.ID
	}
	for start := 0; start < len(ids); start += 500 {
		chunk := ids[start:min(start+500, len(ids))]
		rows, err := t.query(`SELECT user_id, product_id, disabled_plans FROM license_states WHERE state = ? AND user_id IN (`+
			placeholders(len(chunk))+`) ORDER BY user_id, product_id`, append([]any{allot.StateActive}, idArgs(chunk)...)...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var uid, pid int64
			var dis string
			if err := rows.Scan(&uid, &pid, &dis); err != nil {
				rows.Close()
				return nil, err
			}
			in := &out[index[uid]]
			off := decodePlans(dis)
			for _, sp := range byID[pid].ServicePlans {
				if !slices.ContainsFunc(off, func(d string) bool { return strings.EqualFold(d, sp.ID) }) &&
					!slices.ContainsFunc(in.AssignedPlans, func(p membershiprule.Plan) bool { return p.ServicePlanID == sp.ID }) {
					in.AssignedPlans = append(in.AssignedPlans, membershiprule.Plan{ServicePlanID: sp.ID, CapabilityStatus: "Enabled", Service: sp.Name})
				}
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// ruleInput is what rules read of u (without its assigned plans).
func ruleInput(u *allot.User) membershiprule.User {
	text := make(map[string]string, 8+len(u.Profile.Text))
	for k, v := range u.Profile.Text {
		text[k] = v
	}
	text["userPrincipalName"], text["displayName"], text["givenName"], text["surname"] = u.UserPrincipalName, u.DisplayName, u.GivenName, u.Surname
	text["mail"], text["jobTitle"], text["department"], text["usageLocation"] = u.Mail, u.JobTitle, u.Department, u.UsageLocation
	return membershiprule.User{Text: text, AccountEnabled: u.AccountEnabled}
}

// activeRule is a rule that is On, with its group.
type activeRule struct {
	group *allot.Group
	c     *compiledRule
}

// applyDynamicRules evaluates, for each of users, the rules that are On
// and read one of the changed properties (all rules when changed is nil: a
// new user), and writes the memberships that change. The rules' groups are
// share-locked, so that a concurrent change of a rule (which locks its
// group) is either seen whole or waits (locks.go).
func (t *tx) applyDynamicRules(tenantID int64, a allot.Actor, users []*allot.User, changed []string) error {
	if len(users) == 0 || (changed != nil && len(changed) == 0) {
		return nil
	}
	rules, err := t.activeRules(tenantID, changed)
	if err != nil || len(rules) == 0 {
		return err
	}
	plans := slices.ContainsFunc(rules, func(r activeRule) bool { return slices.Contains(r.c.reads, "assignedPlans") })
	ins, err := t.ruleInputs(tenantID, users, plans)
	if err != nil {
		return err
	}
	have, err := t.ruleMemberships(users, rules)
	if err != nil {
		return err
	}
	for _, r := range rules {
		var add, remove []int64
		for i, u := range users {
			in, was := membershiprule.Eval(r.c.rule, ins[i]), have[[2]int64{r.group.ID, u.ID}]
			switch {
			case in && !was:
				add = append(add, u.ID)
			case !in && was:
				remove = append(remove, u.ID)
			}
		}
		if len(add)+len(remove) == 0 {
			continue
		}
		if err := t.writeRuleMembers(tenantID, r.group, add, remove, true); err != nil {
			return err
		}
		if err := t.auditRuleChanges(tenantID, a, r.group, users, add, remove); err != nil {
			return err
		}
	}
	return nil
}

// activeRules loads the tenant's rules that are On and read one of the
// changed properties (every one when changed is nil), groups share-locked
// in id order.
func (t *tx) activeRules(tenantID int64, changed []string) ([]activeRule, error) {
	groups, err := t.ruleGroups(`g.tenant_id = ? AND g.rule_state = ? ORDER BY g.id`+t.lockRows("SHARE"), tenantID, allot.RuleOn)
	if err != nil {
		return nil, err
	}
	var out []activeRule
	for _, g := range groups {
		c, err := t.s.compiled(g.MembershipRule)
		if err != nil {
			return nil, err
		}
		if changed == nil || slices.ContainsFunc(c.reads, func(p string) bool { return slices.Contains(changed, p) }) {
			out = append(out, activeRule{group: g, c: c})
		}
	}
	return out, nil
}

func (t *tx) ruleGroups(cond string, args ...any) ([]*allot.Group, error) {
	rows, err := t.query(`SELECT `+groupCols+` FROM dir_groups g WHERE `+cond, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*allot.Group
	for rows.Next() {
		g, err := scanGroup(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, g)
	}
	return out, rows.Err()
}

// ruleMemberships returns which of the users are direct members of which
// of the rules' groups, keyed by (group, user).
func (t *tx) ruleMemberships(users []*allot.User, rules []activeRule) (map[[2]int64]bool, error) {
	uids := make([]int64, len(users))
	for i, u := range users {
		uids[i] = u.ID
	}
	gids := make([]int64, len(rules))
	for i, r := range rules {
		gids[i] = r.group.ID
	}
	out := map[[2]int64]bool{}
	for start := 0; start < len(uids); start += 500 {
		chunk := uids[start:min(start+500, len(uids))]
		rows, err := t.query(`SELECT group_id, member_id FROM memberships WHERE member_type = 0 AND member_id IN (`+placeholders(len(chunk))+
			`) AND group_id IN (`+placeholders(len(gids))+`)`, append(idArgs(chunk), idArgs(gids)...)...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var g, u int64
			if err := rows.Scan(&g, &u); err != nil {
				rows.Close()
				return nil, err
			}
			out[[2]int64{g, u}] = true
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// auditRuleChanges audits each join and leave of g that its rule caused:
// the actor is whoever changed the user, the reason the rule.
func (t *tx) auditRuleChanges(tenantID int64, a allot.Actor, g *allot.Group, users []*allot.User, add, remove []int64) error {
	names := make(map[int64]string, len(users))
	for _, u := range users {
		names[u.ID] = u.UserPrincipalName
	}
	reason := "Membership rule of dynamic group: " + g.MembershipRule
	rows := make([]auditRow, 0, len(add)+len(remove))
	for _, id := range add {
		rows = append(rows, auditRow{actor: a, ev: allot.AuditEvent{Category: "GroupManagement", Activity: allot.ActAddMember, TargetKind: "Group",
			TargetID: g.GUID, TargetName: g.DisplayName, ResultReason: reason, Changes: []allot.Change{{Property: "member", New: names[id]}}}})
	}
	for _, id := range remove {
		rows = append(rows, auditRow{actor: a, ev: allot.AuditEvent{Category: "GroupManagement", Activity: allot.ActRemoveMember, TargetKind: "Group",
			TargetID: g.GUID, TargetName: g.DisplayName, ResultReason: reason, Changes: []allot.Change{{Property: "member", Old: names[id]}}}})
	}
	return t.auditMany(tenantID, rows)
}

// changedProps lists the properties an update's audit changes name.
func changedProps(changes []allot.Change) []string {
	out := make([]string, 0, len(changes))
	for _, c := range changes {
		out = append(out, c.Property)
	}
	return out
}

// groupRuleSpec is the part of a patch about the group's rule.
func groupRuleSpec(p store.GroupPatch) RuleSpec {
	return RuleSpec{Dynamic: p.Dynamic, Rule: p.MembershipRule, State: p.RuleState}
}

// createRuleSpec checks the rule fields of a group to create: a rule
// needs a dynamic group, a dynamic group a rule.
func createRuleSpec(g *allot.Group) (RuleSpec, error) {
	rule, state := g.MembershipRule, g.RuleState
	g.MembershipRule, g.RuleState = "", ""
	if state == "" {
		if rule != "" {
			return RuleSpec{}, allot.Errorf(allot.EInvalid, "membershipRule needs groupTypes [\"DynamicMembership\"].")
		}
		return RuleSpec{}, nil
	}
	dyn := true
	spec := RuleSpec{Dynamic: &dyn, Rule: &rule, State: &state}
	probe := *g
	_, _, err := applyRuleSpec(&probe, spec)
	return spec, err
}

// applyPlanRules re-evaluates, for the users whose licenses a plan
// changed, the rules that read user.assignedPlans: their service plans are
// what the plan just wrote. A preview changes no membership.
func (t *tx) applyPlanRules(tenantID int64, plan *licensing.Plan) error {
	if t.preview {
		return nil
	}
	var ids []int64
	for _, up := range plan.Users {
		if up.Changed && !slices.Equal(heldOf(up.Before), heldOf(up.After)) {
			ids = append(ids, up.UserID)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	// Most tenants have no such rule: a probe of the rules index answers
	// that before any group is read (every licensing write passes here).
	// The pattern is a literal: SQLite prepares a statement again each time
	// a LIKE pattern is bound as a parameter (about 0.3 ms here).
	var any bool
	if err := t.queryRow(`SELECT EXISTS (SELECT 1 FROM dir_groups WHERE tenant_id = ? AND rule_state = ? AND membership_rule LIKE '%assignedPlans%')`,
		tenantID, allot.RuleOn).Scan(&any); err != nil || !any {
		return err
	}
	rules, err := t.ruleGroups(`g.tenant_id = ? AND g.rule_state = ? AND g.membership_rule LIKE '%assignedPlans%'`, tenantID, allot.RuleOn)
	if err != nil || len(rules) == 0 {
		return err
	}
	slices.Sort(ids)
	var users []*allot.User
	for start := 0; start < len(ids); start += 500 {
		chunk := ids[start:min(start+500, len(ids))]
		us, err := t.ruleUsers(`id IN (`+placeholders(len(chunk))+`)`, idArgs(chunk)...)
		if err != nil {
			return err
		}
		users = append(users, us...)
	}
	return t.applyDynamicRules(tenantID, allot.SystemActor, users, []string{"assignedPlans"})
}
