package licensing

import (
	"fmt"
	"slices"

	"allot"
)

// Pool is a license pool (an allotment, docs/design.md rule 18): part of a
// product's seats reserved for the users of a scope. A user's pool for a
// product is given by UserInput.Pools; the seats outside every pool of a
// product are its shared remainder.
//
// Seats are accounted by count: of the Held users of the scope who hold the
// product, min(Held, AllottedUnits) use the pool's seats and the rest
// borrow from the remainder. So a borrowed seat goes back to the remainder
// by itself when a pool seat frees up: the accounting moves, nobody is
// unlicensed.
type Pool struct {
	ID, ProductID   int64
	Name            string // for messages
	AllottedUnits   int
	AllowsBorrowing bool
	// Held counts the users whose pool this is who hold the product, as
	// loaded (snapshot users included).
	Held int
}

// Consumed returns the pool's seats in use: its holders within the
// allotment.
func (p Pool) Consumed() int { return min(p.Held, p.AllottedUnits) }

// Borrowed returns the remainder seats the pool's holders use.
func (p Pool) Borrowed() int { return max(0, p.Held-p.AllottedUnits) }

// Line is one line of a product's waiters: the members of a pool (Pool is
// its id) or the users outside every pool (Pool 0). Waiters are served
// first come, first served within their line.
type Line struct{ Product, Pool int64 }

// RemainderFree returns the free seats of a product's remainder given its
// pools: the seats outside every allotment less those that users outside
// every pool and borrowers hold.
func RemainderFree(enabled, consumed int, pools []Pool) int {
	for _, p := range pools {
		enabled -= p.AllottedUnits
		consumed -= p.Consumed()
	}
	return enabled - consumed
}

// poolKey is where a pool's holder count lives in decider.consumed: pool ids
// negated, so that save and restore carry the pools' counts with the
// products'.
func poolKey(id int64) int64 { return -id }

// initPools indexes the snapshot's pools by id and product and puts their
// holder counts beside the products' counters.
func (d *decider) initPools() {
	if len(d.snap.Pools) == 0 {
		return
	}
	d.pools, d.pooled = map[int64]Pool{}, map[int64][]int64{}
	for _, p := range d.snap.Pools {
		if d.cat.Product(p.ProductID) == nil {
			continue
		}
		d.pools[p.ID] = p
		d.pooled[p.ProductID] = append(d.pooled[p.ProductID], p.ID)
		d.consumed[poolKey(p.ID)] = p.Held
	}
}

// lineOf returns the id of the user's pool for product pid (0: none).
func (d *decider) lineOf(u *UserInput, pid int64) int64 {
	if u == nil {
		return 0
	}
	id := u.Pools[pid]
	if p, ok := d.pools[id]; ok && p.ProductID == pid {
		return id
	}
	return 0
}

// takePool counts a seat of product pid that user u takes (n = 1) or gives
// back (n = -1) in the user's pool, if any.
func (d *decider) takePool(pid int64, u *UserInput, n int) {
	if id := d.lineOf(u, pid); id != 0 {
		d.consumed[poolKey(id)] += n
	}
}

// poolFree is free for a product with pools: the user takes a seat of its
// pool, or of the remainder when it has no pool or its pool lends; within
// each, seats owed to users of the line who wait longer are not free.
func (d *decider) poolFree(pid int64, u *UserInput) int {
	total := d.enabled[pid] - d.consumed[pid]
	line := d.lineOf(u, pid)
	best := 0
	if line != 0 {
		best = d.owe(min(total, d.inPool(line))-d.outsideOwed(Line{pid, line}, u), d.pendingOwed(Line{pid, line}, u))
	}
	if line == 0 || d.pools[line].AllowsBorrowing {
		free := min(total, d.remainderFree(pid))
		outside, pending := 0, 0
		for _, l := range d.remainderLines(pid) {
			o, p := d.outsideOwed(l, u), d.pendingOwed(l, u)
			if l.Pool != 0 {
				// A borrowing pool's waiters take their own pool's seats first.
				spare := max(0, d.inPool(l.Pool))
				o, p = max(0, o-spare), max(0, p-max(0, spare-o))
			}
			outside, pending = outside+o, pending+p
		}
		best = max(best, d.owe(free-outside, pending))
	}
	return best
}

// inPool returns the free seats of pool id's allotment.
func (d *decider) inPool(id int64) int {
	return d.pools[id].AllottedUnits - d.consumed[poolKey(id)]
}

// remainderFree returns the free seats of product pid's remainder.
func (d *decider) remainderFree(pid int64) int {
	pools := make([]Pool, 0, len(d.pooled[pid]))
	for _, id := range d.pooled[pid] {
		p := d.pools[id]
		p.Held = d.consumed[poolKey(id)]
		pools = append(pools, p)
	}
	return RemainderFree(d.enabled[pid], d.consumed[pid], pools)
}

// remainderLines returns the lines that may take remainder seats of pid:
// users outside every pool, and the members of pools that lend.
func (d *decider) remainderLines(pid int64) []Line {
	out := []Line{{pid, 0}}
	for _, id := range d.pooled[pid] {
		if d.pools[id].AllowsBorrowing {
			out = append(out, Line{pid, id})
		}
	}
	return out
}

// outsideOwed counts the users outside the snapshot waiting in line l ahead
// of user u (all of them when u does not wait); group licensing only.
func (d *decider) outsideOwed(l Line, u *UserInput) int {
	if !d.queue {
		return 0
	}
	ahead, all := d.snap.LineAhead[l], d.snap.LineOutside[l]
	w, waiting := d.waitsIn(l, u)
	if !waiting {
		return all
	}
	n := countBelow(ahead, w)
	if n == len(ahead) {
		n = max(n, all)
	}
	return n
}

// pendingOwed counts the snapshot's users not served yet who wait in line
// l ahead of user u.
func (d *decider) pendingOwed(l Line, u *UserInput) int {
	if !d.queue {
		return 0
	}
	w, waiting := d.waitsIn(l, u)
	if !waiting {
		return len(d.linePending[l])
	}
	return countBelow(d.linePending[l], w)
}

// waitsIn returns the place in line l of user u (any line, for a user that
// waits for the product: places are comparable across lines).
func (d *decider) waitsIn(l Line, u *UserInput) (int64, bool) {
	if u == nil {
		return 0, false
	}
	return waitingSince(u.Current, l.Product)
}

// waitForLines records the places of the snapshot's waiters per line of
// products with pools (waitFor's pending, per line).
func (d *decider) waitForLines(users []UserInput, gaveUp map[int64]map[int64]bool) {
	if d.pools == nil {
		return
	}
	d.linePending = map[Line][]int64{}
	for i := range users {
		for pid := range awaited(users[i].Current) {
			w, _ := waitingSince(users[i].Current, pid)
			if len(d.pooled[pid]) == 0 || gaveUp[pid][w] {
				continue
			}
			l := Line{pid, d.lineOf(&users[i], pid)}
			d.linePending[l] = append(d.linePending[l], w)
		}
	}
	for _, seqs := range d.linePending {
		slices.Sort(seqs)
	}
}

// serveLines takes user u's places out of the lines when its turn comes.
func (d *decider) serveLines(u *UserInput) {
	if d.linePending == nil {
		return
	}
	for pid := range awaited(u.Current) {
		w, _ := waitingSince(u.Current, pid)
		l := Line{pid, d.lineOf(u, pid)}
		if i, ok := slices.BinarySearch(d.linePending[l], w); ok {
			d.linePending[l] = slices.Delete(d.linePending[l], i, i+1)
		}
	}
}

// poolMessage words a refusal for seats of a product with pools, for the
// user uid: which seats it may take and that they are gone. "" when the
// product has no pools or the code is not about seats.
func (d *decider) poolMessage(uid int64, c allot.Code, p *allot.Product) string {
	if c != allot.ENoSeats || len(d.pooled[p.ID]) == 0 {
		return ""
	}
	name := names(d.cat, []string{p.SkuPartNumber})[0]
	var u *UserInput
	for i := range d.snap.Users {
		if d.snap.Users[i].UserID == uid {
			u = &d.snap.Users[i]
		}
	}
	line := d.lineOf(u, p.ID)
	shared := fmt.Sprintf("the %d seats outside the pools are in use", max(0, d.remainderCap(p.ID)))
	if line == 0 {
		return fmt.Sprintf("No %s seats left for this user, who is in no pool: %s. Free a shared seat, buy more seats or make a pool smaller.", name, shared)
	}
	pl := d.pools[line]
	msg := fmt.Sprintf("No %s seats left for this user: the pool %s uses all %d of its seats", name, pl.Name, pl.AllottedUnits)
	if pl.AllowsBorrowing {
		return msg + " and " + shared + ". Free a seat, buy more seats or make the pool larger."
	}
	return msg + " and does not lend shared seats. Free a seat in the pool, make it larger or let it borrow."
}

// remainderCap returns the seats of product pid outside every pool.
func (d *decider) remainderCap(pid int64) int {
	n := d.enabled[pid]
	for _, id := range d.pooled[pid] {
		n -= d.pools[id].AllottedUnits
	}
	return n
}
