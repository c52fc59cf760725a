// Package webhook is the sink that POSTs alerts to an HTTP(S) endpoint.
//
// With the defaults each alert is its own request whose body is exactly
// the Falco JSON object of event.AppendAlertJSON, so falcosidekick's "/"
// endpoint and anything else that takes Falco's http_output accept it
// unchanged. Batches are a JSON array or NDJSON, optionally gzipped.
//
// Delivery is at least once. Network errors, 5xx and 429 are retried with
// exponential backoff and full jitter (Retry-After honoured up to
// MaxRetryAfter); other 4xx are the endpoint refusing the alert and are
// not. When retries run out and a spool directory is configured, the
// alerts go to an on-disk spool (package spool) and later Sends deliver
// the spool first, in order, before anything new, so the endpoint sees
// alerts in the order they were raised. Redirects are not followed: a POST
// turned into a GET would lose the alert, and following one would send the
// configured headers, often credentials, to another host.
package webhook
