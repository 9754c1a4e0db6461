package membershiprule

import "strings"

// String returns the rule in Entra's syntax, canonically spelled; it
// parses back to the same rule.
func (r *Rule) String() string {
	var b strings.Builder
	write(&b, r.Root, 0)
	return b.String()
}

// precedence: -or 1, -and 2, -not and comparisons 3.
func prec(n Node) int {
	switch n.(type) {
	case *Or:
		return 1
	case *And:
		return 2
	}
	return 3
}

// write writes n, in parentheses when its precedence is below min.
func write(b *strings.Builder, n Node, min int) {
	if prec(n) < min {
		b.WriteByte('(')
		defer b.WriteByte(')')
	}
	switch n := n.(type) {
	case *Or:
		write(b, n.L, 1)
		b.WriteString(" -or ")
		write(b, n.R, 2)
	case *And:
		write(b, n.L, 2)
		b.WriteString(" -and ")
		write(b, n.R, 3)
	case *Not:
		b.WriteString("-not ")
		write(b, n.X, 3)
	case *Any:
		b.WriteString("user." + n.Prop)
		if n.All {
			b.WriteString(" -all (")
		} else {
			b.WriteString(" -any (")
		}
		write(b, n.Cond, 0)
		b.WriteByte(')')
	case *Cmp:
		b.WriteString(n.Object + "." + n.Prop + " " + n.Op.String() + " ")
		writeValue(b, n.Value)
	}
}

func writeValue(b *strings.Builder, v Value) {
	switch v.Kind {
	case VNull:
		b.WriteString("null")
	case VBool:
		if v.Bool {
			b.WriteString("true")
		} else {
			b.WriteString("false")
		}
	case VString:
		quote(b, v.Str)
	case VList:
		b.WriteByte('[')
		for i, s := range v.List {
			if i > 0 {
				b.WriteString(", ")
			}
			quote(b, s)
		}
		b.WriteByte(']')
	}
}

// quote writes s in double quotes, escaping '"' and '`' with a backtick.
func quote(b *strings.Builder, s string) {
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' || s[i] == '`' {
			b.WriteByte('`')
		}
		b.WriteByte(s[i])
	}
	b.WriteByte('"')
}
