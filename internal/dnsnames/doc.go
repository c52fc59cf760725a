// Package dnsnames owns the addresses of the DNS names that rules compare
// addresses with (vigil's resolvesTo, Falco's fd.sip.name = example.com).
// As in Falco, nothing is reverse-resolved: the names are resolved
// forward, again and again in the background, and an address matches a
// name when it is one the name resolved to. The event path only reads
// the last answers, with no lock and no allocation; a name not resolved
// yet matches nothing, and a resolver that fails keeps the last answer
// (counted and logged) rather than forgetting it.
package dnsnames
