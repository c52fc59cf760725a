package rules

import (
	"regexp"
	"slices"
	"strings"
)

// MITRE ATT&CK for Linux: the techniques rules name in their tags (the
// convention of Falco's rules: "T1059.004" next to "mitre_execution"), so
// that `vigil rules list --mitre` can say what a rule set covers. The names
// are ATT&CK's (enterprise matrix, v16); the table holds the techniques of
// Linux and containers that vigil's rules name or are likely to, and a test
// keeps it complete for the built-in rules.

// techniqueTag is a tag that names a technique or sub-technique.
var techniqueTag = regexp.MustCompile(`^T[0-9]{4}(\.[0-9]{3})?$`)

// IsTechniqueTag says whether a tag names an ATT&CK technique or
// sub-technique ("T1059", "T1059.004").
func IsTechniqueTag(tag string) bool { return techniqueTag.MatchString(tag) }

// TacticTag is the prefix of the tags that name a tactic (mitre_execution).
const TacticTag = "mitre_"

// Coverage is one technique a rule set names: its id, its ATT&CK name (""
// for one the table lacks), the tactics the rules that name it tag, and
// those rules, in definition order.
type Coverage struct {
	ID      string
	Name    string
	Tactics []string
	Rules   []string
}

// TechniqueName is ATT&CK's name of a technique or sub-technique id
// ("T1059.004": "Command and Scripting Interpreter: Unix Shell").
func TechniqueName(id string) (string, bool) {
	if n, ok := techniques[id]; ok {
		if parent, sub, ok := strings.Cut(id, "."); ok && sub != "" {
			return techniques[parent] + ": " + n, true
		}
		return n, true
	}
	return "", false
}

// TaggedRule is what Coverage needs of a rule: its name and tags.
type TaggedRule struct {
	Name string
	Tags []string
}

// CoverageOf lists the techniques the rules' tags name, by id.
func CoverageOf(rules []TaggedRule) []Coverage {
	by := map[string]*Coverage{}
	for _, r := range rules {
		var tactics []string
		for _, t := range r.Tags {
			if strings.HasPrefix(t, TacticTag) {
				tactics = append(tactics, strings.TrimPrefix(t, TacticTag))
			}
		}
		for _, t := range r.Tags {
			if !IsTechniqueTag(t) {
				continue
			}
			c := by[t]
			if c == nil {
				name, _ := TechniqueName(t)
				c = &Coverage{ID: t, Name: name}
				by[t] = c
			}
			if !slices.Contains(c.Rules, r.Name) {
				c.Rules = append(c.Rules, r.Name)
			}
			for _, tc := range tactics {
				if !slices.Contains(c.Tactics, tc) {
					c.Tactics = append(c.Tactics, tc)
				}
			}
		}
	}
	out := make([]Coverage, 0, len(by))
	for _, c := range by {
		slices.Sort(c.Tactics)
		out = append(out, *c)
	}
	slices.SortFunc(out, func(a, b Coverage) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// techniques: a sub-technique's entry is its own part of the name; its
// parent's entry comes first.
var techniques = map[string]string{
	"T1003": "OS Credential Dumping", "T1003.007": "Proc Filesystem", "T1003.008": "/etc/passwd and /etc/shadow",
	"T1005": "Data from Local System",
	"T1007": "System Service Discovery",
	"T1014": "Rootkit",
	"T1016": "System Network Configuration Discovery",
	"T1018": "Remote System Discovery",
	"T1021": "Remote Services", "T1021.004": "SSH",
	"T1027": "Obfuscated Files or Information", "T1027.002": "Software Packing", "T1027.004": "Compile After Delivery", "T1027.011": "Fileless Storage",
	"T1030": "Data Transfer Size Limits",
	"T1033": "System Owner/User Discovery",
	"T1036": "Masquerading", "T1036.004": "Masquerade Task or Service", "T1036.005": "Match Legitimate Name or Location", "T1036.006": "Space after Filename",
	"T1037": "Boot or Logon Initialization Scripts", "T1037.004": "RC Scripts",
	"T1040": "Network Sniffing",
	"T1041": "Exfiltration Over C2 Channel",
	"T1046": "Network Service Discovery",
	"T1048": "Exfiltration Over Alternative Protocol", "T1048.003": "Exfiltration Over Unencrypted Non-C2 Protocol",
	"T1049": "System Network Connections Discovery",
	"T1053": "Scheduled Task/Job", "T1053.002": "At", "T1053.003": "Cron", "T1053.006": "Systemd Timers",
	"T1055": "Process Injection", "T1055.008": "Ptrace System Calls", "T1055.009": "Proc Memory",
	"T1056": "Input Capture", "T1056.001": "Keylogging",
	"T1057": "Process Discovery",
	"T1059": "Command and Scripting Interpreter", "T1059.004": "Unix Shell", "T1059.006": "Python", "T1059.007": "JavaScript",
	"T1068": "Exploitation for Privilege Escalation",
	"T1069": "Permission Groups Discovery", "T1069.001": "Local Groups",
	"T1070": "Indicator Removal", "T1070.002": "Clear Linux or Mac System Logs", "T1070.003": "Clear Command History",
	"T1070.004": "File Deletion", "T1070.006": "Timestomp", "T1070.009": "Clear Persistence",
	"T1071": "Application Layer Protocol", "T1071.001": "Web Protocols", "T1071.004": "DNS",
	"T1074": "Data Staged", "T1074.001": "Local Data Staging",
	"T1078": "Valid Accounts", "T1078.003": "Local Accounts",
	"T1082": "System Information Discovery",
	"T1083": "File and Directory Discovery",
	"T1087": "Account Discovery", "T1087.001": "Local Account",
	"T1090": "Proxy",
	"T1095": "Non-Application Layer Protocol",
	"T1098": "Account Manipulation", "T1098.004": "SSH Authorized Keys",
	"T1105": "Ingress Tool Transfer",
	"T1106": "Native API",
	"T1110": "Brute Force", "T1110.002": "Password Cracking",
	"T1113": "Screen Capture",
	"T1124": "System Time Discovery",
	"T1129": "Shared Modules",
	"T1132": "Data Encoding",
	"T1135": "Network Share Discovery",
	"T1136": "Create Account", "T1136.001": "Local Account",
	"T1140": "Deobfuscate/Decode Files or Information",
	"T1190": "Exploit Public-Facing Application",
	"T1195": "Supply Chain Compromise", "T1195.002": "Compromise Software Supply Chain",
	"T1201": "Password Policy Discovery",
	"T1203": "Exploitation for Client Execution",
	"T1204": "User Execution", "T1204.002": "Malicious File",
	"T1219": "Remote Access Software",
	"T1222": "File and Directory Permissions Modification", "T1222.002": "Linux and Mac File and Directory Permissions Modification",
	"T1485": "Data Destruction",
	"T1486": "Data Encrypted for Impact",
	"T1489": "Service Stop",
	"T1490": "Inhibit System Recovery",
	"T1496": "Resource Hijacking",
	"T1497": "Virtualization/Sandbox Evasion", "T1497.001": "System Checks",
	"T1499": "Endpoint Denial of Service",
	"T1505": "Server Software Component", "T1505.003": "Web Shell",
	"T1518": "Software Discovery", "T1518.001": "Security Software Discovery",
	"T1525": "Implant Internal Image",
	"T1528": "Steal Application Access Token",
	"T1529": "System Shutdown/Reboot",
	"T1531": "Account Access Removal",
	"T1543": "Create or Modify System Process", "T1543.002": "Systemd Service",
	"T1546": "Event Triggered Execution", "T1546.004": "Unix Shell Configuration Modification", "T1546.005": "Trap",
	"T1546.018": "Python Startup Hooks",
	"T1547":     "Boot or Logon Autostart Execution", "T1547.006": "Kernel Modules and Extensions", "T1547.013": "XDG Autostart Entries",
	"T1548": "Abuse Elevation Control Mechanism", "T1548.001": "Setuid and Setgid", "T1548.003": "Sudo and Sudo Caching",
	"T1552": "Unsecured Credentials", "T1552.001": "Credentials In Files", "T1552.003": "Shell History",
	"T1552.004": "Private Keys", "T1552.005": "Cloud Instance Metadata API", "T1552.007": "Container API",
	"T1554": "Compromise Host Software Binary",
	"T1556": "Modify Authentication Process", "T1556.003": "Pluggable Authentication Modules",
	"T1557": "Adversary-in-the-Middle",
	"T1560": "Archive Collected Data", "T1560.001": "Archive via Utility",
	"T1561": "Disk Wipe", "T1561.001": "Disk Content Wipe",
	"T1562": "Impair Defenses", "T1562.001": "Disable or Modify Tools", "T1562.003": "Impair Command History Logging",
	"T1562.004": "Disable or Modify System Firewall", "T1562.006": "Indicator Blocking", "T1562.012": "Disable or Modify Linux Audit System",
	"T1564": "Hide Artifacts", "T1564.001": "Hidden Files and Directories",
	"T1567": "Exfiltration Over Web Service",
	"T1569": "System Services",
	"T1570": "Lateral Tool Transfer",
	"T1571": "Non-Standard Port",
	"T1572": "Protocol Tunneling",
	"T1573": "Encrypted Channel",
	"T1574": "Hijack Execution Flow", "T1574.006": "Dynamic Linker Hijacking",
	"T1609": "Container Administration Command",
	"T1610": "Deploy Container",
	"T1611": "Escape to Host",
	"T1612": "Build Image on Host",
	"T1613": "Container and Resource Discovery",
	"T1620": "Reflective Code Loading",
	"T1622": "Debugger Evasion",
}
