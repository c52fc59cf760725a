package engine

import "github.com/vigil-project/vigil/rules"

// Dialect is the language of the file that defined the rule.
func (r *Rule) Dialect() rules.Dialect { return r.src.Dialect }

// Pos is where the rule is defined.
func (r *Rule) Pos() rules.Pos { return r.src.Pos }
