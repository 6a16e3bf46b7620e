// Package webhook receives push notifications from Git hosts and wakes the
// IntentSyncs they concern, so that a push is applied at once instead of at
// the next poll.
//
// A Receiver is an http.Handler with three routes:
//   - PathGitHub: GitHub's X-Hub-Signature-256 (HMAC-SHA256 of the body);
//   - PathGitLab: GitLab's X-Gitlab-Token (the secret itself);
//   - PathGeneric: X-Meshintent-Timestamp and X-Meshintent-Signature
//     (HMAC-SHA256 of "<timestamp>.<body>"), for CI jobs and scripts.
//
// Every request is authenticated before its payload is interpreted: header
// checks come first, then the body is read up to Options.MaxBodyBytes and
// its signature checked, and only then are the event headers and the JSON
// looked at. A delivery is remembered, for Options.ReplayWindow, only
// once its request has been authenticated and decoded, so that forged
// requests cannot fill the replay cache. Replays are recognised by the
// SHA-256 digest of what the signature covers (the body; for the generic
// endpoint the timestamp and the body), not by the delivery ID header,
// which no signature covers; the delivery ID is an extra key. See Receiver.
//
// The receiver does not time out slow clients: the http.Server that mounts
// it should set ReadHeaderTimeout and ReadTimeout.
package webhook
