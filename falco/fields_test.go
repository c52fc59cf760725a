package falco

import "testing"

// Every condition a field's variants use has its Go form, so that outputs
// render what conditions read (a missing one would render <NA> silently).
func TestVariantCondsRender(t *testing.T) {
	for name, f := range fieldTable {
		for _, v := range f.variants {
			if _, ok := goConds[v.cond]; !ok {
				t.Errorf("%s: condition %q has no Go form in goConds", name, v.cond)
			}
		}
	}
}
