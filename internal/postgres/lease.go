package postgres

import "time"

// Lease arithmetic of the Principal cache (members.go, fence.go). Two
// clocks count a member's lease and neither is trusted beyond its rate:
//
//   - The member counts on its own monotonic clock, from BEFORE it sent the
//     renewal: servingUntil. The database sets lease_until from its clock
//     when it runs the renewal, which is after the send, so in real time
//     the member stops serving no later than lease_until says (clocks
//     running at the same rate).
//   - A writer's fence reads each member's remaining lease by the database
//     clock (lease_until minus the time of the read) and counts it on its
//     own monotonic clock from AFTER the answer came back: fenceDeadline.
//     The read ran before the answer arrived, so the writer waits at least
//     until lease_until in real time.
//
// Clocks do not run at exactly one rate: each wait is lengthened by
// leaseMargin, a tenth of the lease (a drift of 10%, far beyond what
// crystal clocks do, and NTP slews at most 0.05%), and a member whose
// lease ran out less than that margin ago by the database clock is still
// waited for (liveMemberSQL).

// leaseMargin is the drift allowance added to a wait on a lease of length
// lease.
func leaseMargin(lease time.Duration) time.Duration { return lease / 10 }

// servingUntil is the monotonic time (on the member's clock, as elapsed
// time since its origin) until which a member may serve from its cache
// after a renewal of a lease of length lease that it sent at sentAt.
func servingUntil(sentAt, lease time.Duration) time.Duration { return sentAt + lease }

// fenceDeadline is the monotonic time (on the writer's clock) until which a
// fence waits for a member's acknowledgement: its remaining lease by the
// database clock (remaining, negative when it ran out) counted from
// answeredAt, when the read of it came back, plus the margin of its lease.
func fenceDeadline(answeredAt, remaining, lease time.Duration) time.Duration {
	return answeredAt + max(remaining, 0) + leaseMargin(lease)
}

// renewEvery is how often a member renews a lease of length lease: three
// renewals a lease, so that one slow answer does not lapse it.
func renewEvery(lease time.Duration) time.Duration { return lease / 3 }
