package rules

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Error codes. They are stable: tools may match on them.
const (
	CodeYAML          = "LOAD_YAML"               // not valid YAML
	CodeBadType       = "LOAD_BAD_TYPE"           // a value of the wrong type (a list where a string belongs, ...)
	CodeBadItem       = "LOAD_BAD_ITEM"           // an item with none or several of rule, macro, list, required_engine_version
	CodeUnknownKey    = "LOAD_UNKNOWN_KEY"        // a key the item kind does not have
	CodeMissingKey    = "LOAD_MISSING_KEY"        // a required key is missing
	CodeEmpty         = "LOAD_EMPTY"              // an empty name or condition
	CodeDuplicate     = "LOAD_DUPLICATE"          // a name or key defined twice
	CodeUndefined     = "LOAD_UNDEFINED_OVERRIDE" // an override of a name not defined before it
	CodeBadOverride   = "LOAD_BAD_OVERRIDE"       // an override mapping that does not match the item
	CodeBadPriority   = "LOAD_BAD_PRIORITY"       // an unknown priority
	CodeBadAction     = "LOAD_BAD_ACTION"         // an unknown action
	CodeEngineVersion = "LOAD_ENGINE_VERSION"     // required_engine_version not semver, or newer than EngineVersion
	CodeTooLarge      = "LOAD_TOO_LARGE"          // a file, condition, list or macro chain over its limit (limits.go)
	CodeBadException  = "LOAD_BAD_EXCEPTION"      // a Falco exception whose fields, comps and values do not fit together
	CodeBadPlugin     = "LOAD_BAD_PLUGIN"         // a required_plugin_versions entry that is not a name and a version

	// Codes of warnings: Set.Warnings, for files that load. LOAD_UNKNOWN_KEY
	// is a warning in Falco files (Falco ignores such keys) and an error in
	// vigil's; so is LOAD_BAD_NAME (a Falco macro or list name that Falco
	// conditions cannot name).
	CodeSkippedSource  = "LOAD_SKIPPED_SOURCE"   // Falco rules of a source other than syscall, skipped (once per file and source)
	CodeUnknownPlugin  = "LOAD_UNKNOWN_PLUGIN"   // a required plugin vigil does not provide (once per file and plugin)
	CodeUnknownItem    = "LOAD_UNKNOWN_ITEM"     // a Falco item that is none of rule, macro, list, required_*: ignored
	CodeDeprecated     = "LOAD_DEPRECATED_ITEM"  // Falco's legacy append: true, or a rule item with enabled alone
	CodeAppendNoValues = "LOAD_APPEND_NO_VALUES" // a Falco exception appended or replaced without values
	CodeExceptionName  = "LOAD_EXCEPTION_NAME"   // two Falco exceptions of the same name in one item

	// Codes of the errors the engine finds when it compiles a loaded set.
	CodeBadName    = "LOAD_BAD_NAME"         // a list or macro name that is not a CEL identifier, or shadows fields
	CodeBadList    = "LOAD_BAD_LIST"         // list items that do not form a CEL list
	CodeCondition  = "LOAD_CONDITION"        // a condition CEL rejects
	CodeBadConst   = "LOAD_BAD_CONSTANT"     // a constant argument or operand no event can match (engine/consts.go)
	CodeNotBool    = "LOAD_NOT_BOOL"         // a condition whose type is not bool
	CodeCycle      = "LOAD_CYCLE"            // macros that refer to each other in a cycle
	CodeInternal   = "LOAD_INTERNAL"         // a CEL step that should not fail did
	CodeBadEvtType = "LOAD_BAD_EVTTYPE"      // evt.type compared with a name that is not an event type
	CodeNoEvtType  = "LOAD_NO_EVTTYPE"       // a condition that restricts evt.type to nothing, or not at all
	CodeCost       = "LOAD_COST"             // a condition over the evaluation cost budget
	CodeOutput     = "LOAD_OUTPUT"           // an output naming an unknown field
	CodePolicy     = "LOAD_POLICY"           // a deny or kill condition the kernel cannot evaluate
	CodePolicyType = "LOAD_POLICY_TYPE"      // a deny or kill rule matching an event type without a kernel hook
	CodeBroad      = "LOAD_POLICY_BROAD"     // a deny or kill rule that would act on most of the system (i_understand: broad)
	CodeProtected  = "LOAD_POLICY_PROTECTED" // a deny or kill rule that could act on a protected program (i_understand: protected)
)

// Error is one problem in a rules file, at a position.
type Error struct {
	Pos  Pos
	Item string // what it is about: rule "Foo", macro "bar", list "x", or ""
	Code string
	Msg  string
	Line string // the source line at Pos, for the snippet
}

// Error renders the error with the source line and a caret under the column:
//
//	rules.yaml:12:5: rule "Foo": unknown key "condtion" (LOAD_UNKNOWN_KEY)
//	    condtion: evt.type == "exec"
//	    ^
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Pos.String())
	b.WriteString(": ")
	if e.Item != "" {
		b.WriteString(e.Item)
		b.WriteString(": ")
	}
	fmt.Fprintf(&b, "%s (%s)", e.Msg, e.Code)
	if e.Line == "" {
		return b.String()
	}
	b.WriteByte('\n')
	// Shown one column per character, with what could corrupt a terminal
	// (control and format characters, invalid bytes) as U+FFFD, so the
	// caret still lines up.
	for _, r := range e.Line {
		if r != '\t' && !unicode.IsPrint(r) {
			r = utf8.RuneError
		}
		b.WriteRune(r)
	}
	b.WriteByte('\n')
	// Keep the line's tabs so that the caret lines up however tabs render.
	n := 0
	for _, r := range e.Line {
		if n >= e.Pos.Col-1 {
			break
		}
		if r == '\t' {
			b.WriteByte('\t')
		} else {
			b.WriteByte(' ')
		}
		n++
	}
	for ; n < e.Pos.Col-1; n++ {
		b.WriteByte(' ')
	}
	b.WriteByte('^')
	return b.String()
}

// Errors is every error found, in file order.
type Errors []*Error

func (es Errors) Error() string {
	s := make([]string, len(es))
	for i, e := range es {
		s[i] = e.Error()
	}
	return strings.Join(s, "\n")
}

// NewError returns an error at pos in set's files, with its source line,
// for errors found after loading (by the engine, say).
func NewError(set *Set, pos Pos, item, code, format string, args ...any) *Error {
	return &Error{Pos: pos, Item: item, Code: code, Msg: fmt.Sprintf(format, args...), Line: set.SourceLine(pos)}
}
