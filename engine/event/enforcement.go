package event

// Enforcement is what the kernel did about an event: the rule whose
// policy decided, and "deny", "kill", "would deny" or "would kill".
type Enforcement struct {
	Rule   string
	Action string
}
