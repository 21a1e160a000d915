import Primitives

/// What the proxy does to one request instead of (or after) forwarding it.
package enum FaultKind: String, Sendable, Hashable, CaseIterable, Comparable {
    /// Answered 500 with the service's internal-error body; not forwarded.
    case internalError = "500"
    /// Answered 503 with the service's unavailable body; not forwarded.
    case unavailable = "503"
    /// Answered with the service's real throttling error (S3 503 `SlowDown`; SQS 400
    /// `RequestThrottled`; DynamoDB 400 `ProvisionedThroughputExceededException`; SSM 400
    /// `ThrottlingException`; OpenSearch 429 `es_rejected_execution_exception`); not forwarded.
    case throttled = "429"
    /// Forwarded and executed upstream, then the connection is reset in the middle of the answer's
    /// body (or before its head when it has none): the client cannot know it succeeded.
    case resetMidBody = "reset"
    /// Forwarded and executed upstream, then the answer is held past the client's time-out and the
    /// connection closed.
    case stalled = "stall"

    package static func < (a: FaultKind, b: FaultKind) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }

    /// Whether the request reached the upstream service.
    package var forwards: Bool { self == .resetMidBody || self == .stalled }
}

/// Which faults, how often, and the seed that makes the decisions repeat.
package struct FaultPlan: Sendable, Hashable {
    /// The share of requests faulted, 0...1.
    package var rate: Double
    package var seed: UInt64
    /// Relative weights of the kinds among faulted requests (a kind absent or 0 never happens).
    package var weights: [FaultKind: Int]
    /// How long a stalled answer is held before the connection closes.
    package var stall: Duration

    package init(
        rate: Double, seed: UInt64, weights: [FaultKind: Int] = FaultPlan.defaultWeights, stall: Duration = .seconds(5)
    ) {
        self.rate = min(1, max(0, rate))
        self.seed = seed
        self.weights = weights
        self.stall = stall
    }

    /// Errors and lost answers alike; stalls are rarer (each costs a client time-out).
    package static let defaultWeights: [FaultKind: Int] = [
        .internalError: 3, .unavailable: 3, .throttled: 3, .resetMidBody: 3, .stalled: 1,
    ]
}

/// The seeded decisions: the n-th request asked about gets the same answer for the same plan.
package struct FaultDecider: Sendable {
    private var random: SplitMix64
    private let plan: FaultPlan
    private let table: [FaultKind]

    package init(plan: FaultPlan) {
        self.plan = plan
        random = SplitMix64(seed: plan.seed)
        table = FaultKind.allCases.flatMap { kind in Array(repeating: kind, count: max(0, plan.weights[kind] ?? 0)) }
    }

    /// The fault for the next request, or nil to forward it untouched. Draws the same number of
    /// values whatever the outcome, so one decision never shifts the next.
    package mutating func next() -> FaultKind? {
        let draw = Double(random.next() >> 11) / Double(UInt64(1) << 53)
        let pick = random.next()
        guard draw < plan.rate, !table.isEmpty else { return nil }
        return table[Int(pick % UInt64(table.count))]
    }
}
